// Which local subscribers a topic reaches: a trie of filter levels, so a publication costs the
// levels of its topic rather than one comparison per subscription. `+` and `#` are children like any
// level; a `$` topic skips wildcard children at the first level (MQTT-4.7.2-1).

interface TrieNode<T, S> {
  children?: Map<string, TrieNode<T, S>>;
  /** Subscribers whose filter ends at this node. */
  subs?: Map<T, S>;
}

export class SubscriptionIndex<T, S> {
  private readonly root: TrieNode<T, S> = {};
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds or replaces `owner`'s subscription to `filter`; true when it is new. */
  add(filter: string, owner: T, sub: S): boolean {
    let node = this.root;
    for (const level of filter.split('/')) {
      node.children ??= new Map();
      let next = node.children.get(level);
      if (!next) {
        next = {};
        node.children.set(level, next);
      }
      node = next;
    }
    node.subs ??= new Map();
    const isNew = !node.subs.has(owner);
    node.subs.set(owner, sub);
    if (isNew) this.count++;
    return isNew;
  }

  remove(filter: string, owner: T): boolean {
    const path: [TrieNode<T, S>, string][] = [];
    let node: TrieNode<T, S> | undefined = this.root;
    for (const level of filter.split('/')) {
      const next: TrieNode<T, S> | undefined = node.children?.get(level);
      if (!next) return false;
      path.push([node, level]);
      node = next;
    }
    if (!node.subs?.delete(owner)) return false;
    this.count--;
    if (node.subs.size === 0) node.subs = undefined;
    // Prune empty branches so that churn of unique filters does not grow the trie forever.
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, level] = path[i];
      const child = parent.children?.get(level);
      if (!child || child.subs || child.children?.size) break;
      parent.children?.delete(level);
      if (parent.children?.size === 0) parent.children = undefined;
    }
    return true;
  }

  /** Calls `visit` for every (subscriber, subscription) whose filter matches `topic`. */
  match(topic: string, visit: (owner: T, sub: S) => void): void {
    const levels = topic.split('/');
    this.walk(this.root, levels, 0, topic.charCodeAt(0) === 0x24, visit);
  }

  private walk(
    node: TrieNode<T, S>,
    levels: string[],
    i: number,
    dollar: boolean,
    visit: (owner: T, sub: S) => void,
  ): void {
    const children = node.children;
    if (!children) {
      if (i === levels.length && node.subs) for (const [o, s] of node.subs) visit(o, s);
      return;
    }
    const wild = !(dollar && i === 0);
    if (wild) {
      // `#` matches the parent level too: a/# matches a.
      const hash = children.get('#');
      if (hash?.subs) for (const [o, s] of hash.subs) visit(o, s);
    }
    if (i === levels.length) {
      if (node.subs) for (const [o, s] of node.subs) visit(o, s);
      return;
    }
    const exact = children.get(levels[i]);
    if (exact) this.walk(exact, levels, i + 1, dollar, visit);
    if (wild) {
      const plus = children.get('+');
      if (plus) this.walk(plus, levels, i + 1, dollar, visit);
    }
  }
}
