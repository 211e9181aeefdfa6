// One channel policy on every door: a forbidden subscribe is refused and receives nothing, a
// forbidden publish is refused and reaches neither history nor subscribers. Publications here are
// made by the server itself (the hub, as the server API does), which no policy limits.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { configFrom, OPEN_NAMESPACE } from '../src/config.js';
import { RawClient } from './helpers/centrifuge.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { get, poll } from './helpers/http.js';
import { MqttTestClient } from './helpers/mqtt.js';
import { TestClient } from './helpers/ws.js';

const SECRET = 'channel-policy-test-secret-0123456789';
const key = new TextEncoder().encode(SECRET);
const token = (claims: Record<string, unknown>) =>
  new SignJWT({ exp: Math.floor(Date.now() / 1000) + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(key);

const CONFIG = {
  tokenHmacSecret: SECRET,
  allowClientConnectWithoutToken: true,
  mqttPort: 'auto' as const,
  mqttUsers: { alice: 'alice-pw', bob: 'bob-pw' },
  // The product default: channels outside a configured namespace are closed.
  defaultNamespace: {},
  namespaces: {
    chat: OPEN_NAMESPACE,
    // Anyone may read, nobody may write (only the server).
    public: { allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true },
    dm: { allow_user_limited_channels: true },
    team: {
      allow_subscribe_for_client: true,
      allow_presence_for_client: true,
      join_leave: true,
      force_push_join_leave: true,
    },
  },
};

/** A WebSocket-protocol client, connected with this token (or anonymously). */
async function wsClient(server: TestServer, jwt?: string): Promise<RawClient> {
  const c = await RawClient.open(server.ws);
  c.send({ id: 1, connect: jwt ? { token: jwt } : {} });
  const reply = await c.next();
  assert.ok(reply.connect, JSON.stringify(reply));
  return c;
}

let nextId = 10;
async function command(c: RawClient, method: string, params: object): Promise<Record<string, unknown>> {
  const id = nextId++;
  c.send({ id, [method]: params });
  for (;;) {
    const reply = await c.next();
    if (reply.id === id) return reply;
  }
}
/** SUBACK's return codes for these filters, in order (mqtt.js rejects a SUBACK holding 0x80). */
async function granted(m: MqttTestClient, filters: Record<string, { qos: 0 | 1 | 2 }>): Promise<number[]> {
  try {
    const packet = await m.client.subscribeAsync(filters);
    return packet.map((g) => g.qos);
  } catch (err) {
    const suback = (err as { packet?: { granted?: number[] } }).packet;
    if (!suback?.granted) throw err;
    return suback.granted;
  }
}

const errorCode = (reply: Record<string, unknown>) => (reply.error as { code: number } | undefined)?.code;

describe('channel policy, product defaults', () => {
  test('only the seed chat room is open; every other channel is closed to clients', () => {
    const c = configFrom({});
    assert.deepEqual(c.defaultNamespace, {});
    assert.deepEqual(Object.keys(c.namespaces), ['chat']);
    assert.equal(c.namespaces.chat.allow_publish_for_anonymous, true);
  });

  test('a server with the defaults serves chat to anyone and refuses news (103)', async () => {
    const server = await startHerald({ defaultNamespace: {} });
    try {
      assert.equal((await poll(server.http, ['chat'], { timeout: 0 })).status, 200);
      const news = await poll(server.http, ['news'], { timeout: 0 });
      assert.equal(news.status, 403);
      assert.equal(news.json.error.code, 103);
      const typo = await poll(server.http, ['nosuchnamespace:x'], { timeout: 0 });
      assert.equal(typo.status, 403, 'an unconfigured namespace follows the (closed) default');
    } finally {
      await server.stop();
    }
  });
});

describe('channel policy on every door', () => {
  let server: TestServer;
  const publish = (channel: string, data: unknown) => server.herald.hub.publish(channel, { data });
  const historyOf = async (channel: string) =>
    (await server.herald.hub.history(channel, { limit: 100 })).publications.map((p) => p.data);

  before(async () => {
    server = await startHerald(CONFIG);
  });
  after(() => server.stop());

  test('WebSocket protocol: forbidden subscribe and publish get 103; nothing leaks', async () => {
    const c = await wsClient(server);
    assert.equal(errorCode(await command(c, 'subscribe', { channel: 'secret:plans' })), 103);
    assert.equal(errorCode(await command(c, 'history', { channel: 'secret:plans' })), 103);
    assert.equal(errorCode(await command(c, 'presence', { channel: 'secret:plans' })), 103);
    const ok = await command(c, 'subscribe', { channel: 'public:news' });
    assert.equal(errorCode(ok), undefined);
    await publish('secret:plans', 'leak');
    await publish('public:news', 'marker');
    const push = await c.next();
    assert.deepEqual((push.push as { pub: { data: unknown } }).pub.data, 'marker', 'no secret before it');

    assert.equal(errorCode(await command(c, 'publish', { channel: 'public:news', data: 'forged' })), 103);
    assert.equal(errorCode(await command(c, 'publish', { channel: 'secret:plans', data: 'forged' })), 103);
    await publish('public:news', 'marker-2');
    assert.deepEqual(((await c.next()).push as { pub: { data: unknown } }).pub.data, 'marker-2');
    assert.deepEqual(await historyOf('public:news'), ['marker', 'marker-2']);
    assert.deepEqual(await historyOf('secret:plans'), ['leak']);
    await c.close();
  });

  test('SSE: a forbidden channel is refused with 403 and the catalogue body, even among allowed ones', async () => {
    await publish('secret:sse', 'in history');
    for (const q of ['channel=secret:sse', 'channel=public:news&channel=secret:sse']) {
      const a = await get(`${server.http}/sse?${q}`);
      assert.equal(a.status, 403, q);
      assert.equal(a.json.error.code, 103);
      assert.doesNotMatch(a.text, /in history/);
    }
  });

  test('polling: a forbidden channel is refused with 403 and no history', async () => {
    await publish('secret:poll', 'in history');
    const a = await poll(server.http, ['secret:poll'], { timeout: 0 });
    assert.equal(a.status, 403);
    assert.equal(a.json.error.code, 103);
    assert.doesNotMatch(a.text, /in history/);
    const b = await poll(server.http, ['public:news'], { timeout: 0 });
    assert.equal(b.status, 200);
  });

  test('MQTT: SUBACK 0x80 for forbidden filters; a forbidden publish is acknowledged and dropped', async () => {
    const m = await MqttTestClient.connect(`mqtt://127.0.0.1:${server.mqttPort}`);
    // MQTT allows a wildcard only as a whole level, so a namespace's channels are reached from
    // their first level on: public:news/# is all in namespace `public`; # and +/x reach every
    // namespace, and `secret` is closed.
    assert.deepEqual(
      await granted(m, {
        'secret:plans': { qos: 1 },
        '#': { qos: 1 },
        '+/x': { qos: 1 },
        '$SYS/#': { qos: 0 },
        'public:news/#': { qos: 1 },
      }),
      [128, 128, 128, 128, 1],
    );
    await m.publish('public:news', 'forged', { qos: 1 });
    await m.publish('secret:plans', 'forged', { qos: 1 });
    // A user-limited channel inside an allowed wildcard: not delivered to anyone else.
    await publish('public:news/~alice', 'for alice only');
    await publish('secret:plans', 'leak');
    await publish('public:news', 'marker');
    const got = await m.next();
    assert.deepEqual([got.topic, got.payload.toString()], ['public:news', 'marker']);
    assert.equal((await historyOf('public:news')).includes('forged'), false);
    assert.equal((await historyOf('secret:plans')).includes('forged'), false);
    await m.end();
  });

  test("MQTT: a persistent session's client id belongs to its user", async () => {
    const url = `mqtt://127.0.0.1:${server.mqttPort}`;
    const as = (username?: string, password?: string) =>
      MqttTestClient.connect(url, { clientId: 'alice-phone', clean: false, username, password });
    const alice = await as('alice', 'alice-pw');
    // Not even while it is connected: a takeover would disconnect alice.
    await assert.rejects(as('bob', 'bob-pw'), (err: { code?: number }) => err.code === 5);
    await alice.end();
    await assert.rejects(as('bob', 'bob-pw'), (err: { code?: number }) => err.code === 5);
    await assert.rejects(as(), (err: { code?: number }) => err.code === 5);
    const back = await as('alice', 'alice-pw');
    await back.end();
  });

  test('MQTT: a token as the password is an identity like any other', async () => {
    const url = `mqtt://127.0.0.1:${server.mqttPort}`;
    const m = await MqttTestClient.connect(url, {
      username: 'anything',
      password: await token({ sub: 'carol', channels: ['secret:carol'] }),
    });
    assert.deepEqual(await granted(m, { 'secret:carol': { qos: 1 }, 'secret:plans': { qos: 1 } }), [1, 128]);
    await m.end();
    await assert.rejects(
      MqttTestClient.connect(url, { username: 'x', password: 'not-a-token' }),
      (err: { code?: number }) => err.code === 4,
    );
  });

  test('/chat: a room closed by configuration refuses the upgrade; a read-only room drops nothing into history', async () => {
    const closed = await startHerald({ ...CONFIG, mqttPort: 0, namespaces: {} });
    const readOnly = await startHerald({
      ...CONFIG,
      mqttPort: 0,
      namespaces: { chat: { allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true } },
    });
    const required = await startHerald({ ...CONFIG, mqttPort: 0, chatRequireToken: true });
    try {
      await assert.rejects(TestClient.open(`${closed.ws}/chat`), /HTTP 403/);
      await assert.rejects(TestClient.open(`${required.ws}/chat`), /HTTP 401/);
      await assert.rejects(TestClient.open(`${required.ws}/chat?token=garbage`), /HTTP 401/);
      const member = await TestClient.open(`${required.ws}/chat?token=${await token({ sub: 'dave' })}`);
      assert.equal(await member.nextText(), 'Welcome to broadcast chat!');
      await member.close();

      const speaker = await TestClient.open(`${readOnly.ws}/chat`);
      const listener = await TestClient.open(`${readOnly.ws}/chat`);
      await speaker.nextText();
      await listener.nextText();
      speaker.send('forged');
      const closedWith = await speaker.closed;
      assert.equal(closedWith.code, 1008);
      await readOnly.herald.hub.publish('chat', { data: 'marker' });
      assert.equal(await listener.nextText(), 'Broadcast: marker', 'the forged message never came');
      const h = await readOnly.herald.hub.history('chat', { limit: 10 });
      assert.deepEqual(
        h.publications.map((p) => p.data),
        ['marker'],
      );
      await listener.close();
    } finally {
      await Promise.all([closed.stop(), readOnly.stop(), required.stop()]);
    }
  });

  test('subscription tokens and the channels claim open single private channels', async () => {
    const alice = await wsClient(server, await token({ sub: 'alice', channels: ['secret:granted'] }));
    assert.equal(errorCode(await command(alice, 'subscribe', { channel: 'secret:alice-room' })), 103);
    const forBob = await token({ sub: 'bob', channel: 'secret:alice-room' });
    assert.equal(
      errorCode(await command(alice, 'subscribe', { channel: 'secret:alice-room', token: forBob })),
      103,
    );
    const otherRoom = await token({ sub: 'alice', channel: 'secret:other' });
    assert.equal(
      errorCode(await command(alice, 'subscribe', { channel: 'secret:alice-room', token: otherRoom })),
      103,
    );
    const right = await token({ sub: 'alice', channel: 'secret:alice-room' });
    assert.equal(
      errorCode(await command(alice, 'subscribe', { channel: 'secret:alice-room', token: right })),
      undefined,
    );
    // The claim's channels are server-side subscriptions, made at connect (as in Centrifugo): the
    // connection holds it already, closed namespace or not.
    assert.equal(errorCode(await command(alice, 'subscribe', { channel: 'secret:granted' })), 105);
    await alice.close();
  });

  test('user-limited channels (name~user1,user2) admit the listed users only', async () => {
    const alice = await wsClient(server, await token({ sub: 'alice' }));
    const carol = await wsClient(server, await token({ sub: 'carol' }));
    const anonymous = await wsClient(server);
    assert.equal(errorCode(await command(alice, 'subscribe', { channel: 'dm:~alice,bob' })), undefined);
    assert.equal(errorCode(await command(carol, 'subscribe', { channel: 'dm:~alice,bob' })), 103);
    assert.equal(errorCode(await command(anonymous, 'subscribe', { channel: 'dm:~alice,bob' })), 103);
    assert.equal(errorCode(await command(anonymous, 'subscribe', { channel: 'dm:~' })), 103);
    await Promise.all([alice.close(), carol.close(), anonymous.close()]);
  });

  test("presence and join pushes show client and user ids, not other users' connection info", async () => {
    const alice = await wsClient(server, await token({ sub: 'alice', info: { email: 'alice@example.com' } }));
    const bob = await wsClient(server, await token({ sub: 'bob' }));
    assert.equal(errorCode(await command(bob, 'subscribe', { channel: 'team:1' })), undefined);
    assert.equal(errorCode(await command(alice, 'subscribe', { channel: 'team:1' })), undefined);
    // Bob did not ask for join/leave; the namespace forces it (his own join comes first).
    let join: { join: { info: Record<string, unknown> } };
    do join = (await bob.next()).push as typeof join;
    while (join.join.info.user !== 'alice');
    assert.equal(join.join.info.user, 'alice');
    assert.equal(join.join.info.conn_info, undefined);
    const p = await command(bob, 'presence', { channel: 'team:1' });
    const clients = Object.values((p.presence as { presence: Record<string, object> }).presence);
    assert.equal(clients.length, 2);
    assert.doesNotMatch(JSON.stringify(clients), /alice@example.com/);
    await Promise.all([alice.close(), bob.close()]);
  });
});
