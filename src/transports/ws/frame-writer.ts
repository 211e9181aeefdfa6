// Writes ready-made WebSocket frames (src/protocol/ws-frame.ts) straight to a ws connection's TCP
// socket, so fan-out sends one pre-built buffer per socket instead of ws.send()'s per-socket frame
// header, cork/uncork and two-buffer writev. Order with ws's own sends (welcome, ping, close) holds
// because both write to the same socket synchronously; when ws is queueing internally (it does so
// only while compressing or reading a Blob), we hand the payload to ws.send() so it queues in order.
// Frames due to one socket within one tick are coalesced: the second one corks the socket and one
// writev at the end of the tick carries the rest; see coalesce.ts for batching while behind and the
// explicit write delay.
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { framePayload } from '../../protocol/ws-frame.js';
import { writeCoalesced } from '../coalesce.js';
import { closeSlow } from './plain-server.js';
import { senderWritesAtOnce, socketOf } from './ws-internals.js';

/** A connection that fan-out writes frames to: the ws, its socket, and when it was last written. */
export class FrameTarget {
  readonly socket: Socket | undefined;
  /** The tick number of the last direct write, to spot a second frame within the same tick. */
  lastTick = -1;

  constructor(readonly ws: WebSocket) {
    this.socket = socketOf(ws);
  }
}

const closeSlowTarget = (target: FrameTarget) => closeSlow(target.ws);

/**
 * Writes one frame unless the peer is too slow: past `maxBuffered` bytes queued, `onSlow` cuts it
 * off (by default with 1008, as sendBounded does; a door with its own close codes passes its own,
 * a shared function rather than a per-connection closure). Returns whether the frame was written.
 */
export function writeFrame<T extends FrameTarget>(
  target: T,
  frame: Buffer,
  binary: boolean,
  maxBuffered: number,
  onSlow: (target: T) => void = closeSlowTarget,
  delayMs = 0,
): boolean {
  const { ws, socket } = target;
  if (ws.readyState !== WebSocket.OPEN) return false;
  if (ws.bufferedAmount > maxBuffered) {
    onSlow(target);
    return false;
  }
  if (socket === undefined || !senderWritesAtOnce(ws)) {
    ws.send(framePayload(frame), { binary });
    return true;
  }
  writeCoalesced(target, socket, frame, delayMs);
  return true;
}
