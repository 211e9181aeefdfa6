// Live connections counted in total and per address. One instance is shared by every door, so a
// client's WebSockets, SSE streams, held polls and MQTT sockets all count against the same limits.

export type CountRefusal = 'total' | 'address';

/** One address's count, with the one copy of its key that every connection from it shares. */
interface AddressCount {
  readonly key: string;
  n: number;
}

export class IpCounter {
  private readonly perAddress = new Map<string, AddressCount>();
  total = 0;

  /** `0` turns a limit off. */
  constructor(
    private readonly maxTotal: number,
    private readonly maxPerAddress: number,
  ) {}

  /** Counts one more connection for `key`, or says which limit it would break (nothing counted). */
  acquire(key: string): CountRefusal | undefined {
    if (this.maxTotal > 0 && this.total >= this.maxTotal) return 'total';
    const c = this.perAddress.get(key);
    const n = c?.n ?? 0;
    if (this.maxPerAddress > 0 && n >= this.maxPerAddress) return 'address';
    if (c) c.n++;
    else this.perAddress.set(key, { key, n: 1 });
    this.total++;
    return undefined;
  }

  release(key: string): void {
    const c = this.perAddress.get(key);
    if (c === undefined) return;
    if (c.n <= 1) this.perAddress.delete(key);
    else c.n--;
    this.total--;
  }

  count(key: string): number {
    return this.perAddress.get(key)?.n ?? 0;
  }

  /**
   * The copy of `key` this counter holds while the address is counted: a connection keeps its key
   * for its whole life, and each socket's own copy of the address is another string (~20 bytes).
   */
  sharedKey(key: string): string {
    return this.perAddress.get(key)?.key ?? key;
  }

  get addresses(): number {
    return this.perAddress.size;
  }
}
