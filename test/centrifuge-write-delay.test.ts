// The writeDelay channel option on the WebSocket channel protocol: a connection subscribed only to
// channels with a delay gets their publications held that long (and still whole and in order); a
// connection also subscribed to a channel without a delay is never held (the shortest delay wins).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RawClient } from './helpers/centrifuge.js';
import { startHerald, type TestServer } from './helpers/herald.js';

const DELAY_MS = 300;

describe('writeDelay on /connection/websocket', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ channelOptions: { 'held:': { writeDelay: DELAY_MS } } });
  });
  after(() => server.stop());

  async function subscribed(channels: string[]): Promise<RawClient> {
    const c = await RawClient.open(server.ws);
    await c.connect();
    let id = 10;
    for (const channel of channels) {
      c.send({ id: ++id, subscribe: { channel } });
      assert.deepEqual(await c.next(), { id, subscribe: {} });
    }
    return c;
  }

  test('publications of a held channel wait the delay, then arrive in order', async () => {
    const held = await subscribed(['held:a']);
    const mixed = await subscribed(['held:a', 'now:b']);
    const t0 = performance.now();
    for (let i = 1; i <= 3; i++) await server.herald.hub.publish('held:a', { data: { i } });
    // Not held: subscribed to a channel without a delay as well.
    const first = await mixed.next();
    const mixedAt = performance.now() - t0;
    const got = [first, await mixed.next(), await mixed.next()];
    const heldGot = [await held.next(), await held.next(), await held.next()];
    const heldAt = performance.now() - t0;
    for (const list of [got, heldGot]) {
      assert.deepEqual(
        list.map((m) => (m.push as { pub: { data: { i: number } } }).pub.data.i),
        [1, 2, 3],
      );
    }
    // Timers never fire early (beyond the millisecond rounding): a lower bound is not a race.
    assert.ok(heldAt >= DELAY_MS - 5, `held connection got them after ${heldAt.toFixed(0)} ms`);
    assert.ok(mixedAt < heldAt, `not held: ${mixedAt.toFixed(0)} ms, held: ${heldAt.toFixed(0)} ms`);
    await held.close();
    await mixed.close();
  });
});
