// The shared engine suite on the Redis engine, against a private redis-server; plus what only a
// networked engine can get wrong: another node sharing the streams, and Redis going away.
import assert from 'node:assert/strict';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { Hub } from '../../src/hub/hub.js';
import { needsRedis, redisEngine, TestRedis } from '../helpers/redis.js';
import { until } from '../helpers/until.js';
import { assertRebornInNewEpoch, engineSuite, RecordingSink } from './engine-suite.js';

const limits = { historySize: 100, historyTtl: 300 };
const skip = needsRedis();

if (skip) {
  test('Redis engine suite', { skip }, () => {});
} else {
  engineSuite('redis', async () => {
    const redis = await TestRedis.start();
    return {
      engine: redisEngine(redis.url),
      stateSize: async () => Number(redis.cli('DBSIZE')),
      cleanup: () => redis.stop(),
      // Expiry runs on Redis' clock (TIME in the scripts, PEXPIRE), which no test can move: the
      // one place where the suite lets real time pass.
      passTime: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    };
  });
}

describe('Redis engine: several nodes, one Redis', { skip }, () => {
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
      await until(() => sink.of('shared').length === 100, { what: '100 publications', timeoutMs: 5000 });
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

  test('publishes made in one turn go out as one script call, in call order per channel', async () => {
    await b.subscribe(['turn-x', 'turn-y']);
    const before = commandCalls(redis, 'evalsha') + commandCalls(redis, 'eval');
    const issued = Array.from({ length: 40 }, (_, i) => ({ channel: i % 3 ? 'turn-x' : 'turn-y', data: i }));
    const pubs = await Promise.all(issued.map((p) => a.publish(p.channel, { data: p.data }, limits)));
    assert.equal(commandCalls(redis, 'evalsha') + commandCalls(redis, 'eval') - before, 1, 'one script call');
    for (const ch of ['turn-x', 'turn-y']) {
      const mine = pubs.filter((p) => p.channel === ch);
      assert.deepEqual(
        mine.map((p) => p.offset),
        mine.map((_, i) => i + 1),
        `${ch}: offsets follow call order`,
      );
      assert.deepEqual(
        mine.map((p) => p.data),
        issued.filter((p) => p.channel === ch).map((p) => p.data),
      );
      await until(() => sinkB.of(ch).length === mine.length, { what: `${ch} on node B` });
      assert.deepEqual(
        sinkB.of(ch).map((p) => p.data),
        mine.map((p) => p.data),
        `${ch}: the other node sees them in order`,
      );
    }
  });

  test('one turn of text and raw-byte publications keeps every byte, live and in history', async () => {
    // JSON bodies travel as text and raw bytes as a Buffer: a batch holding both must not mangle
    // either (multi-byte UTF-8, an escaped lone surrogate, bytes that are not UTF-8 at all).
    await b.subscribe(['turn-mixed']);
    const raw = new Uint8Array([0xff, 0x00, 0x0a, 0xc3, 0x28, 0x7b]);
    const reqs = [
      { data: { text: 'héllo wörld ✓ 日本 🎉', lone: '\ud800x' } },
      { data: { $binary: Buffer.from(raw).toString('base64') }, bytes: raw, binary: true },
      { data: `${'x'.repeat(70_000)}€` },
      { data: ['\n', ':', 'p1:e:0:'] },
    ];
    const pubs = await Promise.all(reqs.map((r) => a.publish('turn-mixed', r, limits)));
    assert.deepEqual(
      pubs.map((p) => p.offset),
      [1, 2, 3, 4],
    );
    const check = (got: { data: unknown; bytes?: Uint8Array }[], what: string) => {
      assert.deepEqual(
        got.map((p) => p.data),
        reqs.map((r) => r.data),
        `${what}: data`,
      );
      assert.deepEqual(got[1].bytes && [...got[1].bytes], [...raw], `${what}: raw bytes`);
      assert.equal(got[0].bytes, undefined, `${what}: a JSON publication has no raw bytes`);
    };
    await until(() => sinkB.of('turn-mixed').length === reqs.length, { what: 'all four on node B' });
    check(sinkB.of('turn-mixed'), 'live');
    check((await b.history('turn-mixed', {}, limits)).publications, 'history');
  });

  test('a publication Redis refuses fails alone; the others of its batch are published', async () => {
    // A key of the wrong type where the channel's meta hash belongs: HGET raises WRONGTYPE.
    redis.cli('SET', 'herald:meta:{turn-broken}', 'not a hash');
    const results = await Promise.allSettled([
      a.publish('turn-ok-1', { data: 1 }, limits),
      a.publish('turn-broken', { data: 2 }, limits),
      a.publish('turn-ok-2', { data: 3 }, limits),
    ]);
    assert.equal(results[0].status, 'fulfilled');
    assert.equal(results[2].status, 'fulfilled');
    assert.equal(results[1].status, 'rejected');
    const err = (results[1] as PromiseRejectedResult).reason as { kind?: string; temporary?: boolean };
    assert.equal(err.kind, 'ENGINE_UNAVAILABLE');
    const h = await a.history('turn-ok-2', {}, limits);
    assert.deepEqual(
      h.publications.map((p) => p.data),
      [3],
    );
    redis.cli('DEL', 'herald:meta:{turn-broken}');
    assert.equal((await a.publish('turn-broken', { data: 4 }, limits)).offset, 1, 'the channel recovers');
  });

  test('a malformed message on the bus is dropped; the channel keeps working', async () => {
    await a.subscribe(['noisy']);
    for (const junk of ['', 'zzz', 'p1:e', 'pNaN:e:1:{bad json', 'j{not json']) {
      redis.cli('PUBLISH', 'herald:ch:noisy', junk);
    }
    const p = await b.publish('noisy', { data: 'fine' }, limits);
    await until(() => sinkA.of('noisy').length === 1, { what: 'the good publication', timeoutMs: 3000 });
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
      const last = first.offset + 300;
      let sent = first.offset;
      const storm = (async () => {
        while (sent < last) sent = (await b.publish('storm', { data: sent }, stormLimits)).offset;
      })();
      // The subscribe starts while the storm is under way, and starts delivery only once more
      // publications came after its history read: both halves of the race really happen.
      await until(() => sent >= first.offset + 10, { what: 'the storm under way' });
      const got: number[] = [];
      const res = await hub.subscribe(
        'storm',
        { format: { name: 'n', encode: (p) => p.offset }, deliver: (_p, n) => got.push(n as number) },
        { since: { offset: first.offset, epoch: first.epoch } },
      );
      assert.equal(res.recovered, true);
      const fromHistory = res.publications.map((p) => p.offset);
      const read = fromHistory.at(-1) ?? first.offset;
      await until(() => sent >= Math.min(read + 10, last), { what: 'publications after the history read' });
      res.start();
      await storm;
      const top = (await b.history('storm', { limit: 0 }, stormLimits)).position.offset;
      await until(() => (fromHistory.concat(got).at(-1) ?? 0) >= top, {
        what: `delivery up to offset ${top}`,
        detail: () => `history up to ${read}, ${got.length} delivered live`,
      });
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

describe('Redis engine: Redis goes away', { skip }, () => {
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
      await until(() => sink.resyncs === 1, {
        what: 'a resync after the bus reconnected',
        timeoutMs: 10_000,
      });
      const next = await retry(() => engine.publish('news', { data: 3 }, limits));
      assert.notEqual(next.epoch, first.epoch, 'a stream Redis lost gets a new epoch');
      assert.equal(next.offset, 1);
      await until(() => sink.of('news').some((p) => p.epoch === next.epoch), { what: 'live delivery again' });
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
      // Redis stops serving other clients for 1.5 s, as a stalled server would; it is stalled from
      // the moment CLIENT PAUSE answers.
      const pausedAt = Date.now();
      assert.equal(redis.cli('CLIENT', 'PAUSE', '1500', 'ALL'), 'OK');
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
      const p = await retry(() => engine.publish('slow', { data: 2 }, limits));
      assert.ok(p.offset >= 1);
      assert.ok(Date.now() - pausedAt >= 1400, 'the engine recovered once Redis served again, not earlier');
    } finally {
      await engine.close();
      await redis.stop();
    }
  });

  test('start waits for an unreachable Redis and connects when it appears', async () => {
    const redis = await TestRedis.start();
    await redis.stop();
    // The engine's warnings say when each connection has tried and failed.
    const unreachable = new Set<string>();
    const log = {
      warn: (obj: { connection: string }, msg: string) => {
        if (/unreachable/.test(msg)) unreachable.add(obj.connection);
      },
      info: () => {},
    } as unknown as ConstructorParameters<typeof RedisEngine>[0]['log'];
    const engine = new RedisEngine({
      url: redis.url,
      prefix: 'herald',
      metaTtl: 3600,
      commandTimeout: 2000,
      nodeTtl: 60,
      log,
    });
    let started = false;
    const starting = engine.start(new RecordingSink()).then(() => {
      started = true;
    });
    await until(() => unreachable.has('herald:cmd') && unreachable.has('herald:bus'), {
      what: 'both connections to report Redis unreachable',
    });
    assert.equal(started, false, 'start must wait while Redis is unreachable');
    await redis.spawn();
    await starting;
    const p = await engine.publish('late', { data: 'x' }, limits);
    assert.equal(p.offset, 1);
    await engine.close();
    await redis.stop();
  });
});

describe('Redis engine: idle channels', {
  skip: needsRedis() ? false : 'redis-server is not on the PATH',
}, () => {
  test('a channel whose meta hash expired is born again in another epoch: an old position is not mistaken', async () => {
    const redis = await TestRedis.start();
    const engine = new RedisEngine({
      url: redis.url,
      prefix: 'herald',
      metaTtl: 1,
      commandTimeout: 2000,
      nodeTtl: 60,
    });
    await engine.start(new RecordingSink());
    try {
      let old = await engine.publish('reborn', { data: 0 }, limits);
      for (let i = 1; i < 3; i++) old = await engine.publish('reborn', { data: i }, limits);
      // Idle past metaTtl: Redis forgets the channel's epoch and offset (its history outlives them).
      await until(() => redis.cli('EXISTS', 'herald:meta:{reborn}') === '0', {
        what: 'the meta hash expired',
        timeoutMs: 5000,
      });
      await assertRebornInNewEpoch(engine, 'reborn', old, limits);
    } finally {
      await engine.close();
      await redis.stop();
    }
  });
});

describe('Redis engine: a subscribe Redis does not take', {
  skip: needsRedis() ? false : 'redis-server is not on the PATH',
}, () => {
  let redis: TestRedis;
  let proxy: StallingProxy;
  before(async () => {
    redis = await TestRedis.start();
    proxy = await StallingProxy.start(redis.port);
  });
  after(async () => {
    await proxy.close();
    await redis.stop();
  });

  /** An engine behind the proxy whose commands time out quickly, so a stalled network fails them. */
  const stalledEngine = (commandTimeout: number) =>
    new RedisEngine({ url: proxy.url, prefix: 'herald', metaTtl: 60, commandTimeout, nodeTtl: 60 });
  /** Lets every setImmediate queued so far run: the bus's pending flush goes out. */
  const nextFlush = () => new Promise((r) => setImmediate(r));

  test('a subscribe that found the channel already on its way fails when that SUBSCRIBE fails', async () => {
    const engine = stalledEngine(300);
    const sink = new RecordingSink();
    await engine.start(sink);
    try {
      proxy.hold();
      const first = engine.subscribe(['held']);
      await nextFlush();
      // A later flush finds 'held' already sent and waits for that command instead of sending its own.
      const second = engine.subscribe(['held']);
      const outcomes = await Promise.allSettled([first, second]);
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ['rejected', 'rejected'],
        'the second caller must learn the SUBSCRIBE failed, not be told it is subscribed',
      );
      proxy.release();
      // The failure left no trace: subscribing again works and delivers.
      await engine.subscribe(['held']);
      const p = await engine.publish('held', { data: 'after' }, limits);
      await until(() => sink.of('held').some((x) => x.offset === p.offset), {
        what: 'delivery',
        timeoutMs: 3000,
      });
    } finally {
      proxy.release();
      await engine.close();
    }
  });

  test('a SUBSCRIBE that fails after a newer one was sent for the channel leaves that one in charge', async () => {
    const engine = stalledEngine(600);
    const sink = new RecordingSink();
    await engine.start(sink);
    try {
      proxy.hold();
      const first = engine.subscribe(['renewed']);
      await until(() => proxy.heldBytes > 0, { what: 'the first SUBSCRIBE kept back by the network' });
      const dropped = engine.unsubscribe(['renewed']);
      await nextFlush();
      const renewed = engine.subscribe(['renewed']);
      // The first SUBSCRIBE times out; the UNSUBSCRIBE and SUBSCRIBE sent after it are then answered.
      await first.catch(() => {});
      proxy.release();
      const outcomes = await Promise.allSettled([first, dropped, renewed]);
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ['rejected', 'fulfilled', 'fulfilled'],
      );
      const p = await engine.publish('renewed', { data: 'heard' }, limits);
      await until(() => sink.of('renewed').some((x) => x.offset === p.offset), {
        what: 'delivery on the subscription that succeeded',
        timeoutMs: 3000,
      });
    } finally {
      proxy.release();
      await engine.close();
    }
  });

  test('a hub subscriber whose channel was re-subscribed in the same tick is not left deaf', async () => {
    const hub = new Hub(stalledEngine(400), { historySize: 100, historyTtl: 300 });
    await hub.start();
    const publisher = redisEngine(redis.url);
    await publisher.start(new RecordingSink());
    const format = { name: 'data', encode: (p: { data: unknown }) => p.data };
    const got: unknown[] = [];
    const first = { format, deliver: () => {} };
    const second = { format, deliver: (_p: unknown, d: unknown) => got.push(d) };
    try {
      proxy.hold();
      const firstSub = hub.subscribe('churn', first);
      await nextFlush();
      // The first subscriber leaves and another arrives before Redis answered: the hub unsubscribes
      // and subscribes the channel again, which the bus folds into the SUBSCRIBE already sent.
      hub.unsubscribe('churn', first);
      const secondSub = hub.subscribe('churn', second);
      await firstSub.catch(() => {});
      proxy.release();
      const [outcome] = await Promise.allSettled([secondSub]);
      if (outcome.status === 'fulfilled') {
        // Told it is subscribed: then it must hear what is published.
        outcome.value.start();
        await publisher.publish('churn', { data: 'heard' }, limits);
        await until(() => got.length > 0, { what: 'the publication', timeoutMs: 3000 }).catch(() => {});
        assert.deepEqual(got, ['heard'], 'a subscriber told it was subscribed hears nothing');
      }
      // Either way no subscription is counted for a subscribe that did not happen.
      assert.equal(hub.localStats().numSubscriptions, outcome.status === 'fulfilled' ? 1 : 0);
    } finally {
      proxy.release();
      await hub.close();
      await publisher.close();
    }
  });
});

/**
 * A TCP relay to Redis that can stall the network: while held, what clients send is kept back (a
 * hung link or a stalled server, as the client sees it); release() sends it on, in order.
 */
class StallingProxy {
  private held: { to: Socket; chunks: Buffer[] }[] | null = null;
  private readonly sockets = new Set<Socket>();
  private constructor(private readonly server: Server) {}

  static async start(redisPort: number): Promise<StallingProxy> {
    const server = createServer();
    const proxy = new StallingProxy(server);
    server.on('connection', (client) => {
      const upstream = connect(redisPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => {
          proxy.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      upstream.on('data', (d) => client.write(d));
      const pending = { to: upstream, chunks: [] as Buffer[] };
      client.on('data', (d) => {
        if (proxy.held) {
          if (!proxy.held.includes(pending)) proxy.held.push(pending);
          pending.chunks.push(d);
        } else upstream.write(d);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  hold(): void {
    this.held ??= [];
  }

  /** Bytes kept back so far: a command is on the wire once this grows. */
  get heldBytes(): number {
    let n = 0;
    for (const p of this.held ?? []) for (const c of p.chunks) n += c.length;
    return n;
  }

  release(): void {
    const held = this.held;
    this.held = null;
    for (const p of held ?? []) for (const c of p.chunks.splice(0)) p.to.write(c);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

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

/** Calls `fn` until it succeeds (Redis back, the engine reconnected). */
async function retry<T>(fn: () => Promise<T>, ms = 5000): Promise<T> {
  let lastError: unknown;
  const { value } = await until(
    () =>
      fn().then(
        (v) => ({ value: v }),
        (err) => {
          lastError = err;
          return undefined;
        },
      ),
    { what: 'a call that succeeds', timeoutMs: ms, intervalMs: 100, detail: () => String(lastError) },
  );
  return value;
}
