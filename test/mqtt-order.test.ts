// One topic's publications reach an MQTT subscriber in the hub's order and all of them, whatever
// QoS each was published at. A broker that routes QoS 1/2 after a store round trip and QoS 0 at once
// lets a QoS 0 publication overtake the QoS 1 one before it; the former broker's de-dupe (the highest
// offset seen per channel and client) then dropped the overtaken one. Overlapping filters make every
// publication match the client more than once, as real subscribers do.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';
import { MqttTestClient } from './helpers/mqtt.js';
import { needsRedis, TestRedis } from './helpers/redis.js';

const COUNT = 200;

async function alternatingQos(server: TestServer): Promise<string[]> {
  const url = `mqtt://127.0.0.1:${server.mqttPort}`;
  const sub = await MqttTestClient.connect(url, { clean: false, clientId: `order-${Date.now()}` });
  await sub.subscribe(['o/x/v', 'o/+/v', 'o/#'], 1);
  const pub = await MqttTestClient.connect(url);
  const sent = Array.from({ length: COUNT }, (_, i) => `m${i}`);
  // Not awaited one by one: publications follow each other as closely as the client can send them.
  await Promise.all(sent.map((m, i) => pub.publish('o/x/v', m, { qos: (i % 2) as 0 | 1 })));
  const got: string[] = [];
  for (let i = 0; i < COUNT; i++) {
    try {
      got.push((await sub.next(5000)).payload.toString());
    } catch (err) {
      throw new Error(
        `${got.length} of ${COUNT} arrived; missing ${sent.filter((m) => !got.includes(m)).slice(0, 5)}`,
        {
          cause: err,
        },
      );
    }
  }
  await Promise.all([sub.end(), pub.end()]);
  return got;
}

const expected = Array.from({ length: COUNT }, (_, i) => `m${i}`);
const noRates = { publishRate: 0, connectionRatePerIp: 0 };

describe('MQTT: one topic, alternating QoS 0 and 1, overlapping filters', () => {
  test('memory engine: every publication once, in order', async () => {
    const server = await startHerald({ mqttPort: 'auto', ...noRates });
    try {
      assert.deepEqual(await alternatingQos(server), expected);
    } finally {
      await server.stop();
    }
  });

  describe('redis engine (shared persistence)', { skip: needsRedis() }, () => {
    let redis: TestRedis;
    let server: TestServer;
    before(async () => {
      redis = await TestRedis.start();
      server = await startHerald({ mqttPort: 'auto', engine: 'redis', redisUrl: redis.url, ...noRates });
    });
    after(async () => {
      await server?.stop();
      await redis?.stop();
    });

    test('every publication once, in order', async () => {
      assert.deepEqual(await alternatingQos(server), expected);
    });
  });
});
