// The seed's /chat broadcast room, standing on channel `chat`: a text M from a client is published
// to `chat`; every publication on `chat` not made by this client reaches it as "Broadcast: M".
// So the room also hears API, SSE-side, MQTT and WebSocket-protocol publishers of `chat`.
// Most connections are idle, so a session is one object: the event handlers are shared by every
// connection (they find their session on the connection's IdleWebSocket) rather than closures made
// per connection.

import type { WebSocket } from 'ws';
import type { ClientHub } from '../../auth/client-hub.js';
import { identifyUpgrade } from '../../auth/http-identity.js';
import type { Identity } from '../../auth/identity.js';
import { CloseCodes, HeraldError } from '../../errors.js';
import { publishBucket } from '../../limits/command-rate.js';
import type { TokenBucket } from '../../limits/token-bucket.js';
import type { ClientInfo, FrameFormat, Publication, Subscriber } from '../../model/index.js';
import { type ChatFrame, chatFrame, WELCOME } from '../../protocol/chat.js';
import { fromBytes, fromText } from '../../protocol/payload.js';
import { connectionId } from '../connection-id.js';
import type { Door } from '../door.js';
import type { DoorCounters } from '../door-stats.js';
import { FrameTarget, writeFrame } from './frame-writer.js';
import { ownerOf, releaseReceiverSoon, setOwner } from './idle-receiver.js';
import { createPlainServer } from './plain-server.js';

export const CHAT_CHANNEL = 'chat';

const chatFormat: FrameFormat<ChatFrame> = { name: 'chat', encode: chatFrame };

class ChatSession extends FrameTarget implements Subscriber<ChatFrame> {
  /** Made on the first message: most sessions only listen. */
  rate: TokenBucket | undefined;

  constructor(
    ws: WebSocket,
    readonly id: string,
    readonly identity: Identity,
    private readonly maxBuffered: number,
    private readonly counters: DoorCounters,
    /** The `chat` channel's writeDelay option, milliseconds (0 = write at once). */
    private readonly writeDelay: number,
  ) {
    super(ws);
  }

  get format(): FrameFormat<ChatFrame> {
    return chatFormat;
  }

  /** Who sent a message, made for each message rather than kept: most sessions never send one. */
  get info(): ClientInfo {
    return { client: this.id, user: this.identity.user, transport: 'chat' };
  }

  /** The fan-out hot path: the same ready frame for every session, no per-session encoding. */
  deliver(pub: Publication, frame: ChatFrame): void {
    if (pub.info?.client === this.id) return; // never back to the sender
    if (writeFrame(this, frame.wire, frame.binary, this.maxBuffered, undefined, this.writeDelay))
      this.counters.sent(frame.wire.length);
  }
}

export const chatDoor: Door = {
  name: 'chat',
  register(ctx) {
    const { hub, clients, log, config } = ctx;
    const sessionOf = (ws: WebSocket) => ownerOf<ChatSession>(ws);
    const counters = ctx.stats.door('chat');
    let total = 0;
    const publishRate = { rate: config.publishRate, burst: config.publishBurst };
    // Checked once: building the per-message log line costs more than the publish itself.
    const logInfo = log.isLevelEnabled('info');

    function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
      const session = sessionOf(this);
      if (!session) return;
      releaseReceiverSoon(this);
      // Closed rather than dropped: a sender must not believe a message went out that did not.
      session.rate ??= publishBucket(publishRate);
      if (session.rate && !session.rate.take()) {
        log.warn({ session: session.id }, 'chat message rate exceeded; closed');
        this.close(CloseCodes.POLICY_VIOLATION, 'message rate limit exceeded');
        return;
      }
      counters.messagesIn++;
      const req = isBinary ? fromBytes(data, true) : fromText(data.toString('utf8'));
      if (!isBinary && logInfo) log.info({ session: session.id }, `Received from ${session.id}: ${req.data}`);
      req.info = session.info;
      const published = new Promise((resolve) =>
        resolve(clients.publish(session.identity, CHAT_CHANNEL, req)),
      );
      published.catch((err: unknown) => {
        const e = err instanceof HeraldError ? err : undefined;
        if (e?.kind === 'PERMISSION_DENIED') {
          this.close(CloseCodes.POLICY_VIOLATION, 'permission denied');
          return;
        }
        log.error({ session: session.id, err: (err as Error).message }, 'chat publish failed');
        // The message was not accepted: say so rather than let the sender believe it went out.
        if (e?.temporary) this.close(CloseCodes.TRY_AGAIN_LATER, 'publish failed, try again later');
        else this.close(CloseCodes.INTERNAL_ERROR, 'publish failed');
      });
    }

    function onError(this: WebSocket, err: Error): void {
      const id = sessionOf(this)?.id;
      log.warn({ session: id, err: err.message }, `Error in session ${id}`);
    }

    function onClose(ws: WebSocket): void {
      const session = sessionOf(ws);
      if (!session) return;
      setOwner(ws, undefined);
      if (clients.unsubscribe(CHAT_CHANNEL, session)) counters.subscriptions--;
      hub.clientDisconnected();
      total--;
      if (logInfo)
        log.info({ session: session.id, total }, `Client disconnect: ${session.id}, Total: ${total}`);
    }

    createPlainServer(
      ctx,
      counters,
      '/chat',
      (ws, identity) => {
        const session = new ChatSession(
          ws,
          connectionId(),
          identity,
          config.maxBufferedBytes,
          counters,
          hub.channelOptions(CHAT_CHANNEL).writeDelay,
        );
        const { id } = session;
        setOwner(ws, session);
        total++;
        hub.clientConnected();
        if (logInfo) log.info({ session: id, total }, `New client connected: ${id}, Total: ${total}`);
        ws.send(WELCOME);
        subscribe(clients, session, counters).catch((err) => {
          log.error({ session: id, err: err.message }, 'chat subscription failed');
          ws.close(CloseCodes.TRY_AGAIN_LATER, 'channel unavailable, try again later');
        });
        ws.on('message', onMessage);
        ws.on('error', onError);
      },
      onClose,
      // A client the policy would not let into the room is refused before the upgrade (403).
      async (req) => {
        const identity = await identifyUpgrade(
          ctx.tokens,
          req,
          config.allowedOrigins,
          config.chatRequireToken,
        );
        ctx.clients.check(identity, 'subscribe', CHAT_CHANNEL);
        return identity;
      },
    );
  },
};

async function subscribe(clients: ClientHub, session: ChatSession, counters: DoorCounters): Promise<void> {
  const result = await clients.subscribe(session.identity, CHAT_CHANNEL, session);
  counters.subscriptions++;
  // The socket may have closed while the subscription was being set up.
  if (session.ws.readyState > 1) {
    if (clients.unsubscribe(CHAT_CHANNEL, session)) counters.subscriptions--;
    return;
  }
  result.start();
}
