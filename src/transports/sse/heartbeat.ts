// One timer for every open stream: a stream costs a Set entry, not a timer of its own.
export interface Beating {
  beat(): void;
}

export class SharedHeartbeat<T extends Beating> {
  private readonly members = new Set<T>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs: number) {}

  add(member: T): void {
    this.members.add(member);
    if (!this.timer) {
      this.timer = setInterval(() => {
        for (const m of this.members) m.beat();
      }, this.intervalMs);
      this.timer.unref();
    }
  }

  delete(member: T): void {
    this.members.delete(member);
    if (this.members.size === 0) this.stop();
  }

  get size(): number {
    return this.members.size;
  }

  all(): T[] {
    return [...this.members];
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
