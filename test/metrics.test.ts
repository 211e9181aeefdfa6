// /metrics after traffic on every door: every door label is there, with what that traffic did.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sdkClient, subscribed } from './helpers/centrifuge.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { api, poll } from './helpers/http.js';
import { MqttTestClient } from './helpers/mqtt.js';
import { SseClient } from './helpers/sse.js';
import { until } from './helpers/until.js';
import { TestClient } from './helpers/ws.js';

const DOORS = ['echo', 'chat', 'websocket', 'sse', 'poll', 'mqtt', 'api'];

/** `name{labels} value` lines of a scrape, as a map from `name{labels}` to the value. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('/metrics', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ mqttPort: 'auto' });
  });
  after(() => server.stop());

  const scrape = async () => parse(await (await fetch(`${server.http}/metrics`)).text());

  test('after traffic on every door, every door label shows it', async () => {
    const echo = await TestClient.open(`${server.ws}/echo`);
    echo.send('ping');
    await echo.next();
    const chat = await TestClient.open(`${server.ws}/chat`);
    await chat.next(); // the welcome
    const sse = new SseClient(`${server.http}/sse?channel=chat`);
    await sse.next('ready');
    const sdk = sdkClient(server.ws);
    const sub = sdk.newSubscription('chat');
    sub.subscribe();
    sdk.connect();
    await subscribed(sub);
    const mqtt = await MqttTestClient.connect(`mqtt://127.0.0.1:${server.mqttPort}`);
    await mqtt.subscribe('chat', 1);
    const start = await poll(server.http, ['chat'], { timeout: 0 });
    const held = poll(server.http, ['chat'], { cursor: start.json.cursor, timeout: 5 });
    await until(() => server.herald.hub.localSubscribers('chat') === 4, {
      what: 'chat, sse, sdk, poll subscribed',
    });

    await api(server.http, 'publish', { channel: 'chat', data: 'via api' });
    await held;
    await sse.messages(1);
    await mqtt.next();
    await chat.next();
    await sdk.publish('chat', 'via sdk');
    await mqtt.publish('chat', 'via mqtt', { qos: 1 });
    chat.send('via chat');
    await until(async () => (await scrape()).get('herald_door_messages_in_total{door="chat"}') === 1, {
      what: 'the chat message counted',
    });

    const m = await scrape();
    for (const door of DOORS) {
      assert.ok(m.has(`herald_door_connections{door="${door}"}`), `connections gauge for ${door}`);
    }
    for (const door of ['echo', 'chat', 'websocket', 'sse', 'poll', 'mqtt']) {
      assert.ok(
        (m.get(`herald_door_connections_total{door="${door}"}`) ?? 0) >= 1,
        `${door} counted a connection`,
      );
      assert.ok(
        (m.get(`herald_door_messages_out_total{door="${door}"}`) ?? 0) >= 1,
        `${door} counted a message out`,
      );
      assert.ok((m.get(`herald_door_bytes_out_total{door="${door}"}`) ?? 0) > 0, `${door} counted bytes out`);
    }
    for (const door of ['echo', 'chat', 'websocket', 'mqtt', 'api']) {
      assert.ok(
        (m.get(`herald_door_messages_in_total{door="${door}"}`) ?? 0) >= 1,
        `${door} counted a message in`,
      );
    }
    assert.equal(m.get('herald_door_connections{door="chat"}'), 1);
    assert.equal(m.get('herald_door_subscriptions{door="sse"}'), 1);
    assert.equal(m.get('herald_door_disconnects_total{door="poll",code="answered"}'), 2);
    assert.ok((m.get('herald_hub_dispatch_seconds_count') ?? 0) >= 4);
    assert.ok((m.get('herald_engine_operation_seconds_count{op="publish"}') ?? 0) >= 4);
    assert.ok(m.has('herald_process_cpu_user_seconds_total'), 'Node default metrics');

    chat.close();
    await until(
      async () => (await scrape()).get('herald_door_disconnects_total{door="chat",code="1005"}') === 1,
      {
        what: 'the chat disconnect counted with its close code (1005: closed without one)',
      },
    );
    const after = await scrape();
    assert.equal(after.get('herald_door_connections{door="chat"}'), 0);
    assert.equal(after.get('herald_door_subscriptions{door="chat"}'), 0);
    echo.close();
    sse.close();
    sdk.disconnect();
    await mqtt.end();
  });

  test("the channel protocol counts each disconnect under its code: the server's own, or 1006 when the peer left", async () => {
    const key = (code: number) => `herald_door_disconnects_total{door="websocket",code="${code}"}`;
    const start = await scrape();
    const was = (code: number) => start.get(key(code)) ?? 0;
    // A frame that is not JSON: the server closes with 3501 (bad request).
    const bad = await TestClient.open(`${server.ws}/connection/websocket`, {}, 'centrifuge-json');
    bad.send('not json');
    assert.equal((await bad.closed).code, 3501);
    // A client that connects, then drops its socket without a close frame.
    const gone = await TestClient.open(`${server.ws}/connection/websocket`, {}, 'centrifuge-json');
    gone.send('{"id":1,"connect":{}}');
    await gone.next();
    gone.ws.terminate();
    await until(async () => (await scrape()).get(key(1006)) === was(1006) + 1, {
      what: 'the dropped connection counted as 1006',
    });
    assert.equal((await scrape()).get(key(3501)), was(3501) + 1);
  });
});
