// MQTT 3.1.1 behaviour of the embedded broker, through the hub route, with real clients.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';
import {
  CONNACK_OK,
  connectPacket,
  MqttTestClient,
  mosquittoPub,
  mosquittoSub,
  needsMosquittoClients,
  RawMqtt,
} from './helpers/mqtt.js';
import { until } from './helpers/until.js';

const ADMIN_USERS = { operator: 'operator-password' };

const skipMosquitto = needsMosquittoClients();

describe('MQTT over TCP', () => {
  let server: TestServer;
  let port: number;
  let url: string;
  before(async () => {
    // $SYS is for administrators: the watcher below logs in as one.
    server = await startHerald({ mqttPort: 'auto', mqttUsers: ADMIN_USERS, mqttAdminUsers: ['operator'] });
    assert.ok(server.mqttPort, 'the MQTT listener reports its port');
    port = server.mqttPort!;
    url = `mqtt://127.0.0.1:${port}`;
  });
  after(() => server.stop());

  test('QoS 0, 1 and 2 arrive with min(publish, subscription) QoS, in order', async () => {
    const sub2 = await MqttTestClient.connect(url);
    const sub1 = await MqttTestClient.connect(url);
    await sub2.subscribe('qos/t', 2);
    await sub1.subscribe('qos/t', 1);
    const pub = await MqttTestClient.connect(url);
    for (const qos of [0, 1, 2] as const) await pub.publish('qos/t', `q${qos}`, { qos });
    for (const qos of [0, 1, 2]) {
      const m = await sub2.next();
      assert.equal(m.payload.toString(), `q${qos}`);
      assert.equal(m.qos, qos);
      const m1 = await sub1.next();
      assert.equal(m1.payload.toString(), `q${qos}`);
      assert.equal(m1.qos, Math.min(qos, 1));
    }
    const h = await server.herald.hub.history('qos/t');
    assert.deepEqual(
      h.publications.map((p) => [p.offset, p.qos, p.data]),
      [
        [1, 0, 'q0'],
        [2, 1, 'q1'],
        [3, 2, 'q2'],
      ],
    );
    await Promise.all([sub1.end(), sub2.end(), pub.end()]);
  });

  test('a retained message reaches a late subscriber (mosquitto_pub -r / mosquitto_sub)', {
    skip: skipMosquitto,
  }, async () => {
    await mosquittoPub(port, ['-t', 'ret/a', '-m', 'kept', '-r', '-q', '1']);
    const late = mosquittoSub(port, ['-t', 'ret/+', '-v'], 1);
    assert.deepEqual(await late.lines, ['ret/a kept']);
    // An empty retained message clears it: a later subscriber gets nothing. A fixed window: the
    // broker sends retained messages after SUBACK from a store lookup, with no end a client sees.
    await mosquittoPub(port, ['-t', 'ret/a', '-n', '-r']);
    const c = await MqttTestClient.connect(url);
    await c.subscribe('ret/a', 1);
    assert.deepEqual(await c.drain(300), []);
    await c.end();
  });

  test('the last will is published when a client vanishes', async () => {
    const watcher = await MqttTestClient.connect(url);
    await watcher.subscribe('will/#', 1);
    const doomed = await MqttTestClient.connect(url, {
      clientId: 'doomed',
      will: { topic: 'will/doomed', payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    doomed.client.stream.destroy(); // no DISCONNECT: the broker must send the will
    const m = await watcher.next();
    assert.equal(m.topic, 'will/doomed');
    assert.equal(m.payload.toString(), 'gone');
    const h = await server.herald.hub.history('will/doomed');
    assert.equal(h.publications.length, 1, 'the will is a publication like any other');
    assert.equal(h.publications[0].info?.client, 'doomed');
    // A clean DISCONNECT discards the will. The broker counts a client as gone once it has decided
    // about its will (and published it, if any): a publication made after that reaches the watcher
    // after the will would have.
    const { hub } = server.herald;
    const before = hub.localStats().numClients;
    const polite = await MqttTestClient.connect(url, {
      clientId: 'polite',
      will: { topic: 'will/polite', payload: Buffer.from('x'), qos: 0, retain: false },
    });
    await polite.end();
    await until(() => hub.localStats().numClients === before, { what: 'polite is gone' });
    await hub.publish('will/marker', { data: 'marker', qos: 0 });
    assert.deepEqual(await watcher.upTo((m) => m.topic === 'will/marker'), []);
    await watcher.end();
  });

  test('MQTT 3.1 (mqtt.js protocolVersion 3, "MQIsdp"): QoS 0/1/2 both ways, retained, will', async () => {
    const v3 = { protocolId: 'MQIsdp', protocolVersion: 3 } as const;
    const sub = await MqttTestClient.connect(url, { ...v3, clientId: 'v31-sub' });
    await sub.subscribe('v31/#', 2);
    const pub = await MqttTestClient.connect(url, {
      ...v3,
      clientId: 'v31-pub',
      will: { topic: 'v31/will', payload: Buffer.from('bye'), qos: 1, retain: false },
    });
    for (const qos of [0, 1, 2] as const) await pub.publish('v31/t', `q${qos}`, { qos });
    for (const qos of [0, 1, 2]) {
      const m = await sub.next();
      assert.deepEqual([m.payload.toString(), m.qos], [`q${qos}`, qos]);
    }
    await pub.publish('v31/r', 'kept', { qos: 1, retain: true });
    await sub.next();
    const late = await MqttTestClient.connect(url, { ...v3, clientId: 'v31-late' });
    await late.subscribe('v31/r', 1);
    const r = await late.next();
    assert.deepEqual([r.payload.toString(), r.retain], ['kept', true]);
    pub.client.stream.destroy();
    assert.equal((await sub.next()).topic, 'v31/will');
    await late.publish('v31/r', '', { qos: 1, retain: true });
    await Promise.all([sub.end(), late.end()]);
  });

  test('+ and # wildcards (mosquitto_sub), nothing from outside the filter', {
    skip: skipMosquitto,
  }, async () => {
    const hash = mosquittoSub(port, ['-V', 'mqttv311', '-t', 'w/#', '-v'], 3);
    const plus = mosquittoSub(port, ['-t', 'w/+/t', '-v'], 2);
    await Promise.all([hash.ready, plus.ready]);
    for (const [t, m] of [
      ['w/a/t', '1'],
      ['w/b/h', '2'],
      ['x/a/t', 'no'],
      ['w/c/t', '3'],
    ]) {
      await mosquittoPub(port, ['-t', t, '-m', m, '-q', '1']);
    }
    assert.deepEqual(await hash.lines, ['w/a/t 1', 'w/b/h 2', 'w/c/t 3']);
    assert.deepEqual(await plus.lines, ['w/a/t 1', 'w/c/t 3']);
  });

  test('a persistent QoS 1 session gets what was published while it was away', async () => {
    const opts = { clientId: 'sensor-dash', clean: false } as const;
    const first = await MqttTestClient.connect(url, opts);
    await first.subscribe('persist/#', 1);
    await first.end();
    const pub = await MqttTestClient.connect(url);
    await pub.publish('persist/a', 'while away 1', { qos: 1 });
    await pub.publish('persist/b', 'qos0 is not queued', { qos: 0 });
    await server.herald.hub.publish('persist/c', { data: { from: 'api' } }); // as the HTTP API would
    await pub.end();
    const back = await MqttTestClient.connect(url, opts);
    assert.equal(back.client.connected, true);
    const got = [await back.next(), await back.next()].map((m) => `${m.topic} ${m.payload}`).sort();
    assert.deepEqual(got, ['persist/a while away 1', 'persist/c {"from":"api"}']);
    // A fixed window: the queue is replayed from a stream with no end a client can see, and a
    // live marker takes another path, so it could overtake what is still queued.
    assert.deepEqual(await back.drain(300), []);
    // A clean session afterwards drops the stored one.
    await back.end();
    const clean = await MqttTestClient.connect(url, { clientId: 'sensor-dash', clean: true });
    await clean.end();
  });

  test('a persistent session holds at most mqttSessionQueue messages while away', async () => {
    const small = await startHerald({ mqttPort: 'auto', mqttSessionQueue: 3 });
    const surl = `mqtt://127.0.0.1:${small.mqttPort}`;
    try {
      const opts = { clientId: 'slowpoke', clean: false } as const;
      const first = await MqttTestClient.connect(surl, opts);
      await first.subscribe('ql/#', 1);
      await first.end();
      for (let i = 1; i <= 6; i++) await small.herald.hub.publish('ql/t', { data: `m${i}` });
      const back = await MqttTestClient.connect(surl, opts);
      // A fixed window, as for the replay above.
      const got = (await back.drain(500)).map((m) => m.payload.toString());
      assert.deepEqual(got, ['m4', 'm5', 'm6'], 'the newest three were kept, the oldest dropped');
      // Acknowledged, the queue is free again: live messages flow.
      await small.herald.hub.publish('ql/t', { data: 'm7' });
      assert.equal((await back.next()).payload.toString(), 'm7');
      await back.end();
    } finally {
      await small.stop();
    }
  });

  test('keep-alive: a silent client is dropped after 1.5 x keep-alive; a pinging one stays', async () => {
    const silent = await RawMqtt.open(port);
    silent.write(connectPacket('silent', 1));
    await silent.receivedAtLeast(4, 'CONNACK');
    assert.deepEqual(silent.received.subarray(0, 4), CONNACK_OK);
    const alive = await MqttTestClient.connect(url, { keepalive: 1 });
    assert.equal(await silent.closedWithin(4000), true, 'a client silent past 1.5 x keep-alive is closed');
    // The second PINGRESP comes about 2 s after connecting: past the 1.5 s that dropped the other.
    await until(() => alive.pingResponses >= 2, { what: 'two PINGRESPs', timeoutMs: 5000 });
    assert.equal(alive.client.connected, true, 'PINGREQ keeps a client connected');
    await alive.end();
  });

  test('with anonymous access off only configured users connect', async () => {
    const locked = await startHerald({
      mqttPort: 'auto',
      mqttAllowAnonymous: false,
      mqttUsers: { device: 's3cret' },
    });
    const lurl = `mqtt://127.0.0.1:${locked.mqttPort}`;
    try {
      await assert.rejects(MqttTestClient.connect(lurl), /Not authorized|not authorized/i);
      await assert.rejects(
        MqttTestClient.connect(lurl, { username: 'device', password: 'wrong' }),
        /user ?name or password/i,
      );
      await assert.rejects(
        MqttTestClient.connect(lurl, { username: 'nobody', password: 's3cret' }),
        /user ?name or password/i,
      );
      const ok = await MqttTestClient.connect(lurl, { username: 'device', password: 's3cret' });
      await ok.subscribe('auth/t', 1);
      await ok.publish('auth/t', 'hi', { qos: 1 });
      assert.equal((await ok.next()).payload.toString(), 'hi');
      const h = await locked.herald.hub.history('auth/t');
      assert.equal(h.publications[0].info?.user, 'device');
      await ok.end();
    } finally {
      await locked.stop();
    }
    // With anonymous access on, a known user must still give the right password.
    const open = await startHerald({ mqttPort: 'auto', mqttUsers: { device: 's3cret' } });
    const ourl = `mqtt://127.0.0.1:${open.mqttPort}`;
    try {
      await assert.rejects(
        MqttTestClient.connect(ourl, { username: 'device', password: 'wrong' }),
        /password/i,
      );
      const stranger = await MqttTestClient.connect(ourl, { username: 'stranger', password: 'x' });
      await stranger.publish('anon/t', 'hi', { qos: 1 });
      assert.equal(
        (await open.herald.hub.history('anon/t')).publications[0].info?.user,
        '',
        'unverified: anonymous',
      );
      await stranger.end();
    } finally {
      await open.stop();
    }
  });

  test('mosquitto_pub with a wrong password is refused', { skip: skipMosquitto }, async () => {
    const locked = await startHerald({
      mqttPort: 'auto',
      mqttAllowAnonymous: false,
      mqttUsers: { device: 's3cret' },
    });
    try {
      await assert.rejects(
        mosquittoPub(locked.mqttPort!, ['-t', 'auth/t', '-m', 'x', '-u', 'device', '-P', 'nope']),
        'mosquitto_pub with a wrong password fails',
      );
      await mosquittoPub(locked.mqttPort!, ['-t', 'auth/t', '-m', 'x', '-u', 'device', '-P', 's3cret']);
    } finally {
      await locked.stop();
    }
  });
});

describe('MQTT port semantics', () => {
  test('mqttPort 0 turns MQTT over TCP off (WebSocket /mqtt stays)', async () => {
    const s = await startHerald({ mqttPort: 0 });
    try {
      assert.equal(s.mqttPort, undefined);
      const c = await MqttTestClient.connect(`${s.ws}/mqtt`);
      assert.equal(c.client.connected, true);
      await c.end();
    } finally {
      await s.stop();
    }
  });
});
