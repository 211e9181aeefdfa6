// Replies to the channel protocol's commands leave through the same per-socket coalescing as
// publication frames: a frame of many commands is answered with many frames in few writes. What a
// client sees must not change: every reply, once, in command order, in between the pushes of
// its own subscriptions, and a client that stops reading is still cut off as a slow consumer.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RawClient } from './helpers/centrifuge.js';
import { startHerald, type TestServer } from './helpers/herald.js';

describe('/connection/websocket: a burst of commands in one frame', () => {
  let server: TestServer;
  before(async () => {
    // Rate limits off: the burst is the point here, not the limits (test/limits-rates.test.ts).
    server = await startHerald({ maxMessageSize: 65536, publishRate: 0, commandRate: 0 });
  });
  after(() => server.stop());

  test('200 publishes in one frame: 200 replies in order, 200 pushes in order', async () => {
    const c = await RawClient.open(server.ws);
    await c.connect();
    c.send({ id: 2, subscribe: { channel: 'burst' } });
    assert.deepEqual(await c.next(), { id: 2, subscribe: {} });
    const n = 200;
    c.send(
      Array.from({ length: n }, (_, i) =>
        JSON.stringify({ id: 100 + i, publish: { channel: 'burst', data: i } }),
      ).join('\n'),
    );
    const replies: number[] = [];
    const pushes: number[] = [];
    let last: unknown;
    while (replies.length < n || pushes.length < n) {
      const m = (await c.next(5000).catch((e) => {
        throw new Error(
          `${e.message}; replies ${replies.length} pushes ${pushes.length} last ${JSON.stringify(last)}`,
        );
      })) as { id?: number; push?: { pub: { data: number; offset: number } } };
      last = m;
      if (m.push) {
        assert.equal(m.push.pub.offset, m.push.pub.data + 1, 'offset follows publish order');
        pushes.push(m.push.pub.data);
      } else replies.push(m.id as number);
    }
    assert.deepEqual(
      replies,
      Array.from({ length: n }, (_, i) => 100 + i),
    );
    assert.deepEqual(
      pushes,
      Array.from({ length: n }, (_, i) => i),
    );
    await c.close();
  });
});
