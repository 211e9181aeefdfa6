import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';
import { api } from './helpers/http.js';
import { TestClient } from './helpers/ws.js';

describe('server API: methods', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ maxRequestBody: 4096 });
  });
  after(() => server.stop());

  test('publish returns offset and epoch; offsets grow by one', async () => {
    const a = await api(server.http, 'publish', { channel: 'api:pub', data: { n: 1 } });
    assert.equal(a.status, 200);
    assert.equal(a.json.result.offset, 1);
    assert.match(a.json.result.epoch, /^\w+$/);
    const b = await api(server.http, 'publish', { channel: 'api:pub', data: 'two' });
    assert.deepEqual(b.json.result, { offset: 2, epoch: a.json.result.epoch });
    assert.equal(a.headers.get('content-type')?.startsWith('application/json'), true);
  });

  test('publish with b64data carries binary bytes', async () => {
    const a = await api(server.http, 'publish', {
      channel: 'api:bin',
      b64data: Buffer.from([0, 255]).toString('base64'),
    });
    assert.equal(a.json.result.offset, 1);
    const h = await api(server.http, 'history', { channel: 'api:bin', limit: -1 });
    assert.deepEqual(h.json.result.publications[0].data, { $binary: 'AP8=' });
  });

  test('broadcast answers each channel in order, a bad name only fails its own entry', async () => {
    const a = await api(server.http, 'broadcast', { channels: ['api:b1', 'bad#name', 'api:b2'], data: 'x' });
    assert.equal(a.status, 200);
    const [r1, r2, r3] = a.json.result.responses;
    assert.equal(r1.result.offset, 1);
    assert.equal(r2.error.code, 107);
    assert.equal(r3.result.offset, 1);
    const h = await api(server.http, 'history', { channel: 'api:b2', limit: -1 });
    assert.equal(h.json.result.publications[0].data, 'x');
  });

  test('history: limit, since and reverse, Centrifugo field names', async () => {
    const ch = 'api:hist';
    for (let i = 1; i <= 5; i++) await api(server.http, 'publish', { channel: ch, data: { i } });
    const top = await api(server.http, 'history', { channel: ch });
    assert.deepEqual(top.json.result.publications, [], 'no limit = only the position');
    assert.equal(top.json.result.offset, 5);
    const epoch = top.json.result.epoch;
    const all = await api(server.http, 'history', { channel: ch, limit: -1 });
    assert.deepEqual(
      all.json.result.publications.map((p: { offset: number; data: { i: number } }) => [p.offset, p.data.i]),
      [
        [1, 1],
        [2, 2],
        [3, 3],
        [4, 4],
        [5, 5],
      ],
    );
    assert.deepEqual(Object.keys(all.json.result.publications[0]).sort(), ['data', 'offset']);
    const since = await api(server.http, 'history', { channel: ch, limit: 2, since: { offset: 2, epoch } });
    assert.deepEqual(
      since.json.result.publications.map((p: { offset: number }) => p.offset),
      [3, 4],
    );
    const rev = await api(server.http, 'history', { channel: ch, limit: 2, reverse: true });
    assert.deepEqual(
      rev.json.result.publications.map((p: { offset: number }) => p.offset),
      [5, 4],
    );
    const wrong = await api(server.http, 'history', {
      channel: ch,
      limit: 2,
      since: { offset: 2, epoch: 'other' },
    });
    assert.equal(wrong.status, 200);
    assert.equal(wrong.json.error.code, 112);
  });

  test('history_remove empties history but keeps the offset sequence', async () => {
    const ch = 'api:rm';
    await api(server.http, 'publish', { channel: ch, data: 1 });
    await api(server.http, 'publish', { channel: ch, data: 2 });
    assert.deepEqual((await api(server.http, 'history_remove', { channel: ch })).json, { result: {} });
    const h = await api(server.http, 'history', { channel: ch, limit: -1 });
    assert.deepEqual(h.json.result.publications, []);
    assert.equal(h.json.result.offset, 2);
    assert.equal((await api(server.http, 'publish', { channel: ch, data: 3 })).json.result.offset, 3);
  });

  test('presence and presence_stats report who the hub knows is present', async () => {
    const ch = 'api:presence';
    await server.herald.hub.join(
      ch,
      { client: 'c1', user: 'u1', transport: 'test', connInfo: { a: 1 } },
      false,
    );
    await server.herald.hub.join(ch, { client: 'c2', user: 'u1', transport: 'test' }, false);
    const p = await api(server.http, 'presence', { channel: ch });
    assert.deepEqual(p.json.result.presence, {
      c1: { client: 'c1', user: 'u1', conn_info: { a: 1 } },
      c2: { client: 'c2', user: 'u1' },
    });
    const s = await api(server.http, 'presence_stats', { channel: ch });
    assert.deepEqual(s.json.result, { num_clients: 2, num_users: 1 });
  });

  test('channels lists subscribed channels with their subscriber counts, and filters by pattern', async () => {
    const chat = await TestClient.open(`${server.ws}/chat`);
    await chat.nextText(); // welcome
    const all = await api(server.http, 'channels', {});
    assert.deepEqual(all.json.result.channels.chat, { num_clients: 1 });
    const none = await api(server.http, 'channels', { pattern: 'news:*' });
    assert.deepEqual(none.json.result.channels, {});
    const some = await api(server.http, 'channels', { pattern: 'ch*' });
    assert.deepEqual(Object.keys(some.json.result.channels), ['chat']);
    await chat.close();
  });

  test('info describes this node', async () => {
    const chat = await TestClient.open(`${server.ws}/chat`);
    await chat.nextText();
    const a = await api(server.http, 'info');
    const [node] = a.json.result.nodes;
    assert.equal(a.json.result.nodes.length, 1);
    assert.equal(typeof node.name, 'string');
    assert.equal(node.num_clients, 1);
    assert.ok(node.num_subs >= 1);
    assert.ok(node.num_channels >= 1);
    assert.equal(typeof node.uptime, 'number');
    await chat.close();
  });

  test('batch runs commands in order, both command shapes, errors in place', async () => {
    const a = await api(server.http, 'batch', {
      commands: [
        { publish: { channel: 'api:batch', data: 1 } },
        { method: 'publish', params: { channel: 'api:batch', data: 2 } },
        { publish: { channel: 'bad#', data: 3 } },
        { nosuch: {} },
        { history: { channel: 'api:batch', limit: -1 } },
      ],
    });
    assert.equal(a.status, 200);
    const [r1, r2, r3, r4, r5] = a.json.replies;
    assert.equal(r1.publish.offset, 1);
    assert.equal(r2.result.offset, 2);
    assert.equal(r3.error.code, 107);
    assert.equal(r4.error.code, 104);
    assert.equal(r5.history.publications.length, 2);
    const bad = await api(server.http, 'batch', { commands: 'x' });
    assert.equal(bad.json.error.code, 107);
  });

  test('the older form POST /api with {method, params} works too', async () => {
    const json = { 'content-type': 'application/json' };
    const res = await fetch(`${server.http}/api`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ method: 'publish', params: { channel: 'api:legacy', data: 1 } }),
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { result: { offset: number } }).result.offset, 1);
    const bad = await fetch(`${server.http}/api`, {
      method: 'POST',
      headers: json,
      body: '{"method":"nope"}',
    });
    assert.equal(bad.status, 404);
    assert.equal(((await bad.json()) as { error: { code: number } }).error.code, 104);
  });

  test('a client on /chat hears an API publication', async () => {
    const chat = await TestClient.open(`${server.ws}/chat`);
    await chat.nextText();
    await api(server.http, 'publish', { channel: 'chat', data: 'from the backend' });
    assert.equal(await chat.nextText(), 'Broadcast: from the backend');
    await chat.close();
  });
});

describe('server API: bad input', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ maxRequestBody: 4096 });
  });
  after(() => server.stop());

  const offsetOf = async (channel: string) =>
    (await api(server.http, 'history', { channel })).json.result.offset as number;

  test('bad JSON: 400 with code 107, nothing published', async () => {
    const a = await api(server.http, 'publish', '{"channel": "api:bad", "data": ');
    assert.equal(a.status, 400);
    assert.equal(a.json.error.code, 107);
    assert.match(a.json.error.message, /JSON/);
    assert.equal(await offsetOf('api:bad'), 0);
  });

  test('a body that is not an object: 400', async () => {
    for (const body of ['[1,2]', '"x"', 'null']) {
      const a = await api(server.http, 'publish', body);
      assert.equal(a.status, 400, body);
      assert.equal(a.json.error.code, 107);
    }
  });

  test('a body that is not declared application/json: 415 with code 153, nothing published', async () => {
    // Each of these a web page can send cross-origin without a CORS preflight (or curl -d sends).
    const types = [
      'application/x-www-form-urlencoded',
      'text/plain',
      'text/plain; charset=utf-8',
      'multipart/form-data; boundary=x',
      'application/jsonp',
      'application/json-patch+json',
    ];
    for (const type of types) {
      const res = await fetch(`${server.http}/api/publish`, {
        method: 'POST',
        headers: { 'content-type': type },
        body: '{"channel":"api:form","data":"ok"}',
      });
      assert.equal(res.status, 415, type);
      const body = (await res.json()) as { error: { code: number; message: string } };
      assert.equal(body.error.code, 153, type);
      assert.match(body.error.message, /application\/json/);
    }
    // No Content-Type at all, with a body (fetch adds text/plain to a string, so a Uint8Array).
    const bare = await fetch(`${server.http}/api/publish`, {
      method: 'POST',
      body: new TextEncoder().encode('{"channel":"api:form","data":"ok"}'),
    });
    assert.equal(bare.status, 415);
    assert.equal(await offsetOf('api:form'), 0);
    // The same body declared as JSON, with a charset parameter, is served; so is a body-less call.
    const ok = await api(
      server.http,
      'publish',
      { channel: 'api:form', data: 'ok' },
      {
        'content-type': 'Application/JSON; charset=utf-8',
      },
    );
    assert.equal(ok.json.result.offset, 1);
    const empty = await fetch(`${server.http}/api/info`, { method: 'POST' });
    assert.equal(empty.status, 200);
  });

  test('unknown method: 404 with code 104', async () => {
    const a = await api(server.http, 'publishh', { channel: 'x', data: 1 });
    assert.equal(a.status, 404);
    assert.deepEqual(a.json, { error: { code: 104, message: 'method not found: publishh' } });
    const proto = await api(server.http, '__proto__', {});
    assert.equal(proto.status, 404);
  });

  test('invalid channel names: 200 with error 107, nothing published', async () => {
    for (const channel of ['', 'a+b', 'a#', '$SYS/x', 'x'.repeat(300), 'a\nb', 42]) {
      const a = await api(server.http, 'publish', { channel, data: 1 });
      assert.equal(a.status, 200, String(channel));
      assert.equal(a.json.error.code, 107, String(channel));
      assert.equal(a.json.result, undefined);
    }
    const ch = await api(server.http, 'channels');
    assert.deepEqual(ch.json.result.channels, {});
  });

  test('missing or mistyped params: 200 with error 107', async () => {
    const cases: [string, unknown][] = [
      ['publish', { channel: 'api:p' }],
      ['publish', { data: 1 }],
      ['publish', { channel: 'api:p', b64data: '***' }],
      ['broadcast', { channels: 'api:p', data: 1 }],
      ['history', { channel: 'api:p', limit: 'ten' }],
      ['history', { channel: 'api:p', limit: -2 }],
      ['history', { channel: 'api:p', since: { offset: -1, epoch: 'x' } }],
      ['presence', {}],
    ];
    for (const [method, params] of cases) {
      const a = await api(server.http, method, params);
      assert.equal(a.status, 200, `${method} ${JSON.stringify(params)}`);
      assert.equal(a.json.error?.code, 107, `${method} ${JSON.stringify(params)}: ${a.text}`);
    }
    assert.equal(await offsetOf('api:p'), 0);
  });

  test('oversize body: 413 with code 151, nothing published, server keeps serving', async () => {
    const a = await api(server.http, 'publish', { channel: 'api:big', data: 'x'.repeat(5000) });
    assert.equal(a.status, 413);
    assert.equal(a.json.error.code, 151);
    assert.equal(await offsetOf('api:big'), 0);
    const ok = await api(server.http, 'publish', { channel: 'api:big', data: 'small' });
    assert.equal(ok.json.result.offset, 1);
  });

  test('only POST: GET /api/publish is not found', async () => {
    const res = await fetch(`${server.http}/api/publish`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: number } }).error.code, 152);
  });
});

describe('server API: access', () => {
  test('without a key: loopback callers are served, others get 401', async () => {
    const server = await startHerald();
    try {
      assert.equal((await api(server.http, 'info')).status, 200);
      for (const remoteAddress of ['10.0.0.7', '192.168.1.2', '::ffff:10.1.1.1', '2001:db8::1']) {
        const res = await server.herald.app.inject({
          method: 'POST',
          url: '/api/publish',
          remoteAddress,
          payload: { channel: 'api:remote', data: 1 },
        });
        assert.equal(res.statusCode, 401, remoteAddress);
        assert.equal(res.json().error.code, 101);
      }
      for (const remoteAddress of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) {
        const res = await server.herald.app.inject({
          method: 'POST',
          url: '/api/info',
          remoteAddress,
          payload: {},
        });
        assert.equal(res.statusCode, 200, remoteAddress);
      }
      const h = await api(server.http, 'history', { channel: 'api:remote' });
      assert.equal(h.json.result.offset, 0, 'nothing published by the refused callers');
    } finally {
      await server.stop();
    }
  });

  test('with a key: required from everyone, in either header form', async () => {
    const server = await startHerald({ apiKey: 's3cret' });
    try {
      const none = await api(server.http, 'publish', { channel: 'api:k', data: 1 });
      assert.equal(none.status, 401);
      assert.equal(none.json.error.code, 101);
      const wrong = await api(
        server.http,
        'publish',
        { channel: 'api:k', data: 1 },
        { 'x-api-key': 's3cre' },
      );
      assert.equal(wrong.status, 401);
      const bearer = await api(
        server.http,
        'publish',
        { channel: 'api:k', data: 1 },
        { authorization: 'Bearer s3cret' },
      );
      assert.equal(bearer.status, 401);
      const x = await api(server.http, 'publish', { channel: 'api:k', data: 1 }, { 'x-api-key': 's3cret' });
      assert.equal(x.json.result.offset, 1);
      const auth = await api(
        server.http,
        'publish',
        { channel: 'api:k', data: 2 },
        { authorization: 'apikey s3cret' },
      );
      assert.equal(auth.json.result.offset, 2);
      const remote = await server.herald.app.inject({
        method: 'POST',
        url: '/api/info',
        remoteAddress: '10.0.0.7',
        headers: { 'x-api-key': 's3cret' },
        payload: {},
      });
      assert.equal(remote.statusCode, 200, 'a remote caller with the key is served');
      // Access is checked before the body is read or the method looked up.
      const unknown = await api(server.http, 'nosuch', '{bad json');
      assert.equal(unknown.status, 401);
    } finally {
      await server.stop();
    }
  });
});
