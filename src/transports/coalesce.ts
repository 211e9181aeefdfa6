// Coalescing writes per socket, shared by every door that writes pre-built bytes straight to sockets
// (WebSocket frames, SSE chunks). Three levels, none of them a fixed delay unless asked for:
//
// - Per tick: the first write due to a socket in a tick goes out at once; a second one in the same
//   tick corks the socket, and one writev at the end of the tick carries the rest. Under load (many
//   publications from one read) k syscalls per socket become 2.
// - Per event-loop turn, only while behind: publications that arrive one per request (the server
//   API) each come in their own tick, so the tick level never sees two. When a second tick with
//   writes happens within one turn of the event loop (several requests read in one poll phase), the
//   coalescer is behind: from then on, and for the whole next turn, every socket written is corked
//   and uncorked once, in `setImmediate` at the end of the turn's poll phase. A turn with a single
//   tick of writes switches it back, so an idle server writes each publication at once.
// - An explicit delay (the `writeDelay` channel option, milliseconds): the first write corks the
//   socket and a timer uncorks it, trading that much latency for fewer, larger writes.
import type { Socket } from 'node:net';

/** Whatever owns a socket remembers the tick of its last write here. */
export interface CoalescedTarget {
  lastTick: number;
}

let tick = 0;
let tickFlushScheduled = false;
const tickCorked: Socket[] = [];

/** Ticks with writes in the current event-loop turn; > 1 means publications come faster than turns. */
let ticksThisTurn = 0;
let turnEndScheduled = false;
let behind = false;
const turnCorked: Socket[] = [];

/**
 * Held bytes past which a corked socket is written at once: a batch is about syscalls, and bytes
 * held here must not count against the client as unread (the slow-consumer bound).
 */
const MAX_HELD = 16 * 1024;

/** Sockets corked for an explicit write delay, one batch per delay value. */
const delayed = new Map<number, Socket[]>();

function uncorkAll(sockets: Socket[]): void {
  for (let i = 0; i < sockets.length; i++) sockets[i].uncork();
  sockets.length = 0;
}

function flushTick(): void {
  tickFlushScheduled = false;
  tick++;
  uncorkAll(tickCorked);
}

function endTurn(): void {
  turnEndScheduled = false;
  behind = ticksThisTurn > 1;
  ticksThisTurn = 0;
  uncorkAll(turnCorked);
}

function flushDelayed(ms: number): void {
  const sockets = delayed.get(ms);
  delayed.delete(ms);
  if (sockets) uncorkAll(sockets);
}

/** Writes `bytes` to `socket`, batched with other writes to it as described above. */
export function writeCoalesced(target: CoalescedTarget, socket: Socket, bytes: Buffer, delayMs = 0): void {
  if (delayMs > 0) {
    if (!socket.writableCorked) {
      socket.cork();
      let batch = delayed.get(delayMs);
      if (batch === undefined) {
        batch = [];
        delayed.set(delayMs, batch);
        setTimeout(flushDelayed, delayMs, delayMs).unref();
      }
      batch.push(socket);
    }
    write(socket, bytes);
    return;
  }
  if (!tickFlushScheduled) {
    tickFlushScheduled = true;
    process.nextTick(flushTick);
    if (++ticksThisTurn > 1) behind = true;
    if (!turnEndScheduled) {
      turnEndScheduled = true;
      setImmediate(endTurn);
    }
  }
  if (behind) {
    if (!socket.writableCorked) {
      socket.cork();
      turnCorked.push(socket);
    }
  } else if (target.lastTick === tick) {
    if (!socket.writableCorked) {
      socket.cork();
      tickCorked.push(socket);
    }
  } else {
    target.lastTick = tick;
  }
  write(socket, bytes);
}

/** Uncorking early is always safe: the batch lists' later uncork of this socket does nothing. */
function write(socket: Socket, bytes: Buffer): void {
  socket.write(bytes);
  if (socket.writableCorked && socket.writableLength >= MAX_HELD) socket.uncork();
}
