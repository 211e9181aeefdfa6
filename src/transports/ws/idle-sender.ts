// A quiet WebSocket connection needs no frame writer object either. ws gives every connection a
// Sender (~0.13 KiB of V8 heap with its queue) for its whole life, but Herald writes its frames
// straight to the socket (frame-writer.ts) and ws needs the Sender only for its own ping, pong,
// close and send. IdleWebSocket (idle-receiver.ts) turns `_sender` into an accessor: a sender that
// is idle (writing at once, nothing queued or counted, not in a fragmented or compressed message)
// is dropped with the receiver, and made again, as ws makes it, the moment ws reads `_sender`.
// Every field of ws 8.23's Sender is checked first; with any other field it is never dropped.
import * as wsModule from 'ws';

/** The Sender fields this relies on (ws 8.23). */
export interface Sender {
  _extensions: object;
  _socket: unknown;
  _firstFragment: boolean;
  _compress: boolean;
  _bufferedBytes: number;
  _queue: unknown[];
  _state: number;
  onerror: (err: Error) => void;
  _generateMask?: unknown;
}

type SenderClass = new (socket: unknown, extensions: object) => Sender;
const SenderOf = (wsModule as unknown as { Sender: SenderClass }).Sender;

/** Every own string-named field of ws 8.23's Sender, on a server-side socket (no mask function). */
const KNOWN_FIELDS = new Set([
  '_extensions',
  '_socket',
  '_firstFragment',
  '_compress',
  '_bufferedBytes',
  '_queue',
  '_state',
  'onerror',
]);

interface Learned {
  kWebSocket: symbol;
  onerror: (err: Error) => void;
}
/** undefined: not learned yet; null: this ws does not look as expected, senders are kept. */
let learned: Learned | null | undefined;

function learn(s: Sender, ws: object): Learned | null {
  if (typeof SenderOf !== 'function' || !(s instanceof SenderOf)) return null;
  if (!Object.keys(s).every((k) => KNOWN_FIELDS.has(k))) return null;
  const symbols = Object.getOwnPropertySymbols(s);
  const sym = symbols.find((k) => (s as unknown as Record<symbol, unknown>)[k] === ws);
  if (symbols.length !== 1 || sym === undefined || typeof s.onerror !== 'function') return null;
  return { kWebSocket: sym, onerror: s.onerror };
}

/** Whether this sender of `ws` may be dropped now: idle, and one this module can make again. */
export function senderDroppable(s: Sender, ws: object): boolean {
  if (learned === undefined) {
    learned = learn(s, ws);
    if (learned === null) warnKept('sender');
  }
  if (learned === null) return false;
  return (
    s._state === 0 &&
    s._queue.length === 0 &&
    s._bufferedBytes === 0 &&
    s._firstFragment &&
    !s._compress &&
    s._generateMask === undefined &&
    s.onerror === learned.onerror &&
    (s as unknown as Record<symbol, unknown>)[learned.kWebSocket] === ws &&
    Object.keys(s).length === KNOWN_FIELDS.size
  );
}

/** A sender as ws's setSocket makes it, for a socket whose sender was dropped. */
export function remakeSender(ws: object, socket: unknown, extensions: object): Sender {
  const l = learned as Learned;
  const s = new SenderOf(socket, extensions);
  s.onerror = l.onerror;
  (s as unknown as Record<symbol, unknown>)[l.kWebSocket] = ws;
  return s;
}

/**
 * Said once per process when ws's receiver or sender does not look as this module was written for
 * (another ws version): they are then kept, which is safe but costs idle memory, and an operator
 * should know. A process warning rather than the logger: this module is below the doors.
 */
export function warnKept(what: 'receiver' | 'sender'): void {
  process.emitWarning(
    `ws's ${what} does not look as Herald's idle-memory code expects (another ws version?): ` +
      `it is kept for every connection (safe, but more memory per idle connection)`,
    { code: 'HERALD_WS_IDLE_KEPT' },
  );
}
