// Connection tokens on /connection/websocket: HS256 JWTs with `sub` as the user and `exp` honoured.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Centrifuge } from 'centrifuge';
import { decodeJwt, SignJWT } from 'jose';
import WebSocket from 'ws';
import { once, RawClient, sdkClient, subscribed } from './helpers/centrifuge.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { until } from './helpers/until.js';

const SECRET = 'a-test-secret-that-is-long-enough';

function token(claims: Record<string, unknown>, expiresInSeconds?: number, secret = SECRET): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (expiresInSeconds !== undefined) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds);
  return jwt.sign(new TextEncoder().encode(secret));
}

/** The SDK's WebSocket, noting when each server ping (an empty command, `{}`) arrives. */
function pingWatchingWebSocket(pings: number[]) {
  return class extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols);
      this.on('message', (data: Buffer) => {
        for (const line of data.toString().split('\n')) if (line === '{}') pings.push(Date.now());
      });
    }
  };
}

describe('/connection/websocket connection tokens', () => {
  let server: TestServer;
  const clients: Centrifuge[] = [];
  const client = (opts = {}) => {
    const c = sdkClient(server.ws, opts);
    clients.push(c);
    return c;
  };

  before(async () => {
    server = await startHerald({ tokenHmacSecret: SECRET, clientPing: 1, clientPongTimeout: 2 });
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await server.stop();
  });

  test('a valid token connects as its `sub`, with its info as connection info', async () => {
    const c = client({ token: await token({ sub: 'alice', info: { name: 'Alice' } }, 60) });
    const sub = c.newSubscription('team');
    sub.subscribe();
    c.connect();
    await subscribed(sub);
    const p = await sub.presence();
    const [info] = Object.values(p.clients);
    assert.equal(info.user, 'alice');
    assert.deepEqual(info.connInfo, { name: 'Alice' });
    const stats = await sub.presenceStats();
    assert.deepEqual(stats, { numClients: 1, numUsers: 1 });
    c.disconnect();
  });

  test('no token is refused with 101 unauthorized, and the SDK does not retry', async () => {
    const c = client();
    const disconnected = once<{ code: number }>(c, 'disconnected');
    c.connect();
    assert.equal((await disconnected).code, 101);
  });

  test('a token signed with another secret is refused with 3500 invalid token', async () => {
    const c = client({ token: await token({ sub: 'mallory' }, 60, 'another-secret-entirely-0000000') });
    const disconnected = once<{ code: number; reason: string }>(c, 'disconnected');
    c.connect();
    const ctx = await disconnected;
    assert.equal(ctx.code, 3500);
    assert.equal(ctx.reason, 'invalid token');
  });

  test('an expired token gets 109; the SDK fetches a new one with getToken and connects', async () => {
    let calls = 0;
    const c = client({
      token: await token({ sub: 'bob' }, -10),
      getToken: async () => {
        calls++;
        return token({ sub: 'bob' }, 60);
      },
    });
    const errored = once<{ error: { code: number } }>(c, 'error');
    const connected = once(c, 'connected');
    c.connect();
    assert.equal((await errored).error.code, 109);
    await connected;
    assert.equal(calls, 1);
    c.disconnect();
  });

  test('a connection outlives its first token when the SDK refreshes it', async () => {
    let calls = 0;
    let firstExpiry = 0;
    const pings: number[] = [];
    const c = client({
      websocket: pingWatchingWebSocket(pings),
      getToken: async () => {
        calls++;
        const t = await token({ sub: 'carol' }, calls === 1 ? 2 : 60);
        if (calls === 1) firstExpiry = decodeJwt(t).exp! * 1000;
        return t;
      },
    });
    const drops: string[] = [];
    c.on('disconnected', (ctx) => drops.push(`disconnected ${ctx.code}`));
    const connected = once<{ client: string }>(c, 'connected');
    c.connect();
    const first = (await connected).client;
    c.on('connecting', (ctx) => drops.push(`connecting ${ctx.code}`));
    // The server's keepalive tick either ends a connection whose token ran out or pings it, and
    // pings again only once the previous ping was answered. The client answers a ping received
    // after the expiry after that expiry, so a second such ping was sent by a tick that found the
    // connection alive past the first token's expiry.
    await until(() => pings.filter((at) => at >= firstExpiry).length >= 2, {
      what: 'two server pings after the first token expired',
      timeoutMs: 10_000,
      detail: () => `pings at ${pings.map((at) => at - firstExpiry)} ms from the expiry; ${drops}`,
    });
    assert.deepEqual(drops, [], 'never disconnected');
    assert.equal(c.state, 'connected');
    assert.ok(calls >= 2, 'the token was refreshed');
    assert.equal((c as unknown as { _client: string })._client, first, 'same connection, no reconnect');
    c.disconnect();
  });

  test('a token that runs out without refresh ends the connection with 3005 expired', async () => {
    const c = await RawClient.open(server.ws);
    c.send({ id: 1, connect: { token: await token({ sub: 'dave' }, 2) } });
    const res = (await c.next()).connect as { expires: boolean; ttl: number };
    assert.equal(res.expires, true);
    assert.ok(res.ttl >= 1 && res.ttl <= 2);
    const closed = await c.closed;
    assert.equal(closed.code, 3005);
  });

  test('a refresh with a token of another user is refused with 3500', async () => {
    const c = await RawClient.open(server.ws);
    c.send({ id: 1, connect: { token: await token({ sub: 'erin' }, 60) } });
    await c.next();
    c.send({ id: 2, refresh: { token: await token({ sub: 'frank' }, 60) } });
    assert.equal((await c.closed).code, 3500);
  });
});
