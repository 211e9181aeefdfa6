// Which bus channels this node listens to, kept in step with what the hub wants with as few round
// trips as possible: every subscribe/unsubscribe asked for in the same turn of the event loop goes
// out as one SUBSCRIBE and one UNSUBSCRIBE command (chunked when very long). The same class keeps
// pattern subscriptions (PSUBSCRIBE/PUNSUBSCRIBE) when made with kind 'pattern'.
import type { Redis } from 'ioredis';

/** Channels per SUBSCRIBE/UNSUBSCRIBE command, so one command never grows without bound. */
const CHUNK = 1000;

interface Waiter {
  /** The bus channels this caller asked about: it learns exactly their fate. */
  channels: string[];
  resolve(): void;
  reject(err: Error): void;
}

export class BusSubscriptions {
  /** Bus channels the hub wants delivered. */
  readonly wanted = new Set<string>();
  /** Bus channels Redis was last told to deliver on the current connection. */
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  /**
   * The command still on its way for a channel. A caller whose flush sends nothing for it (an
   * earlier flush already did) waits for that command, and fails if it fails: being told "done"
   * while Redis refused would leave a subscriber deaf.
   */
  private readonly inflight = new Map<string, Promise<unknown>>();
  private waiters: Waiter[] = [];
  private scheduled = false;

  private readonly add: (names: string[]) => Promise<unknown>;
  private readonly remove: (names: string[]) => Promise<unknown>;

  constructor(conn: Redis, kind: 'channel' | 'pattern' = 'channel') {
    this.add = kind === 'channel' ? (n) => conn.subscribe(...n) : (n) => conn.psubscribe(...n);
    this.remove = kind === 'channel' ? (n) => conn.unsubscribe(...n) : (n) => conn.punsubscribe(...n);
  }

  subscribe(channels: string[]): Promise<void> {
    for (const c of channels) {
      this.wanted.add(c);
      this.dirty.add(c);
    }
    return this.schedule(channels);
  }

  unsubscribe(channels: string[]): Promise<void> {
    for (const c of channels) {
      this.wanted.delete(c);
      this.dirty.add(c);
    }
    return this.schedule(channels);
  }

  has(channel: string): boolean {
    return this.wanted.has(channel);
  }

  /** The connection was lost: Redis forgot every subscription it had. */
  connectionLost(): void {
    this.active.clear();
  }

  /** After a reconnect: subscribe everything wanted again, in chunks. */
  async resubscribeAll(): Promise<void> {
    this.active.clear();
    this.dirty.clear();
    const all = [...this.wanted];
    for (const c of all) this.active.add(c);
    for (let i = 0; i < all.length; i += CHUNK) await this.add(all.slice(i, i + CHUNK));
  }

  private schedule(channels: string[]): Promise<void> {
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ channels, resolve, reject }));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return p;
  }

  private flush(): void {
    this.scheduled = false;
    const waiters = this.waiters;
    this.waiters = [];
    const toSub: string[] = [];
    const toUnsub: string[] = [];
    for (const c of this.dirty) {
      if (this.wanted.has(c) && !this.active.has(c)) toSub.push(c);
      else if (!this.wanted.has(c) && this.active.has(c)) toUnsub.push(c);
    }
    this.dirty.clear();
    for (const c of toSub) this.active.add(c);
    for (const c of toUnsub) this.active.delete(c);
    for (let i = 0; i < toSub.length; i += CHUNK) this.send(toSub.slice(i, i + CHUNK), true);
    for (let i = 0; i < toUnsub.length; i += CHUNK) this.send(toUnsub.slice(i, i + CHUNK), false);
    for (const w of waiters) {
      Promise.all(w.channels.map((c) => this.inflight.get(c))).then(() => w.resolve(), w.reject);
    }
  }

  private send(chunk: string[], subscribing: boolean): void {
    const sent = (subscribing ? this.add : this.remove)(chunk);
    for (const c of chunk) this.inflight.set(c, sent);
    const settled = (failed: boolean) => {
      for (const c of chunk) {
        // A newer command for the channel (an unsubscribe, then a subscribe again) decides its fate;
        // forgetting the channel because this older one failed would leave that subscriber deaf.
        if (this.inflight.get(c) !== sent) continue;
        this.inflight.delete(c);
        // Redis did not take it: forget it, so the caller's failure leaves no trace and a later
        // subscribe asks again.
        if (failed && subscribing) {
          this.active.delete(c);
          this.wanted.delete(c);
        }
      }
    };
    sent.then(
      () => settled(false),
      () => settled(true),
    );
  }
}
