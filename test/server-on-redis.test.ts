// A Herald server on the Redis engine, in this process: what it leaves behind when it stops, and
// what its clients see while Redis is away.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WELCOME } from '../src/protocol/chat.js';
import { RawClient } from './helpers/centrifuge.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { api, get } from './helpers/http.js';
import { needsRedis, TestRedis } from './helpers/redis.js';
import { until } from './helpers/until.js';
import { TestClient } from './helpers/ws.js';

const skip = needsRedis();

/** The names of the connections Redis has from clients other than redis-cli itself. */
function connectionNames(redis: TestRedis): string[] {
  return redis
    .cli('CLIENT', 'LIST')
    .split('\n')
    .filter((l) => !/ cmd=client\|list /.test(l))
    .map((l) => /(?:^| )name=(\S*)/.exec(l)?.[1] ?? '?');
}

describe('a server on the Redis engine', { skip }, () => {
  let redis: TestRedis;
  before(async () => {
    redis = await TestRedis.start();
  });
  after(() => redis?.stop());

  test('stop() closes every Redis connection the server opened, the MQTT store’s too', async () => {
    const server = await startHerald({ engine: 'redis', redisUrl: redis.url });
    await until(() => connectionNames(redis).length === 4, { what: 'the MQTT store connected' });
    assert.deepEqual(connectionNames(redis).sort(), [
      'herald:bus',
      'herald:cmd',
      'herald:mqtt',
      'herald:mqtt-sub',
    ]);
    await server.stop();
    assert.deepEqual(connectionNames(redis), []);
  });
});

describe('a server on the Redis engine while Redis is away', { skip }, () => {
  let redis: TestRedis;
  let server: TestServer;
  before(async () => {
    redis = await TestRedis.start();
    server = await startHerald({ engine: 'redis', redisUrl: redis.url, redisCommandTimeout: 1000 });
  });
  after(async () => {
    await server?.stop();
    await redis?.stop();
  });

  const unavailable = { code: 150, message: 'engine unavailable, retry later', temporary: true };
  /** Nothing of Redis's own error text (hosts, ports, ioredis messages) in what a client got. */
  const assertNoRedisDetail = (text: string) => {
    for (const leak of ['ECONNREFUSED', '127.0.0.1', `:${redis.port}`, 'edis', 'Stream', 'onnection']) {
      assert.ok(!text.includes(leak), `"${leak}" reached a client: ${text}`);
    }
  };

  test('clients are told "engine unavailable" in the catalogue’s words, and nothing of Redis’s', async () => {
    const ws = await RawClient.open(server.ws);
    await ws.connect();
    await redis.stop();
    try {
      const calls: [string, object][] = [
        ['publish', { channel: 'g', data: 1 }],
        ['broadcast', { channels: ['g'], data: 1 }],
        ['history', { channel: 'g' }],
        ['presence', { channel: 'g' }],
        ['channels', {}],
        ['info', {}],
      ];
      for (const [method, params] of calls) {
        const res = await api(server.http, method, params);
        assertNoRedisDetail(res.text);
        const error = method === 'broadcast' ? res.json.result.responses[0].error : res.json.error;
        assert.deepEqual(error, unavailable, `${method}: ${res.text}`);
      }
      ws.send({ id: 2, subscribe: { channel: 'g:ws' } });
      ws.send({ id: 3, publish: { channel: 'g:ws', data: { x: 1 } } });
      for (const id of [2, 3]) {
        const reply = await ws.next();
        assertNoRedisDetail(JSON.stringify(reply));
        assert.deepEqual(reply, { id, error: unavailable });
      }
      for (const path of ['/sse?channel=g:sse', '/poll?channel=g:poll&timeout=0']) {
        const res = await get(`${server.http}${path}`);
        assertNoRedisDetail(res.text);
        assert.equal(res.status, 503, path);
        assert.deepEqual(res.json, { error: unavailable }, path);
      }
    } finally {
      await ws.close();
      await redis.spawn();
    }
  });

  test('a /chat client whose subscription fails is closed with "try again later", not left deaf', async () => {
    const { hub } = server.herald;
    await redis.stop();
    try {
      const deaf = await TestClient.open(`${server.ws}/chat`);
      assert.equal(await deaf.nextText(5000), WELCOME);
      const closed = await deaf.closed;
      assert.equal(closed.code, 1013);
      assert.match(closed.reason, /try again later/);
      assert.equal(hub.localSubscribers('chat'), 0);
    } finally {
      await redis.spawn();
    }
    // Once the node is back on Redis - its bus resubscribed (its node channel: a node without MQTT
    // clients holds no pattern) AND its command connection reconnected, which can come later: a
    // subscribe reads history through it - a new client hears the room.
    await until(() => redis.cli('PUBSUB', 'CHANNELS') !== '', {
      what: 'the bus resubscribed',
      timeoutMs: 10_000,
    });
    await until(
      async () =>
        (await api(server.http, 'publish', { channel: 'probe', data: 'x' })).json.result !== undefined,
      { what: 'publishing works again', timeoutMs: 10_000 },
    );
    const listener = await TestClient.open(`${server.ws}/chat`);
    assert.equal(await listener.nextText(5000), WELCOME);
    // The room is live-only: what is published before the node's SUBSCRIBE reached Redis is not
    // the listener's. Publish until one arrives, then it must be what was published.
    let heard: string | undefined;
    await until(
      async () => {
        const published = await api(server.http, 'publish', { channel: 'chat', data: 'back' });
        assert.ok(published.json.result, published.text);
        heard = await listener.nextText(300).catch(() => undefined);
        return heard !== undefined;
      },
      { what: 'the listener hears the room', timeoutMs: 10_000 },
    );
    assert.equal(heard, 'Broadcast: back');
    await listener.close();
  });

  test('subscribes refused while Redis is away leave the subscription count where it was', async () => {
    const { hub } = server.herald;
    const before = hub.localStats();
    const ws = await RawClient.open(server.ws);
    await ws.connect();
    await redis.stop();
    try {
      // Channels nobody on the node had: each attempt asks the engine, which refuses.
      for (let i = 0; i < 3; i++) {
        ws.send({ id: 10 + i, subscribe: { channel: `count:ws:${i}` } });
        assert.equal(((await ws.next()).error as { code: number }).code, 150);
        assert.equal((await get(`${server.http}/sse?channel=count:sse:${i}&channel=count:both`)).status, 503);
        assert.equal((await get(`${server.http}/poll?channel=count:poll:${i}&timeout=0`)).status, 503);
      }
      const during = hub.localStats();
      assert.equal(during.numSubscriptions, before.numSubscriptions);
      assert.equal(during.numChannels, before.numChannels);
    } finally {
      await redis.spawn();
    }
    // The cluster's view agrees once Redis is back; and subscribing works again and counts.
    await until(
      async () =>
        (await api(server.http, 'info')).json.result?.nodes?.[0]?.num_subs === before.numSubscriptions,
      { what: 'info counting the subscriptions there are', timeoutMs: 10_000 },
    );
    ws.send({ id: 20, subscribe: { channel: 'count:ws:0' } });
    await until(
      async () => {
        const reply = await ws.next();
        if (reply.error) ws.send({ id: 20, subscribe: { channel: 'count:ws:0' } }); // the bus may still be reconnecting
        return reply.subscribe !== undefined;
      },
      { what: 'a subscribe once Redis is back', timeoutMs: 10_000 },
    );
    assert.equal(hub.localStats().numSubscriptions, before.numSubscriptions + 1);
    await ws.close();
    await until(() => hub.localStats().numSubscriptions === before.numSubscriptions, {
      what: 'released',
      timeoutMs: 3000,
    });
  });
});
