// The join between the embedded broker and the hub, with one rule that keeps it free of loops and
// doubles: the hub is the only source of MQTT deliveries. A client PUBLISH (or a will) becomes a hub
// publication and goes no further inside aedes; the bridge takes every hub publication (a pattern
// subscription on `#`) and injects it into aedes, which routes it to live subscribers, stores it when
// retained and queues it for offline persistent sessions.
//
// Why `#` rather than one hub subscription per MQTT filter: a retained publication must be kept
// even while nobody subscribes to its topic, and persistent sessions that are offline hold
// subscriptions aedes knows about but no connected client expresses.
//
// Who may do what is not decided here. CONNECT becomes an Identity (auth.ts), and three hooks of
// the channel policy (src/auth/policy.ts) are called for every client action; a replacement broker
// must call the same three:
//   - SUBSCRIBE:  policy.authorizeFilter(identity, filter)              refused = SUBACK 0x80
//   - PUBLISH:    policy.authorize(identity, 'publish', topic, {subscribed})
//                                                    refused = acknowledged and dropped (3.1.1)
//   - delivery:   policy.mayReceive(identity, topic)   refused = not sent (keeps user-limited
//                 channels private under wildcard filters, retained and queued messages included)
// and bind a persistent session's client id to the user who made it (sessionOwner below).
import type {
  AedesOptions,
  AuthenticateError,
  Client,
  ConnectPacket,
  PublishPacket,
  Subscription,
} from 'aedes';
import { ANONYMOUS, type Identity } from '../../auth/identity.js';
import type { ChannelPolicy } from '../../auth/policy.js';
import type { Hub } from '../../hub/hub.js';
import { publishBucket, type RateOptions } from '../../limits/command-rate.js';
import type { TokenBucket } from '../../limits/token-bucket.js';
import type { FrameFormat, Logger, Publication, Subscriber } from '../../model/index.js';
import { channelNameProblem } from '../../model/index.js';
import { fromBytes, toBytes } from '../../protocol/payload.js';
import type { DoorCounters } from '../door-stats.js';
import type { MqttAuth } from './auth.js';
import { HeraldBroker } from './broker.js';
import { packetIdentity, sharedRedisPersistence } from './redis-persistence.js';
import { boundedMemoryPersistence } from './session-queue.js';

/** QoS of a publication that does not say (API, WebSocket, SSE-side publishers): at least once. */
export const DEFAULT_QOS = 1;

/** One encode per publication for every MQTT subscriber: the payload bytes. */
const mqttFormat: FrameFormat<Buffer> = { name: 'mqtt', encode: toBytes };

export interface BridgeOptions {
  hub: Hub;
  /** The channel policy every client action is checked against. */
  policy: ChannelPolicy;
  /** Counts publications clients make, for /metrics. */
  counters?: DoorCounters;
  log: Logger;
  auth: MqttAuth;
  maxPayload: number;
  maxChannelNameLength: number;
  /** QoS 1/2 messages held per persistent session. */
  sessionQueue: number;
  /** PUBLISH packets per second per client; past it the client is closed. */
  publishRate?: RateOptions;
  /** aedes: keep-alive grace and CONNECT deadline (ms). */
  connectTimeout?: number;
  /**
   * Keep sessions and retained messages in this Redis (the cluster's), so they survive a reconnect
   * to another node; without it they live in this process.
   */
  redis?: { url: string; prefix: string };
}

export class MqttBridge implements Subscriber<Buffer> {
  readonly format = mqttFormat;
  readonly broker: HeraldBroker;
  private readonly publishRates = new WeakMap<Client, TokenBucket>();
  private readonly identities = new WeakMap<Client, Identity>();
  /**
   * Which user made each persistent session: nobody else may take over its client id (and with it
   * its subscriptions and queued messages). In this process only; see docs/security.md.
   */
  private readonly sessionOwner = new Map<string, string>();
  private readonly shared: boolean;
  private readonly persistence: unknown;

  constructor(private readonly o: BridgeOptions) {
    const onFull = (client: string) =>
      o.log.warn(
        { client, limit: o.sessionQueue },
        'MQTT session queue full; newer messages are not kept for it',
      );
    this.shared = o.redis !== undefined;
    this.persistence = o.redis
      ? sharedRedisPersistence({ ...o.redis, sessionQueue: o.sessionQueue, onFull, log: o.log })
      : boundedMemoryPersistence(o.sessionQueue, onFull);
    this.broker = new HeraldBroker(
      {
        connectTimeout: o.connectTimeout ?? 30_000,
        persistence: this.persistence as AedesOptions['persistence'],
        preConnect: (client, packet, cb) => this.preConnect(client, packet, cb),
        authenticate: (client, username, password, cb) => this.authenticate(client, username, password, cb),
        authorizePublish: (client, packet, cb) => this.authorizePublish(client, packet, cb),
        authorizeSubscribe: (client, sub, cb) => this.authorizeSubscribe(client, sub, cb),
        authorizeForward: (client, packet) => this.authorizeForward(client, packet),
      },
      (packet, client) => this.toHub(packet, client),
      (err) => this.callbackFailed(err),
    );
  }

  /** Starts the broker and the hub subscription that feeds it. */
  async start(): Promise<void> {
    await this.broker.listen();
    if (this.shared) this.broker.on('client', (client) => this.learnSession(client));
    await this.o.hub.subscribePattern('#', this);
  }

  async close(): Promise<void> {
    this.o.hub.unsubscribePattern('#', this);
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
    // aedes leaves its persistence open, and the shared one holds two Redis connections that would
    // keep reconnecting after the server stopped.
    if (this.shared) {
      await (this.persistence as { destroy(): Promise<void> }).destroy().catch((err: Error) => {
        this.o.log.warn({ err: err.message }, 'closing the MQTT Redis persistence failed');
      });
    }
  }

  /** A hub publication, from any door, on its way to MQTT subscribers. */
  deliver(pub: Publication, payload: Buffer): void {
    const packet: PublishPacket = {
      cmd: 'publish',
      topic: pub.channel,
      payload,
      qos: pub.qos ?? DEFAULT_QOS,
      retain: pub.retain === true,
      dup: false,
    };
    // Shared storage: the same packet identity on every node (see redis-persistence.ts).
    if (this.shared) Object.assign(packet, packetIdentity(pub.channel, pub.epoch, pub.offset));
    this.broker.inject(packet, (err) => {
      if (err) this.o.log.warn({ channel: pub.channel, err: err.message }, 'MQTT delivery failed');
    });
  }

  /**
   * A persistent session restored here may have subscribed on another node: aedes restores its
   * subscriptions for live delivery but not in this node's index of sessions to queue for, so this
   * node would not queue for it once it is offline again. Tell the index, the way the persistence
   * itself learns of subscriptions (a broker-local $SYS message).
   */
  private learnSession(client: Client): void {
    if (client.clean) return;
    const persistence = this.persistence as {
      subscriptionsByClient(c: Client): Promise<{ topic: string; qos: number }[]>;
    };
    persistence
      .subscriptionsByClient(client)
      .then((subs) => {
        if (subs.length === 0) return;
        this.broker.publish(
          {
            cmd: 'publish',
            topic: '$SYS/sub/add',
            payload: Buffer.from(JSON.stringify({ clientId: client.id, subs })),
            qos: 0,
            retain: false,
            dup: false,
          },
          null,
          () => {},
        );
      })
      .catch((err: Error) =>
        this.o.log.warn({ client: client.id, err: err.message }, 'MQTT session lookup failed'),
      );
  }

  private preConnect(
    _client: Client,
    packet: ConnectPacket,
    cb: (err: Error | null, ok: boolean) => void,
  ): void {
    // MQTT-3.1.3-8, which aedes 1.x does not enforce: a session nobody can name cannot persist.
    if (!packet.clientId && packet.clean === false) {
      cb(new Error('an empty client id needs a clean session'), false);
      return;
    }
    cb(null, true);
  }

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    cb: (err: AuthenticateError | null, ok: boolean | null) => void,
  ): void {
    this.o.auth
      .check(username, password)
      .then((result) => {
        if (!result.ok) return refuse(result.returnCode, result.reason);
        const { identity } = result;
        if (!this.mayTakeClientId(client, identity)) {
          return refuse(5, `client id ${client.id} belongs to another user`);
        }
        this.identities.set(client, identity);
        if (!client.clean) this.sessionOwner.set(client.id, identity.user);
        // A clean start ends the old session: its id is free again.
        else this.sessionOwner.delete(client.id);
        cb(null, true);
      })
      .catch((err) => {
        this.o.log.error({ err }, 'MQTT authentication failed');
        refuse(5, 'authentication failed');
      });

    function refuse(returnCode: number, reason: string): void {
      // 4 = bad user name or password, 5 = not authorized (MQTT 3.1.1 CONNACK return codes).
      const err = new Error(reason) as AuthenticateError;
      (err as { returnCode: number }).returnCode = returnCode;
      cb(err, false);
    }
  }

  /** A client id held by another user - live, or as a persistent session - is not theirs to take. */
  private mayTakeClientId(client: Client, identity: Identity): boolean {
    if (identity.admin) return true;
    const owner = this.sessionOwner.get(client.id);
    if (owner !== undefined && owner !== identity.user) return false;
    const live = (this.broker as unknown as { clients: Record<string, Client | undefined> }).clients[
      client.id
    ];
    if (live && live !== client) {
      const liveUser = this.identities.get(live)?.user;
      if (liveUser !== undefined && liveUser !== identity.user) return false;
    }
    return true;
  }

  private identityOf(client: Client | null): Identity {
    return (client && this.identities.get(client)) || ANONYMOUS;
  }

  /** A refused filter is granted 0x80 (failure) in SUBACK; the client stays connected. */
  private authorizeSubscribe(
    client: Client,
    sub: Subscription,
    cb: (err: Error | null, sub: Subscription | null) => void,
  ): void {
    const refused = this.o.policy.authorizeFilter(this.identityOf(client), sub.topic);
    if (refused) {
      this.o.log.debug({ client: client.id, filter: sub.topic }, 'MQTT subscribe refused');
      cb(null, null);
      return;
    }
    cb(null, sub);
  }

  /** Every delivery, live, retained or queued, is checked against the receiver's identity. */
  private authorizeForward<P extends PublishPacket>(client: Client, packet: P): P | null {
    const identity = this.identityOf(client);
    if (identity.admin) return packet;
    if (packet.topic.startsWith('$')) return null;
    return this.o.policy.mayReceive(identity, packet.topic) ? packet : null;
  }

  /**
   * Refuses what must not become a publication (aedes then closes that client: MQTT 3.1.1 has no
   * way to refuse one PUBLISH) and hands QoS 0/1 packets to the hub here, before aedes sends
   * PUBACK, so an acknowledged message is one the hub accepted. QoS 2 goes to the hub later, from
   * publish(), which aedes calls once per message id after storing it: exactly once.
   */
  private authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    cb: (err?: Error | null) => void,
  ): void {
    const problem = this.publishProblem(packet) ?? this.rateProblem(client);
    if (problem) {
      cb(new Error(problem));
      return;
    }
    // aedes keeps a client's subscriptions by filter; an exact one makes it a subscriber.
    const subs = (client as { subscriptions?: Record<string, unknown> } | null)?.subscriptions;
    const subscribed = subs?.[packet.topic] !== undefined;
    const refused = this.o.policy.authorize(this.identityOf(client), 'publish', packet.topic, { subscribed });
    if (refused) {
      // MQTT 3.1.1 cannot refuse one PUBLISH: it is acknowledged and dropped, never published.
      this.o.log.debug({ client: client?.id, topic: packet.topic }, 'MQTT publish refused');
      this.broker.markAccepted(packet);
      cb(null);
      return;
    }
    if (packet.qos === 2) {
      cb(null);
      return;
    }
    this.toHub(packet, client)
      .then(() => {
        this.broker.markAccepted(packet);
        cb(null);
      }, cb)
      // cb hands the packet back to aedes; a throw from there has no caller left to report to.
      .catch((err) => this.callbackFailed(err));
  }

  private callbackFailed(err: unknown): void {
    this.o.log.error({ err }, 'MQTT broker callback failed');
  }

  private rateProblem(client: Client | null): string | undefined {
    if (!client || !this.o.publishRate) return undefined;
    let bucket = this.publishRates.get(client);
    if (!bucket) {
      bucket = publishBucket(this.o.publishRate);
      if (!bucket) return undefined;
      this.publishRates.set(client, bucket);
    }
    return bucket.take() ? undefined : `more than ${this.o.publishRate.rate} publishes per second`;
  }

  private publishProblem(packet: PublishPacket): string | undefined {
    const { topic } = packet;
    if (topic.startsWith('$')) return `publish to reserved topic ${topic}`;
    const nameProblem = channelNameProblem(topic, this.o.maxChannelNameLength);
    if (nameProblem) return `publish refused: ${nameProblem}`;
    const size =
      typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length;
    if (size > this.o.maxPayload)
      return `payload of ${size} bytes exceeds mqttMaxPayload (${this.o.maxPayload})`;
    return undefined;
  }

  private async toHub(packet: PublishPacket, client: Client | null): Promise<void> {
    // A copy: the parser's buffer may be a slice of a larger read, and history keeps this one.
    const payload = Buffer.from(packet.payload);
    const req = fromBytes(payload);
    req.qos = packet.qos;
    if (packet.retain) req.retain = true;
    if (client) req.info = { client: client.id, user: this.identityOf(client).user, transport: 'mqtt' };
    if (this.o.counters) this.o.counters.messagesIn++;
    await this.o.hub.publish(packet.topic, req);
  }
}
