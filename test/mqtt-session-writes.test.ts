// What one client can make the broker write to the Redis MQTT store: session state is written at
// most once per store round trip however fast SUBSCRIBE/UNSUBSCRIBE/QoS 2 packets arrive, and the
// last state is what is stored.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Packet } from 'mqtt-packet';
import mqttPacket from 'mqtt-packet';
import { startHerald, type TestServer } from './helpers/herald.js';
import { MqttTestClient, RawMqtt } from './helpers/mqtt.js';
import { needsRedis, TestRedis } from './helpers/redis.js';
import { until } from './helpers/until.js';

const skip = needsRedis();

/** Script calls Redis has served so far (the store's session writes are scripts). */
function scriptCalls(redis: TestRedis): number {
  const stats = redis.cli('INFO', 'commandstats');
  let total = 0;
  for (const m of stats.matchAll(/cmdstat_(?:evalsha|eval|fcall):calls=(\d+)/g)) total += Number(m[1]);
  return total;
}

describe('MQTT session writes to the Redis store', { skip }, () => {
  let redis: TestRedis;
  let server: TestServer;
  let port: number;
  before(async () => {
    redis = await TestRedis.start();
    server = await startHerald({
      engine: 'redis',
      redisUrl: redis.url,
      mqttPort: 'auto',
      mqttMaxFiltersPerSubscribe: 1000,
      publishRate: 0,
    });
    port = server.mqttPort!;
  });
  after(async () => {
    await server?.stop();
    await redis?.stop();
  });

  test('a flood of UNSUBSCRIBE packets on a persistent session does not write the session once per packet', async () => {
    const clientId = 'flood-unsub';
    const raw = await RawMqtt.connected(port, {
      clientId,
      clean: true,
      properties: { sessionExpiryInterval: 3600 },
    } as Partial<Packet>);
    // 1,000 subscriptions make every session write about 30 KB.
    raw.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: Array.from({ length: 1000 }, (_, i) => ({ topic: `fl/${i}/+`, qos: 1 })),
    } as Packet);
    await raw.packet('suback');
    const before = scriptCalls(redis);
    const count = 2000;
    const flood: Buffer[] = [];
    for (let i = 0; i < count; i++)
      flood.push(
        mqttPacket.generate(
          { cmd: 'unsubscribe', messageId: (i % 65000) + 2, unsubscriptions: [`never/${i}`] } as Packet,
          { protocolVersion: 5 },
        ),
      );
    // The last one removes a real subscription: it must be in the stored state.
    flood.push(
      mqttPacket.generate({ cmd: 'unsubscribe', messageId: 1, unsubscriptions: ['fl/7/+'] } as Packet, {
        protocolVersion: 5,
      }),
    );
    raw.write(Buffer.concat(flood));
    await raw.packet('unsuback', 5, count);
    raw.destroy();
    // The client counts as gone once its session is back in the store, after every write it caused.
    await until(() => server.herald.hub.localStats().numClients === 0, {
      what: 'the session released',
      timeoutMs: 30_000,
    });
    const writes = scriptCalls(redis) - before;
    assert.ok(writes < count / 10, `${writes} store scripts for ${count} UNSUBSCRIBE packets`);
    // The session resumes with the last state: 999 subscriptions, fl/7/+ gone.
    const back = await MqttTestClient.connect(`mqtt://127.0.0.1:${port}`, {
      clientId,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 3600 },
    });
    await server.herald.hub.publish('fl/7/x', { data: 'gone' });
    await server.herald.hub.publish('fl/8/x', { data: 'kept' });
    assert.equal((await back.next()).payload.toString(), 'kept');
    await back.end();
  });

  test('packets sent behind a CONNECT the store is slow to answer are not read ahead without end', async () => {
    // Redis stops answering for a while: CONNECT waits for its session claim.
    redis.cli('CLIENT', 'PAUSE', '1500');
    const raw = await RawMqtt.open(port);
    let drained = false;
    raw.socket.on('drain', () => {
      drained = true;
    });
    const publish = mqttPacket.generate(
      { cmd: 'publish', topic: 'behind/connect', payload: Buffer.alloc(60_000), qos: 0 } as Packet,
      { protocolVersion: 4 },
    );
    raw.send(
      {
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        clientId: 'eager',
        keepalive: 60,
      } as Packet,
      4,
    );
    // 16 MB behind it: more than the kernel's socket buffers hold, so while the broker does not read,
    // the client's own buffer cannot drain.
    raw.write(Buffer.concat(Array.from({ length: 280 }, () => publish)));
    await raw.packet('connack', 4);
    assert.equal(drained, false, 'the broker read everything sent behind CONNECT before answering it');
    // Once connected the rest is read and handled.
    await until(() => drained, { what: 'the client buffer drained', timeoutMs: 20_000 });
    raw.send({ cmd: 'pingreq' }, 4);
    await raw.packet('pingresp', 4);
    raw.destroy();
  });
});
