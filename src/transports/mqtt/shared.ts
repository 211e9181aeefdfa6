// Shared subscriptions ($share/<group>/<filter>): one delivery per group in the whole cluster.
// Every node sees every publication; the node that delivers it is picked from the nodes that have
// members of the group, by a hash of the publication's channel and offset, so every node makes the
// same choice without talking. Within the node, members take turns.
//
// Membership is cached and refreshed when this node gains or loses a group and periodically. While
// another node's change has not reached this node's cache (at most one refresh period), nodes can
// disagree about the member list: a publication in that window may be delivered by two nodes, or
// by none. A single node has no such window.
import type { Logger } from '../../model/index.js';
import type { MqttStore, StoredSubscription } from '../../model/mqtt-store.js';
import type { MqttConnection } from './connection.js';
import { topicMatches } from './topics.js';

interface Group {
  group: string;
  filter: string;
  members: { conn: MqttConnection; sub: StoredSubscription }[];
  turn: number;
}

export class SharedGroups {
  private readonly groups = new Map<string, Group>();
  private membership = new Map<string, string[]>();

  constructor(
    private readonly store: MqttStore,
    private readonly node: string,
    private readonly aliveNodes: () => Promise<string[]>,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.groups.size;
  }

  join(conn: MqttConnection, sub: StoredSubscription): void {
    const key = `${sub.group}\n${sub.filter}`;
    let g = this.groups.get(key);
    if (!g) {
      g = { group: sub.group as string, filter: sub.filter, members: [], turn: 0 };
      this.groups.set(key, g);
      this.announce(g, true);
    }
    const existing = g.members.find((m) => m.conn === conn);
    if (existing) existing.sub = sub;
    else g.members.push({ conn, sub });
  }

  leave(conn: MqttConnection, sub: StoredSubscription): void {
    const key = `${sub.group}\n${sub.filter}`;
    const g = this.groups.get(key);
    if (!g) return;
    g.members = g.members.filter((m) => m.conn !== conn);
    if (g.members.length === 0) {
      this.groups.delete(key);
      this.announce(g, false);
    }
  }

  private announce(g: Group, present: boolean): void {
    this.store
      .setSharedMembership(g.group, g.filter, this.node, present)
      .then(() => this.refresh())
      .catch((err) => this.log.warn({ err, group: g.group }, 'MQTT shared membership update failed'));
  }

  async refresh(): Promise<void> {
    if (this.groups.size === 0) return;
    try {
      this.membership = await this.store.sharedMembership(await this.aliveNodes());
    } catch (err) {
      this.log.warn({ err }, 'MQTT shared membership refresh failed');
    }
  }

  /** The members of this node that get the publication: at most one per group. */
  pick(topic: string, offset: number, visit: (conn: MqttConnection, sub: StoredSubscription) => void): void {
    for (const [key, g] of this.groups) {
      if (!topicMatches(g.filter, topic)) continue;
      const nodes = this.membership.get(key);
      if (nodes && nodes.length > 0 && nodes[hash(topic, offset) % nodes.length] !== this.node) continue;
      const m = g.members[g.turn++ % g.members.length];
      visit(m.conn, m.sub);
    }
  }
}

/** FNV-1a of the channel, mixed with the offset: the same on every node. */
function hash(channel: string, offset: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < channel.length; i++) {
    h ^= channel.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= offset;
  h = Math.imul(h, 0x01000193);
  return h >>> 0;
}
