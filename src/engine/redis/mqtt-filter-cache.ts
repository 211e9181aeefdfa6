// This node's copy of the filters offline sessions hold (the `filters` hash), so a publication that
// no offline session can want costs no Redis round trip. The copy is trusted only while this
// node's subscriber connection is subscribed to the invalidation channel: any change to the set is
// PUBLISHed there by the script that made it, and a lost connection (messages may have been
// missed) makes the copy unknown until it is reloaded after the connection is back.
//
// The window it leaves: a publication made on this node in the moment between another node's
// session going offline and this node hearing of it is not queued for that session (the two
// happened at the same time; either order is an honest outcome).
import type { Redis } from 'ioredis';
import type { Logger } from '../../model/index.js';
import { FilterTrie } from '../mqtt/filter-trie.js';

/** How soon a load that failed is tried again. */
const RETRY_MS = 250;

export class FilterCache {
  /** undefined: not known (not loaded yet, or invalidated); callers must ask Redis. */
  private filters: string[] | undefined;
  private trie = new FilterTrie<true>();
  private generation = 0;
  private loading = false;
  private subscribed = false;
  private closed = false;

  constructor(
    private readonly cmd: Redis,
    private readonly sub: Redis,
    private readonly hashKey: string,
    private readonly channel: string,
    private readonly log?: Logger,
  ) {
    sub.on('message', (ch: string) => {
      if (ch === this.channel) this.invalidate();
    });
    sub.on('close', () => {
      this.subscribed = false;
      this.invalidate();
    });
    sub.on('ready', () => this.listen());
    if (sub.status === 'ready') this.listen();
    // The subscriber may be back before the command connection: the load it asked for could not
    // run then, and nothing else would ask again until the next enqueue.
    cmd.on('ready', () => this.load());
  }

  private listen(): void {
    this.sub
      .subscribe(this.channel)
      .then(() => {
        // From here on every change is heard: what is loaded now can be trusted.
        this.subscribed = true;
        this.invalidate();
      })
      .catch((err: Error) => this.log?.debug({ err: err.message }, 'mqtt filter cache: subscribe failed'));
  }

  /** Something changed (or may have): forget the copy. */
  invalidate(): void {
    this.filters = undefined;
    this.generation++;
    this.load();
  }

  /** False only when the copy is known and no filter in it matches the topic. */
  mayMatch(topic: string): boolean {
    const filters = this.filters;
    if (filters === undefined) {
      this.load();
      return true;
    }
    return filters.length > 0 && this.trie.match(topic).size > 0;
  }

  /** The copy, for tests and metrics (undefined while unknown). */
  get known(): readonly string[] | undefined {
    return this.filters;
  }

  private load(): void {
    if (this.loading || !this.subscribed || this.closed || this.cmd.status !== 'ready') return;
    this.loading = true;
    const generation = this.generation;
    this.cmd
      .hkeys(this.hashKey)
      .then((filters) => {
        if (generation !== this.generation || !this.subscribed) return;
        const trie = new FilterTrie<true>();
        for (const f of filters) trie.add(f, true);
        this.trie = trie;
        this.filters = filters;
      })
      .catch(() => {}) // stays unknown: enqueue asks Redis meanwhile
      .finally(() => {
        this.loading = false;
        if (this.filters !== undefined) return;
        if (generation !== this.generation) this.load();
        // A failed load is tried again shortly (not at once: Redis may be refusing right now).
        else setTimeout(() => this.load(), RETRY_MS).unref();
      });
  }

  close(): void {
    this.closed = true;
    this.subscribed = false;
    this.filters = undefined;
  }
}
