// Every MQTT limit is a named option with a reason code, and every bad input closes (or refuses) only
// the client that sent it: raw packets at levels 3.1.1 and 5, a bystander that keeps receiving.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';
import { Bystander, MqttTestClient, publishHeader, RawMqtt } from './helpers/mqtt.js';

describe('MQTT limits and bad input', () => {
  let server: TestServer;
  let port: number;
  let bystander: Bystander;
  before(async () => {
    server = await startHerald({
      mqttPort: 'auto',
      mqttMaxPayload: 1024,
      mqttConnectTimeout: 300,
      mqttMaxSubscriptions: 2,
      mqttMaxFiltersPerSubscribe: 3,
      mqttMaxUserProperties: 2,
      mqttMaxInflight: 2,
      publishRate: 5,
      publishBurst: 5,
    });
    port = server.mqttPort!;
    bystander = await Bystander.on(port, (topic, text) => server.herald.hub.publish(topic, { data: text }));
  });
  after(async () => {
    await bystander.end();
    await server.stop();
  });

  test('a packet larger than the limit is refused from its fixed header: v5 DISCONNECT 0x95', async () => {
    const raw = await RawMqtt.connected(port);
    raw.write(publishHeader(50_000_000));
    assert.equal((await raw.packet('disconnect')).reasonCode, 0x95);
    assert.equal(await raw.closedWithin(2000), true);
    const raw4 = await RawMqtt.connected(port, {}, 4);
    raw4.write(publishHeader(70_000 + 1024));
    assert.equal(await raw4.closedWithin(2000), true);
    await bystander.goesOn();
  });

  test('a socket that never sends CONNECT is closed after mqttConnectTimeout', async () => {
    const raw = await RawMqtt.open(port);
    assert.equal(await raw.closedWithin(3000), true);
    await bystander.goesOn();
  });

  test('mqttMaxSubscriptions: SUBACK 0x97 (3.1.1: 0x80) for the filters past it', async () => {
    const raw = await RawMqtt.connected(port);
    raw.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 'q/1', qos: 1 },
        { topic: 'q/2', qos: 1 },
        { topic: 'q/3', qos: 1 },
      ],
    });
    assert.deepEqual((await raw.packet('suback')).granted, [1, 1, 0x97]);
    // Re-subscribing an existing filter is not a new subscription.
    raw.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'q/1', qos: 0 }] });
    assert.deepEqual((await raw.packet('suback', 5, 1)).granted, [0]);
    const raw4 = await RawMqtt.connected(port, {}, 4);
    raw4.send(
      {
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [
          { topic: 'q/1', qos: 1 },
          { topic: 'q/2', qos: 1 },
          { topic: 'q/3', qos: 1 },
        ],
      },
      4,
    );
    assert.deepEqual((await raw4.packet('suback', 4)).granted, [1, 1, 0x80]);
    raw.destroy();
    raw4.destroy();
    await bystander.goesOn();
  });

  test('mqttMaxFiltersPerSubscribe: a SUBSCRIBE with more filters closes the client (v5 0x97)', async () => {
    const raw = await RawMqtt.connected(port);
    const subscriptions = Array.from({ length: 4 }, (_, i) => ({ topic: `f/${i}`, qos: 0 as const }));
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions });
    assert.equal((await raw.packet('disconnect')).reasonCode, 0x97);
    assert.equal(await raw.closedWithin(2000), true);
    await bystander.goesOn();
  });

  test('mqttMaxUserProperties: CONNECT refused with 0x83, PUBLISH closes with 0x83', async () => {
    const props = { userProperties: { a: '1', b: '2', c: '3' } };
    const raw = await RawMqtt.connected(port, { properties: props });
    assert.equal((await raw.packet('connack')).reasonCode, 0x83);
    assert.equal(await raw.closedWithin(2000), true);
    const ok = await RawMqtt.connected(port);
    ok.send({
      cmd: 'publish',
      topic: 'u/t',
      payload: Buffer.from('x'),
      qos: 0,
      retain: false,
      dup: false,
      properties: props,
    });
    assert.equal((await ok.packet('disconnect')).reasonCode, 0x83);
    assert.equal((await server.herald.hub.history('u/t')).position.offset, 0);
    await bystander.goesOn();
  });

  test('invalid filters fail alone: a/#/b, a+, 200 levels, an empty $share group', async () => {
    const deep = Array.from({ length: 200 }, () => 'x').join('/');
    for (const level of [4, 5] as const) {
      const raw = await RawMqtt.connected(port, {}, level);
      raw.send(
        {
          cmd: 'subscribe',
          messageId: 1,
          subscriptions: [
            { topic: 'a/#/b', qos: 0 },
            { topic: 'a+', qos: 0 },
            { topic: deep, qos: 0 },
          ],
        },
        level,
      );
      const bad = level === 5 ? 0x8f : 0x80;
      assert.deepEqual((await raw.packet('suback', level)).granted, [bad, bad, bad]);
      raw.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: '$share//x', qos: 0 }] }, level);
      assert.deepEqual((await raw.packet('suback', level, 1)).granted, [bad]);
      raw.send({ cmd: 'pingreq' }, level);
      await raw.packet('pingresp', level);
      raw.destroy();
    }
    await bystander.goesOn();
  });

  test('a will topic with wildcards: v5 CONNACK 0x90, 3.1.1 closed', async () => {
    const will = { topic: 'w/#', payload: Buffer.from('x'), qos: 0 as const, retain: false };
    const raw = await RawMqtt.connected(port, { will });
    assert.equal((await raw.packet('connack')).reasonCode, 0x90);
    assert.equal(await raw.closedWithin(2000), true);
    const raw4 = await RawMqtt.open(port);
    raw4.send(
      {
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        clientId: 'w4',
        keepalive: 60,
        will,
      },
      4,
    );
    assert.equal(await raw4.closedWithin(2000), true);
    await bystander.goesOn();
  });

  test('PUBREL for an unknown id gets PUBCOMP 0x92; a PUBACK for an id never sent is ignored', async () => {
    const raw = await RawMqtt.connected(port);
    raw.send({ cmd: 'pubrel', messageId: 77 });
    const pubcomp = await raw.packet('pubcomp');
    assert.deepEqual([pubcomp.messageId, pubcomp.reasonCode], [77, 0x92]);
    raw.send({ cmd: 'puback', messageId: 78 });
    raw.send({ cmd: 'pubrec', messageId: 79 });
    raw.send({ cmd: 'pingreq' });
    await raw.packet('pingresp');
    raw.destroy();
    await bystander.goesOn();
  });

  test('packet id 0, QoS 3, reserved flags, a second CONNECT: closed', async () => {
    const cases: [string, Buffer][] = [
      ['packet id 0', Buffer.from([0x32, 0x05, 0x00, 0x01, 0x61, 0x00, 0x00])],
      ['QoS 3', Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01])],
      ['SUBSCRIBE with reserved flags 0', Buffer.from([0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00])],
    ];
    for (const [what, bytes] of cases) {
      const raw = await RawMqtt.connected(port, {}, 4);
      raw.write(bytes);
      assert.equal(await raw.closedWithin(2000), true, what);
    }
    const again = await RawMqtt.connected(port);
    again.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clean: true,
      clientId: 'x',
      keepalive: 60,
    });
    assert.equal((await again.packet('disconnect')).reasonCode, 0x82);
    await bystander.goesOn();
  });

  test('protocol name and level that do not belong together: CONNACK "unacceptable protocol version"', async () => {
    // "MQTT" with level 3 (3.1 says "MQIsdp"), and "MQIsdp" with level 4.
    const mqtt3 = Buffer.from([0x10, 0x0c, 0, 4, 0x4d, 0x51, 0x54, 0x54, 3, 2, 0, 60, 0, 0]);
    const mqisdp4 = Buffer.from([0x10, 0x0e, 0, 6, 0x4d, 0x51, 0x49, 0x73, 0x64, 0x70, 4, 2, 0, 60, 0, 0]);
    for (const bytes of [mqtt3, mqisdp4]) {
      const raw = await RawMqtt.open(port);
      raw.write(bytes);
      await raw.receivedAtLeast(4, 'CONNACK');
      assert.deepEqual([...raw.received.subarray(0, 4)], [0x20, 2, 0, 1]);
      assert.equal(await raw.closedWithin(2000), true);
    }
    await bystander.goesOn();
  });

  test('publishRate: past the burst v5 gets DISCONNECT 0x96, 3.1.1 is closed', async () => {
    for (const level of [5, 4] as const) {
      const raw = await RawMqtt.connected(port, {}, level);
      for (let i = 0; i < 8; i++)
        raw.send(
          { cmd: 'publish', topic: 'rate/t', payload: Buffer.from('x'), qos: 0, retain: false, dup: false },
          level,
        );
      if (level === 5) assert.equal((await raw.packet('disconnect')).reasonCode, 0x96);
      assert.equal(await raw.closedWithin(2000), true);
    }
    await bystander.goesOn();
  });

  test('mqttMaxInflight: at most that many unacknowledged QoS 1 messages; the rest wait their turn', async () => {
    const raw = await RawMqtt.connected(port, {}, 4);
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'inf/t', qos: 1 }] }, 4);
    await raw.packet('suback', 4);
    for (let i = 0; i < 4; i++) await server.herald.hub.publish('inf/t', { data: `m${i}` });
    const second = await raw.packet('publish', 4, 1);
    await bystander.goesOn(); // time for more to arrive, were the window not kept
    assert.equal(raw.packets(4).filter((p) => p.cmd === 'publish').length, 2);
    raw.send({ cmd: 'puback', messageId: second.messageId }, 4);
    const third = await raw.packet('publish', 4, 2);
    assert.equal(third.payload.toString(), 'm2');
    raw.destroy();
  });
});

describe('MQTT slow consumers', () => {
  test('a subscriber that does not read is cut off past maxBufferedBytes; others go on', async () => {
    const server = await startHerald({
      mqttPort: 'auto',
      maxBufferedBytes: 256 * 1024,
      mqttMaxPayload: 65536,
    });
    try {
      const port = server.mqttPort!;
      const reader = await MqttTestClient.connect(`mqtt://127.0.0.1:${port}`);
      await reader.subscribe('slow/t', 0);
      const stuck = await RawMqtt.connected(port, {}, 4);
      stuck.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'slow/t', qos: 0 }] }, 4);
      await stuck.packet('suback', 4);
      stuck.socket.pause(); // reads nothing from now on
      const before = server.herald.stats.door('mqtt').slowConsumers;
      const chunk = 'x'.repeat(60_000);
      // Bounded: at most 400 x 60 kB, far past what loopback and the server may buffer.
      for (let i = 0; i < 400 && !stuck.socket.destroyed; i++) {
        await server.herald.hub.publish('slow/t', { data: chunk, qos: 0 });
        await reader.next();
        if (server.herald.stats.door('mqtt').slowConsumers > before) break;
      }
      assert.equal(server.herald.stats.door('mqtt').slowConsumers, before + 1, 'cut off as a slow consumer');
      await server.herald.hub.publish('slow/t', { data: 'after', qos: 0 });
      assert.equal((await reader.next()).payload.toString(), 'after');
      stuck.destroy();
      await reader.end();
    } finally {
      await server.stop();
    }
  });
});
