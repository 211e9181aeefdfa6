// Publications entering by one door and leaving by all the others, with one offset sequence.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { PublicationContext } from 'centrifuge';
import { once, sdkClient, subscribed } from './helpers/centrifuge.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { api, poll } from './helpers/http.js';
import { MqttTestClient } from './helpers/mqtt.js';
import { SseClient } from './helpers/sse.js';
import { until } from './helpers/until.js';

describe('every door on one channel model', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ mqttPort: 'auto' });
  });
  after(() => server.stop());

  const mqttUrl = () => `mqtt://127.0.0.1:${server.mqttPort}`;

  test('an MQTT publish reaches SSE, the centrifuge SDK, a long poller and a wildcard MQTT subscriber, with one offset', async () => {
    const channel = 'sensors/room1/temp';
    const sse = new SseClient(`${server.http}/sse?channel=${encodeURIComponent(channel)}`);
    await sse.next('ready');
    const sdk = sdkClient(server.ws);
    const sub = sdk.newSubscription(channel);
    const fromSdk = once<PublicationContext>(sub, 'publication');
    sub.subscribe();
    sdk.connect();
    await subscribed(sub);
    const start = await poll(server.http, [channel], { timeout: 0 });
    const longPoll = poll(server.http, [channel], { cursor: start.json.cursor, timeout: 5 });
    const watcher = await MqttTestClient.connect(mqttUrl());
    await watcher.subscribe('sensors/+/temp', 1);
    const device = await MqttTestClient.connect(mqttUrl());
    await until(() => server.herald.hub.localSubscribers(channel) === 3, {
      what: 'sse, sdk and poll subscribed',
      timeoutMs: 3000,
    });

    const payload = Buffer.from('{"celsius": 21.5}'); // the space must survive MQTT-to-MQTT
    await device.publish(channel, payload, { qos: 1 });

    const [s] = await sse.messages(1);
    const c = await fromSdk;
    const p = (await longPoll).json.publications;
    const m = await watcher.next();
    assert.deepEqual(s.data, { celsius: 21.5 });
    assert.deepEqual(c.data, { celsius: 21.5 });
    assert.deepEqual(p[0].data, { celsius: 21.5 });
    assert.equal(c.offset, s.offset);
    assert.equal(p[0].offset, s.offset);
    assert.equal(p[0].epoch, s.epoch);
    assert.deepEqual(m.payload, payload, 'MQTT subscribers get the bytes as sent');
    assert.equal(m.topic, channel);
    const history = await api(server.http, 'history', { channel, limit: 10 });
    assert.equal(history.json.result.offset, s.offset);
    // A copy would come in the channel's order, at the same QoS, before a later publication.
    await device.publish(channel, 'marker', { qos: 1 });
    assert.deepEqual(await watcher.upTo((x) => x.payload.toString() === 'marker'), [], 'delivered once');
    await Promise.all([watcher.end(), device.end()]);
    sdk.disconnect();
    sse.close();
  });

  test('an SDK publish reaches SSE and MQTT; an API publish reaches a # subscriber', async () => {
    const channel = 'news';
    const sse = new SseClient(`${server.http}/sse?channel=${channel}`);
    await sse.next('ready');
    const all = await MqttTestClient.connect(mqttUrl());
    await all.subscribe('#');
    const sdk = sdkClient(server.ws);
    sdk.connect();
    await once(sdk, 'connected');
    await sdk.publish(channel, { headline: 'one model' });
    const [s] = await sse.messages(1);
    assert.deepEqual(s.data, { headline: 'one model' });
    assert.ok(s.info?.client, 'the publishing client is named in info');
    const m = await all.next();
    assert.equal(m.topic, channel);
    assert.deepEqual(JSON.parse(m.payload.toString()), { headline: 'one model' });

    await api(server.http, 'publish', { channel: 'alerts/kitchen', data: 'smoke' });
    const a = await all.next();
    assert.equal(a.topic, 'alerts/kitchen');
    assert.equal(a.payload.toString(), 'smoke', 'a string publication is its UTF-8 text for MQTT');
    await all.end();
    sdk.disconnect();
    sse.close();
  });
});
