// A quiet WebSocket connection needs no frame parser. ws gives every connection a Receiver (a
// Writable stream: the parser object, its stream state, its listener table, a bound write callback,
// two queues: ~0.65 KiB of V8 heap, a quarter of an idle connection; docs/performance.md, "Idle RSS,
// round 3"), kept for the connection's whole life although most connections send nothing for
// minutes. Here a connection's receiver is dropped once it has worked off everything it read
// (between two frames, no partial frame, no fragments, nothing queued, nothing pending), and made
// again, with the same options and listeners, the moment ws touches it: the socket's next bytes,
// its end or close, ws's close() and resume(). ws reaches its receiver only through `_receiver`,
// which IdleWebSocket turns into an accessor; WebSocketServer makes its sockets with this class
// (its `WebSocket` option). Everything ws's own receiver carries between frames is checked before
// it is dropped; on any difference (another ws version, another listener) it is kept. ws's Sender
// is dropped and made again the same way, at the same moments (idle-sender.ts).
import type { EventEmitter } from 'node:events';
import * as wsModule from 'ws';
import { WebSocket } from 'ws';
import type { Ticket } from '../../limits/connections.js';
import { compactEvents } from '../compact-events.js';
import { remakeSender, type Sender, senderDroppable, warnKept } from './idle-sender.js';

/** The Receiver fields this relies on (ws 8.23, src/transports/ws/ws-internals.ts pins it). */
interface Receiver extends EventEmitter {
  _allowSynchronousEvents: boolean;
  _isServer: boolean;
  _maxBufferedChunks: number;
  _maxFragments: number;
  _maxPayload: number;
  _skipUTF8Validation: boolean;
  _state: number;
  _bufferedBytes: number;
  _buffers: unknown[];
  _fragmented: number;
  _fragments: unknown[];
  _numFragments: number;
  _totalPayloadLength: number;
  _errored: boolean;
  _loop: boolean;
  _writableState: {
    length: number;
    writing: boolean;
    ending: boolean;
    ended: boolean;
    needDrain: boolean;
    corked: number;
    pendingcb: number;
    errored: unknown;
    destroyed: boolean;
  };
}

type ReceiverClass = new (options: object) => Receiver;
// The module's own export (ESM); `WebSocket.Receiver` is set only by ws's CommonJS entry.
const ReceiverOf = (wsModule as unknown as { Receiver: ReceiverClass }).Receiver;

/** The receiver events ws listens to, each with its one module-level listener. */
const EVENTS = ['conclude', 'drain', 'error', 'message', 'ping', 'pong'] as const;

/** ws's listeners and the symbol a receiver finds its WebSocket under, read off the first receiver. */
interface Learned {
  kWebSocket: symbol;
  listeners: ((...args: unknown[]) => void)[];
}
/** undefined: not learned yet; null: this ws does not look as expected, receivers are kept. */
let learned: Learned | null | undefined;

/**
 * Every own field of ws 8.23's Receiver (and its stream): quiet() checks each one that carries
 * state between frames. A receiver with any other field is from a ws this was not checked with:
 * then receivers are kept, never dropped.
 */
const KNOWN_FIELDS = new Set([
  '_events',
  '_eventsCount',
  '_maxListeners',
  '_writableState',
  '_allowSynchronousEvents',
  '_binaryType',
  '_extensions',
  '_isServer',
  '_maxBufferedChunks',
  '_maxFragments',
  '_maxPayload',
  '_skipUTF8Validation',
  '_bufferedBytes',
  '_buffers',
  '_compressed',
  '_payloadLength',
  '_mask',
  '_fragmented',
  '_masked',
  '_fin',
  '_opcode',
  '_totalPayloadLength',
  '_messageLength',
  '_numFragments',
  '_fragments',
  '_errored',
  '_loop',
  '_state',
]);

function learn(r: Receiver, ws: WebSocket): Learned | null {
  if (!Object.keys(r).every((k) => KNOWN_FIELDS.has(k))) return null;
  const sym = Object.getOwnPropertySymbols(r).find(
    (s) => (r as unknown as Record<symbol, unknown>)[s] === ws,
  );
  if (sym === undefined || typeof ReceiverOf !== 'function' || !(r instanceof ReceiverOf)) return null;
  const listeners: Learned['listeners'] = [];
  for (const e of EVENTS) {
    const l = r.listeners(e);
    if (l.length !== 1) return null;
    listeners.push(l[0] as Learned['listeners'][number]);
  }
  return { kWebSocket: sym, listeners };
}

/** The options a receiver was made with, one frozen object per distinct set (one per door). */
interface ReceiverOptions {
  allowSynchronousEvents: boolean;
  isServer: boolean;
  maxBufferedChunks: number;
  maxFragments: number;
  maxPayload: number;
  skipUTF8Validation: boolean;
}
const optionSets = new Map<string, ReceiverOptions>();

function optionsOf(r: Receiver): ReceiverOptions {
  const o: ReceiverOptions = {
    allowSynchronousEvents: r._allowSynchronousEvents,
    isServer: r._isServer,
    maxBufferedChunks: r._maxBufferedChunks,
    maxFragments: r._maxFragments,
    maxPayload: r._maxPayload,
    skipUTF8Validation: r._skipUTF8Validation,
  };
  const key = JSON.stringify(o);
  let shared = optionSets.get(key);
  if (shared === undefined) {
    shared = Object.freeze(o);
    optionSets.set(key, shared);
  }
  return shared;
}

/** Between two frames, nothing read and not parsed, nothing queued or pending in the stream. */
function quiet(r: Receiver): boolean {
  const w = r._writableState;
  return (
    r._state === 0 &&
    r._bufferedBytes === 0 &&
    r._buffers.length === 0 &&
    r._fragmented === 0 &&
    r._fragments.length === 0 &&
    r._numFragments === 0 &&
    r._totalPayloadLength === 0 &&
    !r._errored &&
    !r._loop &&
    w.length === 0 &&
    !w.writing &&
    !w.ending &&
    !w.ended &&
    !w.needDrain &&
    w.corked === 0 &&
    w.pendingcb === 0 &&
    !w.errored &&
    !w.destroyed
  );
}

/** A server-side WebSocket whose frame parser exists only while it is needed. */
export class IdleWebSocket extends WebSocket {
  /**
   * What the door keeps for this connection (its session or transport) and its connection-limit
   * ticket, for the door's shared listeners: two fields rather than an entry in a WeakMap each
   * (~55 bytes apiece at 20,000 connections, the tables doubling as they grow). See connectionData.
   */
  owner: unknown = undefined;
  ticket: Ticket | undefined = undefined;
  /** Where the quiet-connection sweep stands with this connection (see releaseReceiverSoon). */
  sweepState = 0;
  /** The live receiver; undefined while dropped (then `receiverOptions` says how to make it). */
  declare private liveReceiver: Receiver | null | undefined;
  declare private receiverOptions: ReceiverOptions | undefined;

  get _receiver(): Receiver | null {
    const r = this.liveReceiver;
    if (r !== undefined) return r;
    return this.receiverOptions === undefined ? null : this.remakeReceiver();
  }

  set _receiver(r: Receiver | null) {
    this.liveReceiver = r;
  }

  /** The live sender; undefined while dropped (idle-sender.ts). */
  declare private liveSender: Sender | null | undefined;

  get _sender(): Sender | null {
    const s = this.liveSender;
    if (s !== undefined) return s;
    const w = this as unknown as { _socket: unknown; _extensions: object };
    this.liveSender = remakeSender(this, w._socket, w._extensions);
    return this.liveSender;
  }

  set _sender(s: Sender | null) {
    this.liveSender = s;
  }

  /** ws's bufferedAmount, without making a dropped sender again: a dropped one holds nothing. */
  bufferedNow(): number {
    if (this.liveSender !== undefined) return (wsBufferedAmount as () => number).call(this);
    return (this as unknown as { _socket: { _writableState: { length: number } } })._socket._writableState
      .length;
  }

  /** ws's sender writes at once (does not queue): true when it was dropped, being idle. */
  senderWritesAtOnce(): boolean {
    const s = this.liveSender;
    return s === undefined || s?._state === 0;
  }

  /** Drops the sender if it is idle; true when dropped. */
  releaseSender(): boolean {
    const s = this.liveSender;
    if (s === undefined || s === null || this.readyState !== WebSocket.OPEN) return false;
    if (wsBufferedAmount === undefined || !senderDroppable(s, this)) return false;
    this.liveSender = undefined;
    return true;
  }

  private remakeReceiver(): Receiver {
    const l = learned as Learned;
    const w = this as unknown as { _extensions: object };
    const r = new ReceiverOf({
      ...this.receiverOptions,
      binaryType: this.binaryType,
      extensions: w._extensions,
    });
    (r as unknown as Record<symbol, unknown>)[l.kWebSocket] = this;
    for (let i = 0; i < EVENTS.length; i++) r.on(EVENTS[i], l.listeners[i]);
    compactEvents(r);
    this.liveReceiver = r;
    return r;
  }

  /** Whether a receiver is live now (not dropped). */
  holdsReceiver(): boolean {
    return this.liveReceiver != null;
  }

  /** Drops the receiver if it is between frames with nothing pending; true when dropped. */
  releaseReceiver(): boolean {
    const r = this.liveReceiver;
    if (r === undefined || r === null || this.readyState !== WebSocket.OPEN) return false;
    if ((this as unknown as { _closeFrameReceived: boolean })._closeFrameReceived || !quiet(r)) return false;
    if (learned === undefined) {
      learned = learn(r, this);
      if (learned === null) warnKept('receiver');
    }
    if (learned === null) return false;
    // The same listeners as the first receiver's, or it is not one this module can remake.
    for (let i = 0; i < EVENTS.length; i++) {
      const l = r.listeners(EVENTS[i]);
      if (l.length !== 1 || l[0] !== learned.listeners[i]) return false;
    }
    if ((r as unknown as Record<symbol, unknown>)[learned.kWebSocket] !== this) return false;
    this.receiverOptions = optionsOf(r);
    this.liveReceiver = undefined;
    return true;
  }
}

/** ws's own getter, which reads the sender; IdleWebSocket's asks bufferedNow() (TS cannot override it). */
const wsBufferedAmount = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'bufferedAmount')?.get;
if (wsBufferedAmount !== undefined) {
  Object.defineProperty(IdleWebSocket.prototype, 'bufferedAmount', {
    configurable: true,
    get(this: IdleWebSocket) {
      return this.bufferedNow();
    },
  });
}

/** For a WebSocket made by another class (none of Herald's servers): the same data in WeakMaps. */
const owners = new WeakMap<WebSocket, unknown>();
const tickets = new WeakMap<WebSocket, Ticket>();

/** The door's object for a connection (see IdleWebSocket.owner). */
export function ownerOf<T>(ws: WebSocket): T | undefined {
  return (ws instanceof IdleWebSocket ? ws.owner : owners.get(ws)) as T | undefined;
}

export function setOwner(ws: WebSocket, owner: unknown): void {
  if (ws instanceof IdleWebSocket) ws.owner = owner;
  else if (owner === undefined) owners.delete(ws);
  else owners.set(ws, owner);
}

/** Takes the connection's ticket off it (to release it once). */
export function takeTicket(ws: WebSocket): Ticket | undefined {
  if (!(ws instanceof IdleWebSocket)) {
    const t = tickets.get(ws);
    tickets.delete(ws);
    return t;
  }
  const t = ws.ticket;
  ws.ticket = undefined;
  return t;
}

export function setTicket(ws: WebSocket, ticket: Ticket): void {
  if (ws instanceof IdleWebSocket) ws.ticket = ticket;
  else tickets.set(ws, ticket);
}

/**
 * How long a connection must have been quiet before its receiver goes. Dropping at the end of every
 * turn made an active connection (a publisher, an echo client) build a receiver per message: about
 * a sixth of an echo round trip's CPU. Now a connection is looked at by a sweep every QUIET_MS and
 * released at the first sweep that finds it untouched since the previous one, so a receiver goes
 * 250-500 ms after the last frame, and a busy connection keeps its own.
 */
const QUIET_MS = 250;
const NOT_WATCHED = 0;
const QUIET = 1;
const TOUCHED = 2;

let watched: IdleWebSocket[] = [];
let sweepTimer: NodeJS.Timeout | undefined;

function sweep(): void {
  const list = watched;
  watched = [];
  for (let i = 0; i < list.length; i++) {
    const ws = list[i];
    if (ws.readyState !== WebSocket.OPEN) {
      ws.sweepState = NOT_WATCHED;
    } else if (ws.sweepState === TOUCHED) {
      ws.sweepState = QUIET;
      watched.push(ws);
    } else {
      ws.releaseSender();
      if (ws.releaseReceiver() || !ws.holdsReceiver()) ws.sweepState = NOT_WATCHED;
      else watched.push(ws); // mid-frame: looked at again next time
    }
  }
  if (watched.length === 0 && sweepTimer !== undefined) {
    clearInterval(sweepTimer);
    sweepTimer = undefined;
  }
}

/**
 * Marks the connection as having just worked (accepted, a message, a ping or a pong handled): its
 * receiver and sender are dropped once it has been quiet for a while (QUIET_MS), not on a busy
 * connection.
 */
export function releaseReceiverSoon(ws: WebSocket): void {
  if (!(ws instanceof IdleWebSocket)) return;
  if (ws.sweepState !== NOT_WATCHED) {
    ws.sweepState = TOUCHED;
    return;
  }
  ws.sweepState = TOUCHED;
  watched.push(ws);
  if (sweepTimer === undefined) {
    sweepTimer = setInterval(sweep, QUIET_MS);
    sweepTimer.unref();
  }
}

/** Whether the connection holds a sender right now (for tests and diagnostics). */
export function hasLiveSender(ws: WebSocket): boolean {
  return (ws as unknown as { liveSender?: unknown }).liveSender != null;
}

/** Whether the connection holds a receiver right now (for tests and diagnostics). */
export function hasLiveReceiver(ws: WebSocket): boolean {
  return (ws as unknown as { liveReceiver?: unknown }).liveReceiver != null;
}
