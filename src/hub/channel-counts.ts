// Subscriptions per channel over the whole cluster: each node reports its own counts to the engine
// in batches (changes gathered for COUNTS_DELAY_MS), and the whole list after a reconnect.
import type { Engine, Logger } from '../model/index.js';

/** How long subscription count changes are gathered before the engine is told (one batch). */
const COUNTS_DELAY_MS = 50;

export class ChannelCountReporter {
  /** Channels whose local subscription count changed since the engine was last told. */
  private readonly dirty = new Set<string>();
  private replaceNext = true;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly nodeName: string,
    /** This node's channels and their local counts, read when a report goes out. */
    private readonly local: { names(): string[]; localSubscribers(channel: string): number },
    private readonly log?: Logger,
  ) {}

  changed(channel: string): void {
    if (!this.engine.reportChannelCounts) return;
    this.dirty.add(channel);
    this.schedule();
  }

  /** The engine may have forgotten this node's counts: send all of them next time. */
  replaceAll(): void {
    this.replaceNext = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || !this.engine.reportChannelCounts) return;
    this.timer = setTimeout(() => this.flush(), COUNTS_DELAY_MS);
    this.timer.unref();
  }

  /** Tells the engine this node's changed channel counts (all of them after a reconnect). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const report = this.engine.reportChannelCounts;
    if (!report) return;
    const replace = this.replaceNext;
    const names = replace ? this.local.names() : [...this.dirty];
    this.replaceNext = false;
    this.dirty.clear();
    const counts = names.map((c): [string, number] => [c, this.local.localSubscribers(c)]);
    // Runs on every beat too, even with nothing changed: it keeps the node's counts from expiring.
    report.call(this.engine, this.nodeName, counts, replace).catch((err) => {
      // Not lost: the whole list is sent again once the engine answers.
      this.replaceNext = true;
      this.log?.warn({ err }, 'reporting channel counts failed');
    });
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
