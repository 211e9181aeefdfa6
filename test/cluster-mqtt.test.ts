// MQTT on several nodes sharing one Redis: publications cross nodes through Herald's engine (no
// second bus) and reach each MQTT subscriber once; persistent sessions and retained messages live in
// Redis (aedes-persistence-redis), so they survive a reconnect to another node; a QoS 1 message is
// queued once for an offline session although every node's broker sees the publication.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestCluster } from './helpers/cluster.js';
import { type MqttMessage, MqttTestClient } from './helpers/mqtt.js';
import { HeraldNode } from './helpers/node.js';
import { needsRedis, type TestRedis } from './helpers/redis.js';
import { until } from './helpers/until.js';

const skip = needsRedis();

/** The observer of $SYS logs in as an MQTT administrator: $SYS is for them only. */
const ADMIN_ARGS = ['--mqtt-users', '{"operator":"operator-password"}', '--mqtt-admin-users', 'operator'];
const ADMIN = { username: 'operator', password: 'operator-password' };

const mqttAt = (node: HeraldNode, opts: Parameters<typeof MqttTestClient.connect>[1] = {}) =>
  MqttTestClient.connect(`${node.ws}/mqtt`, opts);

/** Waits, polling redis-cli, until `check` accepts its answer. */
const untilRedis = (check: () => boolean, what: string) =>
  until(check, { what, timeoutMs: 5000, intervalMs: 50 });

/**
 * Visits `node` with a persistent session, so that the node learns it, then leaves. A node that
 * restores a session made elsewhere tells its own persistence on the broker-local topic
 * $SYS/sub/add: a client of that node sees the same message, which is the moment to leave.
 */
async function visit(node: HeraldNode, opts: { clientId: string; clean: false }): Promise<void> {
  const observer = await mqttAt(node, ADMIN);
  await observer.subscribe('$SYS/sub/add', 0);
  const learnt = observer.upTo((m) => JSON.parse(m.payload.toString()).clientId === opts.clientId, 5000);
  const visitor = await mqttAt(node, opts);
  await learnt;
  await Promise.all([visitor.end(), observer.end()]);
}

const payloads = (ms: MqttMessage[]) => ms.map((m) => m.payload.toString());

describe('MQTT on a cluster', { skip }, () => {
  let cluster: TestCluster;
  let redis: TestRedis;
  let a: HeraldNode;
  let b: HeraldNode;
  before(async () => {
    cluster = await TestCluster.start([[], []], ADMIN_ARGS);
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
    for (const qos of [0, 1, 2, 0] as const) await pub.publish('m/qos', `qos${qos}`, { qos });
    const got = [];
    for (let i = 0; i < 4; i++) {
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
    // A visit to node B: now both nodes know the session and would both queue for it.
    await visit(b, opts);
    // aedes queues a QoS 1 message for offline sessions before it delivers it live, so once a live
    // subscriber on each node has every message, both nodes are done queueing.
    const live = await Promise.all([mqttAt(a), mqttAt(b)]);
    for (const l of live) await l.subscribe('m/queue/#', 1);
    const pub = await mqttAt(b);
    const N = 6;
    for (let i = 0; i < N; i++) await pub.publish(`m/queue/${i % 2}`, `q${i}`, { qos: 1 });
    for (const l of live) for (let i = 0; i < N; i++) await l.next(5000);
    await Promise.all(live.map((l) => l.end()));
    // Both nodes' brokers saw every publication; the session's queue holds each once.
    assert.equal(
      Number(redis.cli('LLEN', 'herald:mqtt:outgoing:persist-1')),
      N,
      'queued once, not once per node',
    );

    const back = await mqttAt(b, opts);
    const got = [];
    for (let i = 0; i < N; i++) got.push((await back.next(5000)).payload.toString());
    assert.deepEqual(
      got,
      Array.from({ length: N }, (_, i) => `q${i}`),
    );
    // A fixed window: the queue is replayed from a stream with no end a client can see, and a
    // live marker takes another path, so it could overtake a copy.
    assert.deepEqual(await back.drain(300), [], 'nothing twice');
    // Acknowledged: the queue is empty, so nothing comes again on the next reconnect.
    await untilRedis(() => redis.cli('LLEN', 'herald:mqtt:outgoing:persist-1') === '0', 'acknowledged');
    // Online on node B, it gets live messages from node A too, once: a copy would come in its
    // channel's order, before a later publication on it.
    const pubA = await mqttAt(a);
    await pubA.publish('m/queue/live', 'live', { qos: 1 });
    assert.equal((await back.next(5000)).payload.toString(), 'live');
    await pubA.publish('m/queue/live', 'live end', { qos: 1 });
    assert.deepEqual(payloads(await back.upTo((m) => m.payload.toString() === 'live end', 5000)), []);
    await untilRedis(
      () => redis.cli('LLEN', 'herald:mqtt:outgoing:persist-1') === '0',
      'live ones acknowledged',
    );
    await back.end();
    // A fixed window, as above: the replay of a session's queue has no end a client can see.
    const again = await mqttAt(a, opts);
    assert.deepEqual(await again.drain(500), [], 'nothing left over from either node');
  });

  test('the node that knew the session dies: the node it reconnected to queues for it from then on', async () => {
    const args = ['--engine', 'redis', '--redis-url', redis.url];
    const doomed = await HeraldNode.start(args);
    const opts = { clientId: 'persist-2', clean: false } as const;
    const s = await mqttAt(doomed, opts);
    await s.subscribe('m/orphan', 1);
    await s.end();
    await doomed.kill('SIGKILL');
    // Back on node B for a moment (B learns the session), then away again.
    await visit(b, opts);
    const pub = await mqttAt(a);
    await pub.publish('m/orphan', 'while away', { qos: 1 });
    const back = await mqttAt(a, opts);
    assert.equal((await back.next(5000)).payload.toString(), 'while away');
    // A fixed window, as above: the replay of a session's queue has no end a client can see.
    assert.deepEqual(await back.drain(300), []);
    await Promise.all([back.end(), pub.end()]);
  });

  test('a filter the session dropped on one node is not queued for by a node that still remembers it', async () => {
    const opts = { clientId: 'persist-3', clean: false } as const;
    const s1 = await mqttAt(a, opts);
    await s1.subscribe('m/dropped', 1);
    await s1.subscribe('m/kept', 1);
    await s1.end();
    await visit(b, opts); // node B learns both filters
    const s2 = await mqttAt(a, opts);
    await s2.client.unsubscribeAsync('m/dropped');
    await s2.end();
    const pub = await mqttAt(b);
    await pub.publish('m/dropped', 'not for it', { qos: 1 });
    await pub.publish('m/kept', 'for it', { qos: 1 });
    const back = await mqttAt(a, opts);
    assert.equal((await back.next(5000)).payload.toString(), 'for it');
    // A fixed window, as above: the replay of a session's queue has no end a client can see.
    assert.deepEqual(await back.drain(300), []);
    await Promise.all([back.end(), pub.end()]);
  });
});
