// The clustered engine: every node shares one Redis. Per channel, history is a Redis Stream whose
// entry ids are the offsets ("<offset>-0"), so "everything after offset N" is one XRANGE seek, and a
// small meta hash holds the epoch and the top offset; it outlives the history (a long TTL), so the
// offset sequence goes on after the history aged out. Publishing is a Lua script (assign offset,
// XADD, trim, PUBLISH), run for the publications of one event-loop turn at once (publish-batch.ts),
// so two nodes never hand out the same offset. Live delivery is Redis Pub/Sub
// on a dedicated connection subscribed only to channels this node has subscribers for.
//
// Failure behaviour: commands fail fast while Redis is unreachable (no offline queue), the hub turns
// that into ENGINE_UNAVAILABLE (temporary). Both connections keep reconnecting; when the bus
// connection comes back every channel is subscribed again and the hub is told to resynchronise its
// subscribers, since publications may have gone by meanwhile. If Redis lost its data, the meta hash
// is gone and the next publish starts a new epoch: clients learn that, rather than being given a gap.
import type { Redis, RedisOptions } from 'ioredis';
import { HeraldError } from '../../errors.js';
import {
  buildPublication,
  type ClientInfo,
  type Engine,
  type EngineSink,
  type HistoryQuery,
  type HistoryResult,
  type Logger,
  type MqttStore,
  type MqttStoreOptions,
  type NodeInfo,
  type PresenceStats,
  type Publication,
  type PublishRequest,
  type StreamLimits,
} from '../../model/index.js';
import { newEpoch } from '../epoch.js';
import { RedisBus } from './bus.js';
import { type ClusterInfoScripts, RedisClusterInfo } from './cluster-info.js';
import { encodeBody, encodePresenceEvent, entryFields, entryOffset, publicationFrom } from './codec.js';
import { createRedisConnection, redactUrl } from './connection.js';
import { HISTORY_LUA } from './lua/history.js';
import { CHANNEL_COUNTS_LUA, NODE_REPORT_LUA, PRESENCE_ADD_LUA, PRESENCE_GET_LUA } from './lua/presence.js';
import { PUBLISH_BATCH_LUA } from './lua/publish.js';
import { RedisMqttStore } from './mqtt-store.js';
import { type PendingPublish, PublishBatcher } from './publish-batch.js';

export interface RedisEngineOptions {
  url: string;
  /** Prefix of every key and bus channel, so several Heralds can share one Redis. */
  prefix: string;
  /** Seconds the meta hash (epoch, top offset) of an idle channel is kept. */
  metaTtl: number;
  /** Milliseconds a command may take before it fails (Redis hung or network gone). */
  commandTimeout: number;
  /** Seconds a node's report stays listed without refresh. */
  nodeTtl: number;
  log?: Logger;
}

type Reply = Buffer | number | null | Reply[];

/** The scripts, as ioredis defines them (EVALSHA with a transparent EVAL fallback). */
interface Scripts extends ClusterInfoScripts {
  heraldPublishBatch(...args: (string | number | Buffer)[]): Promise<(number | string)[]>;
  heraldHistoryBuffer(...args: (string | number)[]): Promise<[Buffer, number, Reply[]]>;
  heraldPresenceAdd(...args: (string | number)[]): Promise<number>;
  heraldPresenceGet(...args: string[]): Promise<string[]>;
}

const PRESENCE_BATCH = 500;
/** Publications per batch script call (see publish-batch.ts): at most ~1 ms of Redis time. */
const PUBLISH_BATCH = { maxCount: 64, maxBytes: 256 * 1024 };

export class RedisEngine implements Engine {
  readonly name = 'redis';
  private readonly cmd: Redis & Scripts;
  private readonly busConn: Redis;
  private readonly bus: RedisBus;
  private readonly cluster: RedisClusterInfo;
  private readonly log: Logger | undefined;
  /** The ioredis options of every connection the engine (and its MQTT store) makes. */
  private readonly redisOptions: RedisOptions;
  private readonly publishes: PublishBatcher;

  constructor(private readonly opts: RedisEngineOptions) {
    this.log = opts.log;
    const redis: RedisOptions = {
      // Fail fast while disconnected instead of queueing without bound: the caller is told to retry.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // A command whose reply was lost may have run (a publish): never send it twice on our own.
      autoResendUnfulfilledCommands: false,
      autoResubscribe: false, // done by the bus, so the hub can be told to resynchronise afterwards
      commandTimeout: opts.commandTimeout,
      connectTimeout: Math.max(opts.commandTimeout, 1000),
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
      protocol: 2,
      lazyConnect: true,
    };
    this.redisOptions = redis;
    const connection = (role: string) =>
      createRedisConnection({ url: opts.url, name: `${opts.prefix}:${role}`, log: opts.log, redis });
    // Commands issued in one tick go out as one pipeline (one write, one read on each side), and
    // while a pipeline is in flight the next one gathers: at 32 publishes in flight that is a few
    // writes per round trip instead of one per publish. Order is kept: one connection, commands
    // sent in the order they were issued, so a channel's publish scripts still run in call order.
    this.cmd = createRedisConnection({
      url: opts.url,
      name: `${opts.prefix}:cmd`,
      log: opts.log,
      // The publish batch is already one command per turn (publish-batch.ts): a pipeline around
      // it would only add its own objects and promises. Sent at once, in order, like the rest.
      redis: { ...redis, enableAutoPipelining: true, autoPipeliningIgnoredCommands: ['heraldPublishBatch'] },
    }) as Redis & Scripts;
    this.busConn = connection('bus');
    // Its keys vary with the batch size: the count goes first in each call (numberOfKeys unset).
    this.cmd.defineCommand('heraldPublishBatch', { lua: PUBLISH_BATCH_LUA });
    this.publishes = new PublishBatcher((batch) => this.sendPublishes(batch), PUBLISH_BATCH);
    this.cmd.defineCommand('heraldHistory', { numberOfKeys: 3, lua: HISTORY_LUA });
    this.cmd.defineCommand('heraldPresenceAdd', { numberOfKeys: 2, lua: PRESENCE_ADD_LUA });
    this.cmd.defineCommand('heraldPresenceGet', { numberOfKeys: 2, lua: PRESENCE_GET_LUA });
    this.cmd.defineCommand('heraldNodeReport', { numberOfKeys: 2, lua: NODE_REPORT_LUA });
    this.cmd.defineCommand('heraldChannelCounts', { numberOfKeys: 1, lua: CHANNEL_COUNTS_LUA });
    this.bus = new RedisBus(this.busConn, `${opts.prefix}:ch:`, opts.log);
    this.cluster = new RedisClusterInfo(this.cmd, opts.prefix, `${opts.prefix}:ch:`, opts.nodeTtl);
  }

  /** Resolves once both connections are up; while Redis is unreachable it says so and keeps trying. */
  async start(sink: EngineSink): Promise<void> {
    this.bus.sink = sink;
    this.log?.info({ url: redactUrl(this.opts.url) }, 'connecting to Redis');
    await Promise.all([connected(this.cmd), connected(this.busConn)]);
  }

  async close(): Promise<void> {
    this.bus.sink = undefined;
    await Promise.allSettled([this.cmd.quit(), this.busConn.quit()]);
    this.cmd.disconnect();
    this.busConn.disconnect();
  }

  // ---- node messages ----------------------------------------------------------------------------

  private nodeChannel = (name: string) => `${this.opts.prefix}:node:${name}`;

  listenAsNode(name: string): Promise<void> {
    return this.run(() => this.bus.listenAsNode(this.nodeChannel(name)));
  }

  async sendToNode(name: string, message: Buffer): Promise<boolean> {
    // PUBLISH counts the receivers: none means no node of that name is listening.
    return (await this.run(() => this.cmd.publish(this.nodeChannel(name), message))) > 0;
  }

  // ---- keys -------------------------------------------------------------------------------------

  // The channel name sits in a hash tag, so a channel's keys share a Redis Cluster slot.
  private metaKey = (ch: string) => `${this.opts.prefix}:meta:{${ch}}`;
  private streamKey = (ch: string) => `${this.opts.prefix}:stream:{${ch}}`;
  private presenceKey = (ch: string) => `${this.opts.prefix}:presence:{${ch}}`;
  private presenceExpKey = (ch: string) => `${this.opts.prefix}:presence-exp:{${ch}}`;
  private clusterEpochKey = () => `${this.opts.prefix}:epoch`;

  /** What both stream scripts start with: their three keys, then the epoch and limit arguments. */
  private streamArgs(channel: string, limits: StreamLimits): (string | number)[] {
    return [
      this.metaKey(channel),
      this.streamKey(channel),
      this.clusterEpochKey(),
      newEpoch(),
      this.opts.metaTtl,
      limits.historySize,
      limits.historyTtl * 1000,
    ];
  }

  // ---- publishing -------------------------------------------------------------------------------

  async publish(channel: string, req: PublishRequest, limits: StreamLimits): Promise<Publication> {
    const { offset, epoch, time } = await new Promise<{ offset: number; epoch: string; time: number }>(
      (resolve, reject) =>
        this.publishes.add({
          meta: this.metaKey(channel),
          stream: this.streamKey(channel),
          historySize: limits.historySize,
          historyTtlMs: limits.historyTtl * 1000,
          body: encodeBody(req),
          bus: this.bus.channel(channel),
          resolve,
          reject,
        }),
    );
    return buildPublication(channel, req, offset, epoch, time);
  }

  /** One batch script call for the publications gathered in one turn; each caller gets its answer. */
  private sendPublishes(batch: PendingPublish[]): void {
    // The script's call as one flat array: key count, keys (the cluster epoch, then two per
    // publication), then its arguments (epoch candidate, meta ttl, then four per publication).
    const n = batch.length;
    const keyCount = 1 + 2 * n;
    const call: (string | number | Buffer)[] = new Array(1 + keyCount + 2 + 4 * n);
    call[0] = keyCount;
    call[1] = this.clusterEpochKey();
    let a = 1 + keyCount;
    call[a++] = newEpoch();
    call[a++] = this.opts.metaTtl;
    for (let i = 0; i < n; i++) {
      const p = batch[i];
      call[2 + 2 * i] = p.meta;
      call[3 + 2 * i] = p.stream;
      call[a++] = p.historySize;
      call[a++] = p.historyTtlMs;
      call[a++] = p.body;
      call[a++] = p.bus;
    }
    this.cmd.heraldPublishBatch(...call).then(
      (reply) => {
        for (let i = 0; i < batch.length; i++) {
          const offset = Number(reply[3 * i]);
          if (offset < 0) batch[i].reject(this.unavailable(new Error(String(reply[3 * i + 1]))));
          else batch[i].resolve({ offset, epoch: String(reply[3 * i + 1]), time: Number(reply[3 * i + 2]) });
        }
      },
      (err) => {
        const e = this.unavailable(err);
        for (const p of batch) p.reject(e);
      },
    );
  }

  async publishJoin(channel: string, info: ClientInfo): Promise<void> {
    await this.run(() => this.cmd.publish(this.bus.channel(channel), encodePresenceEvent('join', info)));
  }

  async publishLeave(channel: string, info: ClientInfo): Promise<void> {
    await this.run(() => this.cmd.publish(this.bus.channel(channel), encodePresenceEvent('leave', info)));
  }

  // ---- live delivery ----------------------------------------------------------------------------

  subscribe(channels: string[]): Promise<void> {
    return this.run(() => this.bus.subscribe(channels));
  }

  unsubscribe(channels: string[]): Promise<void> {
    return this.run(() => this.bus.unsubscribe(channels));
  }

  subscribePatterns(filters: string[]): Promise<void> {
    return this.run(() => this.bus.subscribePatterns(filters));
  }

  unsubscribePatterns(filters: string[]): Promise<void> {
    return this.run(() => this.bus.unsubscribePatterns(filters));
  }

  // ---- history ----------------------------------------------------------------------------------

  async history(channel: string, query: HistoryQuery, limits: StreamLimits): Promise<HistoryResult> {
    const [epochBuf, top, entries] = await this.run(() =>
      this.cmd.heraldHistoryBuffer(
        ...this.streamArgs(channel, limits),
        query.since ? String(Math.max(0, Math.floor(query.since.offset))) : '',
        query.since ? query.since.epoch : '',
        query.limit === undefined ? -1 : Math.max(0, Math.floor(query.limit)),
        query.reverse ? '1' : '0',
      ),
    );
    const epoch = epochBuf.toString('latin1');
    const publications: Publication[] = [];
    for (const entry of entries as [Buffer, Buffer[]][]) {
      const { time, body } = entryFields(entry[1]);
      publications.push(publicationFrom(channel, entryOffset(entry[0]), epoch, time, body));
    }
    return { publications, position: { offset: Number(top), epoch } };
  }

  async removeHistory(channel: string): Promise<void> {
    await this.run(() => this.cmd.del(this.streamKey(channel)));
  }

  // ---- presence ---------------------------------------------------------------------------------

  async addPresence(channel: string, info: ClientInfo, ttlSeconds: number): Promise<void> {
    await this.run(() =>
      this.cmd.heraldPresenceAdd(
        this.presenceKey(channel),
        this.presenceExpKey(channel),
        info.client,
        JSON.stringify(info),
        Math.max(1, Math.round(ttlSeconds * 1000)),
      ),
    );
  }

  async refreshPresence(entries: [string, ClientInfo][], ttlSeconds: number): Promise<void> {
    const ttl = Math.max(1, Math.round(ttlSeconds * 1000));
    // Pipelined in batches: one round trip per batch instead of one per entry, and no batch so
    // large that it holds up the connection's other commands for long.
    for (let i = 0; i < entries.length; i += PRESENCE_BATCH) {
      const pipe = this.cmd.pipeline() as unknown as {
        heraldPresenceAdd(...args: (string | number)[]): unknown;
        exec(): Promise<[Error | null, unknown][] | null>;
      };
      for (const [channel, info] of entries.slice(i, i + PRESENCE_BATCH)) {
        pipe.heraldPresenceAdd(
          this.presenceKey(channel),
          this.presenceExpKey(channel),
          info.client,
          JSON.stringify(info),
          ttl,
        );
      }
      const results = await this.run(() => pipe.exec());
      const failed = results?.find(([err]) => err);
      if (failed) throw this.unavailable(failed[0]);
    }
  }

  async removePresence(channel: string, clientId: string): Promise<void> {
    await this.run(() =>
      this.cmd
        .multi()
        .hdel(this.presenceKey(channel), clientId)
        .zrem(this.presenceExpKey(channel), clientId)
        .exec(),
    );
  }

  async presence(channel: string): Promise<Record<string, ClientInfo>> {
    const flat = await this.run(() =>
      this.cmd.heraldPresenceGet(this.presenceKey(channel), this.presenceExpKey(channel)),
    );
    const out: Record<string, ClientInfo> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = JSON.parse(flat[i + 1]) as ClientInfo;
    return out;
  }

  async presenceStats(channel: string): Promise<PresenceStats> {
    const present = Object.values(await this.presence(channel));
    return { numClients: present.length, numUsers: new Set(present.map((i) => i.user)).size };
  }

  // ---- cluster-wide information -----------------------------------------------------------------

  channels(): Promise<string[]> {
    return this.run(() => this.cluster.channels());
  }

  reportChannelCounts(node: string, counts: [string, number][], replace: boolean): Promise<void> {
    return this.run(() => this.cluster.reportChannelCounts(node, counts, replace));
  }

  channelCounts(channels: string[]): Promise<number[]> {
    return this.run(() => this.cluster.channelCounts(channels));
  }

  reportNode(info: NodeInfo): Promise<NodeInfo[]> {
    return this.run(() => this.cluster.reportNode(info));
  }

  withdrawNode(name: string): Promise<void> {
    return this.run(() => this.cluster.withdrawNode(name));
  }

  // ---- MQTT ---------------------------------------------------------------------------------------

  /** The cluster's MQTT state under `<prefix>:mqtt:`, on two connections of the store's own. */
  mqttStore(options: MqttStoreOptions): MqttStore {
    return new RedisMqttStore(
      {
        ...options,
        url: this.opts.url,
        prefix: this.opts.prefix,
        redis: this.redisOptions,
        commandTimeout: this.opts.commandTimeout,
      },
      this.log,
    );
  }

  // ---- failures ---------------------------------------------------------------------------------

  /**
   * Runs a Redis call, turning any failure into the catalogue's temporary "engine unavailable". The
   * Redis error text (hosts, ports) stays with the cause, for the log, and never reaches a client.
   */
  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  private unavailable(err: unknown): HeraldError {
    if (err instanceof HeraldError) return err;
    return new HeraldError('ENGINE_UNAVAILABLE', undefined, { cause: err });
  }
}

/** Resolves when the connection is ready (connecting it if it is lazy); ioredis retries meanwhile. */
function connected(conn: Redis): Promise<void> {
  return new Promise<void>((resolve) => {
    if (conn.status === 'ready') return resolve();
    conn.once('ready', () => resolve());
    if (conn.status === 'wait') conn.connect().catch(() => {}); // logged by the connection's watcher
  });
}
