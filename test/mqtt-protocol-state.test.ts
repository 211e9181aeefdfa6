// MQTT protocol state under hostile or unusual clients, on raw sockets at levels 3.1.1 and 5: the
// inbound QoS 2 window, acknowledgements of ids the broker never sent, CONNECT flag combinations the
// spec forbids. Each case checks that a bystander keeps being served.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Packet } from 'mqtt-packet';
import { startHerald, type TestServer } from './helpers/herald.js';
import { Bystander, RawMqtt } from './helpers/mqtt.js';

/** A v5 QoS 2 PUBLISH to `t` (no properties) with packet id `id`. */
function qos2v5(id: number): Buffer {
  return Buffer.from([0x34, 7, 0, 1, 0x74, id >> 8, id & 0xff, 0, 0x78]);
}

describe('MQTT protocol state', () => {
  let server: TestServer;
  let port: number;
  let bystander: Bystander;
  before(async () => {
    server = await startHerald({ mqttPort: 'auto', mqttReceiveMaximum: 10, publishRate: 0 });
    port = server.mqttPort!;
    bystander = await Bystander.on(port, (topic, text) => server.herald.hub.publish(topic, { data: text }));
  });
  after(async () => {
    await bystander.end();
    await server.stop();
  });

  test('v5: exactly Receive Maximum QoS 2 publishes in one burst are accepted; one more is 0x93', async () => {
    const raw = await RawMqtt.connected(port);
    const burst: Buffer[] = [];
    for (let id = 1; id <= 10; id++) burst.push(qos2v5(id));
    raw.write(Buffer.concat(burst));
    await raw.packet('pubrec', 5, 9);
    const acks = raw.packets().filter((p) => p.cmd === 'pubrec');
    assert.deepEqual(
      acks.map((p) => [p.messageId, p.reasonCode]),
      Array.from({ length: 10 }, (_, i) => [i + 1, 0]),
    );
    assert.equal(
      raw.packets().some((p) => p.cmd === 'disconnect'),
      false,
    );
    // PUBREL frees one slot; the window holds again after that.
    raw.send({ cmd: 'pubrel', messageId: 1 });
    assert.equal((await raw.packet('pubcomp')).reasonCode, 0);
    raw.write(qos2v5(11));
    assert.equal((await raw.packet('pubrec', 5, 10)).messageId, 11);
    raw.write(qos2v5(12));
    assert.equal((await raw.packet('disconnect')).reasonCode, 0x93);
    assert.equal(await raw.closedWithin(2000), true);
    await bystander.goesOn();
  });

  test('PUBREC for an id never sent gets PUBREL 0x92, also with a session; a repeated PUBREC gets PUBREL 0', async () => {
    const raw = await RawMqtt.connected(port);
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ps/q', qos: 2 }] } as Packet);
    await raw.packet('suback');
    await server.herald.hub.publish('ps/q', { data: 1, qos: 2 });
    const pub = await raw.packet('publish');
    raw.send({ cmd: 'pubrec', messageId: 999 });
    const unknown = await raw.packet('pubrel');
    assert.deepEqual([unknown.messageId, unknown.reasonCode], [999, 0x92]);
    raw.send({ cmd: 'pubrec', messageId: pub.messageId });
    raw.send({ cmd: 'pubrec', messageId: pub.messageId });
    await raw.packet('pubrel', 5, 2);
    const rels = raw
      .packets()
      .filter((p) => p.cmd === 'pubrel')
      .slice(1);
    assert.deepEqual(
      rels.map((p) => [p.messageId, p.reasonCode ?? 0]),
      [
        [pub.messageId, 0],
        [pub.messageId, 0],
      ],
    );
    raw.send({ cmd: 'pubcomp', messageId: pub.messageId });
    raw.send({ cmd: 'pingreq' });
    await raw.packet('pingresp');
    raw.destroy();
    await bystander.goesOn();
  });

  test('3.1.1: password flag without user name flag is a protocol error (MQTT-3.1.2-22); v5 allows it', async () => {
    // CONNECT "MQTT" level 4, flags clean + password (0x42), keep-alive 60, client id "a", password "p".
    const body = [0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x42, 0, 60, 0, 1, 0x61, 0, 1, 0x70];
    const v4 = await RawMqtt.open(port);
    v4.write(Buffer.from([0x10, body.length, ...body]));
    assert.equal(await v4.closedWithin(2000), true);
    assert.deepEqual(v4.packets(4), [], 'no CONNACK');
    // The same at level 5 (with an empty properties length) is a valid CONNECT.
    const b5 = [0, 4, 0x4d, 0x51, 0x54, 0x54, 5, 0x42, 0, 60, 0, 0, 1, 0x62, 0, 1, 0x70];
    const v5 = await RawMqtt.open(port);
    v5.write(Buffer.from([0x10, b5.length, ...b5]));
    assert.equal((await v5.packet('connack')).reasonCode, 0);
    v5.destroy();
    await bystander.goesOn();
  });
});
