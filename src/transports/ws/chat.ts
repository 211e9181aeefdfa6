// The seed's /chat broadcast room, standing on channel `chat`: a text M from a client is published
// to `chat`; every publication on `chat` not made by this client reaches it as "Broadcast: M".
// So the room also hears API, SSE-side, MQTT and WebSocket-protocol publishers of `chat`.
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { Config } from '../../config.js';
import { CloseCodes, HeraldError } from '../../errors.js';
import type { FrameFormat, Hub, Subscriber } from '../../hub/hub.js';
import type { ClientInfo, Publication } from '../../hub/types.js';
import { type ChatFrame, chatFrame, WELCOME } from '../../protocol/chat.js';
import { fromBytes, fromText } from '../../protocol/payload.js';
import type { Door } from '../door.js';
import { FrameTarget, writeFrame } from './frame-writer.js';
import { createPlainServer } from './plain-server.js';

export const CHAT_CHANNEL = 'chat';

const chatFormat: FrameFormat<ChatFrame> = { name: 'chat', encode: chatFrame };

class ChatSession implements Subscriber<ChatFrame> {
  readonly format = chatFormat;
  readonly info: ClientInfo;

  private readonly target: FrameTarget;
  private readonly maxBuffered: number;

  constructor(
    readonly ws: WebSocket,
    readonly id: string,
    config: Config,
  ) {
    this.info = { client: id, user: '', transport: 'chat' };
    this.target = new FrameTarget(ws);
    this.maxBuffered = config.maxBufferedBytes;
  }

  /** The fan-out hot path: the same ready frame for every session, no per-session encoding. */
  deliver(pub: Publication, frame: ChatFrame): void {
    if (pub.info?.client === this.id) return; // never back to the sender
    writeFrame(this.target, frame.wire, frame.binary, this.maxBuffered);
  }
}

export const chatDoor: Door = {
  name: 'chat',
  register(ctx) {
    const { hub, log, config } = ctx;
    let total = 0;
    // Checked once: building the per-message log line costs more than the publish itself.
    const logInfo = log.isLevelEnabled('info');
    createPlainServer(ctx, '/chat', (ws) => {
      const session = new ChatSession(ws, randomUUID(), config);
      const { id } = session;
      total++;
      hub.clientConnected();
      log.info({ session: id, total }, `New client connected: ${id}, Total: ${total}`);
      ws.send(WELCOME);
      subscribe(hub, session).catch((err) => {
        log.error({ session: id, err: err.message }, 'chat subscription failed');
        ws.close(CloseCodes.TRY_AGAIN_LATER, 'channel unavailable, try again later');
      });

      ws.on('message', (data: Buffer, isBinary) => {
        const req = isBinary ? fromBytes(data, true) : fromText(data.toString('utf8'));
        if (!isBinary && logInfo) log.info({ session: id }, `Received from ${id}: ${req.data}`);
        req.info = session.info;
        hub.publish(CHAT_CHANNEL, req).catch((err: unknown) => {
          const e = err instanceof HeraldError ? err : undefined;
          log.error({ session: id, err: (err as Error).message }, 'chat publish failed');
          // The message was not accepted: say so rather than let the sender believe it went out.
          if (e?.temporary) ws.close(CloseCodes.TRY_AGAIN_LATER, 'publish failed, try again later');
          else ws.close(CloseCodes.INTERNAL_ERROR, 'publish failed');
        });
      });
      ws.on('error', (err) => log.warn({ session: id, err: err.message }, `Error in session ${id}`));
      ws.once('close', () => {
        hub.unsubscribe(CHAT_CHANNEL, session);
        hub.clientDisconnected();
        total--;
        log.info({ session: id, total }, `Client disconnect: ${id}, Total: ${total}`);
      });
    });
  },
};

async function subscribe(hub: Hub, session: ChatSession): Promise<void> {
  const result = await hub.subscribe(CHAT_CHANNEL, session);
  // The socket may have closed while the subscription was being set up.
  if (session.ws.readyState > 1) {
    hub.unsubscribe(CHAT_CHANNEL, session);
    return;
  }
  result.start();
}
