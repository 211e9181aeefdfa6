// The plain WebSocket doors (/echo, /chat) share their ws server settings, limits and shutdown.
import { WebSocket, WebSocketServer } from 'ws';
import type { Config } from '../../config.js';
import { CloseCodes } from '../../errors.js';
import type { DoorContext } from '../door.js';
import type { DoorCounters } from '../door-stats.js';
import { Heartbeat } from './heartbeat.js';

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
  onConnection: (ws: WebSocket) => void,
  onClose?: (ws: WebSocket) => void,
): PlainServer {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: ctx.config.maxMessageSize,
    perMessageDeflate: false,
    clientTracking: true,
  });
  const heartbeat = new Heartbeat(ctx.config.heartbeatInterval);
  // Shared by every connection of this server: no per-connection closure (see idle memory in
  // docs/performance.md). The upgrade request is not kept: nothing here holds on to `req`.
  const closed = function (this: WebSocket, code: number) {
    heartbeat.remove(this);
    if (slowCut.has(this)) counters.slowConsumers++;
    counters.closed(code);
    onClose?.(this);
  };
  const accepted = (ws: WebSocket) => {
    counters.opened();
    heartbeat.add(ws);
    ws.on('close', closed);
    onConnection(ws);
  };
  ctx.upgrades.add(path, (req, socket, head) => wss.handleUpgrade(req, socket, head, accepted));
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
  heartbeat.stop();
  const closing: Promise<void>[] = [];
  for (const ws of wss.clients) {
    closing.push(new Promise((resolve) => ws.once('close', () => resolve())));
    ws.close(CloseCodes.GOING_AWAY, 'server shutting down');
  }
  const timer = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
  await Promise.race([Promise.all(closing), timer]);
  for (const ws of wss.clients) ws.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
}
