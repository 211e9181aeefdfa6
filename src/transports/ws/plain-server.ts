// The plain WebSocket doors (/echo, /chat) share their ws server settings, limits and shutdown,
// and how a client is admitted: who it is is settled before the upgrade, so a refused client gets
// an HTTP answer (401/403 with the catalogue body) and never a WebSocket.
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { ANONYMOUS, type Identity } from '../../auth/identity.js';
import type { Config } from '../../config.js';
import { CloseCodes, type HeraldError, toHeraldError } from '../../errors.js';
import type { DoorContext } from '../door.js';
import type { DoorCounters } from '../door-stats.js';
import { takeUpgradedSocket } from '../upgrade.js';
import { Heartbeat } from './heartbeat.js';
import { IdleWebSocket, releaseReceiverSoon, setTicket, takeTicket } from './idle-receiver.js';
import { answerPing } from './pings.js';
import { compactConnectionEvents, shareEmptyExtensions, socketOf } from './ws-internals.js';

export interface PlainServer {
  wss: WebSocketServer;
  heartbeat: Heartbeat;
}

/**
 * `onClose`, when given, runs in the same 'close' listener as the server's own bookkeeping: one
 * listener fewer per connection (a third listener makes EventEmitter grow a ~150-byte array).
 */
export function createPlainServer(
  ctx: DoorContext,
  counters: DoorCounters,
  path: string,
  onConnection: (ws: WebSocket, identity: Identity) => void,
  onClose?: (ws: WebSocket) => void,
  /** Decides who the upgrading client is, or throws the error it is refused with. */
  admit?: (req: IncomingMessage) => Promise<Identity>,
): PlainServer {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: ctx.config.maxMessageSize,
    perMessageDeflate: false,
    // The heartbeat's Set is the list of open sockets; ws's own would add a Set entry and a
    // 'close' closure per connection.
    clientTracking: false,
    // Answered by the shared listener below rather than ws's closure per connection (pings.ts).
    autoPong: false,
    // A quiet connection's frame parser is dropped and made again when bytes come (idle-receiver.ts).
    WebSocket: IdleWebSocket,
  });
  const heartbeat = new Heartbeat(ctx.config.heartbeatInterval);
  // Shared by every connection of this server: no per-connection closure (see idle memory in
  // docs/performance.md). The upgrade request is not kept: nothing here holds on to `req`.
  // Each connection's limit ticket is on its IdleWebSocket, released when it closes.
  const closed = function (this: WebSocket, code: number) {
    takeTicket(this)?.release();
    heartbeat.remove(this);
    if (slowCut.has(this)) counters.slowConsumers++;
    counters.closed(code);
    onClose?.(this);
  };
  const maxBuffered = ctx.config.maxBufferedBytes;
  const onPing = function (this: WebSocket, data: Buffer) {
    answerPing(this, data, maxBuffered, closeSlow);
    releaseReceiverSoon(this);
  };
  const accept = (ws: WebSocket, identity: Identity) => {
    counters.opened();
    const socket = socketOf(ws);
    const ticket = socket && takeUpgradedSocket(socket);
    if (ticket) setTicket(ws, ticket);
    heartbeat.add(ws);
    ws.on('close', closed);
    ws.on('ping', onPing);
    onConnection(ws, identity);
    // The connection's listeners are all on (see compact-events.ts).
    compactConnectionEvents(ws);
    shareEmptyExtensions(ws);
    releaseReceiverSoon(ws);
  };
  const open = (ws: WebSocket) => accept(ws, ANONYMOUS);
  ctx.upgrades.add(path, (req, socket, head) => {
    if (!admit) {
      wss.handleUpgrade(req, socket, head, open);
      return;
    }
    admit(req).then(
      (identity) => {
        if (socket.destroyed) return;
        wss.handleUpgrade(req, socket, head, (ws) => accept(ws, identity));
      },
      (err: unknown) => refuseWith(socket, toHeraldError(err)),
    );
  });
  ctx.onShutdown(() => closeAll(wss, heartbeat, ctx.config.shutdownTimeout));
  return { wss, heartbeat };
}

/** Sends unless the peer is too slow: past the bound it is cut off with 1008 rather than buffered. */
export function sendBounded(ws: WebSocket, data: string | Buffer, binary: boolean, config: Config): boolean {
  if (ws.readyState !== WebSocket.OPEN) return false;
  if (ws.bufferedAmount > config.maxBufferedBytes) {
    closeSlow(ws);
    return false;
  }
  ws.send(data, { binary });
  return true;
}

/** An HTTP answer instead of an upgrade, with the catalogue's status and JSON body. */
function refuseWith(socket: Duplex, err: HeraldError): void {
  const body = JSON.stringify({ error: err.toJSON() });
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? ''}\r\nConnection: close\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Connections cut off for not reading, so their close counts as a slow-consumer cut-off. */
const slowCut = new WeakSet<WebSocket>();

export function closeSlow(ws: WebSocket): void {
  if (ws.readyState !== WebSocket.OPEN) return;
  slowCut.add(ws);
  ws.close(CloseCodes.POLICY_VIOLATION, 'slow consumer: send buffer full');
  // The close frame waits behind the full buffer; do not wait for a peer that is not reading.
  setTimeout(() => ws.terminate(), 1000).unref();
}

async function closeAll(wss: WebSocketServer, heartbeat: Heartbeat, timeoutMs: number): Promise<void> {
  const open = heartbeat.all();
  heartbeat.stop();
  const closing: Promise<void>[] = [];
  for (const ws of open) {
    closing.push(new Promise((resolve) => ws.once('close', () => resolve())));
    ws.close(CloseCodes.GOING_AWAY, 'server shutting down');
  }
  const timer = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
  await Promise.race([Promise.all(closing), timer]);
  for (const ws of open) ws.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
}
