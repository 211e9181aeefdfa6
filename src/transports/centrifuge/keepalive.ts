// One timer for every connection of the WebSocket channel protocol: it sends the application-level
// pings, closes clients that did not answer in time or never sent connect, and ends connections
// whose token ran out. A timer per connection would cost a timer object and a callback each.
import type { Config } from '../../config.js';
import { Disconnects } from '../../errors.js';
import type { ClientSession } from './session.js';

/** How often the timer looks at every session; bounds how late a ping or a timeout can be. */
export const KEEPALIVE_TICK_MS = 250;

export class Keepalive {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sessions: Set<ClientSession>,
    private readonly config: Config,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.tick(Date.now()), KEEPALIVE_TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  tick(now: number): void {
    const pingMs = this.config.clientPing * 1000;
    const pongMs = this.config.clientPongTimeout * 1000;
    const connectMs = this.config.clientConnectTimeout * 1000;
    for (const s of this.sessions) {
      if (!s.isConnected) {
        if (now - s.openedAt >= connectMs) s.disconnect(Disconnects.STALE);
        continue;
      }
      if (s.expiresAt !== 0 && now >= s.expiresAt) {
        s.disconnect(Disconnects.EXPIRED);
      } else if (s.pongPending) {
        if (now - s.lastPingAt >= pongMs) s.disconnect(Disconnects.NO_PONG);
      } else if (now - Math.max(s.lastPingAt, s.connectedAt) >= pingMs) {
        s.ping(now);
      }
    }
  }
}
