// One timer for every plain WebSocket: ping each open socket, and drop those that did not answer
// the previous ping. A dead peer costs at most two intervals. Per connection it keeps one Set entry
// and one shared listener (no closure, no WeakMap entry): idle connections are most connections.
import type { WebSocket } from 'ws';
import { releaseReceiverSoon } from './idle-receiver.js';

export class Heartbeat {
  private readonly sockets = new Set<WebSocket>();
  /** Pinged and not answered yet. */
  private readonly pending = new Set<WebSocket>();
  private readonly onPong: (this: WebSocket) => void;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs: number) {
    const pending = this.pending;
    this.onPong = function (this: WebSocket) {
      pending.delete(this);
      // The pong was the only thing read since the last quiet moment: the parser can go again.
      releaseReceiverSoon(this);
    };
  }

  add(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on('pong', this.onPong);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Every socket still open (the server keeps no list of its own: see clientTracking). */
  all(): WebSocket[] {
    return [...this.sockets];
  }

  remove(ws: WebSocket): void {
    this.sockets.delete(ws);
    this.pending.delete(ws);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    for (const ws of this.sockets) {
      if (this.pending.has(ws)) {
        this.remove(ws);
        ws.terminate();
        continue;
      }
      this.pending.add(ws);
      ws.ping();
    }
  }
}
