// MQTT's losses on /metrics: messages dropped from full session queues (offline in the store, and
// behind a connected client's in-flight window) and subscribers cut off as slow consumers, read
// the way Prometheus reads them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';
import { api } from './helpers/http.js';
import { MqttTestClient, RawMqtt } from './helpers/mqtt.js';
import { until } from './helpers/until.js';

const DROPS = 'herald_door_queue_drops_total{door="mqtt"}';
const SLOW = 'herald_door_slow_consumer_cutoffs_total{door="mqtt"}';

describe('MQTT queue drops and slow consumers on /metrics', () => {
  let server: TestServer;
  let port: number;
  before(async () => {
    server = await startHerald({
      mqttPort: 'auto',
      mqttSessionQueue: 3,
      maxBufferedBytes: 256 * 1024,
      publishRate: 0,
    });
    port = server.mqttPort as number;
  });
  after(() => server?.stop());

  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`${server.http}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    assert.ok(line, `${name} on /metrics`);
    return Number(line.slice(name.length + 1));
  };

  test('HELP and TYPE lines: a counter', async () => {
    const text = await (await fetch(`${server.http}/metrics`)).text();
    assert.match(text, /^# TYPE herald_door_queue_drops_total counter$/m);
    assert.match(text, /^# HELP herald_door_queue_drops_total .+$/m);
  });

  test('an offline session past mqttSessionQueue: the oldest dropped, counted', async () => {
    const before = await metric(DROPS);
    const opts = {
      protocolVersion: 5 as const,
      clientId: 'met-off',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    };
    const s = await MqttTestClient.connect(`mqtt://127.0.0.1:${port}`, opts);
    await s.subscribe('met/off', 1);
    await s.end();
    for (let i = 0; i < 5; i++) await api(server.http, 'publish', { channel: 'met/off', data: `m${i}` });
    await until(async () => (await metric(DROPS)) === before + 2, {
      what: '2 drops counted',
      intervalMs: 50,
    });
    const back = await MqttTestClient.connect(`mqtt://127.0.0.1:${port}`, opts);
    const got = [];
    for (let i = 0; i < 3; i++) got.push((await back.next()).payload.toString());
    assert.deepEqual(got, ['m2', 'm3', 'm4'], 'the newest kept');
    await back.end();
    assert.equal(await metric(DROPS), before + 2);
  });

  test('a connected v5 client that does not acknowledge: its queue behind Receive Maximum 1 drops, counted', async () => {
    const before = await metric(DROPS);
    const raw = await RawMqtt.connected(port, { properties: { receiveMaximum: 1 } });
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'met/live', qos: 1 }] });
    await raw.packet('suback');
    // One in flight (never acknowledged), three queued, two dropped.
    for (let i = 0; i < 6; i++) await server.herald.hub.publish('met/live', { data: `l${i}`, qos: 1 });
    await until(async () => (await metric(DROPS)) === before + 2, {
      what: '2 drops counted',
      intervalMs: 50,
    });
    const first = await raw.packet('publish');
    assert.equal(first.payload.toString(), 'l0');
    // Acknowledged, the queue moves on from the oldest it kept.
    raw.send({ cmd: 'puback', messageId: first.messageId });
    assert.equal((await raw.packet('publish', 5, 1)).payload.toString(), 'l3');
    raw.destroy();
  });

  test('a subscriber that does not read, cut off: counted on /metrics; others go on', async () => {
    const before = await metric(SLOW);
    const reader = await MqttTestClient.connect(`mqtt://127.0.0.1:${port}`);
    await reader.subscribe('met/slow', 0);
    const stuck = await RawMqtt.connected(port, {}, 4);
    stuck.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'met/slow', qos: 0 }] }, 4);
    await stuck.packet('suback', 4);
    stuck.socket.pause(); // reads nothing from now on
    const chunk = 'x'.repeat(60_000);
    // Bounded: at most 400 x 60 kB, far past what loopback and the server may buffer.
    for (let i = 0; i < 400 && !stuck.socket.destroyed; i++) {
      await server.herald.hub.publish('met/slow', { data: chunk, qos: 0 });
      await reader.next();
      if (server.herald.stats.door('mqtt').slowConsumers > 0) break;
    }
    assert.equal(await metric(SLOW), before + 1);
    await server.herald.hub.publish('met/slow', { data: 'after', qos: 0 });
    assert.equal((await reader.next()).payload.toString(), 'after');
    stuck.destroy();
    await reader.end();
  });
});
