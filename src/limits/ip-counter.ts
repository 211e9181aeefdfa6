// Live connections counted in total and per address. One instance is shared by every door, so a
// client's WebSockets, SSE streams, held polls and MQTT sockets all count against the same limits.

export type CountRefusal = 'total' | 'address';

export class IpCounter {
  private readonly perAddress = new Map<string, number>();
  total = 0;

  /** `0` turns a limit off. */
  constructor(
    private readonly maxTotal: number,
    private readonly maxPerAddress: number,
  ) {}

  /** Counts one more connection for `key`, or says which limit it would break (nothing counted). */
  acquire(key: string): CountRefusal | undefined {
    if (this.maxTotal > 0 && this.total >= this.maxTotal) return 'total';
    const n = this.perAddress.get(key) ?? 0;
    if (this.maxPerAddress > 0 && n >= this.maxPerAddress) return 'address';
    this.perAddress.set(key, n + 1);
    this.total++;
    return undefined;
  }

  release(key: string): void {
    const n = this.perAddress.get(key);
    if (n === undefined) return;
    if (n <= 1) this.perAddress.delete(key);
    else this.perAddress.set(key, n - 1);
    this.total--;
  }

  count(key: string): number {
    return this.perAddress.get(key) ?? 0;
  }

  get addresses(): number {
    return this.perAddress.size;
  }
}
