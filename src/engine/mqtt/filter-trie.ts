// MQTT filters in a tree of levels, so finding the filters a topic matches costs the topic's depth
// (times the wildcard branches), not one matchesFilter per filter: a publication looks it up while
// thousands of offline sessions hold filters. Same rules as matchesFilter (model/channel-name.ts).

interface Node<V> {
  children: Map<string, Node<V>>;
  /** Values of filters ending here. */
  values: Map<V, number>;
}

const node = <V>(): Node<V> => ({ children: new Map(), values: new Map() });

export class FilterTrie<V> {
  private readonly root: Node<V> = node();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds `value` under `filter` (counted: add twice, delete twice). */
  add(filter: string, value: V): void {
    let n = this.root;
    for (const level of filter.split('/')) {
      let next = n.children.get(level);
      if (!next) {
        next = node();
        n.children.set(level, next);
      }
      n = next;
    }
    n.values.set(value, (n.values.get(value) ?? 0) + 1);
    this.count++;
  }

  delete(filter: string, value: V): void {
    const path: [Node<V>, string][] = [];
    let n: Node<V> | undefined = this.root;
    for (const level of filter.split('/')) {
      path.push([n, level]);
      n = n.children.get(level);
      if (!n) return;
    }
    const c = n.values.get(value);
    if (c === undefined) return;
    if (c > 1) n.values.set(value, c - 1);
    else n.values.delete(value);
    this.count--;
    // Prune the branch that no filter uses any more.
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, level] = path[i];
      const child = parent.children.get(level);
      if (!child || child.values.size > 0 || child.children.size > 0) break;
      parent.children.delete(level);
    }
  }

  /** Values of every filter the topic matches (each once). */
  match(topic: string): Set<V> {
    const out = new Set<V>();
    const levels = topic.split('/');
    const dollar = topic.startsWith('$');
    const walk = (n: Node<V>, i: number) => {
      // MQTT-4.7.2-1: a filter starting with a wildcard never matches a `$` topic.
      const wild = !(dollar && i === 0);
      const hash = wild ? n.children.get('#') : undefined;
      if (hash) for (const v of hash.values.keys()) out.add(v);
      if (i === levels.length) {
        for (const v of n.values.keys()) out.add(v);
        return;
      }
      const exact = n.children.get(levels[i]);
      if (exact) walk(exact, i + 1);
      const plus = wild ? n.children.get('+') : undefined;
      if (plus) walk(plus, i + 1);
    };
    walk(this.root, 0);
    return out;
  }
}
