// Door-level faults on a cluster (Herald nodes as child processes on one Redis): a node dies with
// SIGKILL while SSE, polling and centrifuge SDK clients are subscribed to it, and Redis restarts
// and loses its data. Clients reach the nodes through a TCP balancer, as in production, so their
// own reconnect logic (EventSource's Last-Event-ID, the SDK's recovery) is what is tested.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Centrifuge, PublicationContext, SubscribedContext } from 'centrifuge';
import { Balancer } from './helpers/balancer.js';
import { once, sdkClient, subscribed } from './helpers/centrifuge.js';
import { redisEngineArgs, TestCluster } from './helpers/cluster.js';
import { HeraldNode } from './helpers/node.js';
import { needsRedis, TestRedis } from './helpers/redis.js';
import { SseClient } from './helpers/sse.js';
import { until } from './helpers/until.js';

const skip = needsRedis();

/** A gauge of a node's GET /metrics. */
async function gauge(node: HeraldNode, name: string): Promise<number> {
  const text = await (await fetch(`${node.http}/metrics`)).text();
  return Number(text.match(new RegExp(`^${name} (\\d+)$`, 'm'))?.[1]);
}

interface Pub {
  channel: string;
  offset: number;
  epoch: string;
  data: unknown;
}
interface PollAnswer {
  publications: Pub[];
  cursor: string;
  gap?: string[];
}

// biome-ignore lint/suspicious/noExplicitAny: API results are arbitrary JSON
async function api(node: HeraldNode, method: string, params: object): Promise<{ status: number; body: any }> {
  const res = await fetch(`${node.http}/api/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  return { status: res.status, body: await res.json() };
}

async function publish(node: HeraldNode, channel: string, data: unknown): Promise<number> {
  const { body } = await api(node, 'publish', { channel, data });
  assert.ok(body.result, `publish failed: ${JSON.stringify(body)}`);
  return body.result.offset;
}

async function poll(base: string, channel: string, cursor?: string, timeout = 0): Promise<PollAnswer> {
  const q = new URLSearchParams({ channel, timeout: String(timeout) });
  if (cursor) q.set('cursor', cursor);
  const res = await fetch(`${base}/poll?${q}`);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as PollAnswer;
}

/** Every SDK publication of a subscription, and every `subscribed` event (recovery reports). */
function watchSdk(client: Centrifuge, channel: string) {
  const sub = client.newSubscription(channel, { recoverable: true });
  const got: { data: unknown; offset: number }[] = [];
  const subscribes: SubscribedContext[] = [];
  sub.on('publication', (ctx: PublicationContext) =>
    got.push({ data: ctx.data, offset: Number(ctx.offset) }),
  );
  sub.on('subscribed', (ctx) => subscribes.push(ctx));
  sub.subscribe();
  return { sub, got, subscribes };
}

const nodeArgs = (redis: TestRedis, ...extra: string[]) =>
  redisEngineArgs(redis, '--sse-retry', '100', ...extra);

describe('cluster recovery: a node dies (SIGKILL) under its clients', { skip }, () => {
  let a: HeraldNode;
  let b: HeraldNode;
  let doomed: HeraldNode;
  let lb: Balancer;
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.start([[], [], []], ['--sse-retry', '100']);
    [a, b, doomed] = cluster.nodes;
    lb = await Balancer.start(doomed.port);
  });
  after(async () => {
    await lb?.close();
    await cluster?.stop();
  });

  test('SSE, polling and the SDK resume on another node with every publication made meanwhile, in order, none twice', async () => {
    const ch = 'rec:node';
    const N = 12;
    // Every client starts on the node that will die.
    const sse = new SseClient(`${lb.http}/sse?channel=${ch}`);
    await sse.next('ready', 5000);
    const sdk = sdkClient(lb.ws);
    const w = watchSdk(sdk, ch);
    sdk.connect();
    await subscribed(w.sub);
    let cursor = (await poll(doomed.http, ch)).cursor;

    for (let i = 0; i < 3; i++) await publish(a, ch, `before ${i}`);
    assert.deepEqual(
      (await sse.messages(3, 5000)).map((p) => p.data),
      ['before 0', 'before 1', 'before 2'],
    );
    await until(() => w.got.length === 3, { what: 'SDK got the first three', timeoutMs: 5000 });
    const first = await poll(doomed.http, ch, cursor);
    assert.deepEqual(
      first.publications.map((p) => p.data),
      ['before 0', 'before 1', 'before 2'],
    );
    cursor = first.cursor;
    const heldOffset = first.publications[2].offset;

    // A long poll is held on the node when it dies: the poller sees the request fail.
    const subscriptions = await gauge(doomed, 'herald_subscriptions');
    const heldPoll = fetch(`${doomed.http}/poll?channel=${ch}&timeout=30&cursor=${cursor}`).then(
      () => 'answered',
      () => 'failed',
    );
    await until(async () => (await gauge(doomed, 'herald_subscriptions')) === subscriptions + 1, {
      what: 'the long poll held on the node',
      intervalMs: 50,
    });
    // No node behind the balancer until the publications are made: the clients are surely away.
    lb.target = undefined;
    const sdkDisconnected = once(sdk, 'connecting', 5000);
    await doomed.kill('SIGKILL');
    assert.equal(await heldPoll, 'failed', 'the held poll fails with its node');
    await sdkDisconnected;

    for (let i = 0; i < N; i++) await publish(a, ch, `during ${i}`);
    lb.target = b.port;

    const during = Array.from({ length: N }, (_, i) => `during ${i}`);
    // SSE: EventSource reconnects by itself and sends Last-Event-ID; node B continues after it.
    assert.deepEqual(
      (await sse.messages(N, 10_000)).map((p) => p.data),
      during,
    );
    assert.ok(sse.errors >= 1, 'the SSE client did see its connection drop');
    assert.equal(sse.events.filter((e) => e.type === 'gap').length, 0, 'a complete resume announces no gap');
    // SDK: its own reconnect lands on node B and recovers from its position.
    await until(() => w.subscribes.length === 2, { what: 'SDK resubscribed', timeoutMs: 10_000 });
    assert.equal(w.subscribes[1].wasRecovering, true);
    assert.equal(w.subscribes[1].recovered, true);
    await until(() => w.got.length === 3 + N, { what: 'SDK recovered the publications', timeoutMs: 10_000 });
    assert.deepEqual(
      w.got.slice(3).map((p) => p.data),
      during,
    );
    assert.deepEqual(
      w.got.map((p) => p.offset),
      Array.from({ length: 3 + N }, (_, i) => heldOffset - 2 + i),
    );
    // Polling: the same cursor, another node.
    const resumed = await poll(b.http, ch, cursor);
    assert.equal(resumed.gap, undefined);
    assert.deepEqual(
      resumed.publications.map((p) => p.data),
      during,
    );
    assert.deepEqual(
      resumed.publications.map((p) => p.offset),
      Array.from({ length: N }, (_, i) => heldOffset + 1 + i),
    );

    // Live delivery continues, once each.
    const held = poll(b.http, ch, resumed.cursor, 10);
    await publish(a, ch, 'after');
    assert.deepEqual(
      (await sse.messages(1, 5000)).map((p) => p.data),
      ['after'],
    );
    assert.deepEqual(
      (await held).publications.map((p) => p.data),
      ['after'],
    );
    await until(() => w.got.length === 4 + N, { what: 'SDK live after recovery', timeoutMs: 5000 });
    // Each stream is delivered in order: a copy would come before a later publication.
    await publish(a, ch, 'marker');
    assert.deepEqual(
      (await sse.messages(1, 5000)).map((p) => p.data),
      ['marker'],
      'nothing delivered twice',
    );
    await until(() => w.got.length >= 5 + N, { what: 'SDK got the marker', timeoutMs: 5000 });
    assert.deepEqual(
      w.got.slice(3 + N).map((p) => p.data),
      ['after', 'marker'],
      'nothing delivered twice',
    );
    assert.ok(a.alive && b.alive);
    sse.close();
    sdk.disconnect();
  });
});

describe('cluster recovery: Redis restarts and loses its data', { skip }, () => {
  test('SDK, SSE and polling clients are told their history is gone; publishes fail with 150 meanwhile', async () => {
    const redis = await TestRedis.start();
    const args = nodeArgs(redis, '--redis-command-timeout', '1000');
    const [a, b] = await Promise.all([HeraldNode.start(args), HeraldNode.start(args)]);
    const ch = 'rec:redis';
    const sse = new SseClient(`${b.http}/sse?channel=${ch}`);
    const sdk = sdkClient(a.ws);
    try {
      await sse.next('ready', 5000);
      const w = watchSdk(sdk, ch);
      sdk.connect();
      await subscribed(w.sub);
      for (let i = 0; i < 3; i++) await publish(a, ch, `before ${i}`);
      assert.equal((await sse.messages(3, 5000)).length, 3);
      await until(() => w.got.length === 3, { what: 'SDK got the first three', timeoutMs: 5000 });
      const { cursor } = await poll(b.http, ch);

      await redis.stop();
      const started = Date.now();
      const down = await api(a, 'publish', { channel: ch, data: 'while down' });
      assert.ok(Date.now() - started < 3000, 'refused promptly');
      // A method's own failure is HTTP 200 with an error body (as in Centrifugo's API).
      assert.equal(down.status, 200, JSON.stringify(down.body));
      assert.equal(down.body.error.code, 150);
      assert.equal(down.body.error.temporary, true);
      const pollDown = await fetch(`${b.http}/poll?channel=${ch}&timeout=0&cursor=${cursor}`);
      assert.equal(pollDown.status, 503);
      assert.equal(((await pollDown.json()) as { error: { code: number } }).error.code, 150);

      await redis.spawn(); // no persistence: every meta hash and stream is gone
      // SSE: the stream is ended for resync, EventSource resumes with Last-Event-ID, gets a gap.
      const gap = await sse.next('gap', 15_000);
      assert.deepEqual(JSON.parse(gap.data).channels, [ch]);
      // SDK: disconnected with "insufficient state", it reconnects and is told it did not recover.
      await until(() => w.subscribes.length >= 2, {
        what: 'SDK resubscribed after the outage',
        timeoutMs: 15_000,
      });
      const last = w.subscribes.at(-1)!;
      assert.equal(last.wasRecovering, true);
      assert.equal(last.recovered, false, 'history was lost: recovered false, not a silent gap');
      // Polling: a cursor from before the loss gets the gap flag.
      const p = await poll(a.http, ch, cursor);
      assert.deepEqual(p.gap, [ch]);

      // Publishing resumes, in a new epoch, and reaches everyone.
      await until(() => redis.cli('PUBSUB', 'NUMSUB', `herald:ch:${ch}`).endsWith('2'), {
        what: 'resubscribed',
        timeoutMs: 10_000,
        intervalMs: 50,
      });
      const offset = await publish(b, ch, 'after');
      assert.equal(offset, 1, 'a new epoch starts at offset 1');
      assert.deepEqual(
        (await sse.messages(1, 5000)).map((m) => m.data),
        ['after'],
      );
      await until(() => w.got.at(-1)?.data === 'after', {
        what: 'SDK got the new publication',
        timeoutMs: 5000,
      });
      assert.ok(a.alive && b.alive, 'no node crashed');
    } finally {
      sse.close();
      sdk.disconnect();
      await Promise.all([a.kill(), b.kill()]);
      await redis.stop();
    }
  });
});
