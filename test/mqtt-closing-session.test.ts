// A publication made while a persistent session's connection is closing - before the store has the
// session offline - is queued for it and received once when it resumes. On Redis the store is held
// up (CLIENT PAUSE WRITE) so the close takes long enough for publications to land inside it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { IPublishPacket } from 'mqtt-packet';
import { startHerald, type TestServer } from './helpers/herald.js';
import { api } from './helpers/http.js';
import { RawMqtt } from './helpers/mqtt.js';
import { needsRedis, redisEngine, TestRedis } from './helpers/redis.js';
import { until } from './helpers/until.js';

const N = 5;

async function closeWithPublications(server: TestServer, clientId: string, pause?: TestRedis): Promise<void> {
  const port = server.mqttPort as number;
  const topic = `closing/${clientId}`;
  const connect = { clientId, clean: false };
  const first = await RawMqtt.connected(port, connect, 4);
  first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] }, 4);
  await first.packet('suback', 4);
  // The store stalls; the client goes without DISCONNECT; publications are made meanwhile.
  pause?.cli('CLIENT', 'PAUSE', '300', 'WRITE');
  first.destroy();
  await first.closed;
  const published = Array.from({ length: N }, (_, i) =>
    api(server.http, 'publish', { channel: topic, data: { n: i } }),
  );
  for (const res of await Promise.all(published)) assert.equal(res.status, 200, res.text);
  const second = await RawMqtt.connected(port, connect, 4);
  assert.equal((await second.packet('connack', 4)).sessionPresent, true);
  const got = () =>
    second
      .packets(4)
      .filter((p): p is IPublishPacket => p.cmd === 'publish')
      .map((p) => JSON.parse(p.payload.toString()).n as number);
  await until(() => got().length >= N, {
    what: `${N} queued publications`,
    timeoutMs: 5000,
    detail: () => String(got()),
  });
  // Nothing more is on its way (a double would follow the last one closely).
  await second.packet('publish', 4, N - 1);
  second.send({ cmd: 'pingreq' }, 4);
  await second.packet('pingresp', 4);
  assert.deepEqual(got(), [...Array(N).keys()], 'every publication once, in order');
  second.destroy();
}

describe('publications during a persistent session close, memory store', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ mqttPort: 'auto', publishRate: 0 });
  });
  after(() => server.stop());

  test('are queued and received once on resume', async () => {
    await closeWithPublications(server, 'closing-mem');
  });
});

describe('publications during a persistent session close, Redis store', { skip: needsRedis() }, () => {
  let redis: TestRedis;
  let server: TestServer;
  before(async () => {
    redis = await TestRedis.start();
    server = await startHerald({ mqttPort: 'auto', publishRate: 0 }, redisEngine(redis.url));
  });
  after(async () => {
    await server.stop();
    await redis.stop();
  });

  test('are queued and received once on resume while the store is slow', async () => {
    await closeWithPublications(server, 'closing-redis', redis);
  });
});
