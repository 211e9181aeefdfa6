// The server API answers its common requests without fastify's request lifecycle (src/api/fast-path.ts).
// What a backend sees must not depend on which way its request went: the same status, headers and
// body, the same checks, and nothing published from a body that never arrived whole.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';
import { api } from './helpers/http.js';
import { until } from './helpers/until.js';

interface RawAnswer {
  status: number;
  /** Header lines as sent, lower-cased names, without Date. */
  headers: string[];
  body: string;
}

/** Reads HTTP/1.1 answers with content-length from a socket, in order. */
class RawClient {
  readonly socket: net.Socket;
  private buf = Buffer.alloc(0);
  readonly answers: RawAnswer[] = [];

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      for (;;) {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = this.buf.subarray(0, end).toString('latin1').split('\r\n');
        const length = Number(/content-length: (\d+)/i.exec(lines.join('\n'))?.[1] ?? 0);
        if (this.buf.length < end + 4 + length) return;
        this.answers.push({
          status: Number(lines[0].split(' ')[1]),
          headers: lines
            .slice(1)
            .map((l) => l.toLowerCase())
            .filter((l) => !l.startsWith('date:')),
          body: this.buf.subarray(end + 4, end + 4 + length).toString('utf8'),
        });
        this.buf = this.buf.subarray(end + 4 + length);
      }
    });
  }

  async connected(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.socket.once('connect', resolve).once('error', reject));
  }

  close(): void {
    this.socket.destroy();
  }
}

const request = (path: string, body: string, headers: Record<string, string> = {}) => {
  const extra = Object.entries({ 'content-type': 'application/json', ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${extra}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
};

/** One request on a fresh connection, its answer. */
async function once(port: number, raw: string): Promise<RawAnswer> {
  const c = new RawClient(port);
  await c.connected();
  c.socket.write(raw);
  await until(() => c.answers.length === 1, { what: 'an answer' });
  c.close();
  return c.answers[0];
}

describe('server API: the direct path answers as the fastify route does', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ maxRequestBody: 4096 });
  });
  after(() => server.stop());

  // `application/json;charset=utf-8` (no space) is valid, so both ways accept it, but it is not one
  // of the two spellings the direct path takes: it goes through fastify.
  const viaFastify = { 'content-type': 'application/json;charset=utf-8' };

  test('the same headers and body for a publish, a bad body, a method error and a batch', async () => {
    const cases: [string, string][] = [
      ['/api/publish', '{"channel":"fp:same","data":{"n":1}}'],
      ['/api/publish', '{not json'],
      ['/api/publish', '[1,2]'],
      ['/api/publish', '{"channel":"bad#name","data":1}'],
      ['/api/publish', '{"channel":"fp:same"}'],
      ['/api/history', '{"channel":"fp:same","limit":-1}'],
      ['/api/batch', '{"commands":[{"method":"presence_stats","params":{"channel":"fp:same"}}]}'],
    ];
    for (const [path, body] of cases) {
      const direct = await once(server.port, request(path, body));
      const full = await once(server.port, request(path, body, viaFastify));
      assert.deepEqual(direct.headers, full.headers, `${path} ${body}: headers`);
      assert.equal(direct.status, full.status, `${path} ${body}: status`);
      // Publishing twice moves the offset; everything else must be identical.
      assert.equal(
        direct.body.replace(/"offset":\d+/g, '"offset":N'),
        full.body.replace(/"offset":\d+/g, '"offset":N'),
        `${path} ${body}: body`,
      );
    }
    const h = await api(server.http, 'history', { channel: 'fp:same', limit: -1 });
    assert.deepEqual(
      h.json.result.publications.map((p: { offset: number }) => p.offset),
      [1, 2],
      'one publication per publish request, whichever way it went',
    );
  });

  test('pipelined requests on one connection are answered in order', async () => {
    const c = new RawClient(server.port);
    await c.connected();
    c.socket.write(
      [1, 2, 3].map((n) => request('/api/publish', JSON.stringify({ channel: 'fp:pipe', data: n }))).join(''),
    );
    await until(() => c.answers.length === 3, { what: 'three answers' });
    c.close();
    assert.deepEqual(
      c.answers.map((a) => JSON.parse(a.body).result.offset),
      [1, 2, 3],
    );
  });

  test('a body that arrives in pieces is read whole, multi-byte characters included', async () => {
    const body = JSON.stringify({ channel: 'fp:pieces', data: { text: 'été ✓ 🎉'.repeat(20) } });
    const raw = Buffer.from(request('/api/publish', body));
    const c = new RawClient(server.port);
    await c.connected();
    // Cut inside the body, and inside a multi-byte character.
    const cuts = [raw.length - body.length + 3, raw.length - 40, raw.length - 7];
    let from = 0;
    for (const cut of [...cuts, raw.length]) {
      await new Promise<void>((resolve) => c.socket.write(raw.subarray(from, cut), () => resolve()));
      from = cut;
    }
    await until(() => c.answers.length === 1, { what: 'the answer' });
    c.close();
    assert.equal(JSON.parse(c.answers[0].body).result.offset, 1);
    const h = await api(server.http, 'history', { channel: 'fp:pieces', limit: -1 });
    assert.equal(h.json.result.publications[0].data.text, 'été ✓ 🎉'.repeat(20));
  });

  test('a client gone before its body arrived publishes nothing, and the server goes on', async () => {
    const body = JSON.stringify({ channel: 'fp:cut', data: 'never' });
    const raw = request('/api/publish', body);
    const c = new RawClient(server.port);
    await c.connected();
    await new Promise<void>((resolve) => c.socket.write(raw.slice(0, raw.length - 5), () => resolve()));
    c.close();
    const ok = await api(server.http, 'publish', { channel: 'fp:cut', data: 'after' });
    assert.equal(ok.json.result.offset, 1, 'the cut request published nothing');
    const h = await api(server.http, 'history', { channel: 'fp:cut', limit: -1 });
    assert.deepEqual(
      h.json.result.publications.map((p: { data: string }) => p.data),
      ['after'],
    );
  });

  test('a body over maxRequestBody is refused with 413 before anything is published', async () => {
    const body = JSON.stringify({ channel: 'fp:big', data: 'x'.repeat(5000) });
    const a = await once(server.port, request('/api/publish', body));
    assert.equal(a.status, 413);
    assert.equal(JSON.parse(a.body).error.code, 151);
    const h = await api(server.http, 'history', { channel: 'fp:big' });
    assert.equal(h.json.result.offset, 0);
  });
});

describe('server API: the direct path makes the same access checks', () => {
  test('with an API key: none or a wrong one is 401, the right one publishes', async () => {
    const server = await startHerald({ apiKey: 'sesame' });
    try {
      const body = '{"channel":"fp:key","data":1}';
      const none = await once(server.port, request('/api/publish', body));
      assert.equal(none.status, 401);
      assert.equal(JSON.parse(none.body).error.code, 101);
      const wrong = await once(server.port, request('/api/publish', body, { 'x-api-key': 'nope' }));
      assert.equal(wrong.status, 401);
      const right = await once(server.port, request('/api/publish', body, { 'x-api-key': 'sesame' }));
      assert.equal(right.status, 200);
      assert.equal(JSON.parse(right.body).result.offset, 1, 'only the keyed request published');
    } finally {
      await server.stop();
    }
  });

  test('behind a trusted proxy, a forwarded remote client is refused without a key', async () => {
    const server = await startHerald({ trustProxy: ['127.0.0.1'] });
    try {
      const body = '{"channel":"fp:proxy","data":1}';
      const remote = await once(
        server.port,
        request('/api/publish', body, { 'x-forwarded-for': '203.0.113.9' }),
      );
      assert.equal(remote.status, 401);
      const local = await once(server.port, request('/api/publish', body));
      assert.equal(local.status, 200);
      assert.equal(JSON.parse(local.body).result.offset, 1);
    } finally {
      await server.stop();
    }
  });

  test('a web page (Origin) is refused even with a JSON body the direct path would take', async () => {
    const server = await startHerald();
    try {
      const a = await once(
        server.port,
        request('/api/publish', '{"channel":"fp:page","data":1}', { origin: 'https://evil.example' }),
      );
      assert.equal(a.status, 403);
      assert.equal(JSON.parse(a.body).error.code, 103);
    } finally {
      await server.stop();
    }
  });
});
