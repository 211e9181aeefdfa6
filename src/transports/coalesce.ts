// Coalescing writes per socket per tick, shared by every door that writes pre-built bytes straight
// to sockets (WebSocket frames, SSE chunks). The first write due to a socket in a tick goes out at
// once; a second one in the same tick corks the socket, and one writev at the end of the tick
// carries the rest. Under load (many publications from one read) k syscalls per socket become 2.
import type { Socket } from 'node:net';

/** Whatever owns a socket remembers the tick of its last write here. */
export interface CoalescedTarget {
  lastTick: number;
}

let tick = 0;
let flushScheduled = false;
const corked: Socket[] = [];

function flush(): void {
  flushScheduled = false;
  tick++;
  for (let i = 0; i < corked.length; i++) corked[i].uncork();
  corked.length = 0;
}

export function writeCoalesced(target: CoalescedTarget, socket: Socket, bytes: Buffer): void {
  if (!flushScheduled) {
    flushScheduled = true;
    process.nextTick(flush);
  }
  if (target.lastTick === tick) {
    if (!socket.writableCorked) {
      socket.cork();
      corked.push(socket);
    }
  } else {
    target.lastTick = tick;
  }
  socket.write(bytes);
}
