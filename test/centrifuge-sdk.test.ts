// /connection/websocket driven by the unmodified `centrifuge` SDK, as an application would use it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type {
  Centrifuge,
  JoinContext,
  LeaveContext,
  PublicationContext,
  SubscribedContext,
} from 'centrifuge';
import { MemoryEngine } from '../src/engine/memory.js';
import { centrifugeServerOf } from '../src/transports/centrifuge/door.js';
import { once, sdkClient, subscribed } from './helpers/centrifuge.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { until } from './helpers/until.js';
import { TestClient } from './helpers/ws.js';

describe('/connection/websocket with the centrifuge SDK', () => {
  let server: TestServer;
  const clients: Centrifuge[] = [];
  const idOf = (c: Centrifuge) => (c as unknown as { _client: string })._client;
  const client = (opts = {}) => {
    const c = sdkClient(server.ws, opts);
    clients.push(c);
    return c;
  };
  /** Closes every connection of the door from the server side, as a network failure would. */
  const killConnections = () => {
    const door = centrifugeServerOf(server.herald.hub);
    assert.ok(door, 'the door is registered');
    const n = door.sessions.size;
    for (const s of door.sessions) s.transport.abort();
    return n;
  };

  before(async () => {
    server = await startHerald({ channelOptions: { 'small:': { historySize: 2 } } });
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await server.stop();
  });

  test('connects and receives a publication made through the hub', async () => {
    const c = client();
    const connected = once<{ client: string }>(c, 'connected');
    const before = server.herald.hub.localStats().numClients;
    c.connect();
    assert.match((await connected).client, /^[0-9a-f-]{36}$/);
    assert.equal(server.herald.hub.localStats().numClients, before + 1);
    const sub = c.newSubscription('news');
    const got = once<PublicationContext>(sub, 'publication');
    sub.subscribe();
    await subscribed(sub);
    const pub = await server.herald.hub.publish('news', { data: { headline: 'hello' } });
    const ctx = await got;
    assert.deepEqual(ctx.data, { headline: 'hello' });
    assert.equal(ctx.offset, pub.offset);
    assert.equal(ctx.channel, 'news');
    c.disconnect();
    await until(() => server.herald.hub.localStats().numClients === before, {
      what: 'client count back',
      timeoutMs: 3000,
    });
  });

  test('a publication from the SDK reaches a /chat client, with the publisher in info', async () => {
    const chat = await TestClient.open(`${server.ws}/chat`);
    assert.equal(await chat.nextText(), 'Welcome to broadcast chat!');
    const c = client();
    const sub = c.newSubscription('chat');
    const own = once<PublicationContext>(sub, 'publication');
    sub.subscribe();
    c.connect();
    await subscribed(sub);
    await until(() => server.herald.hub.localSubscribers('chat') >= 2, {
      what: 'both subscribed',
      timeoutMs: 3000,
    });
    await c.publish('chat', 'hello from the SDK');
    assert.equal(await chat.nextText(), 'Broadcast: hello from the SDK');
    const ctx = await own;
    assert.equal(ctx.data, 'hello from the SDK');
    assert.equal(ctx.info?.client, idOf(c));
    await chat.close();
    c.disconnect();
  });

  test('presence, presence stats, join and leave between two clients', async () => {
    const a = client();
    const b = client();
    const subA = a.newSubscription('room:1', { joinLeave: true });
    const subB = b.newSubscription('room:1');
    const joined = once<JoinContext>(subA, 'join', 5000, (ctx) => ctx.info.client === idOf(b));
    subA.subscribe();
    a.connect();
    await subscribed(subA);
    subB.subscribe();
    b.connect();
    await subscribed(subB);
    const j = await joined;
    assert.equal(j.channel, 'room:1');
    const p = await subA.presence();
    assert.deepEqual(Object.keys(p.clients).sort(), [idOf(a), idOf(b)].sort());
    const stats = await subB.presenceStats();
    assert.equal(stats.numClients, 2);
    const left = once<LeaveContext>(subA, 'leave');
    const bId = idOf(b);
    b.disconnect();
    assert.equal((await left).info.client, bId);
    assert.deepEqual(Object.keys((await subA.presence()).clients), [idOf(a)]);
    a.disconnect();
  });

  test('history returns the newest publications and the stream position', async () => {
    for (let i = 1; i <= 5; i++) await server.herald.hub.publish('hist', { data: { i } });
    const c = client();
    c.connect();
    const sub = c.newSubscription('hist');
    sub.subscribe();
    await subscribed(sub);
    const h = await sub.history({ limit: 3 });
    assert.deepEqual(
      h.publications.map((p) => p.data),
      [{ i: 1 }, { i: 2 }, { i: 3 }],
    );
    assert.equal(h.offset, 5);
    const newest = await sub.history({ limit: 2, reverse: true });
    assert.deepEqual(
      newest.publications.map((p) => p.offset),
      [5, 4],
    );
    const pos = await sub.history({ since: { offset: 3, epoch: h.epoch }, limit: 10 });
    assert.deepEqual(
      pos.publications.map((p) => p.offset),
      [4, 5],
    );
    c.disconnect();
  });

  test('after a server-side kill the SDK recovers every missed publication exactly once, in order', async () => {
    const c = client();
    const sub = c.newSubscription('rec', { recoverable: true });
    const seen: number[] = [];
    sub.on('publication', (ctx) => seen.push(ctx.data.n));
    sub.subscribe();
    c.connect();
    await subscribed(sub);
    for (let n = 1; n <= 3; n++) await server.herald.hub.publish('rec', { data: { n } });
    await until(() => seen.length === 3, { what: 'live publications', timeoutMs: 3000 });

    const reconnecting = once(c, 'connecting');
    const resubscribed = once<SubscribedContext>(sub, 'subscribed');
    assert.ok(killConnections() >= 1);
    await reconnecting;
    // Published while the client is away.
    for (let n = 4; n <= 8; n++) await server.herald.hub.publish('rec', { data: { n } });
    const ctx = await resubscribed;
    assert.equal(ctx.wasRecovering, true);
    assert.equal(ctx.recovered, true);
    await until(() => seen.length >= 8, { what: 'recovered publications', timeoutMs: 3000 });
    await server.herald.hub.publish('rec', { data: { n: 9 } });
    await until(() => seen.length >= 9, { what: 'live after recovery', timeoutMs: 3000 });
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    c.disconnect();
  });

  test('when history no longer covers the gap the SDK is told recovered: false', async () => {
    const c = client();
    const sub = c.newSubscription('small:feed', { recoverable: true });
    const seen: number[] = [];
    sub.on('publication', (ctx) => seen.push(ctx.offset ?? -1));
    sub.subscribe();
    c.connect();
    await subscribed(sub);
    await server.herald.hub.publish('small:feed', { data: 'first' });
    await until(() => seen.length === 1, { what: 'first publication', timeoutMs: 3000 });

    const reconnecting = once(c, 'connecting');
    const resubscribed = once<SubscribedContext>(sub, 'subscribed');
    killConnections();
    await reconnecting;
    // History keeps 2: offsets 2..4 are published, 2 is lost.
    for (let i = 0; i < 3; i++) await server.herald.hub.publish('small:feed', { data: i });
    const ctx = await resubscribed;
    assert.equal(ctx.wasRecovering, true);
    assert.equal(ctx.recovered, false);
    assert.equal(ctx.streamPosition?.offset, 4);
    // Nothing partial is delivered as if it were complete: the next publication is a new one.
    await server.herald.hub.publish('small:feed', { data: 'next' });
    await until(() => seen.length > 1, { what: 'the next publication' });
    assert.deepEqual(seen, [1, 5]);
    c.disconnect();
  });

  test('a lost history (removeHistory) is reported as recovered: false too', async () => {
    const c = client();
    const sub = c.newSubscription('wiped', { recoverable: true });
    sub.subscribe();
    c.connect();
    await subscribed(sub);
    await server.herald.hub.publish('wiped', { data: 1 });
    const reconnecting = once(c, 'connecting');
    const resubscribed = once<SubscribedContext>(sub, 'subscribed');
    killConnections();
    await reconnecting;
    await server.herald.hub.publish('wiped', { data: 2 });
    await server.herald.hub.removeHistory('wiped');
    const ctx = await resubscribed;
    assert.equal(ctx.wasRecovering, true);
    assert.equal(ctx.recovered, false);
    c.disconnect();
  });

  test('insufficient state resubscribes that channel with 2500 and the SDK recovers it', async () => {
    const c = client();
    const sub = c.newSubscription('gap', { recoverable: true });
    const seen: unknown[] = [];
    sub.on('publication', (ctx) => seen.push(ctx.data));
    sub.subscribe();
    c.connect();
    await subscribed(sub);
    const resubscribing = once<{ code: number }>(sub, 'subscribing', 5000, (ctx) => ctx.code === 2500);
    const resubscribed = once<SubscribedContext>(sub, 'subscribed');
    for (const s of centrifugeServerOf(server.herald.hub)?.sessions ?? []) s.onInsufficientState('gap');
    await resubscribing;
    await server.herald.hub.publish('gap', { data: 'meanwhile' });
    assert.equal((await resubscribed).recovered, true);
    await until(() => seen.length === 1, { what: 'recovered publication', timeoutMs: 3000 });
    assert.deepEqual(seen, ['meanwhile']);
    assert.equal(c.state, 'connected');
    c.disconnect();
  });

  test('publishing is refused with 103 where client publishing is off', async () => {
    const s2 = await startHerald({ channelOptions: { 'ro:': { allowClientPublish: false } } });
    const c = sdkClient(s2.ws);
    try {
      c.connect();
      await once(c, 'connected');
      await assert.rejects(c.publish('ro:x', { a: 1 }), (err: { code: number }) => err.code === 103);
      await c.publish('rw:x', { a: 1 }); // other channels still accept
    } finally {
      c.disconnect();
      await s2.stop();
    }
  });

  // The hub publishes at once where the engine can (the memory engine's publishNow) and waits on
  // publish() where it cannot (Redis): a failure is the same answer either way.
  class FailingAtOnce extends MemoryEngine {
    override publishNow(): never {
      throw new Error('disk on fire');
    }
  }
  class FailingLater extends MemoryEngine {
    constructor() {
      super();
      // An engine that can only wait, as Redis.
      Object.defineProperty(this, 'publishNow', { value: undefined });
    }
    override async publish(): Promise<never> {
      await new Promise((r) => setImmediate(r));
      throw new Error('disk on fire');
    }
  }
  for (const [how, Engine] of [
    ['at once', FailingAtOnce],
    ['after a wait', FailingLater],
  ] as const) {
    test(`an engine failure (${how}) is a temporary error 150 and the connection stays up`, async () => {
      const s2 = await startHerald({}, new Engine());
      const c = sdkClient(s2.ws);
      try {
        c.connect();
        await once(c, 'connected');
        await assert.rejects(
          c.publish('any', { a: 1 }),
          (err: { code: number; temporary?: boolean }) => err.code === 150 && err.temporary === true,
        );
        assert.equal(c.state, 'connected');
        const sub = c.newSubscription('still-works');
        sub.subscribe();
        await subscribed(sub);
      } finally {
        c.disconnect();
        await s2.stop();
      }
    });
  }

  test('an RPC is answered with 104 method not found; the connection stays up', async () => {
    const c = client();
    c.connect();
    await once(c, 'connected');
    await assert.rejects(c.rpc('nothing', {}), (err: { code: number }) => err.code === 104);
    assert.equal(c.state, 'connected');
    c.disconnect();
  });

  test('shutdown disconnects SDK clients with 3001 (a code they reconnect after)', async () => {
    const s2 = await startHerald();
    const c = sdkClient(s2.ws);
    try {
      c.connect();
      await once(c, 'connected');
      const connecting = once<{ code: number; reason: string }>(c, 'connecting');
      await s2.stop();
      const ctx = await connecting;
      assert.equal(ctx.code, 3001);
      assert.equal(ctx.reason, 'shutdown');
    } finally {
      c.disconnect();
    }
  });
});
