// Every use of `ws` internals, in one place. The fan-out writes ready-made frames straight to a
// connection's TCP socket (frame-writer.ts), which needs two things ws does not expose: the socket
// (`_socket`), and whether ws's sender is writing at once or queueing (`_sender._state`: 0 writes at
// once; while it compresses or reads a Blob it queues, and a frame written past it would overtake
// the queue). Private fields may change in any release, even a patch, so package.json pins `ws` to
// the exact version this was written against, and checkWsInternals() runs when Herald starts: after
// an upgrade that changed them it refuses to start with a message saying so, rather than
// corrupting frame order or silently falling back to slower sends.

import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { compactEvents } from '../compact-events.js';
import { hasLiveReceiver, IdleWebSocket } from './idle-receiver.js';

/** The `ws` version these internals were checked against (package.json pins it). */
export const WS_VERSION_CHECKED = '8.23.0';

interface Internals {
  _socket?: unknown;
  _sender?: { _state?: unknown; _extensions?: unknown } | null;
  _receiver?: { _extensions?: unknown; _buffers?: unknown; _bufferedBytes?: unknown } | null;
  _extensions?: unknown;
  setSocket?: (socket: Duplex, head: Buffer, options: { maxPayload: number }) => void;
}

const internals = (ws: WebSocket) => ws as unknown as Internals;

/** The TCP socket under an open server-side WebSocket; undefined when there is none to write to. */
export function socketOf(ws: WebSocket): Socket | undefined {
  const s = internals(ws)._socket as Socket | null | undefined;
  return s && typeof s.write === 'function' ? s : undefined;
}

/** Whether ws writes a send at once (true), or queues it behind a compression or a Blob read. */
export function senderWritesAtOnce(ws: WebSocket): boolean {
  // A dropped sender (idle-receiver.ts) is not made again just to be asked.
  if (ws instanceof IdleWebSocket) return ws.senderWritesAtOnce();
  return internals(ws)._sender?._state === 0;
}

/** One empty extension table for every connection without extensions (no permessage-deflate). */
const NO_EXTENSIONS = Object.freeze({});

/**
 * Idle memory (docs/performance.md): a server-side WebSocket made without extensions keeps an
 * empty object for them (~56 bytes), shared by its receiver and sender and never written to on
 * the server side (only a client's handshake fills it). Every such connection gets one frozen
 * empty table instead. Anything else (an extension negotiated, the three not sharing one table)
 * is left alone.
 */
export function shareEmptyExtensions(ws: WebSocket): void {
  const w = internals(ws);
  const table = w._extensions;
  const receiver = w._receiver;
  const sender = w._sender;
  if (table === NO_EXTENSIONS || typeof table !== 'object' || table === null) return;
  if (Reflect.ownKeys(table).length !== 0 || !receiver || !sender) return;
  if (receiver._extensions !== table || sender._extensions !== table) return;
  w._extensions = NO_EXTENSIONS;
  receiver._extensions = NO_EXTENSIONS;
  sender._extensions = NO_EXTENSIONS;
}

/**
 * The receiver's queue of unparsed chunks keeps the backing store it grew to (~150 bytes once a
 * client has sent anything) while empty; a connection that went quiet gets an empty array again.
 * Call it only outside ws's own parsing (from a later turn, not a 'message' listener).
 */
export function releaseReceiverBuffers(ws: WebSocket): void {
  // A dropped receiver is not made again just to be emptied (idle-receiver.ts).
  if (ws instanceof IdleWebSocket && !hasLiveReceiver(ws)) return;
  const r = internals(ws)._receiver;
  if (r && Array.isArray(r._buffers) && r._buffers.length === 0 && r._bufferedBytes === 0) r._buffers = [];
}

/**
 * The listener tables of a connection's three emitters - the WebSocket, its receiver (a Writable
 * to which ws adds four event names) and its TCP socket - rebuilt with every name inside the
 * object (compact-events.ts). Call it once the connection's listeners are on.
 */
export function compactConnectionEvents(ws: WebSocket): void {
  compactEvents(ws);
  const receiver = internals(ws)._receiver;
  if (receiver) compactEvents(receiver as unknown as EventEmitter);
  const socket = socketOf(ws);
  if (socket) compactEvents(socket);
}

let checked: Promise<void> | undefined;

/**
 * Checks that the installed ws has the internals above, once per process: a server-side WebSocket
 * over an in-memory stream (no network), whose sender must be idle, then queue while it reads a
 * Blob, then be idle again. Rejects with what changed and what to do.
 */
export function checkWsInternals(Ws: typeof WebSocket = WebSocket): Promise<void> {
  if (Ws !== WebSocket) return runCheck(Ws);
  checked ??= runCheck(Ws);
  return checked;
}

async function runCheck(Ws: typeof WebSocket): Promise<void> {
  const problems: string[] = [];
  const stream = new Duplex({
    read() {},
    write(_chunk, _encoding, done) {
      done();
    },
  });
  let ws: WebSocket | undefined;
  try {
    // What WebSocketServer does for an accepted upgrade: a server-side socket, then setSocket().
    ws = new (Ws as unknown as new (address: null, protocols: undefined, options: object) => WebSocket)(
      null,
      undefined,
      {},
    );
    const setSocket = internals(ws).setSocket;
    if (typeof setSocket !== 'function') problems.push('WebSocket#setSocket is gone');
    else setSocket.call(ws, stream, Buffer.alloc(0), { maxPayload: 0 });
    if (socketOf(ws) !== stream) problems.push('_socket is not the connection stream');
    if (!senderWritesAtOnce(ws)) problems.push('_sender._state is not 0 while the sender is idle');
    const w = internals(ws);
    if (w._receiver?._extensions !== w._extensions || w._sender?._extensions !== w._extensions)
      problems.push("the receiver and sender do not share the socket's _extensions");
    if (!Array.isArray(w._receiver?._buffers) || w._receiver?._bufferedBytes !== 0)
      problems.push('_receiver._buffers / _bufferedBytes are not an empty queue');
    if (problems.length === 0) {
      const sent = new Promise<Error | undefined>((resolve) => ws?.send(new Blob(['x']), resolve));
      if (senderWritesAtOnce(ws)) problems.push('_sender._state stays 0 while a Blob is read');
      // A changed sender might never call back; the check must not keep the server from starting.
      let timer: NodeJS.Timeout | undefined;
      const err = await Promise.race([
        sent,
        new Promise<Error>((resolve) => {
          timer = setTimeout(() => resolve(new Error('no callback within 1 s')), 1000);
        }),
      ]);
      clearTimeout(timer);
      if (err) problems.push(`sending a Blob through the checked socket failed: ${err.message}`);
      else if (!senderWritesAtOnce(ws)) problems.push('_sender._state is not 0 again after the Blob');
    }
  } catch (err) {
    problems.push(`the check threw: ${(err as Error).message}`);
  } finally {
    ws?.terminate();
    stream.destroy();
  }
  if (problems.length > 0) {
    throw new Error(
      `ws ${installedWsVersion()} does not have the internals Herald writes frames through ` +
        `(${problems.join('; ')}). Herald was checked with ws ${WS_VERSION_CHECKED}, pinned in ` +
        'package.json: install that version, or update src/transports/ws/ws-internals.ts for this one.',
    );
  }
}

function installedWsVersion(): string {
  try {
    return (createRequire(import.meta.url)('ws/package.json') as { version: string }).version;
  } catch {
    return '(unknown version)';
  }
}
