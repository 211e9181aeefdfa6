// The SDK's fallback transports on a cluster: the stream is held by one node, the client's later
// commands (/emulation) reach another, which relays them through Redis to the node that holds the
// session. Then the stream's node dies and the client recovers on the other one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Centrifuge, PublicationContext, SubscribedContext } from 'centrifuge';
import { Balancer } from './helpers/balancer.js';
import { once, sdkFallbackClient, subscribed } from './helpers/centrifuge.js';
import { TestCluster } from './helpers/cluster.js';
import type { HeraldNode } from './helpers/node.js';
import { needsRedis } from './helpers/redis.js';
import { until } from './helpers/until.js';

const skip = needsRedis();

async function publish(node: HeraldNode, channel: string, data: unknown): Promise<void> {
  const res = await fetch(`${node.http}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  assert.equal(res.status, 200, await res.text());
}

for (const transport of ['http_stream', 'sse'] as const) {
  describe(`the centrifuge SDK over ${transport} on two nodes`, { skip }, () => {
    let cluster: TestCluster;
    let front: Balancer;
    let client: Centrifuge | undefined;

    before(async () => {
      cluster = await TestCluster.start([[], []]);
      front = await Balancer.start(cluster.nodes[0].port);
    });
    after(async () => {
      client?.disconnect();
      await front?.close();
      await cluster?.stop();
    });

    test('commands sent to the other node are relayed; a dead node is recovered from', async () => {
      const [a, b] = cluster.nodes;
      // The stream through the balancer (to node A); every /emulation request to node B.
      const c = sdkFallbackClient(front.http, transport, {}, b.http);
      client = c;
      const connected = once<{ transport: string }>(c, 'connected', 10000);
      c.connect();
      assert.equal((await connected).transport, transport);
      const sub = c.newSubscription('spread', { recoverable: true });
      const seen: unknown[] = [];
      sub.on('publication', (ctx: PublicationContext) => seen.push(ctx.data));
      sub.subscribe();
      await subscribed(sub); // the subscribe travelled B -> Redis -> A, its reply down A's stream
      await publish(b, 'spread', 'from b');
      await sub.publish('from the sdk');
      await until(() => seen.length === 2, { what: 'both publications', detail: () => JSON.stringify(seen) });
      assert.deepEqual(seen, ['from b', 'from the sdk']);

      const resubscribed = once<SubscribedContext>(sub, 'subscribed', 15000);
      a.kill('SIGKILL');
      await a.exited;
      front.target = b.port;
      await publish(b, 'spread', 'while away');
      const ctx = await resubscribed;
      assert.equal(ctx.recovered, true);
      await until(() => seen.length === 3, {
        what: 'the missed publication',
        detail: () => JSON.stringify(seen),
      });
      await publish(b, 'spread', 'live on b');
      await until(() => seen.length === 4, { what: 'live again', detail: () => JSON.stringify(seen) });
      assert.deepEqual(seen, ['from b', 'from the sdk', 'while away', 'live on b']);
    });
  });
}
