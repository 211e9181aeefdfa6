// Per-connection rates: commands and publishes on /connection/websocket, messages on /chat, PUBLISH
// on MQTT. Past the rate a client is refused (or closed when it does not stop); a client that stays
// within its rate, connected throughout, gets every publication that was accepted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Disconnects } from '../src/errors.js';
import { RawClient } from './helpers/centrifuge.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { MqttTestClient } from './helpers/mqtt.js';
import { until } from './helpers/until.js';
import { TestClient } from './helpers/ws.js';

describe('command and publish rates', () => {
  let server: TestServer;
  let watcher: RawClient;
  const pushes: unknown[] = [];

  before(async () => {
    // A refill of one per second: a test's burst takes milliseconds, so the numbers are exact.
    server = await startHerald({
      commandRate: 1,
      commandBurst: 5,
      publishRate: 1,
      publishBurst: 3,
      mqttPort: 'auto',
    });
    watcher = await RawClient.open(server.ws);
    await watcher.connect();
    watcher.send({ id: 2, subscribe: { channel: 'room' } });
    assert.deepEqual(await watcher.next(), { id: 2, subscribe: {} });
    watcher.t.ws.on('message', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        const m = JSON.parse(line);
        if (m.push) pushes.push(m.push.pub.data);
      }
    });
  });
  after(async () => {
    await watcher.close();
    await server.stop();
  });

  const watcherHeard = (data: unknown[]) =>
    until(() => JSON.stringify(pushes.slice(-data.length)) === JSON.stringify(data), {
      what: `the watcher to hear ${JSON.stringify(data)}`,
      detail: () => JSON.stringify(pushes),
    });

  test('WebSocket protocol: commands past the rate get error 111; a client that keeps on is disconnected 3013', async () => {
    const c = await RawClient.open(server.ws);
    await c.connect(); // one of the five
    const frame = [];
    for (let id = 2; id <= 20; id++) frame.push(JSON.stringify({ id, presence_stats: { channel: 'room' } }));
    c.send(frame.join('\n'));
    for (let id = 2; id <= 5; id++) {
      assert.deepEqual(await c.next(), { id, presence_stats: { num_clients: 1, num_users: 1 } });
    }
    for (let id = 6; id <= 10; id++) {
      assert.deepEqual(await c.next(), {
        id,
        error: { code: 111, message: 'too many requests', temporary: true },
      });
    }
    assert.equal((await c.closed).code, Disconnects.TOO_MANY_REQUESTS.code);
    await server.herald.hub.publish('room', { data: 'after the flood' });
    await watcherHeard(['after the flood']);
  });

  test('WebSocket protocol: publishes past the publish rate get error 111 and are not published', async () => {
    const c = await RawClient.open(server.ws);
    await c.connect();
    const frame = [1, 2, 3, 4, 5].map((n) =>
      JSON.stringify({ id: n + 1, publish: { channel: 'room', data: `m${n}` } }),
    );
    c.send(frame.join('\n'));
    for (let id = 2; id <= 4; id++) assert.deepEqual(await c.next(), { id, publish: {} });
    for (let id = 5; id <= 6; id++) assert.equal(((await c.next()).error as { code: number }).code, 111);
    await server.herald.hub.publish('room', { data: 'marker' });
    await watcherHeard(['m1', 'm2', 'm3', 'marker']);
    await c.close();
  });

  test('/chat: a message past the publish rate closes the sender with 1008; the room heard the rest', async () => {
    const listener = await TestClient.open(`${server.ws}/chat`);
    await listener.nextText(); // welcome
    const sender = await TestClient.open(`${server.ws}/chat`);
    await sender.nextText();
    for (let i = 1; i <= 5; i++) sender.send(`c${i}`);
    const closed = await sender.closed;
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /rate/);
    for (let i = 1; i <= 3; i++) assert.equal(await listener.nextText(), `Broadcast: c${i}`);
    await server.herald.hub.publish('chat', { data: 'next' });
    assert.equal(await listener.nextText(), 'Broadcast: next');
    await listener.close();
  });

  test('MQTT: a PUBLISH past the publish rate closes that client; subscribers got the rest', async () => {
    const url = `mqtt://127.0.0.1:${server.mqttPort}`;
    const sub = await MqttTestClient.connect(url, { clientId: 'rate-sub' });
    await sub.client.subscribeAsync('room', { qos: 0 });
    const pub = await MqttTestClient.connect(url, { clientId: 'rate-pub' });
    for (let i = 1; i <= 5; i++) pub.client.publish('room', `q${i}`, { qos: 0 });
    await pub.closed;
    for (let i = 1; i <= 3; i++) assert.equal((await sub.next()).payload.toString(), `q${i}`);
    await server.herald.hub.publish('room', { data: 'after mqtt' });
    assert.equal((await sub.next()).payload.toString(), 'after mqtt');
    await watcherHeard(['q1', 'q2', 'q3', 'after mqtt']);
    await sub.client.endAsync();
  });
});
