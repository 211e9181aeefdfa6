// The MqttStore contract on both engines' stores; the Redis store also against what only it can get
// wrong: garbage under its keys, its filter cache across nodes and reconnects, its key expiry, its
// connections.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MemoryEngine } from '../../src/engine/memory.js';
import type { RedisMqttStore } from '../../src/engine/redis/mqtt-store.js';
import type { Logger, MqttStore, StoredSubscription } from '../../src/model/index.js';
import { needsRedis, redisEngine, TestRedis } from '../helpers/redis.js';
import { until } from '../helpers/until.js';
import { mqttStoreSuite } from './mqtt-store-suite.js';

mqttStoreSuite('memory', async () => {
  let skipped = 0;
  const engine = new MemoryEngine({ now: () => Date.now() + skipped });
  return {
    store: (node, options) => engine.mqttStore({ node, sessionQueue: 100, ...options }),
    passTime: async (ms) => {
      skipped += ms;
    },
    settle: async () => {},
    close: () => engine.close(),
  };
});

const skip = needsRedis();
let redis: TestRedis | undefined;
let worlds = 0;

if (!skip) {
  before(async () => {
    redis = await TestRedis.start();
  });
  after(async () => {
    await redis?.stop();
  });
}

/** Stores of one "cluster" on the test Redis, under a prefix of their own. */
function redisWorld(prefix = `t${++worlds}`) {
  const url = (redis as TestRedis).url;
  const engine = redisEngine(url, prefix);
  const stores: RedisMqttStore[] = [];
  return {
    prefix,
    store: (node: string, options?: object) => {
      const s = engine.mqttStore({ node, sessionQueue: 100, ...options }) as RedisMqttStore;
      stores.push(s);
      return s;
    },
    passTime: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    settle: async () => {
      const filters = () =>
        (redis as TestRedis).cli('HKEYS', `${prefix}:mqtt:filters`).split('\n').filter(Boolean);
      await until(
        () => {
          const want = JSON.stringify(filters().sort());
          return stores.every((s) => JSON.stringify([...(s.cachedFilters ?? ['?'])].sort()) === want);
        },
        { what: 'every filter cache to hold the filters of offline sessions' },
      );
    },
    close: async () => {
      await Promise.all(stores.map((s) => s.close()));
      await engine.close();
    },
  };
}

if (skip) test('MqttStore contract: redis', { skip }, () => {});
else mqttStoreSuite('redis', async () => redisWorld());

/** A logger that keeps its warnings. */
function recordingLogger(): Logger & { warnings: unknown[] } {
  const warnings: unknown[] = [];
  const log = {
    warnings,
    debug() {},
    info() {},
    warn(obj: unknown) {
      warnings.push(obj);
    },
    error() {},
    child: () => log,
    isLevelEnabled: () => true,
  };
  return log as Logger & { warnings: unknown[] };
}

const subs = (filter: string): StoredSubscription[] => [{ filter, qos: 1 }];
const st = (s: StoredSubscription[], expiryInterval = 3600) => ({
  subscriptions: s,
  expiryInterval,
  incomingQos2: [],
});
const m = (topic: string, payload = 'x') => ({
  topic,
  payload: Buffer.from(payload),
  qos: 1 as const,
  retain: false,
});

async function offline(s: MqttStore, cid: string, filter: string, expiry = 3600) {
  await s.claim(cid, 'u', false, 'a', `${cid}-0`, true);
  await s.release(cid, `${cid}-0`, st(subs(filter), expiry), []);
}

describe('Redis MQTT store', { skip }, () => {
  const cli = (...args: string[]) => (redis as TestRedis).cli(...args);
  /** Scripts run on the server so far (EVALSHA, or EVAL the first time a connection runs one). */
  const evalshaCalls = () => {
    const stats = cli('INFO', 'commandstats');
    const calls = (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    return calls('evalsha') + calls('eval');
  };

  test('unreadable entries under its keys are skipped and logged, never thrown', async () => {
    const w = redisWorld();
    const log = recordingLogger();
    const s = w.store('a', { logger: log });
    const p = `${w.prefix}:mqtt:`;
    try {
      await offline(s, 'good', 'g/#');
      // Garbage everywhere the store reads.
      cli('HSET', `${p}offline`, 'junk', '{not json');
      cli('HSET', `${p}s:junk`, 'o', 'u');
      cli('HSET', `${p}offline`, 'junk2', '[["g/#","x",[],{}], 5, "y"]');
      cli('HSET', `${p}s:junk2`, 'o', 'u');
      cli('HSET', `${p}filters`, 'g/#', 'not-a-number-but-ignored');
      cli('RPUSH', `${p}q:good`, 'garbage-without-bars', '1|x|{}\nbody', '2||not json\nbody');
      cli('HSET', `${p}retained`, 'g/bad', 'no newline', 'g/bad2', '{"t":5}\nbody');
      cli('HSET', `${p}s:broken`, 'o', 'u', 'n', '', 'c', '', 'st', '{[', 'e', '60', 'x', '[');
      cli('SADD', `${p}shared:a`, 'not json', '[1,2]');
      cli('SADD', `${p}nodes`, 'dead');
      cli('SADD', `${p}wills:dead`, 'w1');
      cli('HSET', `${p}w:w1`, 'n', 'dead', 'c', 'k', 'p', 'soon', 'b', 'garbage');

      await s.enqueue(m('g/1', 'real'));
      const r = await s.claim('good', 'u', false, 'a', 'k', false);
      assert.ok(r.ok);
      assert.deepEqual(
        (await s.takeQueue('good', 'k')).map((x) => x.payload.toString()),
        ['real'],
        'the readable message arrives, the garbage is skipped',
      );
      assert.deepEqual(
        (await s.retained('g/+')).map((x) => x.topic),
        [],
      );
      const broken = await s.claim('broken', 'u', false, 'a', 'kb', false);
      assert.deepEqual(broken, { ok: true }, 'an unreadable session is started anew');
      assert.deepEqual([...(await s.sharedMembership(['a']))], []);
      assert.deepEqual(await s.reap(['a']), [], 'an unreadable will is skipped');
      assert.ok(log.warnings.length >= 5, `logged ${log.warnings.length} warnings`);
      // And the store still works.
      await offline(s, 'after', 'h');
      await w.settle();
      await s.enqueue(m('h', 'ok'));
      const again = await s.claim('after', 'u', false, 'a', 'k2', false);
      assert.ok(again.ok);
      assert.deepEqual(
        (await s.takeQueue('after', 'k2')).map((x) => x.payload.toString()),
        ['ok'],
      );
    } finally {
      await w.close();
    }
  });

  test('enqueue costs no round trip unless an offline session has a matching filter', async () => {
    const w = redisWorld();
    const a = w.store('a');
    const b = w.store('b');
    try {
      await w.settle();
      let before = evalshaCalls();
      for (let i = 0; i < 200; i++) await b.enqueue(m(`x/${i}`));
      assert.equal(evalshaCalls() - before, 0, 'no offline session: no script run');

      await offline(a, 'c1', 'x/5');
      await w.settle(); // b heard of the new filter through the store's Pub/Sub channel
      before = evalshaCalls();
      for (let i = 0; i < 200; i++) await b.enqueue(m(`x/${i}`));
      assert.equal(evalshaCalls() - before, 1, 'only the matching topic runs the script');

      // The session comes back: its filter leaves the caches.
      const r = await a.claim('c1', 'u', false, 'a', 'k', false);
      assert.ok(r.ok);
      assert.deepEqual(
        (await a.takeQueue('c1', 'k')).map((x) => x.topic),
        ['x/5'],
      );
      await w.settle();
      assert.deepEqual(b.cachedFilters, []);
    } finally {
      await w.close();
    }
  });

  test('after Redis restarts the filter cache is reloaded: a new offline session is queued for', async () => {
    const w = redisWorld();
    const a = w.store('a');
    const b = w.store('b');
    try {
      await w.settle();
      await (redis as TestRedis).restart();
      // Until b is back, its cache is unknown (it must ask Redis), never a stale "nobody".
      await until(() => b.cachedFilters !== undefined, {
        what: "b's cache to be reloaded",
        timeoutMs: 10_000,
      });
      await until(
        async () =>
          a
            .claim('c1', 'u', false, 'a', 'k0', true)
            .then(() => true)
            .catch(() => false),
        { what: 'a to reach Redis again', timeoutMs: 10_000 },
      );
      await a.release('c1', 'k0', st(subs('r/#')), []);
      await w.settle();
      await b.enqueue(m('r/1', 'after-restart'));
      const r = await a.claim('c1', 'u', false, 'a', 'k1', false);
      assert.ok(r.ok);
      assert.deepEqual(
        (await a.takeQueue('c1', 'k1')).map((x) => x.payload.toString()),
        ['after-restart'],
      );
    } finally {
      await w.close();
    }
  });

  test('offline sessions and their queues expire by key TTL; held ones do not', async () => {
    const w = redisWorld();
    const s = w.store('a');
    const p = `${w.prefix}:mqtt:`;
    try {
      await s.claim('held', 'u', false, 'a', 'k', false);
      await s.saveSession('held', 'k', st(subs('t'), 60));
      assert.equal(cli('PTTL', `${p}s:held`), '-1');
      await offline(s, 'off', 't', 60);
      await s.enqueue(m('t'));
      for (const key of [`${p}s:off`, `${p}q:off`]) {
        const ttl = Number(cli('PTTL', key));
        assert.ok(ttl > 55_000 && ttl <= 60_000, `${key} expires in ${ttl} ms`);
      }
      await offline(s, 'forever', 't', 0xffffffff);
      assert.equal(cli('PTTL', `${p}s:forever`), '-1');
      // A dead node's session: offline on reap, its expiry from then.
      await s.claim('orphan', 'u', false, 'gone', 'k', false);
      await s.saveSession('orphan', 'k', st(subs('t'), 30));
      await s.reap(['a']);
      const ttl = Number(cli('PTTL', `${p}s:orphan`));
      assert.ok(ttl > 25_000 && ttl <= 30_000, `orphan expires in ${ttl} ms`);
    } finally {
      await w.close();
    }
  });

  test('a node whose report key is still there is not reaped, whatever a stale alive list says', async () => {
    const w = redisWorld();
    const s = w.store('a');
    try {
      cli('SET', `${w.prefix}:node:young`, '{}', 'PX', '60000');
      await s.claim('c1', 'u', false, 'young', 'k', false);
      await s.saveSession('c1', 'k', st(subs('t')));
      await s.setWill('c1', 'k', m('will'));
      assert.deepEqual(await s.reap(['a']), []);
      await s.saveSession('c1', 'k', st(subs('still-held')));
      const r = await s.claim('c1', 'u', false, 'a', 'k2', false);
      assert.ok(r.ok);
      assert.deepEqual(r.previous, { node: 'young', conn: 'k' });
      assert.deepEqual(r.session?.subscriptions, subs('still-held'));
    } finally {
      await w.close();
    }
  });

  test('close() quits its connections promptly', async () => {
    const w = redisWorld();
    const s = w.store('a');
    await s.claim('c1', 'u', false, 'a', 'k', false);
    await w.settle();
    const names = () => cli('CLIENT', 'LIST').match(new RegExp(`name=${w.prefix}:mqtt\\S*`, 'g')) ?? [];
    assert.equal(names().length, 2);
    const started = performance.now();
    await w.close();
    assert.ok(performance.now() - started < 1000);
    await until(() => names().length === 0, { what: 'the store connections to be gone' });
  });

  test('a store whose Redis is unreachable fails calls with ENGINE_UNAVAILABLE', async () => {
    const engine = redisEngine('redis://127.0.0.1:1', 'down');
    const s = engine.mqttStore({ node: 'a', sessionQueue: 10 });
    try {
      await assert.rejects(s.claim('c', 'u', false, 'a', 'k', false), {
        kind: 'ENGINE_UNAVAILABLE',
        temporary: true,
      });
      // Its filter cache is unknown, so a publication is not silently skipped: it is tried, and fails.
      await assert.rejects(s.enqueue(m('t')), { kind: 'ENGINE_UNAVAILABLE', temporary: true });
    } finally {
      await s.close();
      await engine.close();
    }
  });
});

describe('MqttStore.mayQueue on the memory engine', () => {
  test('false while no offline session subscribes, true once one does', async () => {
    const engine = new MemoryEngine();
    try {
      const s = engine.mqttStore({ node: 'a', sessionQueue: 100 });
      assert.equal(s.mayQueue?.('t/1'), false);
      await s.claim('c1', 'u', false, 'a', 'k1', true);
      await s.saveSession('c1', 'k1', {
        subscriptions: [{ filter: 't/#', qos: 1 }],
        expiryInterval: 60,
        incomingQos2: [],
      });
      // Online sessions get live delivery, not a queue.
      assert.equal(s.mayQueue?.('t/1'), false);
      await s.release(
        'c1',
        'k1',
        { subscriptions: [{ filter: 't/#', qos: 1 }], expiryInterval: 60, incomingQos2: [] },
        [],
      );
      assert.equal(s.mayQueue?.('t/1'), true);
    } finally {
      await engine.close();
    }
  });
});
