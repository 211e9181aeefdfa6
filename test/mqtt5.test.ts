// MQTT 5 with mqtt.js (protocolVersion 5), mosquitto -V mqttv5 and a raw socket: what CONNACK
// advertises, message properties end to end (and on a web door), subscription options, topic aliases
// both ways, shared subscriptions, will delay, message expiry, and the v5 refusals with their codes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { IConnackPacket, IPublishPacket } from 'mqtt-packet';
import { startHerald, type TestServer } from './helpers/herald.js';
import {
  MqttTestClient,
  mosquittoPub,
  mosquittoSub,
  needsMosquittoClients,
  RawMqtt,
} from './helpers/mqtt.js';
import { SseClient } from './helpers/sse.js';
import { until } from './helpers/until.js';

const V5 = { protocolVersion: 5 } as const;
const skipMosquitto = needsMosquittoClients();

describe('MQTT 5', () => {
  let server: TestServer;
  let port: number;
  let url: string;
  before(async () => {
    server = await startHerald({
      mqttPort: 'auto',
      mqttUsers: { operator: 'op-pw', alice: 'alice-pw', bob: 'bob-pw' },
      mqttAdminUsers: ['operator'],
      mqttTopicAliasMaximum: 4,
      mqttReceiveMaximum: 3,
      mqttMaxKeepAlive: 30,
      publishRate: 0,
    });
    port = server.mqttPort!;
    url = `mqtt://127.0.0.1:${port}`;
  });
  after(() => server.stop());

  test('CONNACK advertises what the broker supports and assigns a client id', async () => {
    const raw = await RawMqtt.connected(port, { clientId: '', keepalive: 0 });
    const connack = (await raw.packet('connack')) as IConnackPacket;
    assert.equal(connack.reasonCode, 0);
    const p = connack.properties ?? {};
    assert.equal(p.retainAvailable, true);
    assert.equal(p.wildcardSubscriptionAvailable, true);
    assert.equal(p.subscriptionIdentifiersAvailable, true);
    assert.equal(p.sharedSubscriptionAvailable, true);
    assert.equal(p.topicAliasMaximum, 4);
    assert.equal(p.receiveMaximum, 3);
    assert.ok((p.maximumPacketSize ?? 0) > 65536);
    assert.equal(p.maximumQoS, undefined, 'QoS 2 is supported: no Maximum QoS');
    assert.match(p.assignedClientIdentifier ?? '', /^herald-/);
    assert.equal(p.serverKeepAlive, 30, 'keep-alive 0 (none) is capped at mqttMaxKeepAlive');
    raw.destroy();
  });

  test('user properties, content type, response topic and correlation data pass through, also to SSE', async () => {
    const sse = new SseClient(`${server.http}/sse?channel=chat`);
    await sse.next('ready');
    const v5 = await MqttTestClient.connect(url, V5);
    await v5.subscribe('chat', 1);
    const v4 = await MqttTestClient.connect(url);
    await v4.subscribe('chat', 1);
    const seen: IPublishPacket[] = [];
    v5.client.on('packetreceive', (p) => {
      if (p.cmd === 'publish') seen.push(p as IPublishPacket);
    });
    const pub = await MqttTestClient.connect(url, V5);
    await pub.client.publishAsync('chat', '{"t":1}', {
      qos: 1,
      properties: {
        userProperties: { site: 'north', tag: ['a', 'b'] },
        contentType: 'application/json',
        responseTopic: 'chat/replies',
        correlationData: Buffer.from([1, 2, 3]),
        payloadFormatIndicator: true,
      },
    });
    await v5.next();
    const p = seen[0].properties ?? {};
    assert.deepEqual({ ...p.userProperties }, { site: 'north', tag: ['a', 'b'] });
    assert.equal(p.contentType, 'application/json');
    assert.equal(p.responseTopic, 'chat/replies');
    assert.deepEqual([...(p.correlationData ?? [])], [1, 2, 3]);
    assert.equal(p.payloadFormatIndicator, true);
    assert.equal((await v4.next()).payload.toString(), '{"t":1}', 'a 3.1.1 subscriber gets the payload');
    const [fromSse] = await sse.messages(1);
    assert.deepEqual(fromSse.data, { t: 1 });
    assert.deepEqual(fromSse.props, {
      contentType: 'application/json',
      responseTopic: 'chat/replies',
      correlationData: 'AQID',
      utf8: true,
      userProperties: [
        ['site', 'north'],
        ['tag', 'a'],
        ['tag', 'b'],
      ],
    });
    sse.close();
    await Promise.all([v5.end(), v4.end(), pub.end()]);
  });

  test('subscription identifiers, no local, retain as published, retain handling', async () => {
    const c = await MqttTestClient.connect(url, V5);
    const seen: IPublishPacket[] = [];
    c.client.on('packetreceive', (p) => {
      if (p.cmd === 'publish') seen.push(p as IPublishPacket);
    });
    const other = await MqttTestClient.connect(url, V5);
    await other.publish('so/r', 'kept', { qos: 1, retain: true });
    await c.client.subscribeAsync('so/#', {
      qos: 1,
      nl: true,
      rap: true,
      properties: { subscriptionIdentifier: 5 },
    });
    // Retained on subscribe: retain flag set, identifier carried.
    let m = await c.next();
    assert.equal(m.retain, true);
    assert.equal(seen.at(-1)?.properties?.subscriptionIdentifier, 5);
    // Retain handling 1: sent because the subscription is new; 2: never.
    await c.client.subscribeAsync('so/+', { qos: 1, rh: 1, properties: { subscriptionIdentifier: 6 } });
    assert.equal((await c.next()).payload.toString(), 'kept');
    await c.client.subscribeAsync('so/r', { qos: 1, rh: 2 });
    // Own publication: no local applies to so/# only; so/+ still matches (one delivery, id 6).
    await c.publish('so/own', 'mine', { qos: 1 });
    m = await c.next();
    assert.equal(m.payload.toString(), 'mine');
    assert.deepEqual(seen.at(-1)?.properties?.subscriptionIdentifier, 6);
    // Retain as published (so/#): a live retained publication keeps its flag.
    await other.publish('so/x', 'live', { qos: 1, retain: true });
    m = await c.next();
    assert.equal(m.payload.toString(), 'live');
    assert.equal(m.retain, true);
    assert.deepEqual(seen.at(-1)?.properties?.subscriptionIdentifier, [5, 6]);
    // Retain handling 1 (only when new) and 2 (never): a repeated subscribe sends no retained copy.
    await c.client.subscribeAsync('so/+', { qos: 1, rh: 1, properties: { subscriptionIdentifier: 6 } });
    await other.publish('so/end', 'end', { qos: 1 });
    assert.deepEqual(
      (await c.upTo((x) => x.topic === 'so/end')).map((x) => x.topic),
      [],
    );
    await other.publish('so/r', '', { qos: 1, retain: true });
    await Promise.all([c.end(), other.end()]);
  });

  test('topic aliases: inbound within the maximum, outbound when the client allows', async () => {
    const sub = await MqttTestClient.connect(url, { ...V5, properties: { topicAliasMaximum: 2 } });
    const seen: IPublishPacket[] = [];
    sub.client.on('packetreceive', (p) => {
      if (p.cmd === 'publish') seen.push(p as IPublishPacket);
    });
    await sub.subscribe('alias/#', 0);
    const raw = await RawMqtt.connected(port);
    raw.send({
      cmd: 'publish',
      topic: 'alias/a',
      payload: Buffer.from('1'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 1 },
    });
    raw.send({
      cmd: 'publish',
      topic: '',
      payload: Buffer.from('2'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 1 },
    });
    const got = [await sub.next(), await sub.next()];
    assert.deepEqual(
      got.map((m) => [m.topic, m.payload.toString()]),
      [
        ['alias/a', '1'],
        ['alias/a', '2'],
      ],
    );
    // The broker aliased its deliveries: the second came with the alias and no topic.
    assert.equal(seen[0].properties?.topicAlias, 1);
    assert.equal(seen[0].topic, 'alias/a');
    assert.equal(seen[1].properties?.topicAlias, 1);
    assert.equal(seen[1].topic, '');
    // An alias above the maximum, and one never set: DISCONNECT 0x94 / 0x82.
    raw.send({
      cmd: 'publish',
      topic: 'alias/b',
      payload: Buffer.from('x'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 5 },
    });
    assert.equal((await raw.packet('disconnect')).reasonCode, 0x94);
    assert.equal(await raw.closedWithin(2000), true);
    const raw2 = await RawMqtt.connected(port);
    raw2.send({
      cmd: 'publish',
      topic: '',
      payload: Buffer.from('x'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 3 },
    });
    assert.equal((await raw2.packet('disconnect')).reasonCode, 0x82);
    await sub.end();
  });

  test('shared subscriptions: one delivery per group, members take turns', async () => {
    const a = await MqttTestClient.connect(url, V5);
    const b = await MqttTestClient.connect(url, V5);
    const plain = await MqttTestClient.connect(url, V5);
    await a.subscribe('$share/g/sh/+', 1);
    await b.subscribe('$share/g/sh/+', 1);
    await plain.subscribe('sh/+', 1);
    let ga = 0;
    let gb = 0;
    a.client.on('message', () => ga++);
    b.client.on('message', () => gb++);
    const pub = await MqttTestClient.connect(url, V5);
    for (let i = 0; i < 6; i++) await pub.publish('sh/t', `m${i}`, { qos: 1 });
    for (let i = 0; i < 6; i++) assert.equal((await plain.next()).payload.toString(), `m${i}`);
    // Six publications, one delivery each to the group: the members split them.
    await until(() => ga + gb === 6, { what: 'six group deliveries', detail: () => `${ga} + ${gb}` });
    await pub.publish('sh/t', 'end', { qos: 1 });
    await plain.next();
    await until(() => ga + gb === 7, { what: 'the seventh' });
    assert.equal(ga + gb, 7, 'never two members for one publication');
    assert.ok(ga >= 3 && gb >= 3, `members took turns (${ga}, ${gb})`);
    await Promise.all([a.end(), b.end(), plain.end(), pub.end()]);
  });

  test('will delay: published after the delay; not when the session resumes; DISCONNECT 0x04 sends it', async () => {
    const watcher = await MqttTestClient.connect(url, V5);
    await watcher.subscribe('wd/#', 1);
    const opts = {
      ...V5,
      clientId: 'delayed-will',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: {
        topic: 'wd/gone',
        payload: Buffer.from('late'),
        qos: 1 as const,
        retain: false,
        properties: { willDelayInterval: 1 },
      },
    };
    // A second delayed will, from a client that goes after c2 below: its arrival tells that c2's
    // delay (the same length, started earlier) has run out too.
    const marker = await MqttTestClient.connect(url, {
      ...opts,
      clientId: 'delayed-will-marker',
      will: { ...opts.will, topic: 'wd/marker', payload: Buffer.from('marker') },
    });
    const c1 = await MqttTestClient.connect(url, opts);
    const started = Date.now();
    c1.client.stream.destroy();
    const m = await watcher.next(4000);
    assert.equal(m.payload.toString(), 'late');
    assert.ok(Date.now() - started >= 900, 'not before the will delay');
    // Resumed within the delay: no will.
    const c2 = await MqttTestClient.connect(url, opts);
    c2.client.stream.destroy();
    const c3 = await MqttTestClient.connect(url, opts);
    // DISCONNECT with reason 0x04: the will goes out at once, whatever the delay.
    const delayless = await MqttTestClient.connect(url, {
      ...V5,
      will: { topic: 'wd/now', payload: Buffer.from('now'), qos: 1, retain: false },
    });
    delayless.client.end(true, { reasonCode: 0x04 });
    assert.equal((await watcher.next()).topic, 'wd/now');
    marker.client.stream.destroy();
    // c2's will must not come before the marker's, whose delay started after c2's.
    assert.deepEqual(
      (await watcher.upTo((x) => x.topic === 'wd/marker', 4000)).map((x) => x.topic),
      [],
    );
    await c3.end();
    await watcher.end();
  });

  test('message expiry: a queued message past its expiry is not sent; a retained one carries what is left', async () => {
    const opts = { ...V5, clientId: 'expiry-sess', clean: false, properties: { sessionExpiryInterval: 60 } };
    const s = await MqttTestClient.connect(url, opts);
    await s.subscribe('ex/#', 1);
    await s.end();
    const pub = await MqttTestClient.connect(url, V5);
    const shortExpires = Date.now() + 1000;
    await pub.client.publishAsync('ex/short', 'gone', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.client.publishAsync('ex/long', 'kept', { qos: 1, properties: { messageExpiryInterval: 100 } });
    await pub.client.publishAsync('ex/ret', 'r', {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 50 },
    });
    // The expiry is the point of this test: the event waited for is the clock passing it.
    await until(() => Date.now() > shortExpires + 50, { what: 'ex/short to expire', timeoutMs: 3000 });
    const back = await MqttTestClient.connect(url, opts);
    const seen: IPublishPacket[] = [];
    back.client.on('packetreceive', (p) => {
      if (p.cmd === 'publish') seen.push(p as IPublishPacket);
    });
    const got = [await back.next(), await back.next()].map((m) => m.payload.toString()).sort();
    assert.deepEqual(got, ['kept', 'r']);
    const late = await MqttTestClient.connect(url, V5);
    const lateSeen: IPublishPacket[] = [];
    late.client.on('packetreceive', (p) => {
      if (p.cmd === 'publish') lateSeen.push(p as IPublishPacket);
    });
    await late.subscribe('ex/ret', 1);
    await late.next();
    const left = lateSeen[0].properties?.messageExpiryInterval ?? 0;
    assert.ok(left > 0 && left < 50, `remaining interval ${left}`);
    await pub.client.publishAsync('ex/ret', '', { qos: 1, retain: true });
    await Promise.all([back.end(), pub.end(), late.end()]);
  });

  test('PUBACK reason codes: payload format invalid 0x99, $ topic 0x90, receive maximum exceeded 0x93', async () => {
    const raw = await RawMqtt.connected(port);
    raw.send({
      cmd: 'publish',
      topic: 'pf/t',
      payload: Buffer.from([0xff, 0xfe]),
      qos: 1,
      messageId: 1,
      retain: false,
      dup: false,
      properties: { payloadFormatIndicator: true },
    });
    assert.equal((await raw.packet('puback')).reasonCode, 0x99);
    raw.send({
      cmd: 'publish',
      topic: '$SYS/x',
      payload: Buffer.from('x'),
      qos: 1,
      messageId: 2,
      retain: false,
      dup: false,
    });
    assert.equal((await raw.packet('puback', 5, 1)).reasonCode, 0x90);
    raw.send({
      cmd: 'publish',
      topic: '$SYS/x',
      payload: Buffer.from('x'),
      qos: 2,
      messageId: 3,
      retain: false,
      dup: false,
    });
    assert.equal((await raw.packet('pubrec')).reasonCode, 0x90);
    // Receive Maximum 3: four QoS 2 publishes never released.
    for (let id = 10; id < 14; id++)
      raw.send({
        cmd: 'publish',
        topic: 'rm/t',
        payload: Buffer.from('x'),
        qos: 2,
        messageId: id,
        retain: false,
        dup: false,
      });
    assert.equal((await raw.packet('disconnect')).reasonCode, 0x93);
    assert.equal(await raw.closedWithin(2000), true);
  });

  test('CONNACK refusals: bad password 0x86, not authorized 0x87, auth method 0x8C, unsupported level 0x84', async () => {
    const bad = await RawMqtt.connected(port, { username: 'alice', password: Buffer.from('nope') });
    assert.equal((await bad.packet('connack')).reasonCode, 0x86);
    assert.equal(await bad.closedWithin(2000), true);
    const auth = await RawMqtt.connected(port, { properties: { authenticationMethod: 'SCRAM-SHA-1' } });
    assert.equal((await auth.packet('connack')).reasonCode, 0x8c);
    // A persistent session belongs to its user: bob may not take alice's client id.
    const alice = await MqttTestClient.connect(url, {
      ...V5,
      clientId: 'alices',
      clean: false,
      username: 'alice',
      password: 'alice-pw',
      properties: { sessionExpiryInterval: 60 },
    });
    await alice.end();
    const bob = await RawMqtt.connected(port, {
      clientId: 'alices',
      username: 'bob',
      password: Buffer.from('bob-pw'),
    });
    assert.equal((await bob.packet('connack')).reasonCode, 0x87);
    // Protocol level 6: CONNACK 0x84.
    const six = await RawMqtt.open(port);
    six.write(Buffer.from([0x10, 0x0c, 0, 4, 0x4d, 0x51, 0x54, 0x54, 6, 2, 0, 60, 0, 0]));
    await six.receivedAtLeast(4, 'CONNACK');
    assert.equal(six.received[3], 0x84);
    assert.equal(await six.closedWithin(2000), true);
  });

  test('takeover: the old connection hears DISCONNECT 0x8E; a subscribe to $SYS by a non-admin is 0x87', async () => {
    const first = await RawMqtt.connected(port, { clientId: 'twin' });
    const second = await MqttTestClient.connect(url, { ...V5, clientId: 'twin' });
    assert.equal((await first.packet('disconnect')).reasonCode, 0x8e);
    assert.equal(await first.closedWithin(2000), true);
    const raw = await RawMqtt.connected(port);
    raw.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: '$SYS/#', qos: 1 },
        { topic: 'ok/t', qos: 1 },
        { topic: 'a/#/b', qos: 1 },
        { topic: 'a+', qos: 0 },
      ],
    });
    assert.deepEqual((await raw.packet('suback')).granted, [0x87, 1, 0x8f, 0x8f]);
    raw.destroy();
    await second.end();
  });

  test('DISCONNECT may not turn a session expiry of 0 into more: protocol error 0x82', async () => {
    const raw = await RawMqtt.connected(port);
    raw.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
    assert.equal((await raw.packet('disconnect')).reasonCode, 0x82);
  });

  test('keep-alive timeout: DISCONNECT 0x8D; an AUTH packet: DISCONNECT 0x82', async () => {
    const silent = await RawMqtt.connected(port, { keepalive: 1 });
    assert.equal((await silent.packet('disconnect')).reasonCode, 0x8d);
    assert.equal(await silent.closedWithin(2000), true);
    const auth = await RawMqtt.connected(port);
    auth.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'x' } });
    assert.equal((await auth.packet('disconnect')).reasonCode, 0x82);
    assert.equal(await auth.closedWithin(2000), true);
  });

  test('keep-alive counts whole packets: a large PUBLISH trickled a byte at a time is cut off at 1.5 x keep-alive (0x8D)', async () => {
    const slow = await RawMqtt.connected(port, { keepalive: 1 });
    const since = Date.now();
    // A PUBLISH declaring 2,000 bytes of body, sent a byte every 200 ms - well inside the 1 s
    // keep-alive, but no packet is ever complete. Bounded: at most 40 bytes, stops once closed.
    const body = Buffer.concat([Buffer.from([0x00, 0x01, 0x74, 0x00]), Buffer.alloc(1996, 0x61)]);
    slow.write(Buffer.from([0x30, 0xd0, 0x0f])); // fixed header: PUBLISH, remaining length 2000
    let sent = 0;
    const trickle = setInterval(() => {
      if (sent >= 40 || slow.socket.destroyed) return clearInterval(trickle);
      slow.write(body.subarray(sent, sent + 1));
      sent++;
    }, 200);
    try {
      const d = await slow.packet('disconnect');
      assert.equal(d.reasonCode, 0x8d);
      assert.equal(await slow.closedWithin(2000), true);
      const took = Date.now() - since;
      // 1.5 s plus at most one sweep (500 ms) and slack for a loaded machine; bytes kept flowing.
      assert.ok(took >= 1400 && took < 4000, `cut off after ${took} ms`);
      assert.ok(sent >= 5, `only ${sent} bytes trickled`);
    } finally {
      clearInterval(trickle);
    }
    // Everybody else is still served.
    const other = await MqttTestClient.connect(url, V5);
    await other.subscribe('ka/ok', 0);
    await server.herald.hub.publish('ka/ok', { data: 'fine' });
    assert.equal((await other.next()).payload.toString(), 'fine');
    await other.end();
  });

  test('a client Maximum Packet Size: larger messages are not sent to it, smaller ones are', async () => {
    const small = await MqttTestClient.connect(url, { ...V5, properties: { maximumPacketSize: 64 } });
    await small.subscribe('mps/t', 1);
    await server.herald.hub.publish('mps/t', { data: 'x'.repeat(200) });
    await server.herald.hub.publish('mps/t', { data: 'small' });
    assert.equal((await small.next()).payload.toString(), 'small');
    await small.end();
  });

  test('mosquitto_pub/mosquitto_sub -V mqttv5 with a user property', { skip: skipMosquitto }, async () => {
    const sub = mosquittoSub(port, ['-V', 'mqttv5', '-t', 'mosq5/t', '-F', '%t %p'], 1);
    await sub.ready;
    const seen = await MqttTestClient.connect(url, V5);
    const packets: IPublishPacket[] = [];
    seen.client.on('packetreceive', (p) => {
      if (p.cmd === 'publish') packets.push(p as IPublishPacket);
    });
    await seen.subscribe('mosq5/t', 1);
    await mosquittoPub(port, [
      '-V',
      'mqttv5',
      '-t',
      'mosq5/t',
      '-m',
      'hi5',
      '-q',
      '1',
      '-D',
      'publish',
      'user-property',
      'k',
      'v',
    ]);
    assert.deepEqual(await sub.lines, ['mosq5/t hi5']);
    await seen.next();
    assert.deepEqual({ ...packets[0].properties?.userProperties }, { k: 'v' });
    await seen.end();
  });
});
