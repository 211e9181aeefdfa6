// HTTPS and WSS on the HTTP port with tlsCert/tlsKey: every door speaks TLS with a self-signed pair
// the clients here trust explicitly, and a bad pair stops `herald serve` with a configuration error.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { EventSource, type FetchLike } from 'eventsource';
import { startHerald, type TestServer } from './helpers/herald.js';
import { runCli } from './helpers/process.js';
import { makeCertificate } from './helpers/tls.js';
import { TestClient } from './helpers/ws.js';

interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function httpsRequest(
  url: string,
  ca: Buffer,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: opts.method ?? 'GET', headers: opts.headers, ca }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.once('error', reject);
    req.end(opts.body);
  });
}

/** fetch() for EventSource over node:https, trusting `ca` (global fetch has no per-call CA). */
function fetchTrusting(ca: Buffer): FetchLike {
  return (url, init) =>
    new Promise((resolve, reject) => {
      const req = https.request(String(url), { headers: init.headers, ca, signal: init.signal }, (res) => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
        resolve(
          new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, {
            status: res.statusCode ?? 0,
            headers,
          }),
        );
      });
      req.once('error', reject);
      req.end();
    });
}

describe('TLS on the HTTP port', () => {
  let dir: string;
  let ca: Buffer;
  let server: TestServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-tls-'));
    const pair = makeCertificate(dir, 'server');
    ca = readFileSync(pair.cert);
    server = await startHerald({ tlsCert: pair.cert, tlsKey: pair.key });
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('HTTPS: /healthz answers, and the listener reports an https address', async () => {
    assert.match(server.herald.url(), /^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await httpsRequest(`${server.http}/healthz`, ca);
    assert.equal(res.status, 200);
  });

  test('plain HTTP on the TLS port gets no HTTP answer', async () => {
    await assert.rejects(fetch(`http://127.0.0.1:${server.port}/healthz`));
  });

  test('a server API publish over HTTPS reaches a wss:// client, and /echo round-trips', async () => {
    const chat = await TestClient.open(`${server.ws}/chat`, { ca });
    assert.equal(await chat.nextText(), 'Welcome to broadcast chat!');
    const res = await httpsRequest(`${server.http}/api/publish`, ca, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'chat', data: 'over tls' }),
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(JSON.parse(res.text).result.offset, 1);
    assert.equal(await chat.nextText(), 'Broadcast: over tls');
    await chat.close();
    const echo = await TestClient.open(`${server.ws}/echo`, { ca });
    echo.send('secure');
    assert.equal(await echo.nextText(), 'Echo: secure');
    await echo.close();
  });

  test('every WebSocket door upgrades over wss://', async () => {
    for (const [path, protocol] of [
      ['/echo', undefined],
      ['/chat', undefined],
      ['/connection/websocket', undefined],
      ['/mqtt', 'mqtt'],
    ] as const) {
      const c = await TestClient.open(`${server.ws}${path}`, { ca }, protocol);
      assert.equal(c.ws.readyState, c.ws.OPEN, path);
      await c.close();
    }
  });

  test('an SSE stream over HTTPS delivers publications', async () => {
    const es = new EventSource(`${server.http}/sse?channel=tls:sse`, { fetch: fetchTrusting(ca) });
    try {
      const ready = new Promise<void>((resolve) => es.addEventListener('ready', () => resolve()));
      const message = new Promise<string>((resolve) =>
        es.addEventListener('message', (e) => resolve(e.data)),
      );
      await ready;
      await httpsRequest(`${server.http}/api/publish`, ca, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'tls:sse', data: { n: 1 } }),
      });
      const pub = JSON.parse(await message);
      assert.deepEqual([pub.channel, pub.data], ['tls:sse', { n: 1 }]);
    } finally {
      es.close();
    }
  });

  test('a client that does not trust the certificate is refused by its own TLS check', async () => {
    await assert.rejects(httpsRequest(`${server.http}/healthz`, Buffer.from('')), /self-signed|certificate/);
  });
});

describe('TLS configuration errors stop `herald serve` with exit code 2', () => {
  let dir: string;
  let pair: { cert: string; key: string };
  let other: { cert: string; key: string };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'herald-tls-bad-'));
    pair = makeCertificate(dir, 'one');
    other = makeCertificate(dir, 'two');
    writeFileSync(join(dir, 'garbage.pem'), 'not a certificate\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const serve = async (args: string[]) => {
    const child = runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--mqtt-port', '0', ...args]);
    let err = '';
    child.stderr?.on('data', (d) => {
      err += d;
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    return { code, err };
  };

  test('a missing certificate or key file names the option and the path', async () => {
    const missing = join(dir, 'nope.crt');
    const cert = await serve(['--tls-cert', missing, '--tls-key', pair.key]);
    assert.equal(cert.code, 2);
    assert.match(cert.err, /--tls-cert: cannot read .*nope\.crt/);
    const key = await serve(['--tls-cert', pair.cert, '--tls-key', join(dir, 'nope.key')]);
    assert.equal(key.code, 2);
    assert.match(key.err, /--tls-key: cannot read .*nope\.key/);
  });

  test('a file that is not PEM, or a key of another certificate, is refused', async () => {
    const garbage = await serve(['--tls-cert', join(dir, 'garbage.pem'), '--tls-key', pair.key]);
    assert.equal(garbage.code, 2);
    assert.match(garbage.err, /--tls-cert \/ --tls-key: not a usable PEM certificate and matching key/);
    const mismatch = await serve(['--tls-cert', pair.cert, '--tls-key', other.key]);
    assert.equal(mismatch.code, 2);
    assert.match(mismatch.err, /--tls-cert \/ --tls-key/);
  });

  test('one of the pair without the other is refused', async () => {
    const only = await serve(['--tls-cert', pair.cert]);
    assert.equal(only.code, 2);
    assert.match(only.err, /--tls-cert and --tls-key go together/);
  });
});
