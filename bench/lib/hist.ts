// A latency histogram with ~2 % relative precision from 10 us to minutes, cheap to fill at hundreds
// of thousands of samples per second and small enough to send from a load process as a plain array.
const MIN_MS = 0.01;
const GROWTH = Math.log(1.02);
export const BUCKETS = 900;

export class Histogram {
  readonly counts: number[];
  total = 0;

  constructor(counts?: number[]) {
    this.counts = counts ? counts.slice() : new Array(BUCKETS).fill(0);
    if (counts) for (const c of counts) this.total += c;
  }

  add(ms: number): void {
    const b = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / GROWTH));
    this.counts[b]++;
    this.total++;
  }

  merge(other: { counts: number[] }): void {
    for (let i = 0; i < BUCKETS; i++) {
      this.counts[i] += other.counts[i];
      this.total += other.counts[i];
    }
  }

  /** The latency (ms) at or below which `q` of the samples fall; NaN when empty. */
  quantile(q: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return i === 0 ? MIN_MS : MIN_MS * Math.exp(i * GROWTH);
    }
    return Number.POSITIVE_INFINITY;
  }
}
