// A token bucket: up to `burst` actions at once, then `rate` per second. Refilled lazily from the
// clock when asked, so an idle bucket costs no timer and no work.

export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now = performance.now(),
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** Takes one token; false when none is left (the action is over the rate). */
  take(now = performance.now()): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Refilled to the brim: indistinguishable from a new bucket, so a keyed table may forget it. */
  isFull(now = performance.now()): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }

  private refill(now: number): void {
    if (now <= this.at) return;
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.rate) / 1000);
    this.at = now;
  }
}

/**
 * One bucket per key (an address), created on first use. Full buckets are forgotten by a sweep, so
 * the table holds only keys that acted recently, whatever the number of addresses seen.
 */
export class KeyedBuckets {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    sweepMs = 10_000,
  ) {
    this.timer = setInterval(() => this.sweep(), sweepMs);
    this.timer.unref();
  }

  take(key: string): boolean {
    let b = this.buckets.get(key);
    if (!b) {
      b = new TokenBucket(this.rate, this.burst);
      this.buckets.set(key, b);
    }
    return b.take();
  }

  get size(): number {
    return this.buckets.size;
  }

  sweep(now = performance.now()): void {
    for (const [key, b] of this.buckets) if (b.isFull(now)) this.buckets.delete(key);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
