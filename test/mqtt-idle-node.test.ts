// A node without MQTT clients pays nothing per publication for MQTT: the broker holds the hub's `#`
// subscription only from its first client's CONNECT (before CONNACK) until mqttDeliveryLinger after
// its last client left. On Redis that is visible as the node's pattern subscription (PUBSUB
// NUMPAT): without it Redis does not send the node the cluster's publications. What must happen
// once per publication (retained store, offline queues) goes on with nobody connected; a CONNECT
// that cannot get the subscription is refused with "server unavailable".
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';
import { api } from './helpers/http.js';
import { MqttTestClient, RawMqtt } from './helpers/mqtt.js';
import { needsRedis, TestRedis } from './helpers/redis.js';
import { until } from './helpers/until.js';

const skip = needsRedis();
const LINGER = 300;

describe('MQTT on a node without MQTT clients (Redis engine)', { skip }, () => {
  let redis: TestRedis;
  let server: TestServer;
  let url: string;
  /** Pattern subscriptions Redis holds for the node: 1 while it receives every publication. */
  const patterns = () => Number(redis.cli('PUBSUB', 'NUMPAT'));
  const untilPatterns = (n: number, what: string) =>
    until(() => patterns() === n, {
      what,
      timeoutMs: 5000,
      intervalMs: 50,
      detail: () => String(patterns()),
    });

  before(async () => {
    redis = await TestRedis.start();
    server = await startHerald({
      engine: 'redis',
      redisUrl: redis.url,
      redisCommandTimeout: 1000,
      mqttPort: 'auto',
      mqttDeliveryLinger: LINGER,
    });
    url = `mqtt://127.0.0.1:${server.mqttPort}`;
  });
  after(async () => {
    await server?.stop();
    await redis?.stop();
  });

  test('no MQTT client: no pattern subscription, and API publishes still succeed', async () => {
    assert.equal(patterns(), 0);
    assert.equal(server.herald.hub.localStats().numSubscriptions, 0);
    const res = await api(server.http, 'publish', { channel: 'idle/a', data: { n: 1 } });
    assert.equal(res.status, 200, res.text);
    assert.equal(patterns(), 0);
  });

  test('the first client subscribes the pattern before CONNACK; it is let go a linger after the last one left', async () => {
    const a = await MqttTestClient.connect(url, { protocolVersion: 5 });
    // Held as CONNACK arrives: nothing published from now on can be missed.
    assert.equal(patterns(), 1);
    await a.subscribe('idle/live/#', 1);
    await api(server.http, 'publish', { channel: 'idle/live/1', data: 'first' });
    assert.equal((await a.next()).payload.toString(), 'first');
    const b = await MqttTestClient.connect(url, { protocolVersion: 4 });
    await a.end();
    // b still holds it.
    await api(server.http, 'publish', { channel: 'idle/live/2', data: 'x' });
    assert.equal(patterns(), 1);
    const left = Date.now();
    await b.end();
    await untilPatterns(0, 'the pattern let go after the linger');
    assert.ok(Date.now() - left >= LINGER - 50, `let go after ${Date.now() - left} ms, linger ${LINGER}`);
    assert.equal(server.herald.hub.localStats().numSubscriptions, 0);

    // A client coming back subscribes it again and gets live publications.
    const c = await MqttTestClient.connect(url, { protocolVersion: 5 });
    assert.equal(patterns(), 1);
    await c.subscribe('idle/live/#', 0);
    await api(server.http, 'publish', { channel: 'idle/live/3', data: 'again' });
    assert.equal((await c.next()).payload.toString(), 'again');
    await c.end();
    await untilPatterns(0, 'the pattern let go again');
  });

  test('a client reconnecting within the linger keeps the pattern: no unsubscribe and subscribe again', async () => {
    const a = await MqttTestClient.connect(url, { clientId: 'idle-re' });
    await a.end();
    const b = await MqttTestClient.connect(url, { clientId: 'idle-re' });
    await b.subscribe('idle/re', 0);
    // Longer than the linger: had the first client's leaving let it go, it would be gone now.
    const since = Date.now();
    await until(() => Date.now() - since > LINGER * 2, { what: 'two lingers', intervalMs: 50 });
    assert.equal(patterns(), 1);
    await api(server.http, 'publish', { channel: 'idle/re', data: 'still' });
    assert.equal((await b.next()).payload.toString(), 'still');
    await b.end();
    await untilPatterns(0, 'the pattern let go');
  });

  test('with nobody connected, a retained publication reaches a later subscriber and a persistent session gets QoS 1 API publications', async () => {
    // A persistent session, offline by the time anything is published.
    const s = await MqttTestClient.connect(url, {
      clientId: 'idle-offline',
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 300 },
    });
    await s.subscribe('idle/q/#', 1);
    await s.end();
    await untilPatterns(0, 'no MQTT client left on the node');

    // The HTTP API has no retain field; a retained publication from another door goes through the
    // same hub call the API makes.
    await server.herald.hub.publish('idle/r', { data: { t: 21 }, retain: true });
    for (let i = 0; i < 3; i++) {
      const res = await api(server.http, 'publish', { channel: `idle/q/${i}`, data: `q${i}` });
      assert.equal(res.status, 200, res.text);
    }
    assert.equal(patterns(), 0, 'nothing was subscribed to do it');

    const back = await MqttTestClient.connect(url, {
      clientId: 'idle-offline',
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 300 },
    });
    const queued = [];
    for (let i = 0; i < 3; i++) queued.push(await back.next());
    assert.deepEqual(
      queued.map((m) => [m.topic, m.payload.toString(), m.qos]),
      [
        ['idle/q/0', 'q0', 1],
        ['idle/q/1', 'q1', 1],
        ['idle/q/2', 'q2', 1],
      ],
    );
    const later = await MqttTestClient.connect(url, { protocolVersion: 4 });
    await later.subscribe('idle/r', 1);
    const r = await later.next();
    assert.deepEqual([r.topic, r.payload.toString(), r.retain], ['idle/r', '{"t":21}', true]);
    await Promise.all([back.end(), later.end()]);
  });

  test('Redis stopped: CONNACK server unavailable (v5 0x88, 3.1.1 code 3); once it is back, clients connect and receive', async () => {
    await untilPatterns(0, 'no MQTT client left on the node');
    await redis.stop();
    try {
      const v5 = await RawMqtt.open(server.mqttPort!);
      v5.send({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 5,
        clean: true,
        clientId: 'down5',
        keepalive: 30,
      });
      const ack5 = await v5.packet('connack', 5);
      assert.equal(ack5.reasonCode, 0x88);
      assert.ok(await v5.closedWithin(3000), 'closed after the refusal');

      for (const level of [4, 3] as const) {
        const old = await RawMqtt.open(server.mqttPort!);
        old.send(
          {
            cmd: 'connect',
            protocolId: level === 3 ? 'MQIsdp' : 'MQTT',
            protocolVersion: level,
            clean: true,
            clientId: `down${level}`,
            keepalive: 30,
          },
          level,
        );
        const ack = await old.packet('connack', level);
        assert.equal(ack.returnCode, 3, `level ${level}`);
        assert.ok(await old.closedWithin(3000), `level ${level} closed after the refusal`);
      }
      // mqtt.js sees the refusal as an error, not a hang.
      await assert.rejects(MqttTestClient.connect(url, { protocolVersion: 5, clientId: 'down-js' }));
    } finally {
      await redis.spawn();
    }
    // Nothing of the failed attempts is left subscribed or held: the next CONNECT asks again.
    const c = await until(() => MqttTestClient.connect(url, { protocolVersion: 5 }).catch(() => undefined), {
      what: 'a CONNECT accepted once Redis is back',
      timeoutMs: 15_000,
      intervalMs: 200,
    });
    assert.equal(patterns(), 1);
    await c.subscribe('idle/back', 0);
    await api(server.http, 'publish', { channel: 'idle/back', data: 'back' });
    assert.equal((await c.next()).payload.toString(), 'back');
    await c.end();
    await untilPatterns(0, 'the pattern let go');
  });
});

describe('MQTT on a node without MQTT clients (memory engine)', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ mqttPort: 'auto', mqttDeliveryLinger: LINGER });
  });
  after(() => server?.stop());

  test('the hub holds no subscription for MQTT until a client connects, and none a linger after', async () => {
    const subs = () => server.herald.hub.localStats().numSubscriptions;
    assert.equal(subs(), 0);
    const c = await MqttTestClient.connect(`mqtt://127.0.0.1:${server.mqttPort}`);
    assert.equal(subs(), 1);
    await c.subscribe('mem/#', 0);
    await api(server.http, 'publish', { channel: 'mem/1', data: 'm' });
    assert.equal((await c.next()).payload.toString(), 'm');
    await c.end();
    await until(() => subs() === 0, { what: 'the hub subscription let go', detail: () => String(subs()) });
  });
});
