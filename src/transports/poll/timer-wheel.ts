// One timer for any number of deadlines: items fall into buckets of `resolutionMs`, and a single
// interval empties the due bucket. Held polls cost a Set entry each, not a timer each.
export class TimerWheel<T> {
  private readonly buckets = new Map<number, Set<T>>();
  private tick = 0;
  private lastTickAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private count = 0;

  constructor(
    private readonly resolutionMs: number,
    private readonly onExpire: (item: T) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Schedules `item` to expire after at least `delayMs` (and less than delayMs + resolution). */
  add(item: T, delayMs: number): number {
    if (!this.timer) {
      this.lastTickAt = this.now();
      this.timer = setInterval(() => this.advance(), this.resolutionMs);
      this.timer.unref();
    }
    const sinceTick = this.now() - this.lastTickAt;
    const key = this.tick + Math.max(1, Math.ceil((delayMs + sinceTick) / this.resolutionMs));
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new Set();
      this.buckets.set(key, bucket);
    }
    bucket.add(item);
    this.count++;
    return key;
  }

  remove(item: T, key: number): void {
    const bucket = this.buckets.get(key);
    if (!bucket?.delete(item)) return;
    this.count--;
    if (bucket.size === 0) this.buckets.delete(key);
    if (this.count === 0) this.stop();
  }

  get size(): number {
    return this.count;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.buckets.clear();
    this.count = 0;
    this.tick = 0;
  }

  private advance(): void {
    this.tick++;
    this.lastTickAt = this.now();
    const due = this.buckets.get(this.tick);
    if (!due) return;
    this.buckets.delete(this.tick);
    this.count -= due.size;
    for (const item of due) this.onExpire(item);
    if (this.count === 0) this.stop();
  }
}
