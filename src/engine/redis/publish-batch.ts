// Publishes that arrive within one event-loop turn (typically the requests or commands read in one
// poll phase) go to Redis as one batch script call: one command to build, send and decode on this
// node and one script run in Redis, instead of one each per publication. A quiet server sends
// each publication at the end of the turn it arrived in (setImmediate: no timer, no fixed delay).
// Order is kept: batches leave in the order they were closed, on one connection, and a batch runs
// its publications in the order they were issued, so a channel's offsets follow call order.

/** One publication waiting for its batch: the script's keys and arguments, and its caller. */
export interface PendingPublish {
  meta: string;
  stream: string;
  historySize: number;
  historyTtlMs: number;
  /** Its encoded body (codec.ts); a string is JSON text, sent as UTF-8. */
  body: string | Buffer;
  bus: string;
  resolve(r: { offset: number; epoch: string; time: number }): void;
  reject(err: unknown): void;
}

export interface BatchLimits {
  /** Publications per script call: one call holds Redis for the time of all of them. */
  maxCount: number;
  /** Body bytes per script call. */
  maxBytes: number;
}

export class PublishBatcher {
  private queue: PendingPublish[] = [];
  private bytes = 0;
  private scheduled = false;

  constructor(
    private readonly send: (batch: PendingPublish[]) => void,
    private readonly limits: BatchLimits,
  ) {}

  add(p: PendingPublish): void {
    this.queue.push(p);
    this.bytes += typeof p.body === 'string' ? Buffer.byteLength(p.body) : p.body.length;
    if (this.queue.length >= this.limits.maxCount || this.bytes >= this.limits.maxBytes) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.onTurnEnd);
    }
  }

  private readonly onTurnEnd = () => {
    this.scheduled = false;
    this.flush();
  };

  private flush(): void {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.bytes = 0;
    this.send(batch);
  }
}
