// A Map for what is almost always one entry: a connection's subscriptions. Most connections hold
// one channel; a Map costs its object plus a hash table sized for several entries (~180 bytes per
// idle connection, measured with heap snapshots), so the first entry is kept inline and a real Map
// is made only for a second one.

/** The inline slot's key while it holds nothing (any real key, even undefined, differs). */
const NONE: unique symbol = Symbol('none');

export class SmallMap<K, V> {
  private key: K | typeof NONE = NONE;
  private value: V | undefined;
  private many: Map<K, V> | undefined;

  get size(): number {
    return this.many ? this.many.size : this.key !== NONE ? 1 : 0;
  }

  get(key: K): V | undefined {
    if (this.many) return this.many.get(key);
    return this.key === key ? this.value : undefined;
  }

  has(key: K): boolean {
    if (this.many) return this.many.has(key);
    return this.key === key;
  }

  set(key: K, value: V): this {
    if (this.many) this.many.set(key, value);
    else if (this.key === NONE || this.key === key) {
      this.key = key;
      this.value = value;
    } else {
      // Insertion order is kept: the inline entry first.
      this.many = new Map([[this.key, this.value as V]]);
      this.many.set(key, value);
      this.key = NONE;
      this.value = undefined;
    }
    return this;
  }

  delete(key: K): boolean {
    if (this.many) return this.many.delete(key);
    if (this.key === NONE || this.key !== key) return false;
    this.key = NONE;
    this.value = undefined;
    return true;
  }

  *[Symbol.iterator](): IterableIterator<[K, V]> {
    if (this.many) yield* this.many;
    else if (this.key !== NONE) yield [this.key, this.value as V];
  }
}
