// One timer for every plain WebSocket: ping each open socket, and drop those that did not answer
// the previous ping. A dead peer costs at most two intervals.
import type { WebSocket } from 'ws';

export class Heartbeat {
  private readonly alive = new WeakMap<WebSocket, boolean>();
  private readonly sockets = new Set<WebSocket>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs: number) {}

  add(ws: WebSocket): void {
    this.sockets.add(ws);
    this.alive.set(ws, true);
    ws.on('pong', () => this.alive.set(ws, true));
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref();
    }
  }

  remove(ws: WebSocket): void {
    this.sockets.delete(ws);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    for (const ws of this.sockets) {
      if (!this.alive.get(ws)) {
        this.sockets.delete(ws);
        ws.terminate();
        continue;
      }
      this.alive.set(ws, false);
      ws.ping();
    }
  }
}
