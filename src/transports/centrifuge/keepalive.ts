// One timer for every connection of the WebSocket channel protocol: it sends the application-level
// pings, closes clients that did not answer in time or never sent connect, and ends connections
// whose token ran out. A timer per connection would cost a timer object and a callback each.
import type { Config } from '../../config.js';
import { Disconnects } from '../../errors.js';
import type { ClientSession } from './session.js';

/** How often the timer looks at every session; bounds how late a ping or a timeout can be. */
export const KEEPALIVE_TICK_MS = 250;

/**
 * The sessions' clock: whole milliseconds since the process started. Small integers stay inside
 * the session object, where wall-clock milliseconds (past 2^31) are each a separate 16-byte heap
 * number: three per idle session. (After ~24 days of uptime they become heap numbers again.)
 */
export function sessionClock(): number {
  return Math.floor(performance.now());
}

export class Keepalive {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sessions: Set<ClientSession>,
    private readonly config: Config,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.tick(sessionClock(), Date.now()), KEEPALIVE_TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** `now` on the sessions' clock; `wallNow` (ms since the Unix epoch) for token expiries. */
  tick(now: number, wallNow: number): void {
    const pingMs = this.config.clientPing * 1000;
    const pongMs = this.config.clientPongTimeout * 1000;
    const connectMs = this.config.clientConnectTimeout * 1000;
    for (const s of this.sessions) {
      if (!s.isConnected) {
        if (now - s.openedAt >= connectMs) s.disconnect(Disconnects.STALE);
        continue;
      }
      if (s.expiresAt !== 0 && wallNow >= s.expiresAt) {
        s.disconnect(Disconnects.EXPIRED);
      } else if (s.pongPending) {
        if (now - s.lastPingAt >= pongMs) s.disconnect(Disconnects.NO_PONG);
      } else if (now - Math.max(s.lastPingAt, s.connectedAt) >= pingMs) {
        s.ping(now);
      }
    }
  }
}
