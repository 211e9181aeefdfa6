// Who may reach the server API from where: browser origins, CORS, and the client address behind a
// reverse proxy. The API has no key in most of these, so "loopback" is the only gate a web page or
// a proxy could slip past.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';
import { api } from './helpers/http.js';

const PAGE = 'http://127.0.0.2:8000';

describe('server API: browser origins', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ apiAllowedOrigins: ['https://admin.example'] });
  });
  after(() => server.stop());

  const offsetOf = async (channel: string) =>
    (await api(server.http, 'history', { channel })).json.result.offset as number;

  test('a request with an unlisted Origin gets 403 with code 103 and publishes nothing', async () => {
    for (const origin of [
      PAGE,
      'null',
      'https://admin.example.evil.example',
      'https://ADMIN.example',
      'https://admin.example/',
    ]) {
      const a = await api(server.http, 'publish', { channel: 'origin:x', data: 1 }, { origin });
      assert.equal(a.status, 403, origin);
      assert.equal(a.json.error.code, 103, origin);
      assert.match(a.json.error.message, /apiAllowedOrigins/);
      assert.equal(a.headers.get('access-control-allow-origin'), null, origin);
    }
    assert.equal(await offsetOf('origin:x'), 0);
  });

  test('a listed origin is served, with CORS for that origin and never credentials', async () => {
    for (const origin of ['https://admin.example']) {
      const a = await api(server.http, 'publish', { channel: 'origin:ok', data: 1 }, { origin });
      assert.equal(a.status, 200, origin);
      assert.equal(a.headers.get('access-control-allow-origin'), origin);
      assert.equal(a.headers.get('access-control-allow-credentials'), null);
    }
    assert.equal(await offsetOf('origin:ok'), 1);
  });

  test('preflight: allowed for the listed origin only', async () => {
    const preflight = (origin: string) =>
      fetch(`${server.http}/api/publish`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, x-api-key',
        },
      });
    const ok = await preflight('https://admin.example');
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://admin.example');
    assert.equal(ok.headers.get('access-control-allow-methods'), 'POST');
    assert.match(ok.headers.get('access-control-allow-headers') ?? '', /content-type/);
    assert.equal(ok.headers.get('access-control-allow-credentials'), null);
    const no = await preflight(PAGE);
    assert.equal(no.headers.get('access-control-allow-origin'), null);
  });

  test('with no apiAllowedOrigins the API answers no browser, and its preflight is not found', async () => {
    const closed = await startHerald();
    try {
      const a = await api(closed.http, 'info', {}, { origin: `http://127.0.0.1:${closed.port}` });
      assert.equal(a.status, 403, 'not even a page served from Herald itself: its Host may be rebound');
      const pre = await fetch(`${closed.http}/api/publish`, {
        method: 'OPTIONS',
        headers: { origin: PAGE, 'access-control-request-method': 'POST' },
      });
      assert.equal(pre.status, 404);
      assert.equal(pre.headers.get('access-control-allow-origin'), null);
      // The doors keep their allow-all CORS; only the API is closed.
      const health = await fetch(`${closed.http}/healthz`, { headers: { origin: PAGE } });
      assert.equal(health.headers.get('access-control-allow-origin'), '*');
      assert.equal((await api(closed.http, 'info')).status, 200, 'backends without Origin are served');
    } finally {
      await closed.stop();
    }
  });

  test('the origin is checked even when the right API key comes with it', async () => {
    const keyed = await startHerald({ apiKey: 'k', apiAllowedOrigins: ['https://admin.example'] });
    try {
      const evil = await api(
        keyed.http,
        'publish',
        { channel: 'o', data: 1 },
        { origin: PAGE, 'x-api-key': 'k' },
      );
      assert.equal(evil.status, 403);
      const noKey = await api(
        keyed.http,
        'publish',
        { channel: 'o', data: 1 },
        { origin: 'https://admin.example' },
      );
      assert.equal(noKey.status, 401, 'a listed origin still needs the key');
      const ok = await api(
        keyed.http,
        'publish',
        { channel: 'o', data: 1 },
        { origin: 'https://admin.example', 'x-api-key': 'k' },
      );
      assert.equal(ok.json.result.offset, 1);
    } finally {
      await keyed.stop();
    }
  });
});

describe('server API: the client address behind a reverse proxy (trustProxy)', () => {
  // Requests come from 127.0.0.1, which is what a proxy on the same host looks like to Herald.
  test('without trustProxy, X-Forwarded-For is ignored both ways', async () => {
    const server = await startHerald();
    try {
      const viaProxy = await api(server.http, 'info', {}, { 'x-forwarded-for': '203.0.113.5' });
      assert.equal(viaProxy.status, 200, 'the socket is loopback: every caller of a local proxy is "local"');
      const forged = await server.herald.app.inject({
        method: 'POST',
        url: '/api/publish',
        remoteAddress: '10.0.0.7',
        headers: { 'x-forwarded-for': '127.0.0.1' },
        payload: { channel: 'proxy:x', data: 1 },
      });
      assert.equal(forged.statusCode, 401, 'a remote caller cannot claim to be loopback');
    } finally {
      await server.stop();
    }
  });

  test('with trustProxy, the loopback check uses the forwarded client address', async () => {
    const server = await startHerald({ trustProxy: ['127.0.0.1'] });
    try {
      const remote = await api(
        server.http,
        'publish',
        { channel: 'proxy:p', data: 1 },
        {
          'x-forwarded-for': '203.0.113.5',
        },
      );
      assert.equal(remote.status, 401, 'a remote client through the local proxy');
      assert.equal(remote.json.error.code, 101);
      // The client put 127.0.0.1 in the header itself; the proxy appended the real address.
      const spoofed = await api(
        server.http,
        'publish',
        { channel: 'proxy:p', data: 1 },
        {
          'x-forwarded-for': '127.0.0.1, 203.0.113.5',
        },
      );
      assert.equal(spoofed.status, 401, 'only the addresses the trusted proxy added count');
      const local = await api(
        server.http,
        'publish',
        { channel: 'proxy:p', data: 1 },
        {
          'x-forwarded-for': '127.0.0.1',
        },
      );
      assert.equal(local.json.result.offset, 1, 'a local client through the proxy');
      const direct = await api(server.http, 'publish', { channel: 'proxy:p', data: 2 });
      assert.equal(direct.json.result.offset, 2, 'a local backend calling Herald directly');
      const untrusted = await server.herald.app.inject({
        method: 'POST',
        url: '/api/publish',
        remoteAddress: '10.0.0.7',
        headers: { 'x-forwarded-for': '127.0.0.1' },
        payload: { channel: 'proxy:p', data: 3 },
      });
      assert.equal(untrusted.statusCode, 401, 'X-Forwarded-For from a host that is not a trusted proxy');
      assert.equal((await api(server.http, 'history', { channel: 'proxy:p' })).json.result.offset, 2);
    } finally {
      await server.stop();
    }
  });

  test('a CIDR of proxies; bad entries and true are refused at start, naming the option', async () => {
    const server = await startHerald({ trustProxy: ['10.0.0.0/8'] });
    try {
      const viaLan = await server.herald.app.inject({
        method: 'POST',
        url: '/api/info',
        remoteAddress: '10.1.2.3',
        headers: { 'x-forwarded-for': '127.0.0.1' },
        payload: {},
      });
      assert.equal(viaLan.statusCode, 200);
      const viaLanRemote = await server.herald.app.inject({
        method: 'POST',
        url: '/api/info',
        remoteAddress: '10.1.2.3',
        headers: { 'x-forwarded-for': '198.51.100.1' },
        payload: {},
      });
      assert.equal(viaLanRemote.statusCode, 401);
    } finally {
      await server.stop();
    }
    for (const bad of [['not-an-ip'], ['10.0.0.0/33'], true]) {
      await assert.rejects(startHerald({ trustProxy: bad as never }), /--trust-proxy/, JSON.stringify(bad));
    }
  });
});
