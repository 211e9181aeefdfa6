// MQTT on several nodes sharing one Redis: publications cross nodes through Herald's engine (no
// second bus) and reach each MQTT subscriber once; persistent sessions, retained messages and wills
// live in the engine's MQTT store, so they survive a reconnect to another node - and the death of a
// node: its clients' wills are published by a survivor, their sessions are served elsewhere, a
// client id is taken over across nodes. A QoS 1 message is queued once for an offline session
// although every node sees the publication.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestCluster } from './helpers/cluster.js';
import { type MqttMessage, MqttTestClient } from './helpers/mqtt.js';
import { HeraldNode } from './helpers/node.js';
import { needsRedis, type TestRedis } from './helpers/redis.js';
import { until } from './helpers/until.js';

const skip = needsRedis();

const mqttAt = (node: HeraldNode, opts: Parameters<typeof MqttTestClient.connect>[1] = {}) =>
  MqttTestClient.connect(`${node.ws}/mqtt`, opts);

/** Waits, polling redis-cli, until `check` accepts its answer. */
const untilRedis = (check: () => boolean, what: string) =>
  until(check, { what, timeoutMs: 5000, intervalMs: 50 });

/** A node that can die: short presence (its report expires within 2 s of a SIGKILL). */
const mortalArgs = (redis: TestRedis) => [
  '--engine',
  'redis',
  '--redis-url',
  redis.url,
  '--presence-ttl',
  '2',
];

const payloads = (ms: MqttMessage[]) => ms.map((m) => m.payload.toString());

describe('MQTT on a cluster', { skip }, () => {
  let cluster: TestCluster;
  let redis: TestRedis;
  let a: HeraldNode;
  let b: HeraldNode;
  before(async () => {
    // Survivors look for dead nodes' sessions and wills often, so the tests need not wait long.
    cluster = await TestCluster.start([[], []], ['--mqtt-reap-interval', '300']);
    ({ redis } = cluster);
    [a, b] = cluster.nodes;
  });
  after(() => cluster?.stop());

  test('a subscriber on node A gets what a client on node B published, once, with overlapping filters', async () => {
    const sub = await mqttAt(a);
    await sub.subscribe(['m/x/temp', 'm/+/temp', 'm/#'], 1);
    const pub = await mqttAt(b);
    for (let i = 0; i < 5; i++) await pub.publish('m/x/temp', `t${i}`, { qos: (i % 2) as 0 | 1 });
    const got = [];
    for (let i = 0; i < 5; i++) got.push((await sub.next(5000)).payload.toString());
    assert.deepEqual(got, ['t0', 't1', 't2', 't3', 't4']);
    // One offset sequence: the five publications are one channel's stream in Redis.
    assert.equal(redis.cli('HGET', 'herald:meta:{m/x/temp}', 'o'), '5');
    // A copy would come in that stream's order, at its QoS, so before a later one at each QoS.
    for (const qos of [0, 1] as const) await pub.publish('m/x/temp', `end${qos}`, { qos });
    const isEnd = (m: MqttMessage) => m.payload.toString().startsWith('end');
    assert.deepEqual(
      payloads((await sub.upTo(isEnd, 5000)).concat(await sub.upTo(isEnd, 5000))),
      [],
      'nothing twice',
    );
    await Promise.all([sub.end(), pub.end()]);
  });

  test('each QoS a publisher on node A chose is what a subscriber on node B receives', async () => {
    // The subscriber grants up to 2, so what arrives is the publisher's QoS as it crossed Redis
    // (QoS 0 read back as "unset" would arrive as the default, 1).
    const sub = await mqttAt(b);
    await sub.subscribe('m/qos', 2);
    const pub = await mqttAt(a);
    // One at a time: mqtt.js hands a QoS 2 message over only at PUBREL, so a QoS 0 one right behind
    // it could be handed over first (MQTT orders messages per QoS, not across).
    const got = [];
    for (const qos of [0, 1, 2, 0] as const) {
      await pub.publish('m/qos', `qos${qos}`, { qos });
      const m = await sub.next(5000);
      got.push([m.payload.toString(), m.qos]);
    }
    assert.deepEqual(got, [
      ['qos0', 0],
      ['qos1', 1],
      ['qos2', 2],
      ['qos0', 0],
    ]);
    await Promise.all([sub.end(), pub.end()]);
  });

  test('a retained message published through node A is given to a new subscriber on node B', async () => {
    const pub = await mqttAt(a);
    await pub.publish('m/retained', 'kept', { qos: 1, retain: true });
    await untilRedis(() => redis.cli('HLEN', 'herald:mqtt:retained') === '1', 'retained stored');
    const sub = await mqttAt(b);
    await sub.subscribe('m/retained', 1);
    const m = await sub.next(5000);
    assert.equal(m.payload.toString(), 'kept');
    assert.equal(m.retain, true);
    // A fixed window: aedes replays retained messages from a stream with no end a client can see.
    assert.deepEqual(await sub.drain(300), []);
    // An empty retained payload clears it, for every node.
    await pub.publish('m/retained', '', { qos: 1, retain: true });
    await untilRedis(() => redis.cli('HLEN', 'herald:mqtt:retained') === '0', 'retained cleared');
    const late = await mqttAt(a);
    await late.subscribe('m/retained', 1);
    assert.deepEqual(
      (await late.drain(300)).filter((x) => x.retain),
      [],
    );
    await Promise.all([pub.end(), sub.end(), late.end()]);
  });

  test('a persistent session made on node A gets, on node B, every QoS 1 message published while it was away, once', async () => {
    const opts = { clientId: 'persist-1', clean: false } as const;
    const first = await mqttAt(a, opts);
    await first.subscribe('m/queue/#', 1);
    await first.end();
    // Published through both nodes: both see every publication, only the publishing node queues.
    const pubs = await Promise.all([mqttAt(a), mqttAt(b)]);
    const N = 6;
    for (let i = 0; i < N; i++) await pubs[i % 2].publish(`m/queue/${i % 2}`, `q${i}`, { qos: 1 });
    await Promise.all(pubs.map((p) => p.end()));
    await untilRedis(() => redis.cli('LLEN', 'herald:mqtt:q:persist-1') === String(N), 'queued once each');

    const back = await mqttAt(b, opts);
    const got = [];
    for (let i = 0; i < N; i++) got.push((await back.next(5000)).payload.toString());
    assert.deepEqual(
      got,
      Array.from({ length: N }, (_, i) => `q${i}`),
    );
    // Online on node B, it gets live messages from node A, once: a copy would come in its
    // channel's order, before a later publication on it.
    const pubA = await mqttAt(a);
    await pubA.publish('m/queue/live', 'live', { qos: 1 });
    assert.equal((await back.next(5000)).payload.toString(), 'live');
    await pubA.publish('m/queue/live', 'live end', { qos: 1 });
    assert.deepEqual(payloads(await back.upTo((m) => m.payload.toString() === 'live end', 5000)), []);
    await Promise.all([back.end(), pubA.end()]);
    assert.equal(redis.cli('LLEN', 'herald:mqtt:q:persist-1'), '0', 'nothing left over');
  });

  test('a will of a client on a node killed with SIGKILL is published by a surviving node', async () => {
    const doomed = await HeraldNode.start(mortalArgs(redis));
    const watcher = await mqttAt(a);
    await watcher.subscribe('m/will/#', 1);
    const victim = await mqttAt(doomed, {
      clientId: 'victim',
      will: { topic: 'm/will/victim', payload: Buffer.from('node died'), qos: 1, retain: false },
    });
    assert.equal(victim.client.connected, true);
    await doomed.kill('SIGKILL');
    // The node's report expires (2 s), then a survivor's reap finds the will.
    const m = await watcher.next(10_000);
    assert.equal(m.topic, 'm/will/victim');
    assert.equal(m.payload.toString(), 'node died');
    await watcher.end();
    victim.client.end(true);
  });

  test('the queue of a session whose node died is served by another node', async () => {
    const doomed = await HeraldNode.start(mortalArgs(redis));
    const opts = { clientId: 'persist-2', clean: false } as const;
    const s = await mqttAt(doomed, opts);
    await s.subscribe('m/orphan', 1);
    await s.end();
    const pub = await mqttAt(a);
    await pub.publish('m/orphan', 'while away', { qos: 1 });
    await untilRedis(() => redis.cli('LLEN', 'herald:mqtt:q:persist-2') === '1', 'queued');
    await doomed.kill('SIGKILL');
    const back = await mqttAt(b, opts);
    assert.equal((await back.next(5000)).payload.toString(), 'while away');
    await pub.publish('m/orphan', 'live', { qos: 1 });
    assert.deepEqual(payloads(await back.upTo((m) => m.payload.toString() === 'live', 5000)), []);
    await Promise.all([back.end(), pub.end()]);
  });

  test('a client id connected on node A is taken over by a connection on node B', async () => {
    const first = await mqttAt(a, { protocolVersion: 5, clientId: 'roamer' });
    let reason: number | undefined;
    first.client.on('disconnect', (p) => {
      reason = p.reasonCode;
    });
    const second = await mqttAt(b, { protocolVersion: 5, clientId: 'roamer' });
    await first.closed;
    assert.equal(reason, 0x8e, 'DISCONNECT: session taken over');
    assert.equal(second.client.connected, true);
    await second.end();
  });

  test('a filter the session dropped is not queued for', async () => {
    const opts = { clientId: 'persist-3', clean: false } as const;
    const s1 = await mqttAt(a, opts);
    await s1.subscribe('m/dropped', 1);
    await s1.subscribe('m/kept', 1);
    await s1.end();
    const s2 = await mqttAt(b, opts);
    await s2.client.unsubscribeAsync('m/dropped');
    await s2.end();
    const pub = await mqttAt(b);
    await pub.publish('m/dropped', 'not for it', { qos: 1 });
    await pub.publish('m/kept', 'for it', { qos: 1 });
    await untilRedis(() => redis.cli('LLEN', 'herald:mqtt:q:persist-3') === '1', 'one queued');
    const back = await mqttAt(a, opts);
    assert.equal((await back.next(5000)).payload.toString(), 'for it');
    await Promise.all([back.end(), pub.end()]);
  });
});
