// The server API on a cluster answers for every node: presence, presence_stats, channels (with
// subscriptions counted on every node) and info (every node alive), and forgets a killed node.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Centrifuge } from 'centrifuge';
import { once, sdkClient, subscribed } from './helpers/centrifuge.js';
import { TestCluster } from './helpers/cluster.js';
import { HeraldNode } from './helpers/node.js';
import { needsRedis, type TestRedis } from './helpers/redis.js';
import { SseClient } from './helpers/sse.js';
import { until } from './helpers/until.js';

const skip = needsRedis();

// biome-ignore lint/suspicious/noExplicitAny: API results are arbitrary JSON
async function api(node: HeraldNode, method: string, params: object = {}): Promise<any> {
  const res = await fetch(`${node.http}/api/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  const body = (await res.json()) as { result?: unknown; error?: unknown };
  assert.ok(body.result, `${method} failed: ${JSON.stringify(body)}`);
  return body.result;
}

/** An SDK client subscribed to `channel`; resolves with its client id once present. */
async function sdkIn(node: HeraldNode, channel: string): Promise<{ c: Centrifuge; id: string }> {
  const c = sdkClient(node.ws);
  const connected = once<{ client: string }>(c, 'connected');
  const sub = c.newSubscription(channel);
  sub.subscribe();
  c.connect();
  const { client } = await connected;
  await subscribed(sub);
  return { c, id: client };
}

/** Polls an API answer until `check` accepts it (counts travel in batches, presence at once). */
async function eventually<T>(get: () => Promise<T>, check: (v: T) => boolean, what: string): Promise<T> {
  let last: T | undefined;
  const { v } = await until(
    async () => {
      last = await get();
      return check(last) && { v: last };
    },
    { what, timeoutMs: 8000, intervalMs: 100, detail: () => JSON.stringify(last) },
  );
  return v;
}

describe('server API on a cluster', { skip }, () => {
  let cluster: TestCluster;
  let redis: TestRedis;
  let a: HeraldNode;
  let b: HeraldNode;
  before(async () => {
    cluster = await TestCluster.start([
      ['--node-name', 'node-a'],
      ['--node-name', 'node-b'],
    ]);
    ({ redis } = cluster);
    [a, b] = cluster.nodes;
  });
  after(() => cluster?.stop());

  test('info lists every node as soon as it listens', async () => {
    for (const node of [a, b]) {
      const { nodes } = await api(node, 'info');
      assert.deepEqual(nodes.map((n: { name: string }) => n.name).sort(), ['node-a', 'node-b']);
    }
  });

  test('presence, presence_stats and channels count clients on both nodes', async () => {
    const ch = 'api:room';
    const onA = await sdkIn(a, ch);
    const onB = await sdkIn(b, ch);
    const sse = new SseClient(`${b.http}/sse?channel=${ch}`);
    await sse.next('ready', 5000);
    try {
      for (const node of [a, b]) {
        const { presence } = await api(node, 'presence', { channel: ch });
        assert.deepEqual(Object.keys(presence).sort(), [onA.id, onB.id].sort());
        assert.deepEqual(await api(node, 'presence_stats', { channel: ch }), {
          num_clients: 2,
          num_users: 1,
        });
        // Two SDK subscriptions and one SSE stream, on two nodes.
        const { channels } = await eventually(
          () => api(node, 'channels', { pattern: 'api:*' }),
          (r) => r.channels[ch]?.num_clients === 3,
          'three subscriptions counted',
        );
        assert.deepEqual(Object.keys(channels), [ch]);
      }
      onB.c.disconnect();
      sse.close();
      const { presence } = await eventually(
        () => api(a, 'presence', { channel: ch }),
        (r) => Object.keys(r.presence).length === 1,
        'node B’s client left presence',
      );
      assert.deepEqual(Object.keys(presence), [onA.id]);
      await eventually(
        () => api(a, 'channels', {}),
        (r) => r.channels[ch]?.num_clients === 1,
        'node B no longer counted',
      );
    } finally {
      onA.c.disconnect();
      onB.c.disconnect();
      sse.close();
    }
    await eventually(
      () => api(b, 'channels', {}),
      (r) => r.channels[ch] === undefined,
      'channel gone once nobody subscribes',
    );
  });

  test('a node killed with SIGKILL drops out of presence, channels and info within presenceTtl', async () => {
    const ch = 'api:crash';
    const doomed = await HeraldNode.start([
      '--engine',
      'redis',
      '--redis-url',
      redis.url,
      '--node-name',
      'node-doomed',
      '--presence-ttl',
      '2',
    ]);
    const onA = await sdkIn(a, ch);
    const onDoomed = await sdkIn(doomed, ch);
    try {
      await eventually(
        () => api(a, 'channels', {}),
        (r) => r.channels[ch]?.num_clients === 2,
        'both counted',
      );
      assert.equal((await api(a, 'presence_stats', { channel: ch })).num_clients, 2);
      assert.equal((await api(b, 'info')).nodes.length, 3);
      await doomed.kill('SIGKILL');
      await until(() => onDoomed.c.state !== 'connected', { what: 'client saw its node die' });
      onDoomed.c.disconnect();
      const { presence } = await eventually(
        () => api(b, 'presence', { channel: ch }),
        (r) => Object.keys(r.presence).length === 1,
        'the dead node’s client expired from presence',
      );
      assert.deepEqual(Object.keys(presence), [onA.id]);
      await eventually(
        () => api(b, 'channels', {}),
        (r) => r.channels[ch]?.num_clients === 1,
        'the dead node’s subscriptions no longer counted',
      );
      await eventually(
        () => api(b, 'info'),
        (r) => r.nodes.length === 2,
        'the dead node gone from info',
      );
    } finally {
      onA.c.disconnect();
      await doomed.kill('SIGKILL');
    }
  });

  test('a node stopped with SIGTERM leaves info and channels at once, not after presenceTtl', async () => {
    const ch = 'api:leaving';
    // presenceTtl (the report's lifetime) is the default minute: only the withdrawal can be that quick.
    const leaving = await HeraldNode.start([
      '--engine',
      'redis',
      '--redis-url',
      redis.url,
      '--node-name',
      'node-leaving',
    ]);
    const sse = new SseClient(`${leaving.http}/sse?channel=${ch}`);
    try {
      await sse.next('ready', 5000);
      await eventually(
        () => api(b, 'channels', {}),
        (r) => r.channels[ch]?.num_clients === 1,
        'the leaving node’s subscription counted',
      );
      assert.deepEqual((await api(b, 'info')).nodes.map((n: { name: string }) => n.name).sort(), [
        'node-a',
        'node-b',
        'node-leaving',
      ]);
      await leaving.kill('SIGTERM');
      assert.deepEqual((await leaving.exited).code, 0);
      assert.deepEqual((await api(b, 'info')).nodes.map((n: { name: string }) => n.name).sort(), [
        'node-a',
        'node-b',
      ]);
      assert.equal((await api(b, 'channels', {})).channels[ch], undefined);
    } finally {
      sse.close();
      await leaving.kill('SIGKILL');
    }
  });
});
