// Slowloris and friends: a client that opens a connection and then says too little, too slowly, is
// closed within the named limit, while answers that are legitimately long (SSE streams, held polls,
// WebSockets) are not cut by those limits.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { startHerald, type TestServer } from './helpers/herald.js';
import { api, poll } from './helpers/http.js';
import { SseClient } from './helpers/sse.js';
import { makeCertificate } from './helpers/tls.js';
import { TestClient } from './helpers/ws.js';

const LIMIT = 1000;
/** Node looks for overdue requests on an interval, and a loaded machine is slow: the allowance. */
const SLACK = 1500;

interface Stalled {
  /** Milliseconds from connect to the server closing the connection. */
  closed: Promise<number>;
  received: () => string;
}

/** Connects (plain TCP, or TLS trusting `ca`), sends `bytes`, then nothing more. */
async function stall(port: number, bytes: string, ca?: Buffer): Promise<Stalled> {
  const socket = ca ? tls.connect({ port, host: '127.0.0.1', ca }) : net.connect(port, '127.0.0.1');
  const start = performance.now();
  await new Promise<void>((resolve, reject) =>
    socket.once(ca ? 'secureConnect' : 'connect', resolve).once('error', reject),
  );
  let received = '';
  socket.on('data', (d) => {
    received += d;
  });
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => resolve(performance.now() - start)),
  );
  if (bytes) socket.write(bytes);
  return { closed, received: () => received };
}

function assertClosedInTime(ms: number, limit: number, what: string): void {
  assert.ok(ms >= limit - 50, `${what}: closed after ${Math.round(ms)} ms, before the ${limit} ms limit`);
  assert.ok(ms < limit + SLACK, `${what}: closed after ${Math.round(ms)} ms, limit ${limit} ms`);
}

function assertTimeoutAnswer(text: string, what: string): void {
  assert.match(text, /^HTTP\/1\.1 408 /, what);
  assert.equal(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).error.code, 154, what);
}

describe('requests that never finish arriving', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ headersTimeout: LIMIT, requestTimeout: 2 * LIMIT, keepAliveTimeout: LIMIT });
  });
  after(() => server.stop());

  test('partial headers: 408 with code 154 and closed within headersTimeout; others are served meanwhile', async () => {
    const s = await stall(server.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1');
    assert.equal((await api(server.http, 'info')).status, 200, 'the server serves others meanwhile');
    assertClosedInTime(await s.closed, LIMIT, 'partial headers');
    assertTimeoutAnswer(s.received(), 'partial headers');
  });

  test('a partial WebSocket upgrade is closed within headersTimeout, on every WebSocket path', async () => {
    const stalled = await Promise.all(
      ['/echo', '/chat', '/connection/websocket', '/mqtt'].map((path) =>
        stall(
          server.port,
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            'Sec-WebSocket-Version: 13\r\n',
        ),
      ),
    );
    const echo = await TestClient.open(`${server.ws}/echo`);
    echo.send('still here');
    assert.equal(await echo.nextText(), 'Echo: still here');
    for (const s of stalled) {
      assertClosedInTime(await s.closed, LIMIT, 'partial upgrade');
      assertTimeoutAnswer(s.received(), 'partial upgrade');
    }
    await echo.close();
  });

  test('a connection that sends nothing at all is closed within headersTimeout', async () => {
    const s = await stall(server.port, '');
    assertClosedInTime(await s.closed, LIMIT, 'silent connection');
  });

  test('a body that stops arriving: 408 within requestTimeout, nothing published', async () => {
    const body = JSON.stringify({ channel: 'slow:body', data: 'x'.repeat(100) });
    const s = await stall(
      server.port,
      `POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\n\r\n${body.slice(0, 20)}`,
    );
    assertClosedInTime(await s.closed, 2 * LIMIT, 'slow body');
    assertTimeoutAnswer(s.received(), 'slow body');
    assert.equal((await api(server.http, 'history', { channel: 'slow:body' })).json.result.offset, 0);
  });

  test('an idle keep-alive connection is closed after keepAliveTimeout', async () => {
    const s = await stall(server.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const ms = await s.closed;
    assert.match(s.received(), /^HTTP\/1\.1 200 /);
    assertClosedInTime(ms, LIMIT, 'idle keep-alive');
  });
});

describe('requests the listener refuses before any door sees them', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald();
  });
  after(() => server.stop());

  test('oversized headers: 431 with code 155; malformed HTTP: 400 with code 107; closed', async () => {
    const big = await stall(
      server.port,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    await big.closed;
    assert.match(big.received(), /^HTTP\/1\.1 431 /);
    assert.equal(JSON.parse(big.received().split('\r\n\r\n')[1]).error.code, 155);
    const junk = await stall(server.port, 'NOT HTTP AT ALL\r\n\r\n');
    await junk.closed;
    assert.match(junk.received(), /^HTTP\/1\.1 400 /);
    assert.equal(JSON.parse(junk.received().split('\r\n\r\n')[1]).error.code, 107);
    assert.equal((await api(server.http, 'info')).status, 200);
  });
});

describe('long answers outlive the request limits', () => {
  let server: TestServer;
  before(async () => {
    // Every request limit well below the 3 s the answers below last; SSE heartbeats far apart so
    // the stream is really quiet; connectionTimeout on, just above the longest held poll.
    server = await startHerald({
      headersTimeout: 500,
      requestTimeout: 500,
      keepAliveTimeout: 500,
      pollMaxTimeout: 3,
      sseHeartbeat: 60,
      connectionTimeout: 61_000,
      heartbeatInterval: 60_000,
    });
  });
  after(() => server.stop());

  test('a quiet SSE stream, a 3-second held poll and an idle WebSocket all survive', async () => {
    const sse = new SseClient(`${server.http}/sse?channel=slow:sse`);
    await sse.next('ready');
    const ws = await TestClient.open(`${server.ws}/echo`);
    const t0 = performance.now();
    const held = await poll(server.http, ['slow:poll'], { timeout: 3 });
    const heldMs = performance.now() - t0;
    assert.equal(held.status, 200, held.text);
    assert.deepEqual(held.json.publications, []);
    assert.ok(heldMs >= 2900, `the poll was held ${Math.round(heldMs)} ms, not 3 s`);
    // Both stayed quiet for those 3 s; both still deliver.
    assert.equal(sse.errors, 0, 'the SSE stream was not cut');
    await api(server.http, 'publish', { channel: 'slow:sse', data: 'after 3 s' });
    assert.equal((await sse.messages(1))[0].data, 'after 3 s');
    ws.send('after 3 s');
    assert.equal(await ws.nextText(), 'Echo: after 3 s');
    sse.close();
    await ws.close();
  });
});

describe('timeouts over TLS', () => {
  let dir: string;
  let ca: Buffer;
  let server: TestServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-timeouts-'));
    const pair = makeCertificate(dir, 'server');
    ca = readFileSync(pair.cert);
    server = await startHerald({
      tlsCert: pair.cert,
      tlsKey: pair.key,
      headersTimeout: LIMIT,
      requestTimeout: LIMIT,
      tlsHandshakeTimeout: LIMIT,
    });
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a TCP connection that never starts the TLS handshake is closed within tlsHandshakeTimeout', async () => {
    const s = await stall(server.port, '\x16\x03\x01');
    assertClosedInTime(await s.closed, LIMIT, 'stalled handshake');
  });

  test('after the handshake, partial headers are closed within headersTimeout', async () => {
    const s = await stall(server.port, 'GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n', ca);
    assertClosedInTime(await s.closed, LIMIT, 'partial headers over TLS');
    assertTimeoutAnswer(s.received(), 'partial headers over TLS');
  });
});

describe('timeout options that would cut what they must not', () => {
  test('connectionTimeout not above pollMaxTimeout is refused at start, naming both', async () => {
    await assert.rejects(
      startHerald({ connectionTimeout: 30_000, pollMaxTimeout: 55 }),
      /--connection-timeout \(30s\) must be 0 or longer than --poll-max-timeout/,
    );
    await assert.rejects(
      startHerald({ headersTimeout: 20_000, requestTimeout: 10_000 }),
      /--headers-timeout \(20s\) must not be longer than --request-timeout \(10s\)/,
    );
  });
});
