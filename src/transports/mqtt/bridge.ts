// The join between the embedded broker and the hub, with one rule that keeps it free of loops and
// doubles: the hub is the only source of MQTT deliveries. A client PUBLISH (or a will) becomes a hub
// publication and goes no further inside aedes; the bridge takes every hub publication (a pattern
// subscription on `#`) and injects it into aedes, which routes it to live subscribers, stores it when
// retained and queues it for offline persistent sessions.
//
// Why `#` rather than one hub subscription per MQTT filter: a retained publication must be kept
// even while nobody subscribes to its topic, and persistent sessions that are offline hold
// subscriptions aedes knows about but no connected client expresses.

import type { AedesOptions, AuthenticateError, Client, ConnectPacket, PublishPacket } from 'aedes';
import type { Hub } from '../../hub/hub.js';
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
  /** Counts publications clients make, for /metrics. */
  counters?: DoorCounters;
  log: Logger;
  auth: MqttAuth;
  maxPayload: number;
  maxChannelNameLength: number;
  /** QoS 1/2 messages held per persistent session. */
  sessionQueue: number;
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
  private readonly users = new WeakMap<Client, string>();
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
    const result = this.o.auth.check(username, password);
    if (result.ok) {
      this.users.set(client, result.user);
      cb(null, true);
      return;
    }
    const err = new Error(
      username === undefined ? 'anonymous MQTT clients are not allowed' : 'bad user name or password',
    ) as AuthenticateError;
    // 4 = bad user name or password, 5 = not authorized (MQTT 3.1.1 CONNACK return codes).
    (err as { returnCode: number }).returnCode = username === undefined ? 5 : 4;
    cb(err, false);
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
    const problem = this.publishProblem(packet);
    if (problem) {
      cb(new Error(problem));
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

  private publishProblem(packet: PublishPacket): string | undefined {
    const { topic } = packet;
    if (topic.startsWith('$')) return `publish to reserved topic ${topic}`;
    const nameProblem = channelNameProblem(topic, this.o.maxChannelNameLength);
    if (nameProblem) return `publish refused: ${nameProblem}`;
    const size =
      typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length;
    if (size > this.o.maxPayload)
      return `payload of ${size} bytes exceeds mqttMaxPayload (${this.o.maxPayload})`;
    if (!this.o.hub.channelOptions(topic).allowClientPublish) return `publishing to ${topic} is not allowed`;
    return undefined;
  }

  private async toHub(packet: PublishPacket, client: Client | null): Promise<void> {
    // A copy: the parser's buffer may be a slice of a larger read, and history keeps this one.
    const payload = Buffer.from(packet.payload);
    const req = fromBytes(payload);
    req.qos = packet.qos;
    if (packet.retain) req.retain = true;
    if (client) req.info = { client: client.id, user: this.users.get(client) ?? '', transport: 'mqtt' };
    if (this.o.counters) this.o.counters.messagesIn++;
    await this.o.hub.publish(packet.topic, req);
  }
}
