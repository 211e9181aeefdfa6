// Several Herald nodes (child processes) on one Redis behave as one server, and survive a node being
// killed and Redis restarting. Recovery is checked here at hub level; the same faults seen through
// the doors (SSE Last-Event-ID, polling cursor, centrifuge SDK) are in cluster-recovery.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RedisEngine } from '../src/engine/redis/index.js';
import { Hub } from '../src/hub/hub.js';
import type { FrameFormat, Publication, StreamPosition, Subscriber } from '../src/model/index.js';
import { TestCluster } from './helpers/cluster.js';
import { HeraldNode } from './helpers/node.js';
import { needsRedis, redisEngine, TestRedis } from './helpers/redis.js';
import { until } from './helpers/until.js';
import { TestClient } from './helpers/ws.js';

const WELCOME = 'Welcome to broadcast chat!';
const skip = needsRedis();

/** A hub-level client: what an SSE/poll/SDK subscriber holds is its last (epoch, offset). */
class PositionClient implements Subscriber<Publication> {
  readonly format: FrameFormat<Publication> = { name: 'test', encode: (p) => p };
  readonly got: Publication[] = [];
  gaps = 0;
  deliver(pub: Publication): void {
    this.got.push(pub);
  }
  onInsufficientState(): void {
    this.gaps++;
  }
  get position(): StreamPosition {
    const last = this.got.at(-1)!;
    return { epoch: last.epoch, offset: last.offset };
  }
}

async function hubNode(url: string): Promise<{ hub: Hub; engine: RedisEngine }> {
  const engine = redisEngine(url);
  const hub = new Hub(engine, { historySize: 1000, historyTtl: 300 });
  await hub.start();
  return { hub, engine };
}

/** How many connections (nodes) Redis delivers the chat channel to. */
const chatListeners = (redis: TestRedis) =>
  Number(redis.cli('PUBSUB', 'NUMSUB', 'herald:ch:chat').split('\n')[1]);

async function chatClient(node: HeraldNode): Promise<TestClient> {
  const c = await TestClient.open(`${node.ws}/chat`);
  assert.equal(await c.nextText(5000), WELCOME);
  return c;
}

/** Texts received until `count` arrived (failing after ms). */
async function receive(c: TestClient, count: number, ms = 5000): Promise<string[]> {
  const out: string[] = [];
  while (out.length < count) out.push(await c.nextText(ms));
  return out;
}

describe('cluster: two nodes, one Redis', { skip }, () => {
  let cluster: TestCluster;
  let redis: TestRedis;
  let a: HeraldNode;
  let b: HeraldNode;
  before(async () => {
    cluster = await TestCluster.start([[], []]);
    ({ redis } = cluster);
    [a, b] = cluster.nodes;
  });
  after(() => cluster?.stop());

  test('a /chat client on node A hears a /chat client on node B, and the other way round', async () => {
    const onA = await chatClient(a);
    const onB = await chatClient(b);
    await until(() => chatListeners(redis) === 2, {
      what: 'both nodes subscribed to chat',
      timeoutMs: 5000,
      intervalMs: 50,
    });
    onB.send('hello from B');
    assert.equal(await onA.nextText(), 'Broadcast: hello from B');
    onA.send('hello from A');
    assert.equal(await onB.nextText(), 'Broadcast: hello from A');
    // One ordered stream: an echo of B's own messages would reach it before A's next one.
    onA.send('marker');
    assert.equal(await onB.nextText(), 'Broadcast: marker', 'no echo of its own message');
    await Promise.all([onA.close(), onB.close()]);
  });

  test('publications through both nodes share one offset sequence and one history', async () => {
    const onA = await chatClient(a);
    const onB = await chatClient(b);
    const listener = await chatClient(a);
    await until(() => chatListeners(redis) === 2, {
      what: 'both nodes subscribed',
      timeoutMs: 5000,
      intervalMs: 50,
    });
    const before = Number(redis.cli('HGET', 'herald:meta:{chat}', 'o') || '0');
    for (let i = 0; i < 20; i++) (i % 2 ? onA : onB).send(`m${i}`);
    const got = await receive(listener, 20);
    assert.equal(new Set(got).size, 20);
    const top = Number(redis.cli('HGET', 'herald:meta:{chat}', 'o'));
    assert.equal(top - before, 20, 'twenty offsets handed out, one each');
    const ids = redis
      .cli('XRANGE', 'herald:stream:{chat}', `${before + 1}-0`, '+')
      .split('\n')
      .filter((l) => /^\d+-0$/.test(l));
    assert.deepEqual(
      ids,
      Array.from({ length: 20 }, (_, i) => `${before + 1 + i}-0`),
    );
    await Promise.all([onA.close(), onB.close(), listener.close()]);
  });

  test('a node killed with SIGKILL: the others keep serving; a client resumes on another node without loss', async () => {
    const args = ['--engine', 'redis', '--redis-url', redis.url];
    const doomed = await HeraldNode.start(args);
    const onDoomed = await chatClient(doomed);
    const publisher = await chatClient(b);
    const onA = await chatClient(a);
    // A subscriber that holds its position, attached to the node that will die.
    const dying = await hubNode(redis.url);
    const client = new PositionClient();
    (await dying.hub.subscribe('chat', client)).start();
    await until(() => chatListeners(redis) === 4, {
      what: 'every node subscribed',
      timeoutMs: 5000,
      intervalMs: 50,
    });

    for (let i = 0; i < 3; i++) publisher.send(`before ${i}`);
    await until(() => client.got.length === 3, {
      what: 'three publications before the crash',
      timeoutMs: 5000,
      intervalMs: 50,
    });
    assert.deepEqual(await receive(onDoomed, 3), [
      'Broadcast: before 0',
      'Broadcast: before 1',
      'Broadcast: before 2',
    ]);
    const held = client.position;

    await doomed.kill('SIGKILL');
    await dying.engine.close(); // the hub-level client's node is gone too
    const closed = await onDoomed.closed;
    assert.equal(closed.code, 1006, 'the dead node’s clients see the connection drop');
    await until(() => chatListeners(redis) === 2, {
      what: 'Redis dropped the dead node’s subscriptions',
      timeoutMs: 5000,
      intervalMs: 50,
    });

    for (let i = 0; i < 5; i++) publisher.send(`during ${i}`);
    assert.deepEqual(
      await receive(onA, 8),
      [0, 1, 2]
        .map((i) => `Broadcast: before ${i}`)
        .concat([0, 1, 2, 3, 4].map((i) => `Broadcast: during ${i}`)),
      'a surviving node keeps delivering',
    );

    // The client reconnects to another node with the position it held.
    const other = await hubNode(redis.url);
    const resumed = new PositionClient();
    const res = await other.hub.subscribe('chat', resumed, { since: held });
    res.start();
    assert.equal(res.recovered, true);
    assert.deepEqual(
      res.publications.map((p) => p.data),
      [0, 1, 2, 3, 4].map((i) => `during ${i}`),
      'every publication made meanwhile, in order, none twice',
    );
    assert.deepEqual(
      res.publications.map((p) => p.offset),
      [1, 2, 3, 4, 5].map((i) => held.offset + i),
    );
    publisher.send('after');
    await until(() => resumed.got.length === 1, {
      what: 'live delivery after the resume',
      timeoutMs: 5000,
      intervalMs: 50,
    });
    assert.equal(resumed.got[0].offset, held.offset + 6);
    assert.equal(resumed.gaps, 0);
    assert.ok(a.alive && b.alive);
    await other.hub.close();
    await Promise.all([publisher.close(), onA.close()]);
  });
});

describe('cluster: Redis restarts', { skip }, () => {
  test('no node crashes; publishes fail retryably while it is down; nodes resubscribe; lost history means a new epoch', async () => {
    const redis = await TestRedis.start();
    const args = ['--engine', 'redis', '--redis-url', redis.url, '--redis-command-timeout', '1000'];
    const [a, b] = await Promise.all([HeraldNode.start(args), HeraldNode.start(args)]);
    const observer = await hubNode(redis.url);
    try {
      const onA = await chatClient(a);
      const onB = await chatClient(b);
      const watcher = new PositionClient();
      (await observer.hub.subscribe('chat', watcher)).start();
      await until(() => chatListeners(redis) === 3, { what: 'subscribed', timeoutMs: 5000, intervalMs: 50 });
      onB.send('before');
      assert.equal(await onA.nextText(), 'Broadcast: before');
      await until(() => watcher.got.length === 1, {
        what: 'watcher got it',
        timeoutMs: 5000,
        intervalMs: 50,
      });
      const held = watcher.position;

      await redis.stop();
      // A publish while Redis is down is refused, not dropped: the chat door closes the sender with
      // 1013 "try again later" (the HTTP doors answer ENGINE_UNAVAILABLE, temporary).
      const sentAt = Date.now();
      onB.send('while down');
      const closed = await onB.closed;
      assert.equal(closed.code, 1013);
      assert.match(closed.reason, /try again later/);
      assert.ok(Date.now() - sentAt < 3000, 'refused promptly');
      await assert.rejects(
        observer.hub.publish('chat', { data: 'x' }),
        (err: Error & { code?: number; temporary?: boolean }) => {
          assert.equal(err.code, 150);
          assert.equal(err.temporary, true);
          return true;
        },
      );

      await redis.spawn();
      await until(() => watcher.gaps >= 1, {
        what: 'subscribers told to resynchronise after the bus reconnected',
        timeoutMs: 10_000,
        intervalMs: 50,
      });
      // Node B lost its only chat client above, so node A and the observer are the ones listening.
      await until(() => chatListeners(redis) === 2, {
        what: 'every node resubscribed by itself',
        timeoutMs: 10_000,
        intervalMs: 50,
      });
      assert.ok(a.alive && b.alive, 'no node crashed');

      const onB2 = await chatClient(b);
      await until(() => chatListeners(redis) === 3, {
        what: 'node B subscribed again for its new client',
        timeoutMs: 5000,
        intervalMs: 50,
      });
      onB2.send('after');
      // onA's subscription lived through the outage on its node: it hears the new message.
      assert.equal(await onA.nextText(5000), 'Broadcast: after');

      const rejoin = await hubNode(redis.url);
      const r = await rejoin.hub.subscribe('chat', new PositionClient(), { since: held });
      assert.equal(r.recovered, false, 'a position from before the data loss cannot be recovered');
      assert.notEqual(r.position.epoch, held.epoch, 'the epoch changed');
      await rejoin.hub.close();
      await Promise.all([onA.close(), onB2.close()]);
    } finally {
      await observer.hub.close();
      await Promise.all([a.kill(), b.kill()]);
      await redis.stop();
    }
  });

  test('a node started while Redis is unreachable says so, keeps retrying, and serves once it is up', async () => {
    const redis = await TestRedis.start();
    await redis.stop();
    const node = await HeraldNode.start(['--engine', 'redis', '--redis-url', redis.url], {
      waitListening: false,
    });
    try {
      await node.waitForLog(/Redis is unreachable; retrying/, 10_000);
      assert.ok(node.alive);
      await redis.spawn();
      await node.waitForLog(/Herald is listening/, 15_000);
      const c = await chatClient(node);
      await c.close();
    } finally {
      await node.kill();
      await redis.stop();
    }
  });
});

describe('cluster: --workers', { skip }, () => {
  test('N workers share one port and one Redis; SIGTERM stops them all', async () => {
    const redis = await TestRedis.start();
    const node = await HeraldNode.start(
      ['--engine', 'redis', '--redis-url', redis.url, '--workers', '2', '--node-name', 'web'],
      { waitListening: false },
    );
    try {
      await until(() => node.count(/Herald is listening/) === 2, {
        what: 'two workers listening',
        timeoutMs: 20_000,
        intervalMs: 50,
      });
      // node:cluster hands connections to workers in turn, so these land on different workers.
      const one = await chatClient(node);
      const two = await chatClient(node);
      await until(() => chatListeners(redis) === 2, {
        what: 'both workers subscribed to chat',
        timeoutMs: 5000,
        intervalMs: 50,
      });
      one.send('across workers');
      assert.equal(await two.nextText(), 'Broadcast: across workers');
      // Each worker is a node of its own in the server API, under the shared --node-name.
      const call = async (method: string) => {
        const res = await fetch(`${node.http}/api/${method}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        // biome-ignore lint/suspicious/noExplicitAny: API results are arbitrary JSON
        return ((await res.json()) as any).result;
      };
      const names = (await call('info')).nodes.map((n: { name: string }) => n.name).sort();
      assert.equal(names.length, 2);
      assert.ok(
        names.every((n: string) => /^web\/\d+$/.test(n)),
        names.join(),
      );
      await until(async () => (await call('channels')).channels.chat?.num_clients === 2, {
        what: 'chat counted on both workers',
        intervalMs: 100,
      });
      const closing = Promise.all([one.closed, two.closed]);
      node.proc.kill('SIGTERM');
      const exit = await node.exited;
      assert.equal(exit.code, 0);
      assert.match(node.output, /every worker stopped/);
      await closing;
    } finally {
      await node.kill('SIGKILL');
      await redis.stop();
    }
  });

  test('--workers above 1 without the redis engine is refused with a clear message', async () => {
    const node = await HeraldNode.start(['--workers', '2'], { waitListening: false });
    const exit = await node.exited;
    assert.equal(exit.code, 2);
    assert.match(node.output, /--workers 2 needs --engine redis/);
  });
});
