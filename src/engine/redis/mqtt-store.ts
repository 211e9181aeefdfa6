// The MQTT store of the Redis engine: sessions, offline queues, retained messages, wills and
// shared-subscription membership of the whole cluster, under `<prefix>:mqtt:`. Every change that
// must be atomic is one Lua script (lua/mqtt-*.ts); the store has its own two connections (commands,
// and the Pub/Sub one its filter cache listens on), made by the engine's connection factory.
//
// Bad data: a stored value this code cannot read (hand-written, or from another version) is
// skipped and logged, never thrown at the broker. Redis failures are the catalogue's temporary
// ENGINE_UNAVAILABLE, as for every engine call.
import type { Redis, RedisOptions } from 'ioredis';
import { HeraldError } from '../../errors.js';
import type {
  ClaimResult,
  Logger,
  MqttStore,
  MqttStoreOptions,
  StoredMessage,
  StoredSession,
  StoredWill,
} from '../../model/index.js';
import { matchesFilter } from '../../model/index.js';
import { expired } from '../mqtt/offline-match.js';
import { filterToGlob } from './bus.js';
import { createRedisConnection } from './connection.js';
import { MQTT_ENQUEUE_LUA, MQTT_REAP_LUA } from './lua/mqtt-enqueue.js';
import {
  MQTT_CLAIM_LUA,
  MQTT_RELEASE_LUA,
  MQTT_SAVE_LUA,
  MQTT_SET_WILL_LUA,
  MQTT_TAKE_QUEUE_LUA,
  MQTT_TAKE_WILL_LUA,
} from './lua/mqtt-session.js';
import {
  compactSubscriptions,
  decodeMessage,
  decodeQueued,
  decodeState,
  encodeMessage,
  encodeQueued,
  type SessionState,
} from './mqtt-codec.js';
import { FilterCache } from './mqtt-filter-cache.js';

export interface RedisMqttStoreOptions extends MqttStoreOptions {
  url: string;
  /** The engine's key prefix; the store's keys are `<prefix>:mqtt:...`. */
  prefix: string;
  /** The engine's ioredis options (fail fast, timeouts, reconnects). */
  redis: RedisOptions;
  commandTimeout: number;
}

/** Expired sessions whose index entries one reap() cleans at most (the rest: the next reap). */
const REAP_BATCH = 1000;
/** Retained messages asked per HSCAN step of a wildcard lookup. */
const SCAN_COUNT = 500;

type Arg = string | number | Buffer;
interface Scripts {
  mqttClaim(...a: Arg[]): Promise<[string, string?, string?, string?, number?, string?]>;
  mqttSave(...a: Arg[]): Promise<number>;
  mqttRelease(...a: Arg[]): Promise<[number, number]>;
  mqttTakeQueueBuffer(...a: Arg[]): Promise<Buffer[]>;
  mqttSetWill(...a: Arg[]): Promise<number>;
  mqttTakeWillBuffer(...a: Arg[]): Promise<Buffer | null>;
  mqttEnqueue(...a: Arg[]): Promise<(string | number)[]>;
  mqttReapBuffer(...a: Arg[]): Promise<[number, ...Buffer[]]>;
  mqttDelIfBuffer(...a: Arg[]): Promise<number>;
}

const DEL_IF_LUA = `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0`;

export class RedisMqttStore implements MqttStore {
  private readonly cmd: Redis & Scripts;
  private readonly sub: Redis;
  private readonly cache: FilterCache;
  private readonly p: string;
  private readonly log: Logger | undefined;
  /** Queued messages dropped by the sessionQueue bound, by this node's publications. */
  dropped = 0;

  constructor(
    private readonly opts: RedisMqttStoreOptions,
    log?: Logger,
  ) {
    this.log = opts.logger ?? log;
    this.p = `${opts.prefix}:mqtt:`;
    const connection = (role: string) =>
      createRedisConnection({
        url: opts.url,
        name: `${opts.prefix}:${role}`,
        log: this.log,
        redis: opts.redis,
      });
    this.cmd = connection('mqtt') as Redis & Scripts;
    this.sub = connection('mqtt-sub');
    const define = (name: string, lua: string, numberOfKeys = 0) =>
      this.cmd.defineCommand(name, { numberOfKeys, lua });
    define('mqttClaim', MQTT_CLAIM_LUA);
    define('mqttSave', MQTT_SAVE_LUA);
    define('mqttRelease', MQTT_RELEASE_LUA);
    define('mqttTakeQueue', MQTT_TAKE_QUEUE_LUA);
    define('mqttSetWill', MQTT_SET_WILL_LUA);
    define('mqttTakeWill', MQTT_TAKE_WILL_LUA);
    define('mqttEnqueue', MQTT_ENQUEUE_LUA);
    define('mqttReap', MQTT_REAP_LUA);
    define('mqttDelIf', DEL_IF_LUA, 1);
    this.cache = new FilterCache(
      this.cmd,
      this.sub,
      `${this.p}filters`,
      `${this.p}filters-changed`,
      this.log,
    );
    for (const conn of [this.cmd, this.sub]) if (conn.status === 'wait') conn.connect().catch(() => {});
  }

  /** The filters this node believes offline sessions hold (undefined: not known yet). */
  get cachedFilters(): readonly string[] | undefined {
    return this.cache.known;
  }

  // ---- sessions ---------------------------------------------------------------------------------

  async claim(
    clientId: string,
    owner: string,
    admin: boolean,
    node: string,
    conn: string,
    cleanStart: boolean,
  ): Promise<ClaimResult> {
    const [status, stateText, pnode, pconn, changed, storedOwner] = await this.run(() =>
      this.cmd.mqttClaim(this.p, clientId, owner, admin ? '1' : '0', node, conn, cleanStart ? '1' : '0'),
    );
    if (status === 'owner') return { ok: false, reason: 'owner' };
    if (changed) this.cache.invalidate();
    const result: ClaimResult & { ok: true } = { ok: true };
    if (pnode) result.previous = { node: pnode, conn: pconn ?? '' };
    if (stateText) {
      const state = decodeState(stateText);
      if (state) {
        const session: StoredSession = { clientId, owner: storedOwner ?? owner, ...pick(state) };
        result.session = session;
      } else {
        this.log?.warn({ clientId }, 'mqtt store: unreadable stored session, starting a new one');
      }
    }
    return result;
  }

  async saveSession(clientId: string, conn: string, state: SessionState): Promise<void> {
    await this.run(() => this.cmd.mqttSave(this.p, clientId, conn, ...stateArgs(state)));
  }

  async release(
    clientId: string,
    conn: string,
    state: SessionState,
    requeue: StoredMessage[],
  ): Promise<void> {
    const [dropped, changed] = await this.run(() =>
      this.cmd.mqttRelease(
        this.p,
        clientId,
        conn,
        ...stateArgs(state),
        Math.max(0, this.opts.sessionQueue),
        ...requeue.filter((m) => m.qos > 0).map(encodeQueued),
      ),
    );
    if (changed) this.cache.invalidate();
    this.countDrops(clientId, Number(dropped));
  }

  async takeQueue(clientId: string, conn: string): Promise<StoredMessage[]> {
    const raw = await this.run(() => this.cmd.mqttTakeQueueBuffer(this.p, clientId, conn));
    const now = Date.now();
    const out: StoredMessage[] = [];
    for (const b of raw) {
      const m = decodeQueued(b);
      if (!m) this.skipped('queued message', clientId);
      else if (!expired(m, now)) out.push(m);
    }
    return out;
  }

  mayQueue(topic: string): boolean {
    return this.cache.mayMatch(topic);
  }

  async enqueue(message: StoredMessage): Promise<void> {
    if (message.qos === 0 || !this.cache.mayMatch(message.topic)) return;
    const drops = await this.run(() =>
      this.cmd.mqttEnqueue(
        this.p,
        message.topic,
        message.qos,
        message.origin ?? '',
        encodeMessage({ ...message, subscriptionIds: undefined }),
        Math.max(0, this.opts.sessionQueue),
      ),
    );
    for (let i = 0; i + 1 < drops.length; i += 2) this.countDrops(String(drops[i]), Number(drops[i + 1]));
  }

  private countDrops(clientId: string, n: number): void {
    if (!(n > 0)) return;
    this.dropped += n;
    this.opts.onQueueDrop?.(clientId, n);
  }

  // ---- retained ---------------------------------------------------------------------------------

  private retainedKey = () => `${this.p}retained`;

  async setRetained(message: StoredMessage): Promise<void> {
    if (message.payload.length === 0) await this.run(() => this.cmd.hdel(this.retainedKey(), message.topic));
    else await this.run(() => this.cmd.hset(this.retainedKey(), message.topic, encodeMessage(message)));
  }

  /**
   * An exact topic is one HGET. A wildcard filter scans the retained hash (HSCAN, the glob of the
   * filter narrowing what Redis sends back): its cost grows with the number of retained topics.
   */
  async retained(filter: string): Promise<StoredMessage[]> {
    const found: [string, Buffer][] = [];
    if (!filter.includes('+') && !filter.includes('#')) {
      const b = await this.run(() => this.cmd.hgetBuffer(this.retainedKey(), filter));
      if (b) found.push([filter, b]);
    } else {
      const glob = filterToGlob(filter);
      let cursor = '0';
      do {
        const [next, flat] = await this.run(() =>
          this.cmd.hscanBuffer(this.retainedKey(), cursor, 'MATCH', glob, 'COUNT', SCAN_COUNT),
        );
        cursor = next.toString();
        for (let i = 0; i + 1 < flat.length; i += 2) {
          const topic = flat[i].toString();
          if (matchesFilter(filter, topic)) found.push([topic, flat[i + 1]]);
        }
      } while (cursor !== '0');
    }
    const now = Date.now();
    const out: StoredMessage[] = [];
    for (const [topic, b] of found) {
      const m = decodeMessage(b);
      if (!m) {
        this.skipped('retained message', topic);
        continue;
      }
      delete m.publishAt;
      if (!expired(m, now)) out.push(m);
      // Removed only if still the same message: a newer one set meanwhile stays.
      else await this.run(() => this.cmd.mqttDelIfBuffer(this.retainedKey(), topic, b));
    }
    return out;
  }

  // ---- wills ------------------------------------------------------------------------------------

  async setWill(clientId: string, conn: string, will: StoredWill): Promise<void> {
    await this.run(() =>
      this.cmd.mqttSetWill(this.p, clientId, conn, will.publishAt ?? 0, encodeMessage(will)),
    );
  }

  async takeWill(clientId: string, conn: string): Promise<StoredWill | undefined> {
    const b = await this.run(() => this.cmd.mqttTakeWillBuffer(this.p, clientId, conn));
    if (!b) return undefined;
    const will = decodeMessage(b);
    if (!will) this.skipped('will', clientId);
    return will;
  }

  async reap(aliveNodes: string[]): Promise<(StoredWill & { clientId: string })[]> {
    const [changed, ...flat] = await this.run(() =>
      this.cmd.mqttReapBuffer(this.p, `${this.opts.prefix}:node:`, REAP_BATCH, ...aliveNodes),
    );
    if (Number(changed)) this.cache.invalidate();
    const wills: (StoredWill & { clientId: string })[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const clientId = flat[i].toString();
      const will = decodeMessage(flat[i + 1]);
      if (will) wills.push({ ...will, clientId });
      else this.skipped('will', clientId);
    }
    return wills;
  }

  // ---- shared subscriptions ---------------------------------------------------------------------

  async setSharedMembership(group: string, filter: string, node: string, present: boolean): Promise<void> {
    const member = JSON.stringify([group, filter]);
    const key = `${this.p}shared:${node}`;
    // The node is listed so that reap() drops its membership once it is gone.
    if (present) await this.run(() => this.cmd.multi().sadd(key, member).sadd(`${this.p}nodes`, node).exec());
    else await this.run(() => this.cmd.srem(key, member));
  }

  async sharedMembership(aliveNodes: string[]): Promise<Map<string, string[]>> {
    const nodes = [...new Set(aliveNodes)].sort();
    const pipe = this.cmd.pipeline();
    for (const n of nodes) pipe.smembers(`${this.p}shared:${n}`);
    const replies = nodes.length > 0 ? ((await this.run(() => pipe.exec())) ?? []) : [];
    const out = new Map<string, string[]>();
    replies.forEach(([err, members], i) => {
      if (err) throw this.unavailable(err);
      for (const m of members as string[]) {
        const gf = parseMember(m);
        if (!gf) {
          this.skipped('shared membership', nodes[i]);
          continue;
        }
        const key = `${gf[0]}\n${gf[1]}`;
        const list = out.get(key) ?? [];
        list.push(nodes[i]); // nodes are visited in sorted order, so every list is sorted
        out.set(key, list);
      }
    });
    return out;
  }

  // ---- lifecycle and failures -------------------------------------------------------------------

  async close(): Promise<void> {
    this.cache.close();
    await Promise.allSettled([this.cmd.quit(), this.sub.quit()]);
    this.cmd.disconnect();
    this.sub.disconnect();
  }

  private skipped(what: string, name: string): void {
    this.log?.warn({ what, name }, 'mqtt store: skipped an unreadable stored entry');
  }

  /** Waits for the first connection (bounded by the command timeout), then runs the call. */
  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      if (this.cmd.status !== 'ready') await ready(this.cmd, this.opts.commandTimeout);
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

function stateArgs(state: SessionState): Arg[] {
  const s = pick(state);
  return [
    JSON.stringify(s),
    Math.max(0, Math.floor(s.expiryInterval)),
    compactSubscriptions(s.subscriptions),
  ];
}

function pick(state: SessionState): SessionState {
  return {
    subscriptions: state.subscriptions,
    expiryInterval: state.expiryInterval,
    incomingQos2: state.incomingQos2,
  };
}

function parseMember(m: string): [string, string] | undefined {
  try {
    const v = JSON.parse(m) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string')
      return [v[0], v[1]];
  } catch {
    // not ours
  }
  return undefined;
}

/** Resolves when the connection is ready, rejects after `ms` (Redis unreachable). */
function ready(conn: Redis, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      conn.off('ready', onReady);
      reject(new Error('Redis connection not ready'));
    }, ms);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    conn.once('ready', onReady);
  });
}
