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

/** Numbers publications during fan-out, so a connection knows it was already matched. */
let fanoutSeq = 0;

/** The connections one publication matched (reused: fan-out never runs inside itself). */
const matched: MqttConnection[] = [];

/** The channel policy's answer per identity, for one publication (most receivers share one). */
class ReceiveCache {
  private lastIdentity: Identity | undefined;
  private lastOk = false;
  private more: Map<Identity, boolean> | undefined;

  constructor(
    private readonly policy: ChannelPolicy,
    private readonly topic: string,
  ) {}

  ok(identity: Identity | undefined): boolean {
    if (!identity) return false;
    if (identity.admin) return true;
    if (this.topic.charCodeAt(0) === 0x24) return false;
    if (identity === this.lastIdentity) return this.lastOk;
    let ok = this.more?.get(identity);
    if (ok === undefined) {
      ok = this.policy.mayReceive(identity, this.topic);
      this.more ??= new Map();
      this.more.set(identity, ok);
    }
    this.lastIdentity = identity;
    this.lastOk = ok;
    return ok;
  }
}

export class Fanout {
  constructor(
    private readonly index: SubscriptionIndex<MqttConnection, StoredSubscription>,
    private readonly shared: SharedGroups,
    private readonly policy: ChannelPolicy,
    private readonly counters: DoorCounters,
    private readonly stored: (pub: Publication) => StoredMessage,
    /** mqttSessionQueue: what a closing session collects is bounded like its stored queue. */
    private readonly collectLimit: number,
  ) {}

  /**
   * A hub publication (from any door, any node) to this node's live subscribers. Nothing is built
   * (payload bytes, message, PUBLISH variants) before a subscriber is known to match.
   */
  deliver(pub: Publication): void {
    if (this.index.size === 0 && this.shared.size === 0) return;
    if (pub.props?.expiresAt !== undefined && pub.props.expiresAt <= Date.now()) return;
    const topic = pub.channel;
    const origin = pub.info?.transport === 'mqtt' ? pub.info.client : undefined;
    const mark = ++fanoutSeq;
    matched.length = 0;
    // Overlapping filters of one client merge into one delivery: the highest QoS, every identifier.
    // The merge lives on the connection, marked with this publication's number: no allocation. The
    // granted QoS and retain-as-published are merged here and met with the message's below.
    if (this.index.size > 0)
      this.index.match(topic, (conn, sub) => {
        if (sub.noLocal && origin === conn.clientId) return;
        const rap = sub.retainAsPublished === true;
        if (conn.fanoutMark !== mark) {
          conn.fanoutMark = mark;
          conn.fanoutQos = sub.qos;
          conn.fanoutRetain = rap;
          conn.fanoutIds = sub.id !== undefined ? [sub.id] : undefined;
          matched.push(conn);
          return;
        }
        if (sub.qos > conn.fanoutQos) conn.fanoutQos = sub.qos;
        if (rap) conn.fanoutRetain = true;
        if (sub.id !== undefined) {
          conn.fanoutIds ??= [];
          conn.fanoutIds.push(sub.id);
        }
      });
    let msg: StoredMessage | undefined;
    let variants: PublishVariants | undefined;
    let allowed: ReceiveCache | undefined;
    if (matched.length > 0) {
      msg = this.stored(pub);
      variants = new PublishVariants(msg);
      allowed = new ReceiveCache(this.policy, topic);
      for (let i = 0; i < matched.length; i++) {
        const conn = matched[i];
        const ids = conn.fanoutIds;
        conn.fanoutIds = undefined;
        const qos = Math.min(msg.qos, conn.fanoutQos) as 0 | 1 | 2;
        this.sendTo(conn, qos, conn.fanoutRetain && msg.retain, ids, variants, allowed);
      }
      matched.length = 0;
    }
    if (this.shared.size > 0) {
      this.shared.pick(topic, pub.offset, (conn, sub) => {
        if (sub.noLocal && origin === conn.clientId) return;
        msg ??= this.stored(pub);
        variants ??= new PublishVariants(msg);
        allowed ??= new ReceiveCache(this.policy, topic);
        const qos = Math.min(msg.qos, sub.qos) as 0 | 1 | 2;
        this.sendTo(conn, qos, false, sub.id !== undefined ? [sub.id] : undefined, variants, allowed);
      });
    }
  }

  private sendTo(
    conn: MqttConnection,
    qos: 0 | 1 | 2,
    retain: boolean,
    ids: number[] | undefined,
    variants: PublishVariants,
    allowed: ReceiveCache,
  ): void {
    if (conn.state !== 'connected') {
      if (conn.collected && qos > 0 && allowed.ok(conn.identity))
        this.collect(conn.collected, variants, qos, ids);
      return;
    }
    if (!allowed.ok(conn.identity)) return;
    this.counters.messagesOut++;
    if (qos === 0 && ids === undefined && conn.clientTopicAliasMax === 0) {
      // The hot path: the same bytes for every such receiver, no session state touched.
      const t = variants.get(conn.level, 0, retain);
      if (t.bytes.length <= conn.clientMaxPacket) conn.write(t.bytes);
      return;
    }
    const out: Outgoing = { variants, qos, retain, subscriptionIds: ids };
    conn.outbox().send(out);
  }

  /** Kept for a closing persistent session, oldest dropped past the bound (as its stored queue). */
  private collect(
    into: StoredMessage[],
    variants: PublishVariants,
    qos: 0 | 1 | 2,
    ids: number[] | undefined,
  ): void {
    into.push({ ...variants.msg, qos, subscriptionIds: ids });
    if (into.length > this.collectLimit) into.splice(0, into.length - Math.max(0, this.collectLimit));
  }

  /** For retained and queued deliveries: one message, one receiver. */
  mayReceive(identity: Identity | undefined, topic: string): boolean {
    return new ReceiveCache(this.policy, topic).ok(identity);
  }
}
