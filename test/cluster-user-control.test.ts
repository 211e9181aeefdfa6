// The server API's per-user control on a cluster: the client is connected to node A, the backend
// calls node B, and the command reaches the client through the engine (node messages on Redis).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Centrifuge, PublicationContext, ServerSubscribedContext } from 'centrifuge';
import { SignJWT } from 'jose';
import { once, sdkClient } from './helpers/centrifuge.js';
import { TestCluster } from './helpers/cluster.js';
import { api } from './helpers/http.js';
import { needsRedis } from './helpers/redis.js';
import { until } from './helpers/until.js';

const skip = needsRedis();
const SECRET = 'a-test-secret-that-is-long-enough';

const token = (claims: Record<string, unknown>) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
    .sign(new TextEncoder().encode(SECRET));

describe('server API user control across two nodes', { skip }, () => {
  let cluster: TestCluster;
  let client: Centrifuge | undefined;

  before(async () => {
    cluster = await TestCluster.start([[], []], ['--token-hmac-secret', SECRET]);
  });
  after(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  const call = async (base: string, method: string, params: object) => {
    const res = await api(base, method, params);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.error, undefined, res.text);
    return res.json.result;
  };

  test('subscribe, unsubscribe and disconnect called on B reach a client on A', async () => {
    const [a, b] = cluster.nodes;
    const c = sdkClient(a.ws, { token: await token({ sub: 'gus', channels: ['inbox:gus'] }) });
    client = c;
    const seen: string[] = [];
    c.on('publication', (ctx: PublicationContext) => seen.push(`${ctx.channel}:${String(ctx.data)}`));
    const fromToken = once<ServerSubscribedContext>(c, 'subscribed');
    c.connect();
    assert.equal((await fromToken).channel, 'inbox:gus');

    const fromApi = once<ServerSubscribedContext>(c, 'subscribed');
    await call(b.http, 'subscribe', { user: 'gus', channel: 'room:gus' });
    assert.equal((await fromApi).channel, 'room:gus');

    await call(b.http, 'publish', { channel: 'inbox:gus', data: 'mail' });
    await call(b.http, 'publish', { channel: 'room:gus', data: 'talk' });
    await until(() => seen.length === 2, { what: 'both publications', detail: () => seen.join() });
    assert.deepEqual(seen.sort(), ['inbox:gus:mail', 'room:gus:talk']);

    const unsubscribed = once<{ channel: string }>(c, 'unsubscribed');
    await call(b.http, 'unsubscribe', { user: 'gus', channel: 'room:gus' });
    assert.equal((await unsubscribed).channel, 'room:gus');

    const disconnected = once<{ code: number; reason: string }>(c, 'disconnected');
    await call(b.http, 'disconnect', { user: 'gus', disconnect: { code: 4500, reason: 'bye' } });
    const d = await disconnected;
    assert.deepEqual({ code: d.code, reason: d.reason }, { code: 4500, reason: 'bye' });
  });
});
