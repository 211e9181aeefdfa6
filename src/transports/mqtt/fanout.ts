// Fan-out of one hub publication to this node's live MQTT subscribers: the subscription trie gives
// the matches, overlapping filters of one client merge into one delivery (highest QoS, every
// subscription identifier), the channel policy is asked once per identity, and each PUBLISH variant
// is encoded once (publish-variants.ts). QoS 0 receivers with nothing of their own in the packet get
// the very same bytes, written through the coalescing writer without touching any session state.
import type { Identity } from '../../auth/identity.js';
import type { ChannelPolicy } from '../../auth/policy.js';
import type { Publication } from '../../model/index.js';
import type { StoredMessage, StoredSubscription } from '../../model/mqtt-store.js';
import type { DoorCounters } from '../door-stats.js';
import type { MqttConnection } from './connection.js';
import { PublishVariants } from './publish-variants.js';
import type { Outgoing } from './session.js';
import type { SharedGroups } from './shared.js';
import type { SubscriptionIndex } from './subscription-index.js';

/** Per connection, while one publication is fanned out: the merge of its matching subscriptions. */
interface Match {
  conn: MqttConnection;
  qos: 0 | 1 | 2;
  retain: boolean;
  ids: number[] | undefined;
}

/** Numbers publications during fan-out, so a connection knows it was already matched. */
let fanoutSeq = 0;

export class Fanout {
  constructor(
    private readonly index: SubscriptionIndex<MqttConnection, StoredSubscription>,
    private readonly shared: SharedGroups,
    private readonly policy: ChannelPolicy,
    private readonly counters: DoorCounters,
    private readonly stored: (pub: Publication, payload: Buffer) => StoredMessage,
  ) {}

  /** A hub publication (from any door, any node) to this node's live subscribers. */
  deliver(pub: Publication, payload: Buffer): void {
    const now = Date.now();
    if (pub.props?.expiresAt !== undefined && pub.props.expiresAt <= now) return;
    const topic = pub.channel;
    const msg: StoredMessage = this.stored(pub, payload);
    const origin = msg.origin;
    const matches: Match[] = [];
    const mark = ++fanoutSeq;
    const visit = (conn: MqttConnection, sub: StoredSubscription) => {
      if (sub.noLocal && origin === conn.clientId) return;
      const qos = Math.min(msg.qos, sub.qos) as 0 | 1 | 2;
      const retain = sub.retainAsPublished === true && msg.retain;
      // Overlapping filters of one client: one delivery, the highest QoS, every identifier.
      if (conn.fanoutMark === mark) {
        const prior = conn.fanoutMatch as Match;
        if (qos > prior.qos) prior.qos = qos;
        if (retain) prior.retain = true;
        if (sub.id !== undefined) {
          prior.ids ??= [];
          prior.ids.push(sub.id);
        }
        return;
      }
      const m: Match = { conn, qos, retain, ids: sub.id !== undefined ? [sub.id] : undefined };
      conn.fanoutMark = mark;
      conn.fanoutMatch = m;
      matches.push(m);
    };
    this.index.match(topic, visit);
    const variants = new PublishVariants(msg);
    const cache = new Map<Identity, boolean>();
    for (const m of matches) {
      m.conn.fanoutMatch = undefined;
      this.sendTo(m, variants, topic, cache);
    }
    if (this.shared.size > 0) {
      this.shared.pick(topic, pub.offset, (conn, sub) => {
        if (sub.noLocal && origin === conn.clientId) return;
        const qos = Math.min(msg.qos, sub.qos) as 0 | 1 | 2;
        this.sendTo(
          { conn, qos, retain: false, ids: sub.id !== undefined ? [sub.id] : undefined },
          variants,
          topic,
          cache,
        );
      });
    }
  }

  private sendTo(m: Match, variants: PublishVariants, topic: string, cache: Map<Identity, boolean>): void {
    const conn = m.conn;
    if (conn.state !== 'connected' || !this.mayReceive(conn.identity, topic, cache)) return;
    this.counters.messagesOut++;
    if (m.qos === 0 && m.ids === undefined && conn.clientTopicAliasMax === 0) {
      // The hot path: the same bytes for every such receiver, no session state touched.
      const t = variants.get(conn.level, 0, m.retain);
      if (t.bytes.length <= conn.clientMaxPacket) conn.write(t.bytes);
      return;
    }
    const out: Outgoing = { variants, qos: m.qos, retain: m.retain, subscriptionIds: m.ids };
    conn.outbox().send(out);
  }

  mayReceive(
    identity: Identity | undefined,
    topic: string,
    cache: Map<Identity, boolean> | undefined,
  ): boolean {
    if (!identity) return false;
    if (identity.admin) return true;
    if (topic.charCodeAt(0) === 0x24) return false;
    const known = cache?.get(identity);
    if (known !== undefined) return known;
    const ok = this.policy.mayReceive(identity, topic);
    cache?.set(identity, ok);
    return ok;
  }
}
