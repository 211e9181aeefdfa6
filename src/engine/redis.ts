// The clustered engine: every node shares one Redis. Per channel, history is a Redis Stream whose
// entry ids are the offsets ("<offset>-0"), so "everything after offset N" is one XRANGE seek, and a
// small meta hash holds the epoch and the top offset; it outlives the history (a long TTL), so the
// offset sequence goes on after the history aged out. Publishing is one Lua script (assign offset,
// XADD, trim, PUBLISH), so two nodes never hand out the same offset. Live delivery is Redis Pub/Sub
// on a dedicated connection subscribed only to channels this node has subscribers for.
//
// Failure behaviour: commands fail fast while Redis is unreachable (no offline queue), the hub turns
// that into ENGINE_UNAVAILABLE (temporary). Both connections keep reconnecting; when the bus
// connection comes back every channel is subscribed again and the hub is told to resynchronise its
// subscribers, since publications may have gone by meanwhile. If Redis lost its data, the meta hash
// is gone and the next publish starts a new epoch: clients learn that, rather than being given a gap.
import { Redis, type RedisOptions } from 'ioredis';
import { HeraldError } from '../errors.js';
import { matchesFilter } from '../hub/channel-name.js';
import type { Logger } from '../hub/hub.js';
import type {
  ClientInfo,
  HistoryQuery,
  HistoryResult,
  PresenceStats,
  Publication,
  PublishRequest,
} from '../hub/types.js';
import type { Engine, EngineSink, NodeInfo, StreamLimits } from './engine.js';
import { newEpoch } from './epoch.js';
import { HISTORY_LUA } from './lua/history.js';
import { CHANNEL_COUNTS_LUA, NODE_REPORT_LUA, PRESENCE_ADD_LUA, PRESENCE_GET_LUA } from './lua/presence.js';
import { PUBLISH_LUA } from './lua/publish.js';
import {
  decodeBusMessage,
  encodeBody,
  encodePresenceEvent,
  entryFields,
  entryOffset,
  publicationFrom,
} from './redis-codec.js';
import { BusSubscriptions } from './redis-subscriptions.js';

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
  log?: Logger & { info(obj: object, msg?: string): void };
}

type Reply = Buffer | number | null | Reply[];

/** The scripts, as ioredis defines them (EVALSHA with a transparent EVAL fallback). */
interface Scripts {
  heraldPublish(...args: (string | number | Buffer)[]): Promise<[number, string, string]>;
  heraldHistoryBuffer(...args: (string | number)[]): Promise<[Buffer, number, Reply[]]>;
  heraldPresenceAdd(...args: (string | number)[]): Promise<number>;
  heraldPresenceGet(...args: string[]): Promise<string[]>;
  heraldNodeReport(...args: (string | number)[]): Promise<string[]>;
  heraldChannelCounts(...args: string[]): Promise<number[]>;
}

const REPORT_THROTTLE_MS = 5000;
const MAX_DELIVERED_TRACKED = 100_000;
const COUNTS_BATCH = 1000;
const PRESENCE_BATCH = 500;

/** An MQTT filter as a Redis glob: '+' and '#' become '*', glob metacharacters are escaped. */
export function filterToGlob(filter: string): string {
  if (filter === '#') return '*';
  const escaped = filter.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
  return escaped
    .split('/')
    .map((level) => (level === '+' ? '*' : level))
    .join('/')
    .replace(/\/#$/, '*');
}

export class RedisEngine implements Engine {
  readonly name = 'redis';
  private readonly cmd: Redis & Scripts;
  private readonly bus: Redis;
  private readonly subs: BusSubscriptions;
  /** MQTT-style filters the hub wants (PSUBSCRIBEd as globs, then matched exactly here). */
  private readonly psubs: BusSubscriptions;
  private readonly filters = new Map<string, string>();
  /**
   * The newest publication handed to the sink per channel: a publication can arrive once for a
   * channel subscription and once per matching pattern, and must reach the sink once.
   */
  private readonly delivered = new Map<string, { epoch: string; offset: number }>();
  private sink: EngineSink | undefined;
  private closing = false;
  private busWasReady = false;
  private started = false;
  private readonly lastReport = new Map<string, number>();

  constructor(private readonly opts: RedisEngineOptions) {
    const common: RedisOptions = {
      // Fail fast while disconnected instead of queueing without bound: the caller is told to retry.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // A command whose reply was lost may have run (a publish): never send it twice on our own.
      autoResendUnfulfilledCommands: false,
      autoResubscribe: false, // done here, so the hub can be told to resynchronise afterwards
      commandTimeout: opts.commandTimeout,
      connectTimeout: Math.max(opts.commandTimeout, 1000),
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
      protocol: 2,
      lazyConnect: true,
    };
    this.cmd = new Redis(opts.url, { ...common, connectionName: `${opts.prefix}:cmd` }) as Redis & Scripts;
    this.bus = new Redis(opts.url, { ...common, connectionName: `${opts.prefix}:bus` });
    this.cmd.defineCommand('heraldPublish', { numberOfKeys: 2, lua: PUBLISH_LUA });
    this.cmd.defineCommand('heraldHistory', { numberOfKeys: 2, lua: HISTORY_LUA });
    this.cmd.defineCommand('heraldPresenceAdd', { numberOfKeys: 2, lua: PRESENCE_ADD_LUA });
    this.cmd.defineCommand('heraldPresenceGet', { numberOfKeys: 2, lua: PRESENCE_GET_LUA });
    this.cmd.defineCommand('heraldNodeReport', { numberOfKeys: 2, lua: NODE_REPORT_LUA });
    this.cmd.defineCommand('heraldChannelCounts', { numberOfKeys: 1, lua: CHANNEL_COUNTS_LUA });
    this.subs = new BusSubscriptions(this.bus);
    this.psubs = new BusSubscriptions(this.bus, 'pattern');
    this.watch(this.cmd, 'command');
    this.watch(this.bus, 'bus');
    this.bus.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onBusMessage(channel, message));
    this.bus.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, message: Buffer) =>
      this.onBusPatternMessage(channel, message),
    );
    this.bus.on('close', () => {
      this.subs.connectionLost();
      this.psubs.connectionLost();
    });
    this.bus.on('ready', () => this.onBusReady());
  }

  /** Resolves once both connections are up; while Redis is unreachable it says so and keeps trying. */
  async start(sink: EngineSink): Promise<void> {
    this.sink = sink;
    this.closing = false;
    await Promise.all([this.connect(this.cmd, 'command'), this.connect(this.bus, 'bus')]);
    this.started = true;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.sink = undefined;
    await Promise.allSettled([this.cmd.quit(), this.bus.quit()]);
    this.cmd.disconnect();
    this.bus.disconnect();
  }

  // ---- keys -------------------------------------------------------------------------------------

  // The channel name sits in a hash tag, so a channel's keys share a Redis Cluster slot.
  private metaKey = (ch: string) => `${this.opts.prefix}:meta:{${ch}}`;
  private streamKey = (ch: string) => `${this.opts.prefix}:stream:{${ch}}`;
  private presenceKey = (ch: string) => `${this.opts.prefix}:presence:{${ch}}`;
  private presenceExpKey = (ch: string) => `${this.opts.prefix}:presence-exp:{${ch}}`;
  private busChannel = (ch: string) => `${this.opts.prefix}:ch:${ch}`;
  private get busPrefix() {
    return `${this.opts.prefix}:ch:`;
  }

  // ---- publishing -------------------------------------------------------------------------------

  async publish(channel: string, req: PublishRequest, limits: StreamLimits): Promise<Publication> {
    const [offset, epoch, time] = await this.run(() =>
      this.cmd.heraldPublish(
        this.metaKey(channel),
        this.streamKey(channel),
        newEpoch(),
        this.opts.metaTtl,
        limits.historySize,
        limits.historyTtl * 1000,
        encodeBody(req),
        this.busChannel(channel),
      ),
    );
    const pub: Publication = { channel, offset, epoch, data: req.data, time: Number(time) };
    if (req.bytes !== undefined) pub.bytes = req.bytes;
    if (req.binary) pub.binary = true;
    if (req.info !== undefined) pub.info = req.info;
    if (req.qos) pub.qos = req.qos;
    if (req.retain) pub.retain = true;
    return pub;
  }

  async publishJoin(channel: string, info: ClientInfo): Promise<void> {
    await this.run(() => this.cmd.publish(this.busChannel(channel), encodePresenceEvent('join', info)));
  }

  async publishLeave(channel: string, info: ClientInfo): Promise<void> {
    await this.run(() => this.cmd.publish(this.busChannel(channel), encodePresenceEvent('leave', info)));
  }

  // ---- live delivery ----------------------------------------------------------------------------

  async subscribe(channels: string[]): Promise<void> {
    await this.run(() => this.subs.subscribe(channels.map(this.busChannel)));
  }

  async unsubscribe(channels: string[]): Promise<void> {
    await this.run(() => this.subs.unsubscribe(channels.map(this.busChannel)));
  }

  async subscribePatterns(filters: string[]): Promise<void> {
    const globs: string[] = [];
    for (const f of filters) {
      const glob = this.busPrefix + filterToGlob(f);
      this.filters.set(f, glob);
      globs.push(glob);
    }
    await this.run(() => this.psubs.subscribe(globs));
  }

  async unsubscribePatterns(filters: string[]): Promise<void> {
    const globs: string[] = [];
    for (const f of filters) {
      if (!this.filters.delete(f)) continue;
      const glob = this.busPrefix + filterToGlob(f);
      // Two filters may share a glob ('a/+' and 'a/#' do not, but '+' and '+' would): keep it if used.
      if (![...this.filters.values()].includes(glob)) globs.push(glob);
    }
    await this.run(() => this.psubs.unsubscribe(globs));
  }

  private onBusPatternMessage(busChannel: Buffer, message: Buffer): void {
    const name = busChannel.toString('utf8');
    const channel = name.slice(this.busPrefix.length);
    // A glob is wider than its filter ('*' crosses '/'): match the filter itself.
    let wanted = false;
    for (const f of this.filters.keys()) {
      if (matchesFilter(f, channel)) {
        wanted = true;
        break;
      }
    }
    if (wanted) this.deliverBusMessage(channel, message, false);
  }

  private onBusMessage(busChannel: Buffer, message: Buffer): void {
    const name = busChannel.toString('utf8');
    if (!this.subs.has(name)) return;
    this.deliverBusMessage(name.slice(this.busPrefix.length), message, true);
  }

  private deliverBusMessage(channel: string, message: Buffer, withPresence: boolean): void {
    const sink = this.sink;
    if (!sink) return;
    try {
      const m = decodeBusMessage(message);
      if (m.kind === 'pub') {
        if (this.alreadyDelivered(channel, m.epoch, m.offset)) return;
        sink.onPublication(publicationFrom(channel, m.offset, m.epoch, m.time, m.body));
      } else if (!withPresence)
        return; // presence events are for channel subscribers only
      else if (m.kind === 'join') sink.onJoin(channel, m.info);
      else sink.onLeave(channel, m.info);
    } catch (err) {
      this.opts.log?.warn({ err, channel }, 'dropped a malformed message from the Redis bus');
    }
  }

  private onBusReady(): void {
    if (!this.busWasReady) {
      this.busWasReady = true;
      return;
    }
    // A new connection: Redis knows none of our subscriptions, and whatever was published while we
    // were away never reached us. Subscribe again first, then let the subscribers catch up.
    Promise.all([this.subs.resubscribeAll(), this.psubs.resubscribeAll()]).then(
      () => {
        this.opts.log?.info(
          { channels: this.subs.wanted.size },
          'Redis bus reconnected; channels resubscribed',
        );
        this.sink?.onResync?.();
      },
      (err: Error) => {
        this.opts.log?.warn({ err: err.message }, 'resubscribing after a Redis reconnect failed; retrying');
        this.bus.disconnect(true); // reconnect, and try again on the next ready
      },
    );
  }

  private alreadyDelivered(channel: string, epoch: string, offset: number): boolean {
    const last = this.delivered.get(channel);
    if (last && last.epoch === epoch && offset <= last.offset) return true;
    // Bounded: forgetting only risks a repeat, which the hub drops for channel subscribers anyway.
    if (!last && this.delivered.size >= MAX_DELIVERED_TRACKED) this.delivered.clear();
    this.delivered.set(channel, { epoch, offset });
    return false;
  }

  // ---- history ----------------------------------------------------------------------------------

  async history(channel: string, query: HistoryQuery, limits: StreamLimits): Promise<HistoryResult> {
    const [epochBuf, top, entries] = await this.run(() =>
      this.cmd.heraldHistoryBuffer(
        this.metaKey(channel),
        this.streamKey(channel),
        newEpoch(),
        this.opts.metaTtl,
        limits.historySize,
        limits.historyTtl * 1000,
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
      if (failed) throw new HeraldError('ENGINE_UNAVAILABLE', `redis: ${failed[0]?.message}`);
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

  async channels(): Promise<string[]> {
    const prefix = this.busPrefix;
    const names = (await this.run(() => this.cmd.pubsub('CHANNELS', `${globEscape(prefix)}*`))) as string[];
    return names.map((n) => n.slice(prefix.length));
  }

  private nodeChannelsKey = (node: string) => `${this.opts.prefix}:node-channels:${node}`;

  async reportChannelCounts(node: string, counts: [string, number][], replace: boolean): Promise<void> {
    const key = this.nodeChannelsKey(node);
    const tx = this.cmd.multi();
    if (replace) tx.del(key);
    const set: (string | number)[] = [];
    const gone: string[] = [];
    for (const [channel, n] of counts) {
      if (n > 0) set.push(channel, n);
      else if (!replace) gone.push(channel);
    }
    if (set.length > 0) tx.hset(key, ...set);
    if (gone.length > 0) tx.hdel(key, ...gone);
    // Lives as long as the node's report: a node that died stops counting (and its hash goes).
    tx.pexpire(key, this.opts.nodeTtl * 1000);
    await this.run(() => tx.exec());
  }

  async channelCounts(channels: string[]): Promise<number[]> {
    const out: number[] = [];
    // Batches keep each script's argument list well inside Lua's unpack() limit.
    for (let i = 0; i < channels.length; i += COUNTS_BATCH) {
      const counts = await this.run(() =>
        this.cmd.heraldChannelCounts(
          `${this.opts.prefix}:nodes`,
          `${this.opts.prefix}:node-channels:`,
          ...channels.slice(i, i + COUNTS_BATCH),
        ),
      );
      for (const n of counts) out.push(Number(n));
    }
    return out;
  }

  async reportNode(info: NodeInfo): Promise<NodeInfo[]> {
    const prefix = `${this.opts.prefix}:node:`;
    const list = await this.run(() =>
      this.cmd.heraldNodeReport(
        `${this.opts.prefix}:nodes`,
        prefix + info.name,
        info.name,
        JSON.stringify(info),
        this.opts.nodeTtl * 1000,
        prefix,
      ),
    );
    return list.map((s) => JSON.parse(s) as NodeInfo);
  }

  // ---- connections ------------------------------------------------------------------------------

  /** Runs a Redis call, turning any failure into a temporary "engine unavailable" error. */
  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof HeraldError) throw err;
      const message = (err as Error)?.message ?? String(err);
      throw new HeraldError('ENGINE_UNAVAILABLE', `redis: ${message}`, { cause: err });
    }
  }

  private connect(conn: Redis, role: string): Promise<void> {
    return new Promise<void>((resolve) => {
      if (conn.status === 'ready') return resolve();
      conn.once('ready', () => resolve());
      if (conn.status === 'wait') {
        conn.connect().catch(() => {}); // failures are reported by watch() and retried by ioredis
      }
      this.opts.log?.info({ role, url: redactUrl(this.opts.url) }, 'connecting to Redis');
    });
  }

  /** Logs connection trouble clearly, without a line per retry. */
  private watch(conn: Redis, role: string): void {
    conn.on('error', (err: Error) => {
      if (this.closing) return;
      const key = `${role}:${err.message}`;
      const now = Date.now();
      if (now - (this.lastReport.get(key) ?? 0) < REPORT_THROTTLE_MS) return;
      this.lastReport.set(key, now);
      this.opts.log?.warn(
        { role, url: redactUrl(this.opts.url), err: err.message },
        this.started
          ? 'Redis is unreachable; retrying (publishes fail with a retryable error meanwhile)'
          : 'Redis is unreachable; retrying, and waiting for it before accepting connections',
      );
    });
    let up = false;
    conn.on('ready', () => {
      up = true;
      this.lastReport.clear();
      this.opts.log?.info({ role }, 'Redis connection ready');
    });
    conn.on('close', () => {
      if (up && !this.closing) this.opts.log?.warn({ role }, 'Redis connection lost; reconnecting');
      up = false;
    });
  }
}

function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable redis url)';
  }
}
