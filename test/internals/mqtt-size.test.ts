import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveConfig } from '../../src/config.js';
import { PacketSizeWatch, packetLimit } from '../../src/protocol/mqtt-size.js';
import { connectPacket, publishHeader, publishPacket } from '../helpers/mqtt.js';

describe('PacketSizeWatch', () => {
  test('lets a stream of packets within the limit through, however it is chunked', () => {
    const stream = Buffer.concat([
      connectPacket('a'),
      publishPacket('t', Buffer.alloc(100)),
      Buffer.from([0xc0, 0x00]), // PINGREQ: no body
      publishPacket('t/u', Buffer.alloc(300)),
    ]);
    for (const size of [1, 2, 3, 7, 64, stream.length]) {
      const w = new PacketSizeWatch(400);
      for (let i = 0; i < stream.length; i += size) {
        assert.equal(w.push(stream.subarray(i, i + size)), undefined, `chunks of ${size}`);
      }
    }
  });

  test('refuses a packet whose declared length is over the limit, from its header alone', () => {
    const w = new PacketSizeWatch(400);
    assert.equal(w.push(publishPacket('t', Buffer.alloc(10))), undefined);
    const header = publishHeader(401);
    assert.equal(w.push(header.subarray(0, 2)), undefined, 'not decided before the length ends');
    assert.match(w.push(header.subarray(2)) ?? '', /401 bytes exceeds the limit of 400/);
    assert.match(new PacketSizeWatch(400).push(publishHeader(268_435_455)) ?? '', /exceeds/);
  });

  test('refuses a remaining length longer than four bytes', () => {
    const w = new PacketSizeWatch(Number.MAX_SAFE_INTEGER);
    assert.match(w.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])) ?? '', /malformed/);
  });

  test('the limit leaves room for the largest topic next to the largest payload', () => {
    assert.equal(packetLimit(1000), 1000 + 2 + 65_535 + 2);
  });
});

describe('mqttPort option', () => {
  test('"auto" asks for a free port, 0 turns TCP off, anything else must be a port', () => {
    assert.equal(resolveConfig({ env: { HERALD_MQTT_PORT: 'auto' } }).mqttPort, 'auto');
    assert.equal(resolveConfig({ env: { HERALD_MQTT_PORT: '0' } }).mqttPort, 0);
    assert.equal(resolveConfig({ env: { HERALD_MQTT_PORT: '1884' } }).mqttPort, 1884);
    assert.equal(resolveConfig({}).mqttPort, 1883);
    assert.throws(() => resolveConfig({ env: { HERALD_MQTT_PORT: 'eighty' } }), /HERALD_MQTT_PORT/);
    assert.throws(() => resolveConfig({ env: { HERALD_MQTT_PORT: '70000' } }), /HERALD_MQTT_PORT/);
  });
});
