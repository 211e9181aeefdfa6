// The shared engine suite on the Redis engine, against a private redis-server; plus what only a
// networked engine can get wrong: another node sharing the streams, and Redis going away.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { Hub } from '../../src/hub/hub.js';
import { redisAvailable, redisEngine, TestRedis } from '../helpers/redis.js';
import { engineSuite, RecordingSink } from './engine-suite.js';

const limits = { historySize: 100, historyTtl: 300 };

if (!redisAvailable()) {
  test('Redis engine suite', { skip: 'redis-server is not on the PATH' }, () => {});
} else {
  engineSuite('redis', async () => {
    const redis = await TestRedis.start();
    return { engine: redisEngine(redis.url), cleanup: () => redis.stop() };
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Redis engine: several nodes, one Redis', {
  skip: redisAvailable() ? false : 'redis-server is not on the PATH',
}, () => {
  let redis: TestRedis;
  let a: RedisEngine;
  let b: RedisEngine;
  const sinkA = new RecordingSink();
  const sinkB = new RecordingSink();
  before(async () => {
    redis = await TestRedis.start();
    a = redisEngine(redis.url);
    b = redisEngine(redis.url);
    await Promise.all([a.start(sinkA), b.start(sinkB)]);
  });
  after(async () => {
    await Promise.all([a.close(), b.close()]);
    await redis.stop();
  });

  test('concurrent publishes through two nodes get one gap-free offset sequence, seen by both', async () => {
    await Promise.all([a.subscribe(['shared']), b.subscribe(['shared'])]);
    const all = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).publish('shared', { data: i }, limits)),
    );
    assert.deepEqual(
      all.map((p) => p.offset).sort((x, y) => x - y),
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    assert.equal(new Set(all.map((p) => p.epoch)).size, 1);
    for (const sink of [sinkA, sinkB]) {
      await sink.until(() => sink.of('shared').length === 100, 5000, '100 publications');
      assert.deepEqual(
        sink.of('shared').map((p) => p.offset),
        Array.from({ length: 100 }, (_, i) => i + 1),
        'in offset order',
      );
    }
    const h = await b.history('shared', { limit: 0 }, limits);
    assert.equal(h.position.offset, 100);
  });

  test('subscribe calls made in the same tick go out as one SUBSCRIBE command', async () => {
    const before = subscribeCalls(redis);
    const names = Array.from({ length: 40 }, (_, i) => `batch-${i}`);
    await Promise.all(names.map((n) => a.subscribe([n])));
    assert.equal(subscribeCalls(redis) - before, 1);
    const beforeUnsub = unsubscribeCalls(redis);
    await Promise.all(names.map((n) => a.unsubscribe([n])));
    assert.equal(unsubscribeCalls(redis) - beforeUnsub, 1);
  });

  test('a malformed message on the bus is dropped; the channel keeps working', async () => {
    await a.subscribe(['noisy']);
    for (const junk of ['', 'zzz', 'p1:e', 'pNaN:e:1:{bad json', 'j{not json']) {
      redis.cli('PUBLISH', 'herald:ch:noisy', junk);
    }
    const p = await b.publish('noisy', { data: 'fine' }, limits);
    await sinkA.until(() => sinkA.of('noisy').length === 1, 3000, 'the good publication');
    assert.equal(sinkA.of('noisy')[0].offset, p.offset);
    assert.equal(sinkA.of('noisy')[0].data, 'fine');
    assert.equal(sinkA.joins.filter(([c]) => c === 'noisy').length, 0);
  });

  test('a hub subscribing with since during a publication storm from another node loses and repeats nothing', async () => {
    const hub = new Hub(redisEngine(redis.url), { historySize: 1000, historyTtl: 300 });
    await hub.start();
    // History as long as the hub's: on a loaded machine the storm may get far ahead of the
    // subscribe, which must still be able to recover from history.
    const stormLimits = { historySize: 1000, historyTtl: 300 };
    try {
      const first = await b.publish('storm', { data: 0 }, stormLimits);
      let stop = false;
      const storm = (async () => {
        for (let i = 1; i <= 300 && !stop; i++) await b.publish('storm', { data: i }, stormLimits);
      })();
      await sleep(30);
      const got: number[] = [];
      const res = await hub.subscribe(
        'storm',
        { format: { name: 'n', encode: (p) => p.offset }, deliver: (_p, n) => got.push(n as number) },
        { since: { offset: first.offset, epoch: first.epoch } },
      );
      assert.equal(res.recovered, true);
      const fromHistory = res.publications.map((p) => p.offset);
      await sleep(20);
      res.start();
      await storm;
      stop = true;
      const top = (await b.history('storm', { limit: 0 }, stormLimits)).position.offset;
      const deadline = Date.now() + 5000;
      while ((fromHistory.concat(got).at(-1) ?? 0) < top && Date.now() < deadline) await sleep(20);
      assert.deepEqual(
        fromHistory.concat(got),
        Array.from({ length: top - first.offset }, (_, i) => first.offset + 1 + i),
      );
      assert.ok(fromHistory.length > 0 && got.length > 0, 'the subscribe really raced the storm');
    } finally {
      await hub.close();
    }
  });

  test('presence and channels answer for the whole cluster', async () => {
    await a.addPresence('room', { client: 'ca', user: 'ua' }, 60);
    await b.addPresence('room', { client: 'cb', user: 'ub' }, 60);
    assert.deepEqual(Object.keys(await a.presence('room')).sort(), ['ca', 'cb']);
    await b.subscribe(['only-on-b']);
    assert.ok((await a.channels()).includes('only-on-b'));
    const nodes = await a.reportNode({
      name: 'A',
      numClients: 1,
      numSubscriptions: 1,
      numChannels: 1,
      uptime: 1,
    });
    await b.reportNode({ name: 'B', numClients: 2, numSubscriptions: 2, numChannels: 2, uptime: 2 });
    assert.ok(nodes.some((n) => n.name === 'A'));
    const both = await a.reportNode({
      name: 'A',
      numClients: 1,
      numSubscriptions: 1,
      numChannels: 1,
      uptime: 1,
    });
    // (A hub started by an earlier test reports itself too, as 'herald'.)
    assert.deepEqual(
      both
        .map((n) => n.name)
        .filter((n) => n !== 'herald')
        .sort(),
      ['A', 'B'],
    );
  });

  test('channel counts are summed over the nodes alive; a full report replaces a node’s counts', async () => {
    const info = { numClients: 0, numSubscriptions: 0, numChannels: 0, uptime: 0 };
    await a.reportNode({ name: 'A', ...info });
    await b.reportNode({ name: 'B', ...info });
    await a.reportChannelCounts(
      'A',
      [
        ['cnt:x', 2],
        ['cnt:y', 1],
      ],
      true,
    );
    await b.reportChannelCounts('B', [['cnt:x', 3]], true);
    assert.deepEqual(await a.channelCounts(['cnt:x', 'cnt:y', 'cnt:none']), [5, 1, 0]);
    await b.reportChannelCounts(
      'B',
      [
        ['cnt:x', 0],
        ['cnt:y', 4],
      ],
      false,
    );
    assert.deepEqual(await b.channelCounts(['cnt:x', 'cnt:y']), [2, 5]);
    await a.reportChannelCounts('A', [['cnt:y', 1]], true);
    assert.deepEqual(await b.channelCounts(['cnt:x', 'cnt:y']), [0, 5]);
    // Many channels at once: more than one script call, same answer.
    const many = Array.from({ length: 2500 }, (_, i) => `cnt:m${i}`);
    await a.reportChannelCounts(
      'A',
      many.map((c): [string, number] => [c, 1]),
      false,
    );
    const counts = await b.channelCounts(many);
    assert.equal(counts.length, 2500);
    assert.ok(counts.every((n) => n === 1));
  });
});

describe('Redis engine: Redis goes away', {
  skip: redisAvailable() ? false : 'redis-server is not on the PATH',
}, () => {
  test('publish fails fast with a temporary error, then resumes; the bus resubscribes and asks for a resync; lost data means a new epoch', async () => {
    const redis = await TestRedis.start();
    const engine = redisEngine(redis.url);
    const sink = new RecordingSink();
    await engine.start(sink);
    try {
      await engine.subscribe(['news']);
      const first = await engine.publish('news', { data: 1 }, limits);
      await redis.stop();
      const t0 = Date.now();
      await assert.rejects(
        engine.publish('news', { data: 2 }, limits),
        (err: Error & { temporary?: boolean }) => {
          assert.match(err.message, /engine unavailable/);
          assert.equal(err.temporary, true);
          return true;
        },
      );
      assert.ok(Date.now() - t0 < 1500, `rejected after ${Date.now() - t0} ms`);
      await assert.rejects(engine.history('news', {}, limits), /engine unavailable/);
      await redis.spawn(); // same port, empty: the data is lost
      await sink.until(() => sink.resyncs === 1, 10_000, 'a resync after the bus reconnected');
      const next = await retry(() => engine.publish('news', { data: 3 }, limits));
      assert.notEqual(next.epoch, first.epoch, 'a stream Redis lost gets a new epoch');
      assert.equal(next.offset, 1);
      await sink.until(
        () => sink.of('news').some((p) => p.epoch === next.epoch),
        3000,
        'live delivery again',
      );
    } finally {
      await engine.close();
      await redis.stop();
    }
  });

  test('a command Redis does not answer in time fails with a temporary error; the engine recovers', async () => {
    const redis = await TestRedis.start();
    const engine = new RedisEngine({
      url: redis.url,
      prefix: 'herald',
      metaTtl: 60,
      commandTimeout: 300,
      nodeTtl: 60,
    });
    await engine.start(new RecordingSink());
    try {
      // Keep Redis busy for ~1.5 s, as a slow or stalled server would be.
      const busy = spawn('redis-cli', [
        '-p',
        String(redis.port),
        'EVAL',
        "local t = redis.call('TIME') local stop = t[1] * 1000000 + t[2] + 1500000 " +
          "while true do t = redis.call('TIME') if t[1] * 1000000 + t[2] > stop then break end end return 1",
        '0',
      ]);
      await sleep(200);
      const t0 = Date.now();
      await assert.rejects(
        engine.publish('slow', { data: 1 }, limits),
        (err: Error & { temporary?: boolean }) => {
          // The catalogue's words only: Redis's own text (hosts, ports, timeouts) stays in the log.
          assert.equal(err.message, 'engine unavailable, retry later');
          assert.equal(err.temporary, true);
          return true;
        },
      );
      assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
      await new Promise((r) => busy.once('exit', r));
      const p = await retry(() => engine.publish('slow', { data: 2 }, limits));
      assert.ok(p.offset >= 1);
    } finally {
      await engine.close();
      await redis.stop();
    }
  });

  test('start waits for an unreachable Redis and connects when it appears', async () => {
    const redis = await TestRedis.start();
    await redis.stop();
    const engine = redisEngine(redis.url);
    let started = false;
    const starting = engine.start(new RecordingSink()).then(() => {
      started = true;
    });
    await sleep(700);
    assert.equal(started, false, 'start must wait while Redis is unreachable');
    await redis.spawn();
    await starting;
    const p = await engine.publish('late', { data: 'x' }, limits);
    assert.equal(p.offset, 1);
    await engine.close();
    await redis.stop();
  });
});

function subscribeCalls(redis: TestRedis): number {
  return commandCalls(redis, 'subscribe');
}
function unsubscribeCalls(redis: TestRedis): number {
  return commandCalls(redis, 'unsubscribe');
}
function commandCalls(redis: TestRedis, name: string): number {
  const m = new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(redis.cli('INFO', 'commandstats'));
  return m ? Number(m[1]) : 0;
}

async function retry<T>(fn: () => Promise<T>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}
