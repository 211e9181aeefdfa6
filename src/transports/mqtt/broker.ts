// Herald's MQTT broker: the registry of live connections on this node and the fan-out of hub
// publications to them, with retained messages and wills. The session work behind the engine's
// MqttStore (claim, resume, save, release) is sessions.ts.
//
// The hub is the only source of MQTT deliveries. A client PUBLISH (or a will) becomes a hub
// publication; while this node has MQTT clients the broker subscribes the hub pattern `#` and
// delivers every publication to its LOCAL live subscribers, encoding each PUBLISH variant once. A
// node without MQTT clients holds no pattern (hub-pattern.ts): it pays nothing per publication and,
// on Redis, is not sent the cluster's publications. Work that must happen once per publication
// (retained store, offline queues) hangs on hub.onPublished, which only the publishing node calls -
// never on delivery - so it goes on with no MQTT client anywhere.
//
// Who may do what is not decided here. CONNECT becomes an Identity (auth.ts), and three hooks of
// the channel policy (src/auth/policy.ts) are called for every client action:
//   - SUBSCRIBE:  policy.authorizeFilter(identity, filter)       refused = SUBACK 0x80 (v5 0x87)
//   - PUBLISH:    policy.authorize(identity, 'publish', topic, {subscribed})
//                 refused = acknowledged and dropped (3.1.1), PUBACK/PUBREC 0x87 (v5)  (inbound.ts)
//   - delivery:   policy.mayReceive(identity, topic) - live, retained and queued deliveries alike;
//                 administrators bypass it, nobody else ever gets a `$` topic.
// and a persistent session's client id is bound to the user who made it (store.claim, sessions.ts).
import type { Identity } from '../../auth/identity.js';
import type { ChannelPolicy } from '../../auth/policy.js';
import type { Hub } from '../../hub/hub.js';
import type { RateOptions } from '../../limits/command-rate.js';
import type { FrameFormat, Logger, Publication, Subscriber } from '../../model/index.js';
import type { MqttStore, StoredMessage, StoredSubscription, StoredWill } from '../../model/mqtt-store.js';
import { fromBytes, toBytes } from '../../protocol/payload.js';
import type { DoorCounters } from '../door-stats.js';
import type { MqttAuth } from './auth.js';
import type { MqttConnection } from './connection.js';
import { Fanout } from './fanout.js';
import { HubPattern } from './hub-pattern.js';
import { PublishVariants } from './publish-variants.js';
import { MqttClose, RC } from './reason-codes.js';
import { MqttSessions } from './sessions.js';
import { SharedGroups } from './shared.js';
import { SubscriptionIndex } from './subscription-index.js';
import { WillTimers } from './wills.js';

/** QoS of a publication that does not say (API, WebSocket, SSE-side publishers): at least once. */
export const DEFAULT_QOS = 1;

/**
 * The hub encodes nothing for the broker: the fan-out makes the payload bytes itself, once per
 * publication and only when a local subscriber matches.
 */
const mqttFormat: FrameFormat<undefined> = { name: 'mqtt', encode: () => undefined };

export interface BrokerOptions {
  maxPayload: number;
  /** Largest remaining length of any packet (checked on the fixed header). */
  maxRemainingLength: number;
  maxChannelNameLength: number;
  sessionQueue: number;
  connectTimeout: number;
  publishRate: RateOptions;
  maxInflight: number;
  receiveMaximum: number;
  topicAliasMaximum: number;
  maxSubscriptions: number;
  maxFiltersPerSubscribe: number;
  maxUserProperties: number;
  /** Milliseconds the hub pattern is kept after the last MQTT client left (a reconnect is cheap). */
  deliveryLinger: number;
  /** Seconds; 0 = the client's keep-alive stands. */
  maxKeepAlive: number;
  reapInterval: number;
  /** Bytes queued to one client's socket past which it is cut off as a slow consumer. */
  maxBufferedBytes: number;
}

export interface BrokerDeps {
  hub: Hub;
  policy: ChannelPolicy;
  counters: DoorCounters;
  log: Logger;
  auth: MqttAuth;
  store: MqttStore;
  options: BrokerOptions;
}

export class MqttBroker implements Subscriber<undefined> {
  readonly format = mqttFormat;
  readonly node: string;
  readonly options: BrokerOptions;
  readonly store: MqttStore;
  readonly policy: ChannelPolicy;
  readonly counters: DoorCounters;
  readonly log: Logger;
  readonly auth: MqttAuth;
  readonly hub: Hub;
  private readonly conns = new Map<string, MqttConnection>();
  private readonly index = new SubscriptionIndex<MqttConnection, StoredSubscription>();
  private readonly shared: SharedGroups;
  private readonly wills: WillTimers;
  private readonly fanout: Fanout;
  /** The hub's `#` subscription, held while this node has MQTT clients. */
  readonly deliveries: HubPattern;
  /** Claim, resume, save and release of sessions (sessions.ts). */
  readonly sessions: MqttSessions;
  private sweepTimer: NodeJS.Timeout | undefined;
  private reapTimer: NodeJS.Timeout | undefined;
  private unpublished: (() => void) | undefined;
  private closing = false;

  constructor(d: BrokerDeps) {
    this.hub = d.hub;
    this.node = d.hub.options.nodeName;
    this.options = d.options;
    this.store = d.store;
    this.policy = d.policy;
    this.counters = d.counters;
    this.log = d.log;
    this.auth = d.auth;
    this.shared = new SharedGroups(d.store, this.node, () => this.aliveNodes(), d.log);
    this.wills = new WillTimers(this);
    this.fanout = new Fanout(
      this.index,
      this.shared,
      this.policy,
      this.counters,
      storedOf,
      d.options.sessionQueue,
    );
    this.deliveries = new HubPattern(d.hub, this, d.options.deliveryLinger, d.log);
    this.sessions = new MqttSessions({
      hub: d.hub,
      node: this.node,
      store: d.store,
      log: d.log,
      wills: this.wills,
      connection: (id) => this.conns.get(id),
      unindex: (conn, raw, sub) => this.unindex(conn, raw, sub),
      deliverQueued: (conn, m) => this.deliverStored(conn, m, false),
    });
  }

  async start(): Promise<void> {
    this.sessions.start();
    this.unpublished = this.hub.onPublished((pub) => this.published(pub));
    this.sweepTimer = setInterval(() => this.sweep(), 500);
    this.sweepTimer.unref();
    this.scheduleReap();
  }

  /** Closes every connection (v5: DISCONNECT 0x8B); wills go out while the hub is still up. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweepTimer);
    clearTimeout(this.reapTimer);
    this.unpublished?.();
    const all = [...this.conns.values()];
    for (const c of all) c.fail(new MqttClose(RC.SERVER_SHUTTING_DOWN, 'server shutting down'));
    await Promise.all(all.map((c) => c.closed));
    this.deliveries.close();
    this.wills.close();
  }

  register(conn: MqttConnection): void {
    this.conns.set(conn.id, conn);
  }

  private async aliveNodes(): Promise<string[]> {
    return (await this.hub.nodes()).map((n) => n.name);
  }

  // ---- connections ------------------------------------------------------------------------------

  connected(conn: MqttConnection): void {
    conn.state = 'connected';
    this.hub.clientConnected();
    this.counters.opened();
    this.log.debug({ client: conn.clientId, level: conn.level }, 'MQTT client connected');
  }

  /** The connection is gone: its session back to the store (sessions.ts), then it is counted out. */
  async connectionClosed(conn: MqttConnection, wasConnected: boolean): Promise<void> {
    this.conns.delete(conn.id);
    this.sessions.forget(conn);
    // Closed before CONNACK: whatever CONNECT claimed is given back by abandon(), once the
    // store has answered.
    if (!wasConnected) {
      this.deliveries.release(conn);
      return;
    }
    await this.sessions.ended(conn);
    this.deliveries.release(conn);
    // Counted as gone once its will is in the hub and its session back in the store.
    this.hub.clientDisconnected();
    const closing = conn.closing;
    // Bounded labels: the client left, or the reason code the broker closed it with.
    this.counters.closed(
      !closing || closing.graceful ? 'client' : `mqtt_0x${closing.reasonCode.toString(16)}`,
    );
    this.log.debug({ client: conn.clientId }, 'MQTT client disconnected');
    this.sessions.park(conn);
  }

  // ---- subscriptions ----------------------------------------------------------------------------

  addSubscription(conn: MqttConnection, raw: string, sub: StoredSubscription): void {
    conn.subscriptions ??= new Map();
    const old = conn.subscriptions.get(raw);
    if (old) this.unindex(conn, raw, old);
    conn.subscriptions.set(raw, sub);
    this.counters.subscriptions++;
    if (sub.group !== undefined) this.shared.join(conn, sub);
    else this.index.add(sub.filter, conn, sub);
  }

  restoreSubscription(conn: MqttConnection, sub: StoredSubscription): void {
    const raw = sub.group !== undefined ? `$share/${sub.group}/${sub.filter}` : sub.filter;
    this.addSubscription(conn, raw, sub);
  }

  removeSubscription(conn: MqttConnection, raw: string): boolean {
    const sub = conn.subscriptions?.get(raw);
    if (!sub) return false;
    conn.subscriptions?.delete(raw);
    this.unindex(conn, raw, sub);
    return true;
  }

  private unindex(conn: MqttConnection, _raw: string, sub: StoredSubscription): void {
    this.counters.subscriptions--;
    if (sub.group !== undefined) this.shared.leave(conn, sub);
    else this.index.remove(sub.filter, conn);
  }

  sendRetained(conn: MqttConnection, sub: StoredSubscription): void {
    this.store
      .retained(sub.filter)
      .then((messages) => {
        for (const m of messages) {
          if (conn.state !== 'connected') return;
          const qos = Math.min(m.qos, sub.qos) as 0 | 1 | 2;
          this.deliverStored(conn, { ...m, qos, subscriptionIds: sub.id ? [sub.id] : undefined }, true);
        }
      })
      .catch((err) => this.log.warn({ err, filter: sub.filter }, 'MQTT retained lookup failed'));
  }

  /** A retained or queued message to one connection, checked like a live delivery. */
  private deliverStored(conn: MqttConnection, m: StoredMessage, retain: boolean): void {
    if (m.props?.expiresAt !== undefined && m.props.expiresAt <= Date.now()) return;
    if (!this.fanout.mayReceive(conn.identity, m.topic)) return;
    this.counters.messagesOut++;
    conn
      .outbox()
      .send({ variants: new PublishVariants(m), qos: m.qos, retain, subscriptionIds: m.subscriptionIds });
  }

  // ---- publications -----------------------------------------------------------------------------

  /** A client's PUBLISH (or a will) into the hub; resolves once the hub has it. */
  async publishFromClient(
    conn: { clientId: string; identity?: Identity },
    m: { topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean; props?: StoredMessage['props'] },
  ): Promise<void> {
    const req = fromBytes(m.payload);
    req.qos = m.qos;
    if (m.retain) req.retain = true;
    if (m.props) req.props = m.props;
    req.info = { client: conn.clientId, user: conn.identity?.user ?? '', transport: 'mqtt' };
    this.counters.messagesIn++;
    await this.hub.publish(m.topic, req);
  }

  /** Once per publication in the cluster, on the node that made it: the retained store and offline queues. */
  private published(pub: Publication): void {
    // Most publications are neither retained nor wanted by an offline session: then nothing is
    // built (the payload's bytes, the message, two promises) for them.
    const queue = (pub.qos ?? DEFAULT_QOS) > 0 && this.store.mayQueue?.(pub.channel) !== false;
    if (!pub.retain && !queue) return;
    const m = storedOf(pub);
    if (pub.retain)
      this.store
        .setRetained(m)
        .catch((err) => this.log.warn({ err, channel: pub.channel }, 'MQTT retain failed'));
    if (queue)
      this.store
        .enqueue(m)
        .catch((err) => this.log.warn({ err, channel: pub.channel }, 'MQTT enqueue failed'));
  }

  /** A hub publication (from any door, any node) to this node's live subscribers. */
  deliver(pub: Publication): void {
    this.fanout.deliver(pub);
  }

  // ---- wills and the cluster ----------------------------------------------------------------------

  publishWill(clientId: string, will: StoredWill, user = ''): Promise<void> {
    const props = will.props ? { ...will.props } : undefined;
    return this.publishFromClient({ clientId, identity: { user } }, { ...will, props }).catch((err) =>
      this.log.warn({ err, client: clientId, topic: will.topic }, 'MQTT will could not be published'),
    );
  }

  private scheduleReap(): void {
    if (this.closing) return;
    const every = this.options.reapInterval;
    // Jitter, so the nodes of a cluster do not all reap at once.
    this.reapTimer = setTimeout(
      () => void this.reap().finally(() => this.scheduleReap()),
      every * (0.75 + Math.random() * 0.5),
    );
    this.reapTimer.unref();
  }

  private async reap(): Promise<void> {
    try {
      const wills = await this.store.reap(await this.aliveNodes());
      for (const w of wills) void this.publishWill(w.clientId, w);
      await this.shared.refresh();
    } catch (err) {
      this.log.warn({ err }, 'MQTT reap failed');
    }
    this.sessions.expireParked();
  }

  /** CONNECT deadline and keep-alive, checked for every connection twice a second. */
  private sweep(): void {
    const now = Date.now();
    for (const c of this.conns.values()) {
      if (c.state === 'new' && now - c.openedAt > this.options.connectTimeout) {
        c.fail(new MqttClose(RC.MALFORMED, 'no CONNECT within mqttConnectTimeout'));
      } else if (c.state === 'connected' && c.keepAliveMs > 0 && now - c.lastSeen > c.keepAliveMs) {
        c.fail(new MqttClose(RC.KEEP_ALIVE_TIMEOUT, 'keep-alive timeout'));
      }
    }
  }
}

function storedOf(pub: Publication): StoredMessage {
  const m: StoredMessage = {
    topic: pub.channel,
    payload: toBytes(pub),
    qos: pub.qos ?? DEFAULT_QOS,
    retain: pub.retain === true,
    key: `${pub.epoch}:${pub.offset}`,
  };
  if (pub.props) m.props = pub.props;
  if (pub.info?.transport === 'mqtt') m.origin = pub.info.client;
  return m;
}
