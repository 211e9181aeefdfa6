// The MQTT door joined to the hub: one channel namespace, one offset sequence, no loops, no
// doubles, bytes kept; and bad input that closes only the client that sent it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FrameFormat, Publication, Subscriber } from '../src/model/index.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import {
  CONNACK_OK,
  connectPacket,
  type MqttMessage,
  MqttTestClient,
  publishHeader,
  publishPacket,
  publishQos2Packet,
  pubrelPacket,
  RawMqtt,
} from './helpers/mqtt.js';
import { until } from './helpers/until.js';
import { TestClient } from './helpers/ws.js';

const ADMIN_USERS = { operator: 'operator-password' };
const ADMIN = { username: 'operator', password: 'operator-password' };

const MAX_PAYLOAD = 4096;

/** A hub subscriber in the test, as the SSE or WebSocket doors would hold. */
function hubCollector(): Subscriber<null> & { pubs: Publication[] } {
  const format: FrameFormat<null> = { name: 'test', encode: () => null };
  const pubs: Publication[] = [];
  return { format, pubs, deliver: (pub) => pubs.push(pub) };
}

const payloads = (ms: MqttMessage[]) => ms.map((m) => m.payload.toString());

describe('MQTT bridged to the hub', () => {
  let server: TestServer;
  let url: string;
  before(async () => {
    // $SYS is for administrators: the $SYS test logs in as one.
    server = await startHerald({
      mqttPort: 'auto',
      mqttMaxPayload: MAX_PAYLOAD,
      mqttUsers: ADMIN_USERS,
      mqttAdminUsers: ['operator'],
    });
    url = `mqtt://127.0.0.1:${server.mqttPort}`;
  });
  after(() => server.stop());

  test('an MQTT publish reaches a hub subscriber and /chat with the offset history shows', async () => {
    const { hub } = server.herald;
    const sub = hubCollector();
    (await hub.subscribe('sensors/a/temp', sub)).start();
    const chat = await TestClient.open(`${server.ws}/chat`);
    assert.equal(await chat.nextText(), 'Welcome to broadcast chat!');
    const chatSub = hubCollector();
    (await hub.subscribe('chat', chatSub)).start();

    const device = await MqttTestClient.connect(url, { clientId: 'thermo-1' });
    await device.publish('sensors/a/temp', '{"c":21.5}', { qos: 1 });
    await device.publish('chat', 'hello from a device', { qos: 1 });
    assert.equal(await chat.nextText(), 'Broadcast: hello from a device');
    await until(() => sub.pubs.length === 1 && chatSub.pubs.length === 1, {
      what: 'both publications at the hub subscribers',
    });

    const [live] = sub.pubs;
    assert.deepEqual(live.data, { c: 21.5 }, 'UTF-8 JSON is that JSON for web doors');
    assert.equal(live.info?.client, 'thermo-1');
    assert.equal(live.info?.transport, 'mqtt');
    const h = await hub.history('sensors/a/temp');
    assert.deepEqual(
      h.publications.map((p) => [p.offset, p.epoch]),
      [[live.offset, live.epoch]],
    );
    const ch = await hub.history('chat');
    assert.equal(ch.publications.at(-1)?.offset, chatSub.pubs[0].offset);
    assert.equal(ch.publications.at(-1)?.data, 'hello from a device');
    hub.unsubscribe('sensors/a/temp', sub);
    hub.unsubscribe('chat', chatSub);
    await chat.close();
    await device.end();
  });

  test('a hub publication (as the API makes it) reaches wildcard MQTT subscribers as JSON bytes', async () => {
    const hashSub = await MqttTestClient.connect(url);
    const plusSub = await MqttTestClient.connect(url);
    await hashSub.subscribe('api/#', 2);
    await plusSub.subscribe('api/+/x', 0);
    const { hub } = server.herald;
    await hub.publish('api/n/x', { data: { temp: 20, ok: true } });
    await hub.publish('api/n/y', { data: 'plain text' });
    await hub.publish('api/n/x', { data: 'q2', qos: 2 });
    const a = await hashSub.next();
    assert.equal(a.topic, 'api/n/x');
    assert.equal(a.payload.toString(), '{"temp":20,"ok":true}');
    assert.equal(a.qos, 1, 'publications that name no QoS go out at QoS 1');
    const b = await hashSub.next();
    assert.equal(b.payload.toString(), 'plain text', 'a string is sent as its UTF-8 bytes');
    assert.equal((await hashSub.next()).qos, 2);
    assert.equal((await plusSub.next()).payload.toString(), '{"temp":20,"ok":true}');
    assert.equal((await plusSub.next()).payload.toString(), 'q2');
    // Deliveries come from the hub in its order: a later publication closes the list.
    await hub.publish('api/end/x', { data: 'end', qos: 0 });
    assert.deepEqual(await plusSub.upTo((m) => m.topic === 'api/end/x'), []);
    await Promise.all([hashSub.end(), plusSub.end()]);
  });

  test('a /chat message reaches MQTT subscribers of `chat`', async () => {
    const m = await MqttTestClient.connect(url);
    await m.subscribe('chat', 1);
    const chat = await TestClient.open(`${server.ws}/chat`);
    await chat.nextText();
    chat.send('from the browser');
    assert.equal((await m.next()).payload.toString(), 'from the browser');
    await chat.close();
    await m.end();
  });

  test('bytes round-trip exactly MQTT to MQTT; web doors see {$binary: base64}', async () => {
    const bytes = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) bytes[i] = 255 - i; // not UTF-8
    const sub = await MqttTestClient.connect(url);
    await sub.subscribe('bin/t', 2);
    const pub = await MqttTestClient.connect(url);
    for (const qos of [0, 1, 2] as const) {
      await pub.publish('bin/t', bytes, { qos });
      const m = await sub.next();
      assert.ok(m.payload.equals(bytes), `QoS ${qos} keeps every byte`);
    }
    // JSON-looking text is kept byte for byte too (whitespace, key order, number format).
    const jsonish = Buffer.from('{ "b":1,  "a":1.50 }');
    await pub.publish('bin/t', jsonish);
    assert.ok((await sub.next()).payload.equals(jsonish));
    const h = await server.herald.hub.history('bin/t');
    assert.deepEqual(h.publications[0].data, { $binary: bytes.toString('base64') });
    assert.equal(h.publications[0].binary, true);
    assert.deepEqual(h.publications[3].data, { b: 1, a: 1.5 });
    await Promise.all([sub.end(), pub.end()]);
  });

  test('no double delivery and no loop: overlapping filters, every door publishing', async () => {
    const { hub } = server.herald;
    const m = await MqttTestClient.connect(url);
    // Overlapping subscriptions of one client: the broker sends each message once.
    await m.subscribe(['dd/#', 'dd/+', 'dd/x'], 1);
    const other = await MqttTestClient.connect(url);
    await other.subscribe('dd/x', 2);
    const hubSub = hubCollector();
    (await hub.subscribe('dd/x', hubSub)).start();
    const pub = await MqttTestClient.connect(url);
    const N = 20;
    for (let i = 0; i < N; i++) {
      await pub.publish('dd/x', `m${i}`, { qos: (i % 3) as 0 | 1 | 2 });
      await hub.publish('dd/x', { data: `a${i}` });
    }
    const expected = N * 2;
    await until(() => hubSub.pubs.length >= expected, { what: `${expected} publications at the hub` });
    const h = await hub.history('dd/x');
    // MQTT keeps order per topic within one QoS (4.6, ordered topics): a marker on the same topic at
    // each QoS in use, published after everything, closes what each client can still be sent.
    for (const qos of [0, 1, 2] as const) await hub.publish('dd/x', { data: `end${qos}`, qos });
    const isEnd = (x: MqttMessage) => x.payload.toString().startsWith('end');
    const got = (await m.upTo(isEnd)).concat(await m.upTo(isEnd), await m.upTo(isEnd));
    const got2 = (await other.upTo(isEnd)).concat(await other.upTo(isEnd), await other.upTo(isEnd));
    const hubPubs = hubSub.pubs.filter((p) => !String(p.data).startsWith('end'));
    assert.equal(got.length, expected, 'each publication once to the overlapping subscriber');
    assert.equal(got2.length, expected);
    assert.equal(hubPubs.length, expected, 'each publication once to the hub subscriber');
    assert.equal(h.position.offset, expected, 'nothing looped back into the hub');
    assert.equal((await hub.history('dd/x')).position.offset, expected + 3, 'nor later (only the markers)');
    // MQTT orders messages of one QoS (4.6); at QoS 1 the hub's offset order is kept.
    const atQos1 = (x: string) => x.startsWith('a') || Number(x.slice(1)) % 3 === 1;
    const hubOrder = hubPubs.map((p) => String(p.data)).filter(atQos1);
    assert.deepEqual(payloads(got2).filter(atQos1), hubOrder);
    assert.deepEqual(payloads(got).sort(), hubPubs.map((p) => String(p.data)).sort());
    hub.unsubscribe('dd/x', hubSub);
    await Promise.all([m.end(), other.end(), pub.end()]);
  });

  test('QoS 2 is exactly once into the hub: a retransmitted PUBLISH (DUP) is not published again', async () => {
    const { hub } = server.herald;
    const watcher = await MqttTestClient.connect(url);
    await watcher.subscribe('once/t', 2);
    const raw = await RawMqtt.open(server.mqttPort!);
    raw.write(connectPacket('once'));
    raw.write(publishQos2Packet('once/t', 7, Buffer.from('one')));
    await raw.receivedAtLeast(8, 'CONNACK and the first PUBREC');
    raw.write(publishQos2Packet('once/t', 7, Buffer.from('one'), true));
    await raw.receivedAtLeast(12, 'the PUBREC of the retransmission');
    raw.write(pubrelPacket(7));
    await raw.receivedAtLeast(16, 'PUBCOMP');
    // CONNACK, PUBREC twice (one per PUBLISH), PUBCOMP.
    assert.deepEqual([...raw.received], [0x20, 2, 0, 0, 0x50, 2, 0, 7, 0x50, 2, 0, 7, 0x70, 2, 0, 7]);
    assert.equal((await hub.history('once/t')).position.offset, 1);
    assert.equal((await watcher.next()).payload.toString(), 'one');
    await hub.publish('once/t', { data: 'marker', qos: 2 });
    assert.deepEqual(payloads(await watcher.upTo((m) => m.payload.toString() === 'marker')), []);
    raw.destroy();
    await watcher.end();
  });

  test('$ topics stay out of the hub: a client PUBLISH to one is acknowledged and dropped', async () => {
    // The broker keeps no $SYS tree; `$` topics are never channels. 3.1.1 cannot refuse one PUBLISH,
    // so it is acknowledged (never left waiting) and dropped; an administrator subscribed to `$SYS/#`
    // sees nothing of it, and the hub never does.
    const { hub } = server.herald;
    const all = hubCollector();
    await hub.subscribePattern('#', all);
    const sys = await MqttTestClient.connect(url, ADMIN);
    await sys.subscribe('$SYS/#', 0);
    const writer = await MqttTestClient.connect(url);
    await writer.publish('$SYS/fake', 'x', { qos: 1 });
    await writer.publish('$SYS/fake', 'x', { qos: 2 });
    await writer.publish('sys-marker/t', 'marker', { qos: 1 });
    await until(() => all.pubs.some((p) => p.channel === 'sys-marker/t'), { what: 'the marker at the hub' });
    assert.deepEqual(
      all.pubs.filter((p) => p.channel.startsWith('$')),
      [],
    );
    assert.deepEqual(await sys.drain(200), [], 'nothing on $SYS/#');
    assert.equal(writer.client.connected, true, 'the writer stays connected');
    hub.unsubscribePattern('#', all);
    await Promise.all([sys.end(), writer.end()]);
  });

  test('MQTT over WebSocket at /mqtt with mqtt.js, bridged like TCP', async () => {
    const wsClient = await MqttTestClient.connect(`${server.ws}/mqtt`, { clientId: 'browser-1' });
    const tcp = await MqttTestClient.connect(url);
    await wsClient.subscribe('wsq/#', 1);
    await tcp.subscribe('wsq/#', 1);
    await tcp.publish('wsq/a', 'from tcp', { qos: 1 });
    await wsClient.publish('wsq/b', Buffer.from([0, 1, 2, 255]), { qos: 2 });
    assert.equal((await wsClient.next()).payload.toString(), 'from tcp');
    assert.ok((await wsClient.next()).payload.equals(Buffer.from([0, 1, 2, 255])));
    assert.equal((await tcp.next()).payload.toString(), 'from tcp');
    assert.ok((await tcp.next()).payload.equals(Buffer.from([0, 1, 2, 255])));
    const h = await server.herald.hub.history('wsq/b');
    assert.equal(h.publications[0].info?.client, 'browser-1');
    await Promise.all([wsClient.end(), tcp.end()]);
  });

  test('/mqtt refuses a WebSocket without the mqtt subprotocol, and closes a text frame with 1003', async () => {
    await assert.rejects(TestClient.open(`${server.ws}/mqtt`), /HTTP 400/);
    const watcher = await MqttTestClient.connect(url);
    await watcher.subscribe('txt/#', 0);
    const ws = await TestClient.open(`${server.ws}/mqtt`, undefined, 'mqtt');
    assert.equal(ws.ws.protocol, 'mqtt');
    // A valid CONNECT then a valid PUBLISH, but as text: it must never reach the broker.
    ws.send(connectPacket('texter'), true);
    const connack = await ws.next();
    assert.ok((connack.data as Buffer).equals(CONNACK_OK));
    ws.send(publishPacket('txt/a', Buffer.from('sneaky')).toString('latin1'));
    const closed = await ws.closed;
    assert.equal(closed.code, 1003);
    await server.herald.hub.publish('txt/end', { data: 'end', qos: 0 });
    assert.deepEqual(await watcher.upTo((m) => m.topic === 'txt/end'), []);
    assert.equal((await server.herald.hub.history('txt/a')).position.offset, 0);
    // A frame larger than any legal packet is refused by the WebSocket layer: 1009.
    const big = await TestClient.open(`${server.ws}/mqtt`, undefined, 'mqtt');
    big.send(connectPacket('big-frame'), true);
    await big.next();
    big.send(Buffer.alloc(MAX_PAYLOAD + 70_000), true);
    assert.equal((await big.closed).code, 1009);
    await watcher.end();
  });

  describe('bad input closes only that client', () => {
    let bystander: MqttTestClient;
    let n = 0;
    before(async () => {
      bystander = await MqttTestClient.connect(url);
      await bystander.subscribe('ok/#', 1);
    });
    after(() => bystander.end());

    /** After each bad client, another client still publishes and the bystander still receives. */
    async function othersGoOn(): Promise<void> {
      const c = await MqttTestClient.connect(url);
      const text = `still here ${++n}`;
      await c.publish('ok/t', text, { qos: 1 });
      assert.equal((await bystander.next()).payload.toString(), text);
      assert.equal(bystander.client.connected, true);
      await c.end();
    }

    test('malformed packet', async () => {
      const raw = await RawMqtt.open(server.mqttPort!);
      raw.write(connectPacket('garbler'));
      await raw.receivedAtLeast(4, 'CONNACK');
      raw.write(Buffer.from([0x00, 0x02, 0xde, 0xad])); // packet type 0 is reserved
      assert.equal(await raw.closedWithin(2000), true);
      const junk = await RawMqtt.open(server.mqttPort!);
      junk.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      assert.equal(await junk.closedWithin(2000), true);
      await othersGoOn();
    });

    test('publish to a topic with wildcards', async () => {
      for (const topic of ['ok/+', 'ok/#']) {
        const raw = await RawMqtt.open(server.mqttPort!);
        raw.write(connectPacket(`wild-${topic.length}`));
        raw.write(publishPacket(topic, Buffer.from('x')));
        assert.equal(await raw.closedWithin(2000), true, topic);
      }
      await server.herald.hub.publish('ok/end', { data: 'end', qos: 0 });
      assert.deepEqual(await bystander.upTo((m) => m.topic === 'ok/end'), []);
      await othersGoOn();
    });

    test('oversize payload, and a packet that only announces a huge size', async () => {
      const big = await MqttTestClient.connect(url);
      big.publish('ok/big', Buffer.alloc(MAX_PAYLOAD + 1, 1), { qos: 1 }).catch(() => {});
      await big.closed;
      // Declares 200 MB and sends nothing more: refused on the header, nothing buffered.
      const raw = await RawMqtt.open(server.mqttPort!);
      raw.write(connectPacket('huge'));
      raw.write(publishHeader(200_000_000));
      assert.equal(await raw.closedWithin(2000), true);
      // Exactly the limit is fine.
      const fits = await MqttTestClient.connect(url);
      await fits.publish('ok/fits', Buffer.alloc(MAX_PAYLOAD, 2), { qos: 1 });
      assert.equal((await bystander.next()).payload.length, MAX_PAYLOAD);
      await fits.end();
      assert.equal(
        (await server.herald.hub.history('ok/big')).position.offset,
        0,
        'nothing of it was published',
      );
      await othersGoOn();
    });

    test('a second CONNECT', async () => {
      const raw = await RawMqtt.open(server.mqttPort!);
      raw.write(connectPacket('twice'));
      await raw.receivedAtLeast(4, 'CONNACK');
      assert.deepEqual(raw.received.subarray(0, 4), CONNACK_OK);
      raw.write(connectPacket('twice'));
      assert.equal(await raw.closedWithin(2000), true);
      await othersGoOn();
    });

    test('an empty client id with a persistent session (MQTT-3.1.3-8)', async () => {
      await assert.rejects(MqttTestClient.connect(url, { clientId: '', clean: false, connectTimeout: 2000 }));
      await othersGoOn();
    });
  });
});

describe('MQTT shutdown', () => {
  test('stop closes TCP and WebSocket MQTT clients and finishes promptly', async () => {
    const s = await startHerald({ mqttPort: 'auto' });
    const tcp = await MqttTestClient.connect(`mqtt://127.0.0.1:${s.mqttPort}`);
    const ws = await MqttTestClient.connect(`${s.ws}/mqtt`);
    const started = Date.now();
    await s.stop();
    await Promise.all([tcp.closed, ws.closed]);
    assert.ok(Date.now() - started < 5000, 'shutdown does not wait for clients to leave');
    await assert.rejects(RawMqtt.open(s.mqttPort!), /ECONNREFUSED/);
    tcp.client.end(true);
    ws.client.end(true);
  });
});
