// Sessions that outlive a connection: QoS 2 exactly once across a reconnect, unacknowledged messages
// retransmitted (DUP, same packet id) when the session resumes, session present, takeover (3.1.1),
// v5 session expiry, and the mqttSessionQueue bound while offline.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqttPacket, { type IPublishPacket } from 'mqtt-packet';
import { startHerald, type TestServer } from './helpers/herald.js';
import { MqttTestClient, RawMqtt } from './helpers/mqtt.js';

describe('MQTT sessions', () => {
  let server: TestServer;
  let port: number;
  let url: string;
  before(async () => {
    server = await startHerald({ mqttPort: 'auto', publishRate: 0 });
    port = server.mqttPort!;
    url = `mqtt://127.0.0.1:${port}`;
  });
  after(() => server.stop());

  test('QoS 2 is exactly once across a reconnect: the retransmitted PUBLISH after PUBREC is not published again', async () => {
    for (const level of [4, 5] as const) {
      const clientId = `q2-${level}`;
      const connect = {
        clientId,
        clean: false,
        properties: level === 5 ? { sessionExpiryInterval: 60 } : undefined,
      };
      const topic = `once/${level}`;
      const first = await RawMqtt.connected(port, connect, level);
      first.send(
        {
          cmd: 'publish',
          topic,
          payload: Buffer.from('one'),
          qos: 2,
          messageId: 9,
          retain: false,
          dup: false,
        },
        level,
      );
      await first.packet('pubrec', level);
      first.destroy(); // gone before PUBREL
      await first.closed;
      const again = await RawMqtt.connected(port, { ...connect }, level);
      assert.equal((await again.packet('connack', level)).sessionPresent, true);
      again.send(
        {
          cmd: 'publish',
          topic,
          payload: Buffer.from('one'),
          qos: 2,
          messageId: 9,
          retain: false,
          dup: true,
        },
        level,
      );
      await again.packet('pubrec', level);
      again.send({ cmd: 'pubrel', messageId: 9 }, level);
      const pubcomp = await again.packet('pubcomp', level);
      assert.equal(pubcomp.messageId, 9);
      assert.equal(
        (await server.herald.hub.history(topic)).position.offset,
        1,
        `level ${level}: published once`,
      );
      again.destroy();
    }
  });

  test('unacknowledged QoS 1 messages are sent again with DUP and their packet id when the session resumes', async () => {
    const connect = { clientId: 'forgetful', clean: false };
    const first = await RawMqtt.connected(port, connect, 4);
    first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'dup/t', qos: 1 }] }, 4);
    await first.packet('suback', 4);
    await server.herald.hub.publish('dup/t', { data: 'unacked' });
    const original = (await first.packet('publish', 4)) as IPublishPacket;
    assert.equal(original.dup, false);
    first.destroy(); // never acknowledged
    await first.closed;
    const again = await RawMqtt.connected(port, connect, 4);
    assert.equal((await again.packet('connack', 4)).sessionPresent, true);
    const resent = (await again.packet('publish', 4)) as IPublishPacket;
    assert.deepEqual(
      [resent.dup, resent.messageId, resent.payload.toString()],
      [true, original.messageId, 'unacked'],
    );
    again.send({ cmd: 'puback', messageId: resent.messageId }, 4);
    again.send({ cmd: 'disconnect' }, 4);
    await again.closed;
    // Acknowledged: not sent a third time.
    const third = await MqttTestClient.connect(url, connect);
    await server.herald.hub.publish('dup/t', { data: 'marker' });
    assert.deepEqual(
      (await third.upTo((m) => m.payload.toString() === 'marker')).map((m) => m.payload.toString()),
      [],
    );
    await third.end();
  });

  test('packets sent in the same write as CONNECT are handled in order after CONNACK', async () => {
    const raw = await RawMqtt.open(port);
    const gen = (p: Parameters<typeof mqttPacket.generate>[0]) =>
      mqttPacket.generate(p, { protocolVersion: 4 });
    raw.write(
      Buffer.concat([
        gen({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: true,
          clientId: 'eager',
          keepalive: 60,
        }),
        gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'eager/t', qos: 1 }] }),
        gen({
          cmd: 'publish',
          topic: 'eager/t',
          payload: Buffer.from('to myself'),
          qos: 1,
          messageId: 2,
          retain: false,
          dup: false,
        }),
      ]),
    );
    const delivered = (await raw.packet('publish', 4)) as IPublishPacket;
    assert.equal(delivered.payload.toString(), 'to myself');
    await raw.packet('puback', 4);
    assert.deepEqual(
      raw
        .packets(4)
        .map((p) => p.cmd)
        .filter((c) => c !== 'publish'),
      ['connack', 'suback', 'puback'],
    );
    raw.destroy();
  });

  test('session present: false for a new or clean session, true for a resumed one; clean start discards it', async () => {
    const opts = { clientId: 'present', clean: false } as const;
    const a = await RawMqtt.connected(port, opts, 4);
    assert.equal((await a.packet('connack', 4)).sessionPresent, false);
    a.send({ cmd: 'disconnect' }, 4);
    await a.closed;
    const b = await RawMqtt.connected(port, opts, 4);
    assert.equal((await b.packet('connack', 4)).sessionPresent, true);
    b.send({ cmd: 'disconnect' }, 4);
    await b.closed;
    const c = await RawMqtt.connected(port, { ...opts, clean: true }, 4);
    assert.equal((await c.packet('connack', 4)).sessionPresent, false);
    c.destroy();
  });

  test('3.1.1 takeover: a second connection with the client id closes the first; its session carries on', async () => {
    const opts = { clientId: 'twin4', clean: false } as const;
    const first = await MqttTestClient.connect(url, opts);
    await first.subscribe('tw/t', 1);
    const second = await MqttTestClient.connect(url, opts);
    await first.closed;
    await server.herald.hub.publish('tw/t', { data: 'to the new one' });
    assert.equal((await second.next()).payload.toString(), 'to the new one');
    await second.end();
  });

  test('v5 session expiry: a session with expiry 0 is gone after the connection; one with expiry is kept', async () => {
    const gone = await MqttTestClient.connect(url, { protocolVersion: 5, clientId: 'exp0', clean: false });
    await gone.subscribe('exp/t', 1);
    await gone.end();
    const kept = await MqttTestClient.connect(url, {
      protocolVersion: 5,
      clientId: 'exp60',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    await kept.subscribe('exp/t', 1);
    await kept.end();
    await server.herald.hub.publish('exp/t', { data: 'queued' });
    const back0 = await RawMqtt.connected(port, { clientId: 'exp0', clean: false });
    assert.equal((await back0.packet('connack')).sessionPresent, false);
    const back60 = await MqttTestClient.connect(url, {
      protocolVersion: 5,
      clientId: 'exp60',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    assert.equal((await back60.next()).payload.toString(), 'queued');
    back0.destroy();
    await back60.end();
  });
});
