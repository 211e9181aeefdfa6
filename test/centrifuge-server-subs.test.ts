// Server-side subscriptions and the backend's control of a user's connections, as the unmodified
// SDK sees them: channels of the token's `channels` claim (with recovery on reconnect, and 3010
// when one loses state), and the server API's subscribe, unsubscribe, disconnect and refresh.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Centrifuge, PublicationContext, ServerSubscribedContext } from 'centrifuge';
import { SignJWT } from 'jose';
import { MemoryEngine } from '../src/engine/memory.js';
import type { EngineSink, Publication } from '../src/model/index.js';
import { once, sdkClient } from './helpers/centrifuge.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { api } from './helpers/http.js';
import { until } from './helpers/until.js';

const SECRET = 'a-test-secret-that-is-long-enough';

function token(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
    .sign(new TextEncoder().encode(SECRET));
}

/** A memory engine that can lose one live delivery, as a Pub/Sub message lost in a reconnect. */
class LossyEngine extends MemoryEngine {
  private readonly dropNext = new Set<string>();
  override async start(sink: EngineSink): Promise<void> {
    await super.start({
      ...sink,
      onPublication: (pub: Publication) => {
        if (this.dropNext.delete(pub.channel)) return;
        sink.onPublication(pub);
      },
    });
  }
  loseNextDelivery(channel: string): void {
    this.dropNext.add(channel);
  }
}

/** Every publication the client gets on its server-side subscriptions, as `channel:data`. */
function publications(c: Centrifuge): string[] {
  const seen: string[] = [];
  c.on('publication', (ctx: PublicationContext) => seen.push(`${ctx.channel}:${String(ctx.data)}`));
  return seen;
}

describe('server-side subscriptions with the centrifuge SDK', () => {
  let server: TestServer;
  const engine = new LossyEngine();
  const clients: Centrifuge[] = [];
  const client = async (claims: Record<string, unknown>) => {
    const c = sdkClient(server.ws, { token: await token(claims) });
    clients.push(c);
    return c;
  };
  const publish = async (channel: string, data: unknown) => {
    const res = await api(server.http, 'publish', { channel, data });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.error, undefined, res.text);
  };
  const call = async (method: string, params: object) => {
    const res = await api(server.http, method, params);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { result: {} });
  };

  before(async () => {
    server = await startHerald({ tokenHmacSecret: SECRET }, engine);
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await server.stop();
  });

  test("the token's channels are subscribed at connect and recovered after a reconnect", async () => {
    const c = await client({ sub: 'ann', channels: ['feed:ann', 'feed:all'] });
    const subscribed: ServerSubscribedContext[] = [];
    c.on('subscribed', (ctx) => subscribed.push(ctx));
    const seen = publications(c);
    c.connect();
    await until(() => subscribed.length === 2, { what: 'two server-side subscriptions' });
    assert.deepEqual(subscribed.map((s) => s.channel).sort(), ['feed:all', 'feed:ann']);
    assert.ok(subscribed.every((s) => s.recoverable && s.streamPosition !== undefined));

    await publish('feed:ann', 'one');
    await publish('feed:all', 'two');
    await until(() => seen.length === 2, { what: 'live publications', detail: () => seen.join() });
    assert.deepEqual(seen, ['feed:ann:one', 'feed:all:two']);

    // Away: the connect command carries each channel's position, and the server recovers them.
    c.disconnect();
    await publish('feed:ann', 'three');
    const again = until(() => subscribed.length === 4, { what: 'resubscribed on connect' });
    c.connect();
    await again;
    const recovered = subscribed.slice(2);
    assert.ok(
      recovered.every((s) => s.wasRecovering && s.recovered),
      JSON.stringify(recovered),
    );
    await until(() => seen.length === 3, { what: 'the missed publication', detail: () => seen.join() });
    assert.equal(seen[2], 'feed:ann:three');
    c.disconnect();
  });

  test('a server-side subscription that loses state reconnects the client (3010), which recovers', async () => {
    const c = await client({ sub: 'bob', channels: ['gap:bob'] });
    const seen = publications(c);
    const subscribed = once(c, 'subscribed');
    c.connect();
    await subscribed;
    await publish('gap:bob', 'first');
    await until(() => seen.length === 1, { what: 'the first publication' });
    const reconnecting = once<{ code: number }>(c, 'connecting');
    engine.loseNextDelivery('gap:bob');
    await publish('gap:bob', 'lost live'); // never delivered live: the next one reveals the gap
    await publish('gap:bob', 'after the gap');
    assert.equal((await reconnecting).code, 3010);
    await until(() => seen.length === 3, { what: 'the rest, by recovery', detail: () => seen.join() });
    assert.deepEqual(seen, ['gap:bob:first', 'gap:bob:lost live', 'gap:bob:after the gap']);
    c.disconnect();
  });

  test('the server API subscribes and unsubscribes every connection of a user', async () => {
    const [c1, c2] = [await client({ sub: 'cat' }), await client({ sub: 'cat' })];
    const other = await client({ sub: 'dan' });
    const seen = [publications(c1), publications(c2), publications(other)];
    for (const c of [c1, c2, other]) {
      const connected = once(c, 'connected');
      c.connect();
      await connected;
    }
    const subscribed = [c1, c2].map((c) => once<ServerSubscribedContext>(c, 'subscribed'));
    await call('subscribe', { user: 'cat', channel: 'desk:cat' });
    for (const ctx of await Promise.all(subscribed)) assert.equal(ctx.channel, 'desk:cat');

    await publish('desk:cat', 'hello');
    await until(() => seen[0].length === 1 && seen[1].length === 1, { what: 'both connections' });
    assert.deepEqual(seen[0], ['desk:cat:hello']);

    const unsubscribed = [c1, c2].map((c) => once<{ channel: string }>(c, 'unsubscribed'));
    await call('unsubscribe', { user: 'cat', channel: 'desk:cat' });
    for (const ctx of await Promise.all(unsubscribed)) assert.equal(ctx.channel, 'desk:cat');
    await publish('desk:cat', 'gone');
    // A later publication to a channel they do hold shows the first one was not delivered.
    await call('subscribe', { user: 'cat', channel: 'desk:cat2' });
    await until(() => c1.state === 'connected', { what: 'still connected' });
    await publish('desk:cat2', 'marker');
    await until(() => seen[0].length === 2, { what: 'the marker' });
    assert.deepEqual(seen[0], ['desk:cat:hello', 'desk:cat2:marker']);
    assert.deepEqual(seen[2], [], 'another user is untouched');
    for (const c of [c1, c2, other]) c.disconnect();
  });

  test('the server API disconnects one client of a user, or all of them, with a code', async () => {
    const [c1, c2] = [await client({ sub: 'eve' }), await client({ sub: 'eve' })];
    const ids: string[] = [];
    for (const c of [c1, c2]) {
      const connected = once<{ client: string }>(c, 'connected');
      c.connect();
      ids.push((await connected).client);
    }
    const first = once<{ code: number; reason: string }>(c1, 'disconnected');
    await call('disconnect', { user: 'eve', client: ids[0], disconnect: { code: 4501, reason: 'banned' } });
    assert.deepEqual({ ...(await first) }, { code: 4501, reason: 'banned' });
    assert.equal(c2.state, 'connected');

    // The default is Centrifugo's: force disconnect, 3503, no reconnect.
    const second = once<{ code: number }>(c2, 'disconnected');
    await call('disconnect', { user: 'eve' });
    assert.equal((await second).code, 3503);
  });

  test('the server API refreshes a connection: a new expiry, or expired at once', async () => {
    const c = await client({ sub: 'fay' });
    const connected = once(c, 'connected');
    c.connect();
    await connected;
    const expired = once<{ code: number }>(c, 'connecting', 10000);
    await call('refresh', { user: 'fay', expire_at: Math.floor(Date.now() / 1000) + 1 });
    assert.equal((await expired).code, 3005);
    await once(c, 'connected');
    const again = once<{ code: number }>(c, 'connecting');
    await call('refresh', { user: 'fay', expired: true });
    assert.equal((await again).code, 3005);
    c.disconnect();
  });

  test('the server API checks its parameters', async () => {
    const bad = await api(server.http, 'subscribe', { channel: 'x' });
    assert.equal(bad.json.error.code, 107);
    const code = await api(server.http, 'disconnect', { user: 'u', disconnect: { code: 1000, reason: '' } });
    assert.equal(code.json.error.code, 107);
  });
});
