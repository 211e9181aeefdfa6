// A client's WebSocket pings, answered by a listener every connection of a door shares. ws answers
// them itself by default, but with a closure made for every connection (its pending-pong counter,
// ~100 bytes of each idle connection); the door's WebSocket servers turn that off (`autoPong:
// false`) and answer here. A client that pings without reading the pongs is bounded the way every
// other write is: past the door's buffered-bytes bound it is cut off as slow.
import { WebSocket } from 'ws';

/** Pongs `data` back, or calls `onSlow` once more than `maxBuffered` bytes wait for the client. */
export function answerPing(
  ws: WebSocket,
  data: Buffer,
  maxBuffered: number,
  onSlow: (ws: WebSocket) => void,
): void {
  if (ws.readyState !== WebSocket.OPEN) return;
  if (ws.bufferedAmount > maxBuffered) {
    onSlow(ws);
    return;
  }
  ws.pong(data, false);
}
