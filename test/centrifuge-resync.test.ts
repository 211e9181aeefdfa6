// One channel of a connection loses state: only that subscription resyncs (unsubscribe push 2500),
// driven by the unmodified SDK, while the connection and its other channels carry on.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Centrifuge, Subscription } from 'centrifuge';
import { MemoryEngine } from '../src/engine/memory.js';
import type { EngineSink, Publication } from '../src/model/index.js';
import { once, sdkClient, subscribed } from './helpers/centrifuge.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { until } from './helpers/until.js';

/**
 * A memory engine whose bus can lose a delivery, as a Redis Pub/Sub message lost in a reconnect
 * would: history has the publication, this node never sees it live.
 */
class LossyEngine extends MemoryEngine {
  bus: EngineSink | undefined;
  private readonly dropNext = new Set<string>();
  override async start(sink: EngineSink): Promise<void> {
    this.bus = sink;
    await super.start({
      onPublication: (pub: Publication) => {
        if (this.dropNext.delete(pub.channel)) return;
        sink.onPublication(pub);
      },
      onJoin: (c, i) => sink.onJoin(c, i),
      onLeave: (c, i) => sink.onLeave(c, i),
      onResync: (c) => sink.onResync?.(c),
    });
  }
  loseNextDelivery(channel: string): void {
    this.dropNext.add(channel);
  }
}

const CHANNELS = 100;

describe('per-channel resync with the centrifuge SDK', () => {
  let server: TestServer;
  const engine = new LossyEngine();
  let client: Centrifuge;
  const subs: Subscription[] = [];
  const seen = new Map<string, unknown[]>();
  /** Every state change of every subscription after setup, and of the connection. */
  const changes: string[] = [];

  before(async () => {
    server = await startHerald({}, engine);
    client = sdkClient(server.ws);
    for (let i = 0; i < CHANNELS; i++) {
      const ch = `many:${i}`;
      seen.set(ch, []);
      const sub = client.newSubscription(ch, { recoverable: true });
      sub.on('publication', (ctx) => seen.get(ch)?.push(ctx.data));
      sub.subscribe();
      subs.push(sub);
    }
    client.connect();
    await Promise.all(subs.map(subscribed));
    for (const sub of subs) {
      sub.on('subscribing', (ctx) => changes.push(`${sub.channel} subscribing ${ctx.code}`));
      sub.on('unsubscribed', (ctx) => changes.push(`${sub.channel} unsubscribed ${ctx.code}`));
    }
    client.on('connecting', (ctx) => changes.push(`client connecting ${ctx.code}`));
    client.on('disconnected', (ctx) => changes.push(`client disconnected ${ctx.code}`));
  });
  after(async () => {
    client.disconnect();
    await server.stop();
  });

  const publish = (ch: string, data: unknown) => server.herald.hub.publish(ch, { data });

  test('a gap in one channel resubscribes that channel alone and recovers what it missed', async () => {
    const ch = 'many:7';
    const sub = subs[7];
    await publish(ch, 'one');
    await until(() => seen.get(ch)?.length === 1, { what: 'the first publication' });
    const resubscribed = once<{ recovered: boolean; wasRecovering: boolean }>(sub, 'subscribed');
    engine.loseNextDelivery(ch);
    await publish(ch, 'two'); // never delivered live: the next one reveals the gap
    await publish(ch, 'three');
    const ctx = await resubscribed;
    assert.equal(ctx.wasRecovering, true);
    assert.equal(ctx.recovered, true);
    await until(() => seen.get(ch)?.length === 3, {
      what: 'every publication of the resynced channel',
      detail: () => JSON.stringify(seen.get(ch)),
    });
    assert.deepEqual(seen.get(ch), ['one', 'two', 'three']);
    assert.deepEqual(changes, [`${ch} subscribing 2500`]);

    // The other 99 were live all along, and still are.
    assert.equal(client.state, 'connected');
    for (const s of subs) assert.equal(s.state, 'subscribed', s.channel);
    await Promise.all(subs.map((s, i) => publish(s.channel, `after ${i}`)));
    await until(() => subs.every((s, i) => seen.get(s.channel)?.at(-1) === `after ${i}`), {
      what: 'a publication on every channel',
    });
    assert.deepEqual(seen.get(ch), ['one', 'two', 'three', 'after 7']);
  });

  test('an engine resync of one channel (its bus reconnected) resyncs only that subscription', async () => {
    changes.length = 0;
    const ch = 'many:42';
    const resubscribed = once<{ recovered: boolean }>(subs[42], 'subscribed', 5000);
    engine.bus?.onResync?.([ch]);
    await publish(ch, 'during');
    assert.equal((await resubscribed).recovered, true);
    await until(() => seen.get(ch)?.at(-1) === 'during', { what: 'the publication made during the resync' });
    assert.equal(seen.get(ch)?.filter((d) => d === 'during').length, 1, 'exactly once');
    assert.deepEqual(changes, [`${ch} subscribing 2500`]);
    assert.equal(client.state, 'connected');
  });
});
