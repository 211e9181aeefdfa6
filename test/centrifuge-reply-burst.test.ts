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

// A frame of publishes runs to its end without waiting between commands (the memory engine publishes
// at once): what each command gets must still be its own answer, in command order, with the push of
// a publication it made before its reply, and a refused one changing nothing for its neighbours.
describe('/connection/websocket: refused publishes inside a frame of publishes', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({
      maxMessageSize: 65536,
      commandRate: 0,
      // Seven publishes pass (refused ones count: the rate is checked first), the eighth and ninth
      // in the same instant are refused (one comes back per second; the frame takes milliseconds).
      publishRate: 1,
      publishBurst: 7,
      maxPayloadDepth: 4,
      channelOptions: { 'ro:': { allowClientPublish: false } },
    });
  });
  after(() => server.stop());

  test('each refused publish gets its own error, the others are published and answered in order', async () => {
    const c = await RawClient.open(server.ws);
    await c.connect();
    c.send({ id: 2, subscribe: { channel: 'mix' } });
    assert.deepEqual(await c.next(), { id: 2, subscribe: {} });
    const deep = { a: { b: { c: { d: { e: 1 } } } } };
    const commands = [
      { id: 10, publish: { channel: 'mix', data: 'one' } },
      { id: 11, publish: { channel: 'ro:x', data: 'refused by the channel options' } },
      { id: 12, publish: { channel: 'mix', data: deep } },
      { id: 13, publish: { channel: 'mix/#', data: 'refused by the name check' } },
      { id: 14, publish: { channel: 'mix', data: 'two' } },
      { id: 15, history: { channel: 'mix', limit: 10 } },
      { id: 16, publish: { channel: 'other', data: 'three' } },
      { id: 17, publish: { channel: 'mix', data: 'four' } },
      { id: 18, publish: { channel: 'mix', data: 'over the rate' } },
      { id: 19, publish: { channel: 'mix', data: 'over the rate again' } },
    ];
    c.send(commands.map((cmd) => JSON.stringify(cmd)).join('\n'));
    const seen: unknown[] = [];
    for (let i = 0; i < 13; i++) {
      const m = (await c.next()) as {
        id?: number;
        error?: { code: number };
        push?: { channel: string; pub: { data: unknown; offset: number } };
        history?: { publications: { data: unknown; offset: number }[]; offset: number };
      };
      if (m.push) seen.push(['push', m.push.channel, m.push.pub.data, m.push.pub.offset]);
      else if (m.error) seen.push(['error', m.id, m.error.code]);
      else if (m.history)
        seen.push(['history', m.id, m.history.publications.map((p) => [p.data, p.offset]), m.history.offset]);
      else seen.push(['reply', m.id, m]);
    }
    assert.deepEqual(seen, [
      ['push', 'mix', 'one', 1],
      ['reply', 10, { id: 10, publish: {} }],
      ['error', 11, 103],
      ['error', 12, 107],
      ['error', 13, 107],
      ['push', 'mix', 'two', 2],
      ['reply', 14, { id: 14, publish: {} }],
      [
        'history',
        15,
        [
          ['one', 1],
          ['two', 2],
        ],
        2,
      ],
      ['reply', 16, { id: 16, publish: {} }],
      ['push', 'mix', 'four', 3],
      ['reply', 17, { id: 17, publish: {} }],
      ['error', 18, 111],
      ['error', 19, 111],
    ]);
    // Nothing refused was kept, and the connection still serves.
    const h = await server.herald.hub.history('mix', { limit: 10 });
    assert.deepEqual(
      h.publications.map((p) => p.data),
      ['one', 'two', 'four'],
    );
    assert.equal((await server.herald.hub.history('other', { limit: 10 })).position.offset, 1);
    assert.equal((await server.herald.hub.history('ro:x', { limit: 10 })).position.offset, 0);
    c.send({ id: 20, subscribe: { channel: 'after' } });
    assert.deepEqual(await c.next(), { id: 20, subscribe: {} });
    await c.close();
  });
});
