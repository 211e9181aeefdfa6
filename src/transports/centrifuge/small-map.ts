// A Map for what is almost always one entry: a connection's subscriptions. Most connections hold
// one channel; a Map costs its object plus a hash table sized for several entries (~180 bytes per
// idle connection, measured with heap snapshots), so the first entry is kept inline and a real Map
// is made only for a second one.

export class SmallMap<K, V> {
  private key: K | undefined;
  private value: V | undefined;
  private has1 = false;
  private many: Map<K, V> | undefined;

  get size(): number {
    return this.many ? this.many.size : this.has1 ? 1 : 0;
  }

  get(key: K): V | undefined {
    if (this.many) return this.many.get(key);
    return this.has1 && this.key === key ? this.value : undefined;
  }

  has(key: K): boolean {
    if (this.many) return this.many.has(key);
    return this.has1 && this.key === key;
  }

  set(key: K, value: V): this {
    if (this.many) this.many.set(key, value);
    else if (!this.has1 || this.key === key) {
      this.key = key;
      this.value = value;
      this.has1 = true;
    } else {
      // Insertion order is kept: the inline entry first.
      this.many = new Map([[this.key as K, this.value as V]]);
      this.many.set(key, value);
      this.key = undefined;
      this.value = undefined;
      this.has1 = false;
    }
    return this;
  }

  delete(key: K): boolean {
    if (this.many) return this.many.delete(key);
    if (!this.has1 || this.key !== key) return false;
    this.key = undefined;
    this.value = undefined;
    this.has1 = false;
    return true;
  }

  *[Symbol.iterator](): IterableIterator<[K, V]> {
    if (this.many) yield* this.many;
    else if (this.has1) yield [this.key as K, this.value as V];
  }
}
