// What clients and operators see of a Redis outage on a cluster (Herald nodes as child processes on
// one Redis): a restart under a steady stream of publications delivers each acknowledged one exactly
// once, and each node reports the outage in its own log, once per connection, never through
// ioredis' "Unhandled error event" on stderr.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { PublicationContext, SubscribedContext } from 'centrifuge';
import { sdkClient } from './helpers/centrifuge.js';
import { redisEngineArgs, TestCluster } from './helpers/cluster.js';
import { HeraldNode } from './helpers/node.js';
import { needsRedis, TestRedis } from './helpers/redis.js';
import { SseClient } from './helpers/sse.js';
import { until } from './helpers/until.js';

const skip = needsRedis();

/** One API publish; resolves the epoch it was given when the node acknowledged it, else undefined. */
async function publish(node: HeraldNode, channel: string, data: unknown): Promise<string | undefined> {
  try {
    const res = await fetch(`${node.http}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel, data }),
    });
    const body = (await res.json()) as { result?: { epoch: string } };
    return body.result?.epoch;
  } catch {
    return undefined;
  }
}

/** The log lines in which a node's Redis connections report trouble, by connection name. */
function outageLines(node: HeraldNode): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of node.output.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string; connection?: string };
    if (!/^Redis (is unreachable|connection lost)/.test(entry.msg ?? '')) continue;
    const name = entry.connection ?? '?';
    out.set(name, (out.get(name) ?? 0) + 1);
  }
  return out;
}

describe('cluster: Redis restarts under load', { skip }, () => {
  let cluster: TestCluster;
  let a: HeraldNode;
  let b: HeraldNode;
  before(async () => {
    // History long enough to hold every publication of the new epoch: a client that resumes
    // after the restart gets all of them from history.
    cluster = await TestCluster.start(
      [[], []],
      ['--sse-retry', '100', '--history-size', '5000', '--redis-command-timeout', '1000'],
    );
    [a, b] = cluster.nodes;
  });
  after(() => cluster?.stop());

  test('SSE clients get every acknowledged publication exactly once; each node logs the outage once per connection', async () => {
    const ch = 'outage:sse';
    // Several streams, so that their resumes (spread over time) race the bus in several ways.
    const clients = Array.from({ length: 4 }, () => new SseClient(`${b.http}/sse?channel=${ch}`));
    for (const c of clients) await c.next('ready', 5000);
    const total = 1500;
    /** Acknowledged sequence numbers and the epoch each was given. */
    const acked = new Map<number, string>();
    let next = 0;
    let refused = 0;
    let restarted: Promise<void> | undefined;
    // Down long enough for every connection of both nodes to notice, and for publishes to be refused.
    const restart = async () => {
      await cluster.redis.stop();
      const refusedBefore = refused;
      await until(() => outageLines(a).size > 0 && outageLines(b).size > 0 && refused > refusedBefore + 10, {
        what: 'the outage noticed',
        timeoutMs: 10_000,
      });
      await cluster.redis.spawn();
    };
    const publisher = async () => {
      while (next < total) {
        const seq = next++;
        const epoch = await publish(a, ch, { seq });
        if (epoch !== undefined) acked.set(seq, epoch);
        else {
          refused++;
          // Refused while Redis is away: pace the attempts, or the whole budget goes at once.
          await new Promise((r) => setTimeout(r, 20));
        }
        if (acked.size >= 500 && !restarted) restarted = restart();
      }
    };
    try {
      await Promise.all([publisher(), publisher(), publisher(), publisher()]);
      await restarted;
      assert.ok(acked.size > 700, `only ${acked.size} publications were acknowledged`);
      /** How many times each sequence number reached the client. */
      const seen = (c: SseClient) => {
        const counts = new Map<number, number>();
        for (const e of c.events) {
          if (e.type !== 'message') continue;
          const seq = (JSON.parse(e.data) as { data: { seq: number } }).data.seq;
          counts.set(seq, (counts.get(seq) ?? 0) + 1);
        }
        return counts;
      };
      // Redis restarts without its data: a publication acknowledged just before it went down may be
      // lost with it (its bus message still on the way). That is what the stream's `gap` event says;
      // everything acknowledged in the new epoch must arrive, and nothing twice.
      const firstEpoch = acked.get(Math.min(...acked.keys()));
      const required = (c: SseClient) => {
        const gapped = c.events.some((e) => e.type === 'gap');
        return [...acked].filter(([, epoch]) => !gapped || epoch !== firstEpoch).map(([seq]) => seq);
      };
      await until(
        () =>
          clients.every((c) => {
            const counts = seen(c);
            return required(c).every((s) => counts.has(s));
          }),
        {
          what: 'every acknowledged publication at every SSE client',
          timeoutMs: 20_000,
          detail: () =>
            clients
              .map((c) => {
                const counts = seen(c);
                const missing = required(c).filter((s) => !counts.has(s));
                const kinds = c.events.map((e) => e.type).filter((t) => t !== 'message');
                return `${missing.length} missing (first ${missing.slice(0, 5).join(',')}); events ${kinds.join(',')}`;
              })
              .join(' | '),
        },
      );
      for (const [i, c] of clients.entries()) {
        const twice = [...seen(c)].filter(([, n]) => n > 1).map(([seq]) => seq);
        assert.deepEqual(twice, [], `client ${i} got these more than once`);
        assert.ok(
          c.events.some((e) => e.type === 'gap'),
          `client ${i} was not told the restart lost history`,
        );
      }

      for (const node of [a, b]) {
        assert.ok(!node.output.includes('Unhandled error event'), node.output);
        const lines = outageLines(node);
        assert.ok(lines.size > 0, 'the outage is in the log');
        for (const [connection, n] of lines)
          assert.equal(n, 1, `${connection} reported one outage ${n} times`);
      }
    } finally {
      for (const c of clients) c.close();
    }
  });
});

describe('a Redis bus reconnect under many WebSocket clients', { skip }, () => {
  test('clients are told to resync over resyncSpread, not all at once, and each recovers every publication once', async () => {
    const spread = 2000;
    const redis = await TestRedis.start();
    const node = await HeraldNode.start(
      redisEngineArgs(redis, '--resync-spread', String(spread), '--history-size', '1000'),
    );
    const ch = 'spread:room';
    const clients = Array.from({ length: 200 }, () => {
      const c = sdkClient(node.ws);
      const told: { at: number; code: number }[] = [];
      const sub = c.newSubscription(ch, { recoverable: true });
      // Told per channel (unsubscribe push 2500): the SDK resubscribes it with recovery while the
      // connection stays up.
      sub.on('subscribing', (ctx) => {
        if (ctx.code === 2500) told.push({ at: Date.now(), code: ctx.code });
      });
      const got: number[] = [];
      const subscribes: SubscribedContext[] = [];
      sub.on('publication', (ctx: PublicationContext) => got.push(Number(ctx.offset)));
      sub.on('subscribed', (ctx) => subscribes.push(ctx));
      sub.subscribe();
      c.connect();
      return { c, sub, told, got, subscribes };
    });
    const publish = async (data: unknown): Promise<number> => {
      const res = await fetch(`${node.http}/api/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ channel: ch, data }),
      });
      const body = (await res.json()) as { result?: { offset: number } };
      assert.ok(body.result, JSON.stringify(body));
      return body.result.offset;
    };
    try {
      await until(() => clients.every((x) => x.sub.state === 'subscribed'), {
        what: 'every client subscribed',
        timeoutMs: 30_000,
      });
      let last = 0;
      for (let i = 0; i < 5; i++) last = await publish(`before ${i}`);
      await until(() => clients.every((x) => x.got.length === last), {
        what: 'the first publications',
        timeoutMs: 10_000,
      });

      // The node's bus connection drops (Redis itself stays up, history intact).
      redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub');
      // Publications go on while the clients are told, one by one, and come back.
      const resubscribed = () => clients.every((x) => x.subscribes.length >= 2);
      while (!resubscribed()) {
        last = await publish(`during ${last}`);
        await new Promise((r) => setTimeout(r, 25));
        assert.ok(last < 900, 'the clients did not all come back');
      }
      for (let i = 0; i < 5; i++) last = await publish(`after ${i}`);
      await until(() => clients.every((x) => x.got.at(-1) === last), {
        what: 'the last publication',
        timeoutMs: 15_000,
      });

      const all = Array.from({ length: last }, (_, i) => i + 1);
      for (const [i, x] of clients.entries()) {
        assert.deepEqual(x.got, all, `client ${i}: every offset once, in order`);
        assert.equal(x.told.length, 1, `client ${i} was told to resync ${x.told.length} times`);
        assert.equal(x.subscribes.at(-1)?.recovered, true, `client ${i} recovered`);
      }
      const times = clients.map((x) => x.told[0].at).sort((p, q) => p - q);
      const width = times.at(-1)! - times[0];
      assert.ok(width > spread * 0.4, `the resync signals went out within ${width} ms`);
      // Uniform over 2 s, a 100 ms window holds about 10 of 200; all at once would be 200.
      let busiest = 0;
      for (let i = 0, j = 0; i < times.length; i++) {
        while (times[i] - times[j] > 100) j++;
        busiest = Math.max(busiest, i - j + 1);
      }
      assert.ok(busiest < 60, `${busiest} clients were told within one 100 ms window`);
    } finally {
      for (const x of clients) x.c.disconnect();
      await node.kill();
      await redis.stop();
    }
  });
});
