// Presence in the embedded engine. Entries added through the Engine interface carry their own
// expiry (a node refreshes them on its beat, and a node that stops refreshing loses them). A node in
// this same process instead holds its entries in a group with one expiry for all of them
// (`LocalPresence`): the engine's index is then the only one (the node keeps no copy of its own to
// refresh from), an entry costs one Map slot, and a beat renews every entry by writing one number
// rather than re-adding each (which allocated an entry and a promise per connection every beat).
import type { ClientInfo, LocalPresence, PresenceStats } from '../model/index.js';

class TtlEntry {
  constructor(
    readonly info: ClientInfo,
    readonly expires: number,
  ) {}
}

/** A node's entries: present while the group has not expired, whatever their number. */
class Group implements LocalPresence {
  /** channel -> client id -> info */
  readonly channels = new Map<string, Map<string, ClientInfo>>();
  expires: number;
  /** In the engine's list: false once swept after expiring, until the next refresh. */
  linked = true;

  constructor(
    private readonly owner: MemoryPresence,
    private readonly ttlMs: number,
  ) {
    this.expires = owner.now() + ttlMs;
  }

  add(channel: string, info: ClientInfo): void {
    let entries = this.channels.get(channel);
    if (!entries) {
      entries = new Map();
      this.channels.set(channel, entries);
    }
    entries.set(info.client, info);
  }

  remove(channel: string, clientId: string): void {
    const entries = this.channels.get(channel);
    if (!entries) return;
    entries.delete(clientId);
    if (entries.size === 0) this.channels.delete(channel);
  }

  refresh(): void {
    this.expires = this.owner.now() + this.ttlMs;
    if (!this.linked) this.owner.link(this);
  }

  get size(): number {
    let n = 0;
    for (const entries of this.channels.values()) n += entries.size;
    return n;
  }
}

export class MemoryPresence {
  private readonly byChannel = new Map<string, Map<string, TtlEntry>>();
  private readonly groups: Group[] = [];

  constructor(readonly now: () => number) {}

  /** A group for one node of this process; see the file comment. */
  group(ttlSeconds: number): LocalPresence {
    const g = new Group(this, ttlSeconds * 1000);
    this.groups.push(g);
    return g;
  }

  link(g: Group): void {
    g.linked = true;
    this.groups.push(g);
  }

  add(channel: string, info: ClientInfo, ttlSeconds: number): void {
    let entries = this.byChannel.get(channel);
    if (!entries) {
      entries = new Map();
      this.byChannel.set(channel, entries);
    }
    entries.set(info.client, new TtlEntry(info, this.now() + ttlSeconds * 1000));
  }

  remove(channel: string, clientId: string): void {
    const entries = this.byChannel.get(channel);
    if (entries) {
      entries.delete(clientId);
      if (entries.size === 0) this.byChannel.delete(channel);
    }
    // Engine callers address entries by channel and client id, wherever they were added.
    for (const g of this.groups) g.remove(channel, clientId);
  }

  presence(channel: string): Record<string, ClientInfo> {
    const out: Record<string, ClientInfo> = {};
    const now = this.now();
    for (const g of this.groups) {
      if (g.expires <= now) continue;
      const entries = g.channels.get(channel);
      if (entries) for (const [id, info] of entries) out[id] = info;
    }
    const entries = this.byChannel.get(channel);
    if (entries) {
      for (const [id, e] of entries) {
        if (e.expires > now) out[id] = e.info;
        else entries.delete(id);
      }
    }
    return out;
  }

  stats(channel: string): PresenceStats {
    const present = Object.values(this.presence(channel));
    return { numClients: present.length, numUsers: new Set(present.map((i) => i.user)).size };
  }

  /** Drops expired entries, and expired groups from the list (their node may refresh them back). */
  sweep(): void {
    const now = this.now();
    for (const [channel, entries] of this.byChannel) {
      for (const [id, e] of entries) if (e.expires <= now) entries.delete(id);
      if (entries.size === 0) this.byChannel.delete(channel);
    }
    for (let i = this.groups.length - 1; i >= 0; i--) {
      const g = this.groups[i];
      if (g.expires > now) continue;
      g.linked = false;
      this.groups.splice(i, 1);
    }
  }

  /** Entries held in groups (tests). */
  get groupedEntries(): number {
    let n = 0;
    for (const g of this.groups) n += g.size;
    return n;
  }
}
