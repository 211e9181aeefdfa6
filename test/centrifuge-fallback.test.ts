// The SDK's fallback transports (http_stream, sse + /emulation) driven by the unmodified SDK with no
// WebSocket in its transport list, as a client behind a proxy that blocks WebSocket would run it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Centrifuge, PublicationContext, SubscribedContext } from 'centrifuge';
import { Disconnects } from '../src/errors.js';
import { centrifugeServerOf } from '../src/transports/centrifuge/door.js';
import { sessionClock } from '../src/transports/centrifuge/keepalive.js';
import { once, sdkFallbackClient, subscribed } from './helpers/centrifuge.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { until } from './helpers/until.js';

for (const transport of ['http_stream', 'sse'] as const) {
  describe(`the centrifuge SDK over ${transport}`, () => {
    let server: TestServer;
    const clients: Centrifuge[] = [];
    const client = () => {
      const c = sdkFallbackClient(server.http, transport);
      clients.push(c);
      return c;
    };
    const sessions = () => [...(centrifugeServerOf(server.herald.hub)?.sessions ?? [])];

    before(async () => {
      server = await startHerald({ clientPing: 1, clientPongTimeout: 1 });
    });
    after(async () => {
      for (const c of clients) c.disconnect();
      await server.stop();
    });

    test('connects, subscribes, receives, publishes and answers pings', async () => {
      const c = client();
      const connected = once<{ transport: string }>(c, 'connected');
      c.connect();
      assert.equal((await connected).transport, transport);
      const sub = c.newSubscription(`fb:${transport}`, { recoverable: true });
      const seen: unknown[] = [];
      sub.on('publication', (ctx: PublicationContext) => seen.push(ctx.data));
      sub.subscribe();
      await subscribed(sub);
      await server.herald.hub.publish(sub.channel, { data: { from: 'hub' } });
      await sub.publish({ from: 'sdk' });
      await until(() => seen.length === 2, { what: 'both publications', detail: () => JSON.stringify(seen) });
      assert.deepEqual(seen, [{ from: 'hub' }, { from: 'sdk' }]);
      const history = await sub.history({ limit: 10 });
      assert.equal(history.publications.length, 2);
      // Pings every second, a pong timeout of one: staying up over three seconds means the SDK's
      // pongs reached the session through /emulation.
      const s = sessions().find((x) => x.id === (c as unknown as { _client: string })._client);
      assert.ok(s, 'the session is on this node');
      await until(() => s.lastPingAt > 0 && sessionClock() - s.connectedAt > 3000, {
        what: 'three seconds of pings',
        timeoutMs: 6000,
      });
      assert.equal(c.state, 'connected');
      assert.equal(s.isConnected, true);
      c.disconnect();
    });

    test('recovers what it missed after the server dropped the stream', async () => {
      const c = client();
      const sub = c.newSubscription(`drop:${transport}`, { recoverable: true });
      const seen: unknown[] = [];
      sub.on('publication', (ctx: PublicationContext) => seen.push(ctx.data));
      sub.subscribe();
      c.connect();
      await subscribed(sub);
      await server.herald.hub.publish(sub.channel, { data: 1 });
      await until(() => seen.length === 1, { what: 'the first publication' });
      const reconnecting = once(c, 'connecting');
      const resubscribed = once<SubscribedContext>(sub, 'subscribed');
      const id = (c as unknown as { _client: string })._client;
      for (const s of sessions()) if (s.id === id) s.transport.abort();
      await reconnecting;
      await server.herald.hub.publish(sub.channel, { data: 2 });
      const ctx = await resubscribed;
      assert.equal(ctx.wasRecovering, true);
      assert.equal(ctx.recovered, true);
      await until(() => seen.length === 2, { what: 'the missed publication' });
      await server.herald.hub.publish(sub.channel, { data: 3 });
      await until(() => seen.length === 3, { what: 'live again' });
      assert.deepEqual(seen, [1, 2, 3]);
      c.disconnect();
    });

    test('a server disconnect reaches the SDK in-band with its code', async () => {
      const c = client();
      c.connect();
      await once(c, 'connected');
      const id = (c as unknown as { _client: string })._client;
      const disconnected = once<{ code: number }>(c, 'disconnected');
      for (const s of sessions()) if (s.id === id) s.disconnect(Disconnects.FORCE_NO_RECONNECT);
      assert.equal((await disconnected).code, 3503);
    });
  });
}

describe('/emulation requests', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ maxMessageSize: 1024 });
  });
  after(() => server.stop());

  const post = (body: string) =>
    fetch(`${server.http}/emulation`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });

  test('are answered as the SDK expects: 204, 400 malformed, 404 unknown node, 413 too large', async () => {
    assert.equal((await post(JSON.stringify({ session: 'gone', node: '', data: '{}' }))).status, 204);
    assert.equal((await post('not json')).status, 400);
    assert.equal((await post(JSON.stringify({ session: 's', node: 'elsewhere', data: '{}' }))).status, 404);
    const big = JSON.stringify({ session: 's', node: '', data: 'x'.repeat(2000) });
    assert.equal((await post(big)).status, 413);
  });
});
