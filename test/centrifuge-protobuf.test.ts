// The Protobuf encoding with the SDK's own Protobuf build, over WebSocket and http_stream:
// payloads are bytes, byte-exact whichever door they came in by, and recovery works.
//
// The SDK's Protobuf build (5.8.0) sends only the last command of a batch (encodeCommands forks its
// writer per command without closing the fork), so these tests never let it batch: they connect
// first and subscribe once connected, and recovery goes through server-side subscriptions (their
// positions travel inside the one connect command). A client-side subscription resubscribing
// on reconnect would be batched with the connect, and lost, by the SDK.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Centrifuge, type PublicationContext, type Subscription } from 'centrifuge/build/protobuf';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { once, sdkClient, subscribed } from './helpers/centrifuge.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { api } from './helpers/http.js';
import { MqttTestClient } from './helpers/mqtt.js';
import { until } from './helpers/until.js';

const SECRET = 'a-test-secret-that-is-long-enough';
const token = (claims: Record<string, unknown>) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
    .sign(new TextEncoder().encode(SECRET));

const OPTIONS = { minReconnectDelay: 50, maxReconnectDelay: 300, timeout: 5000 };
/** Bytes that are not UTF-8: they can only arrive intact as bytes. */
const BINARY = Uint8Array.from([0xff, 0x00, 0x80, 0xfe, 0x0a]);
const text = (b: unknown) => Buffer.from(b as Uint8Array).toString('utf8');

for (const transport of ['websocket', 'http_stream'] as const) {
  describe(`the SDK's Protobuf build over ${transport}`, () => {
    let server: TestServer;
    const clients: Centrifuge[] = [];
    const protobufClient = (opts: object = {}) => {
      const c =
        transport === 'websocket'
          ? new Centrifuge(`${server.ws}/connection/websocket`, {
              websocket: WebSocket,
              ...OPTIONS,
              ...opts,
            })
          : new Centrifuge([{ transport, endpoint: `${server.http}/connection/http_stream` }], {
              emulationEndpoint: `${server.http}/emulation`,
              ...OPTIONS,
              ...opts,
            });
      clients.push(c);
      return c;
    };
    const connect = async (c: Centrifuge) => {
      const connected = once<{ transport: string }>(c, 'connected');
      c.connect();
      assert.equal((await connected).transport, transport);
    };
    const subscribe = async (c: Centrifuge, channel: string, seen: unknown[]) => {
      const sub = c.newSubscription(channel);
      sub.on('publication', (ctx: PublicationContext) => seen.push(ctx.data));
      sub.subscribe();
      await subscribed(sub as unknown as Parameters<typeof subscribed>[0]);
      return sub;
    };
    const publish = async (body: object) => {
      const res = await api(server.http, 'publish', body);
      assert.equal(res.json?.error, undefined, res.text);
    };

    before(async () => {
      server = await startHerald({
        tokenHmacSecret: SECRET,
        allowClientConnectWithoutToken: true,
        mqttPort: 'auto',
      });
    });
    after(async () => {
      for (const c of clients) c.disconnect();
      await server.stop();
    });

    test('publications reach Protobuf clients as bytes, byte-exact, and JSON clients as JSON', async () => {
      const [a, b] = [protobufClient(), protobufClient()];
      const json = sdkClient(server.ws);
      clients.push(json as unknown as Centrifuge);
      for (const c of [a, b]) await connect(c);
      const seenA: unknown[] = [];
      const seenB: unknown[] = [];
      const seenJson: unknown[] = [];
      const subA: Subscription = await subscribe(a, 'bytes', seenA);
      await subscribe(b, 'bytes', seenB);
      const jsonSub = json.newSubscription('bytes');
      jsonSub.on('publication', (ctx) => seenJson.push(ctx.data));
      jsonSub.subscribe();
      json.connect();
      await subscribed(jsonSub);

      await publish({ channel: 'bytes', data: { hello: 'world' } });
      await publish({ channel: 'bytes', b64data: Buffer.from(BINARY).toString('base64') });
      await subA.publish(BINARY);
      await subA.publish(new TextEncoder().encode('{"from":"protobuf"}'));
      await until(() => seenA.length === 4 && seenB.length === 4 && seenJson.length === 4, {
        what: 'four publications on every client',
        detail: () => JSON.stringify({ a: seenA.length, b: seenB.length, json: seenJson }),
      });
      for (const seen of [seenA, seenB]) {
        assert.ok(seen.every((d) => d instanceof Uint8Array));
        assert.equal(text(seen[0]), '{"hello":"world"}');
        assert.deepEqual([...(seen[1] as Uint8Array)], [...BINARY]);
        assert.deepEqual([...(seen[2] as Uint8Array)], [...BINARY]);
        assert.equal(text(seen[3]), '{"from":"protobuf"}');
      }
      const b64 = Buffer.from(BINARY).toString('base64');
      assert.deepEqual(seenJson, [
        { hello: 'world' },
        { $binary: b64 },
        { $binary: b64 },
        { from: 'protobuf' },
      ]);
    });

    test('MQTT payloads and Protobuf publications cross over byte-exact', async () => {
      const c = protobufClient();
      await connect(c);
      const seen: unknown[] = [];
      const sub = await subscribe(c, 'wire', seen);
      const mqtt = await MqttTestClient.connect(`mqtt://127.0.0.1:${server.mqttPort}`);
      try {
        await mqtt.client.subscribeAsync('wire', { qos: 1 });
        await mqtt.client.publishAsync('wire', Buffer.from(BINARY), { qos: 1 });
        await until(() => seen.length === 1, { what: 'the MQTT payload' });
        assert.deepEqual([...(seen[0] as Uint8Array)], [...BINARY]);
        assert.deepEqual([...(await mqtt.next()).payload], [...BINARY], 'its own message back');
        const mine = Uint8Array.from([0x00, 0xc3, 0x28, 0x7b]);
        await sub.publish(mine);
        assert.deepEqual([...(await mqtt.next()).payload], [...mine]);
      } finally {
        await mqtt.client.endAsync();
      }
    });

    test('history, presence and errors in Protobuf replies', async () => {
      const c = protobufClient({ token: await token({ sub: 'pat', info: { role: 'x' } }) });
      await connect(c);
      const seen: unknown[] = [];
      const sub = await subscribe(c, 'kept', seen);
      await publish({ channel: 'kept', data: 'one' });
      await until(() => seen.length === 1, { what: 'the publication' });
      const h = await sub.history({ limit: 10 });
      assert.equal(h.publications.length, 1);
      assert.equal(text(h.publications[0].data), 'one');
      const p = await sub.presence();
      const [info] = Object.values(p.clients);
      assert.equal(info.user, 'pat');
      assert.deepEqual(JSON.parse(text(info.connInfo)), { role: 'x' });
      await assert.rejects(c.rpc('nothing', new Uint8Array()), (err: { code: number }) => err.code === 104);
    });

    test('server-side subscriptions recover over Protobuf after a reconnect', async () => {
      const c = protobufClient({ token: await token({ sub: 'quinn', channels: ['pb:quinn'] }) });
      const seen: string[] = [];
      c.on('publication', (ctx) => seen.push(text(ctx.data)));
      const first = once(c, 'subscribed');
      await connect(c);
      await first;
      await publish({ channel: 'pb:quinn', data: 'live' });
      await until(() => seen.length === 1, { what: 'the live publication' });
      c.disconnect();
      await publish({ channel: 'pb:quinn', data: 'missed' });
      const again = once<{ recovered: boolean }>(c, 'subscribed');
      await connect(c);
      assert.equal((await again).recovered, true);
      await until(() => seen.length === 2, { what: 'the missed publication', detail: () => seen.join() });
      assert.deepEqual(seen, ['live', 'missed']);
    });
  });
}
