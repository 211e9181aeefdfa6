// Sessions on the Redis MQTT store, across a reconnect to the same node and to another node of a
// cluster: a QoS 2 PUBLISH acknowledged with PUBREC, then the client gone before PUBREL, resent
// with DUP after the reconnect, reaches the hub exactly once. And session expiry really expiring
// (v5 Session Expiry Interval of 1 s), on the memory and on the Redis store.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Packet } from 'mqtt-packet';
import { TestCluster } from './helpers/cluster.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { api } from './helpers/http.js';
import { type MqttMessage, MqttTestClient, RawMqtt } from './helpers/mqtt.js';
import type { HeraldNode } from './helpers/node.js';
import { freePort, needsRedis } from './helpers/redis.js';
import { until } from './helpers/until.js';

const skip = needsRedis();

/** Publications the hub holds for a channel, read through a node's server API. */
async function historyOf(http: string, channel: string): Promise<string[]> {
  const res = await api(http, 'history', { channel, limit: 100 });
  assert.equal(res.status, 200, res.text);
  return (res.json.result.publications as { data: unknown }[]).map((p) => JSON.stringify(p.data));
}

function qos2(topic: string, payload: string, messageId: number, dup: boolean): Packet {
  return { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 2, messageId, retain: false, dup };
}

/**
 * PUBLISH QoS 2 on `first` port, PUBREC, the socket gone before PUBREL; then a reconnect on `second`
 * port (clean start false) resends it with DUP and releases it.
 */
async function interruptedQos2(
  first: number,
  second: number,
  level: 4 | 5,
  clientId: string,
  topic: string,
): Promise<void> {
  const connect = {
    clientId,
    clean: false,
    properties: level === 5 ? { sessionExpiryInterval: 120 } : undefined,
  };
  const a = await RawMqtt.connected(first, connect, level);
  a.send(qos2(topic, 'once', 7, false), level);
  assert.equal((await a.packet('pubrec', level)).messageId, 7);
  a.destroy();
  await a.closed;
  const b = await RawMqtt.connected(second, connect, level);
  assert.equal((await b.packet('connack', level)).sessionPresent, true, 'the session was resumed');
  b.send(qos2(topic, 'once', 7, true), level);
  assert.equal((await b.packet('pubrec', level)).messageId, 7);
  b.send({ cmd: 'pubrel', messageId: 7 }, level);
  assert.equal((await b.packet('pubcomp', level)).messageId, 7);
  // The id is free again: a new message with it is a new publication.
  b.send(qos2(topic, 'next', 7, false), level);
  await b.packet('pubrec', level, 1);
  b.send({ cmd: 'pubrel', messageId: 7 }, level);
  await b.packet('pubcomp', level, 1);
  b.destroy();
}

describe('QoS 2 exactly once across a reconnect, Redis store', { skip }, () => {
  let cluster: TestCluster;
  let a: HeraldNode;
  let portA: number;
  let portB: number;
  before(async () => {
    portA = await freePort();
    portB = await freePort();
    cluster = await TestCluster.start(
      [
        ['--mqtt-port', String(portA)],
        ['--mqtt-port', String(portB)],
      ],
      ['--mqtt-host', '127.0.0.1', '--publish-rate', '0'],
    );
    [a] = cluster.nodes;
  });
  after(() => cluster?.stop());

  for (const level of [4, 5] as const) {
    test(`to the same node (MQTT ${level === 5 ? '5' : '3.1.1'}): published once`, async () => {
      const topic = `x2/same/${level}`;
      await interruptedQos2(portA, portA, level, `x2-same-${level}`, topic);
      assert.deepEqual(await historyOf(a.http, topic), ['"once"', '"next"']);
    });

    test(`to another node (MQTT ${level === 5 ? '5' : '3.1.1'}): published once`, async () => {
      const topic = `x2/other/${level}`;
      await interruptedQos2(portA, portB, level, `x2-other-${level}`, topic);
      assert.deepEqual(await historyOf(a.http, topic), ['"once"', '"next"']);
    });
  }

  test('many interrupted QoS 2 publishes, alternating nodes: each one published once', async () => {
    // Bounded: 10 rounds. The PUBREC can come right behind the hub's answer; the session write of
    // the id must not lag behind it, or the other node would publish the resend again.
    for (let i = 0; i < 10; i++) {
      const [from, to] = i % 2 === 0 ? [portA, portB] : [portB, portA];
      await interruptedQos2(from, to, 5, 'x2-rounds', `x2/rounds/${i}`);
    }
    for (let i = 0; i < 10; i++)
      assert.deepEqual(await historyOf(a.http, `x2/rounds/${i}`), ['"once"', '"next"'], `round ${i}`);
  });

  test('v5 session expiry on Redis: past the interval a reconnect gets session present 0 and nothing queued', async () => {
    await sessionExpiry(a.http, portA, portB);
  });
});

describe('v5 session expiry, memory store', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ mqttPort: 'auto' });
  });
  after(() => server?.stop());

  test('past the interval a reconnect gets session present 0 and nothing queued', async () => {
    const port = server.mqttPort as number;
    await sessionExpiry(server.http, port, port);
  });
});

/**
 * Two persistent sessions subscribed at QoS 1 and gone: one with an expiry of 1 s, one of 60 s. A
 * QoS 1 message is queued for both; after the short one's interval, it comes back (on `later` port)
 * as a new session with nothing queued, while the long one still gets its message.
 */
async function sessionExpiry(http: string, port: number, later: number): Promise<void> {
  const publish = (channel: string, data: string) => api(http, 'publish', { channel, data });
  /** MQTT connections the node still counts: one leaves the count once its session is back in the store. */
  const mqttConnections = async () => {
    const text = await (await fetch(`${http}/metrics`)).text();
    return Number(/^herald_door_connections\{door="mqtt"\} (\S+)$/m.exec(text)?.[1]);
  };
  const tag = Math.random().toString(36).slice(2, 8);
  const url = (p: number) => `mqtt://127.0.0.1:${p}`;
  const opts = (id: string, expiry: number) => ({
    protocolVersion: 5 as const,
    clientId: `${id}-${tag}`,
    clean: false,
    properties: { sessionExpiryInterval: expiry },
  });
  const topic = `exp/${tag}`;
  for (const [id, expiry] of [
    ['short', 1],
    ['long', 60],
  ] as const) {
    const c = await MqttTestClient.connect(url(port), opts(id, expiry));
    await c.subscribe(topic, 1);
    await c.end();
  }
  // Published once both sessions are offline in the store (what is published while a closing
  // connection's session is on its way back is not queued for it: see docs/mqtt.md).
  await until(async () => (await mqttConnections()) === 0, {
    what: 'both sessions released',
    intervalMs: 50,
  });
  await publish(topic, 'queued');
  const left = Date.now();
  // The interval counts from the disconnect; 2 s is past it on any machine the suite runs on.
  await until(() => Date.now() - left >= 2000, {
    what: 'the session expiry interval to pass',
    intervalMs: 100,
  });

  const raw = await RawMqtt.connected(later, { clientId: `short-${tag}`, clean: false });
  assert.equal((await raw.packet('connack')).sessionPresent, false, 'the expired session is gone');
  // Nothing queued arrives: a marker on a subscription made now comes first.
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `${topic}/marker`, qos: 0 }] });
  await raw.packet('suback');
  await publish(`${topic}/marker`, 'marker');
  const publishes = async () => {
    await raw.packet('publish');
    return raw.packets().filter((p) => p.cmd === 'publish');
  };
  assert.deepEqual(
    (await publishes()).map((p) => (p.cmd === 'publish' ? p.topic : '')),
    [`${topic}/marker`],
    'only the marker: nothing of the expired session was delivered',
  );
  raw.destroy();

  const long = await MqttTestClient.connect(url(later), opts('long', 60));
  const got: MqttMessage = await long.next();
  assert.deepEqual([got.topic, got.payload.toString()], [topic, 'queued']);
  await long.end();
}
