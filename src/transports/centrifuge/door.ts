// The WebSocket channel protocol door at /connection/websocket, compatible with Centrifugo's client
// protocol v2 (JSON and Protobuf), so the `centrifuge` SDKs work unmodified. The door owns the sockets; each
// connection is a ClientSession that translates commands to hub calls.
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { Disconnects } from '../../errors.js';
import type { Hub } from '../../hub/hub.js';
import { jsonCodec } from '../../protocol/centrifuge/codec.js';
import {
  centrifugeProtobufFormat,
  centrifugeProtobufStreamFormat,
  decodeProtobufEmulation,
  protobufCodec,
} from '../../protocol/centrifuge/protobuf-codec.js';
import { centrifugeJsonFormat } from '../../protocol/centrifuge/replies.js';
import { streamFrame } from '../../protocol/centrifuge/stream-formats.js';
import type { Door } from '../door.js';
import { takeUpgradedSocket } from '../upgrade.js';
import { IdleWebSocket, setTicket } from '../ws/idle-receiver.js';
import { registerFallbackTransports } from './emulation.js';
import { Keepalive } from './keepalive.js';
import { ClientSession, type SessionContext } from './session.js';
import { applyUserCommand } from './user-commands.js';
import { type WsEncoding, WsTransport } from './ws-transport.js';

export const CENTRIFUGE_PATH = '/connection/websocket';
const JSON_SUBPROTOCOL = 'centrifuge-json';
const PROTOBUF_SUBPROTOCOL = 'centrifuge-protobuf';

/** The door's live state for one Herald; tests and operations reach it through the hub. */
export interface CentrifugeServer {
  readonly sessions: Set<ClientSession>;
  readonly wss: WebSocketServer;
}

const servers = new WeakMap<Hub, CentrifugeServer>();

export function centrifugeServerOf(hub: Hub): CentrifugeServer | undefined {
  return servers.get(hub);
}

export const centrifugeDoor: Door = {
  name: 'centrifuge',
  register(ctx) {
    const { hub, clients, config, log } = ctx;
    const sessions = new Set<ClientSession>();
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.maxMessageSize,
      perMessageDeflate: false,
      // The sessions Set is the list of connections; ws's own would add a Set entry and a 'close'
      // closure per connection.
      clientTracking: false,
      // Answered by the transport's shared listener rather than ws's closure per connection.
      autoPong: false,
      // A quiet connection's frame parser is dropped and made again when bytes come (idle-receiver.ts).
      WebSocket: IdleWebSocket,
      handleProtocols: (protocols) =>
        protocols.has(PROTOBUF_SUBPROTOCOL)
          ? PROTOBUF_SUBPROTOCOL
          : protocols.has(JSON_SUBPROTOCOL)
            ? JSON_SUBPROTOCOL
            : false,
    });
    const sctx: SessionContext = {
      hub,
      clients,
      config,
      log: log.child({ component: 'centrifuge' }),
      verifier: ctx.tokens,
      sessions,
      counters: ctx.stats.door('websocket'),
    };
    const keepalive = new Keepalive(sessions, config);
    keepalive.start();
    servers.set(hub, { sessions, wss });
    registerFallbackTransports(ctx, sctx, {
      protobufStream: {
        codec: protobufCodec,
        format: centrifugeProtobufStreamFormat,
        frame: streamFrame,
        contentType: 'application/octet-stream',
      },
      decodeProtobufRequest: decodeProtobufEmulation,
    });
    hub.users.register((cmd) => applyUserCommand(sessions, cmd, sctx.log));

    ctx.upgrades.add(CENTRIFUGE_PATH, (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, socket));
    });

    const protobufEncoding: WsEncoding = {
      codec: protobufCodec,
      format: centrifugeProtobufFormat,
      maxBufferedBytes: config.maxBufferedBytes,
    };
    const jsonEncoding: WsEncoding = {
      codec: jsonCodec,
      format: centrifugeJsonFormat,
      maxBufferedBytes: config.maxBufferedBytes,
    };

    function onConnection(ws: WebSocket, socket: Duplex): void {
      const transport = new WsTransport(
        ws,
        ws.protocol === PROTOBUF_SUBPROTOCOL ? protobufEncoding : jsonEncoding,
      );
      // Kept on the socket (a field of IdleWebSocket), released by the transport's close listener.
      const ticket = takeUpgradedSocket(socket);
      if (ticket !== undefined) setTicket(ws, ticket);
      const session = new ClientSession(transport, sctx);
      transport.attach(session);
      sessions.add(session);
    }

    ctx.onShutdown(async () => {
      keepalive.stop();
      const sockets: WebSocket[] = [];
      for (const s of sessions) if (s.transport instanceof WsTransport) sockets.push(s.transport.ws);
      const closing: Promise<void>[] = [];
      for (const ws of sockets) {
        if (ws.readyState === WebSocket.CLOSED) continue;
        closing.push(new Promise((resolve) => ws.once('close', () => resolve())));
      }
      for (const s of [...sessions]) s.disconnect(Disconnects.SHUTDOWN);
      for (const ws of sockets) ws.close(Disconnects.SHUTDOWN.code, Disconnects.SHUTDOWN.reason);
      const timer = new Promise<void>((resolve) => setTimeout(resolve, config.shutdownTimeout).unref());
      await Promise.race([Promise.all(closing), timer]);
      for (const ws of sockets) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    });
  },
};
