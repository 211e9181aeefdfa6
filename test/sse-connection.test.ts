// An SSE stream's connection after its head: the HTTP server lets go of its per-connection state
// (parser, request, listeners) as it does for an upgrade, and the stream must still see its client
// leave, end cleanly, be cut by closeAllConnections and shutdown, and leave the server serving
// everyone else. Raw TCP clients, to see exactly what is on the wire.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';
import { until } from './helpers/until.js';

interface RawStream {
  socket: net.Socket;
  /** Everything read so far, as text. */
  text(): string;
  closed: Promise<void>;
}

function rawRequest(port: number, request: string): RawStream {
  const socket = net.connect(port, '127.0.0.1');
  let got = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    got += d;
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(request);
  return { socket, text: () => got, closed };
}

const get = (port: number, path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`;

function openStream(port: number, channel: string): RawStream {
  return rawRequest(port, get(port, `/sse?channel=${channel}`));
}

async function ready(s: RawStream): Promise<void> {
  await until(() => s.text().includes('event: ready'), { what: 'the ready event', timeoutMs: 3000 });
}

describe('SSE connection after the head', () => {
  let server: TestServer;
  /** The server's side of every TCP connection, to look at what the HTTP server still holds. */
  const serverSockets: net.Socket[] = [];

  before(async () => {
    server = await startHerald();
    server.herald.app.server.on('connection', (s: net.Socket) => serverSockets.push(s));
  });
  after(() => server.stop());

  const lastServerSocket = () => serverSockets[serverSockets.length - 1] as net.Socket & { parser: unknown };

  test('the stream says Connection: close and the server keeps no parser for it', async () => {
    const s = openStream(server.port, 'detach:a');
    await ready(s);
    assert.match(s.text(), /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(s.text(), /\r\nconnection: close\r\n/i);
    assert.equal(lastServerSocket().parser, null, 'the HTTP parser was released');
    await server.herald.hub.publish('detach:a', { data: 'after the release' });
    await until(() => s.text().includes('"after the release"'), {
      what: 'the publication on the stream',
      timeoutMs: 3000,
    });
    s.socket.destroy();
  });

  test('a client that closes its side (FIN) ends its stream, and the server closes the connection', async () => {
    const ch = 'detach:fin';
    const s = openStream(server.port, ch);
    await ready(s);
    assert.equal(server.herald.hub.localSubscribers(ch), 1);
    s.socket.end();
    await s.closed;
    await until(() => server.herald.hub.localSubscribers(ch) === 0, {
      what: 'the stream to leave its channel',
      timeoutMs: 3000,
    });
  });

  test('a client that drops the connection (RST) ends its stream', async () => {
    const ch = 'detach:rst';
    const s = openStream(server.port, ch);
    await ready(s);
    const serverSide = lastServerSocket();
    s.socket.resetAndDestroy();
    await until(() => server.herald.hub.localSubscribers(ch) === 0, {
      what: 'the stream to leave its channel',
      timeoutMs: 3000,
    });
    await until(() => serverSide.destroyed, {
      what: 'the server side of the connection to close',
      timeoutMs: 3000,
    });
  });

  test('bytes a client sends after its request are dropped; its stream and everyone else carry on', async () => {
    const ch = 'detach:chatty';
    const s = openStream(server.port, ch);
    await ready(s);
    // Junk, then a whole request: neither is parsed or answered on a stream's connection.
    s.socket.write(Buffer.alloc(64 * 1024, 'x'));
    s.socket.write(get(server.port, '/healthz'));
    await server.herald.hub.publish(ch, { data: 'still here' });
    await until(() => s.text().includes('"still here"'), {
      what: 'the publication on the stream',
      timeoutMs: 3000,
    });
    assert.doesNotMatch(s.text(), /"status":"ok"/);
    const res = await fetch(`${server.http}/healthz`);
    assert.equal(res.status, 200);
    const other = openStream(server.port, 'detach:other');
    await ready(other);
    s.socket.destroy();
    other.socket.destroy();
  });

  test('a request pipelined behind the stream keeps the server state (nothing is released early)', async () => {
    const ch = 'detach:pipelined';
    const s = rawRequest(server.port, get(server.port, `/sse?channel=${ch}`) + get(server.port, '/healthz'));
    await ready(s);
    assert.match(s.text(), /\r\nconnection: keep-alive\r\n/i);
    await server.herald.hub.publish(ch, { data: 'pipelined' });
    await until(() => s.text().includes('"pipelined"'), {
      what: 'the publication on the stream',
      timeoutMs: 3000,
    });
    s.socket.end();
    await until(() => server.herald.hub.localSubscribers(ch) === 0, {
      what: 'the stream to leave its channel',
      timeoutMs: 3000,
    });
  });

  test('closeAllConnections cuts detached streams too', async () => {
    const a = openStream(server.port, 'detach:all');
    const b = openStream(server.port, 'detach:all');
    await ready(a);
    await ready(b);
    server.herald.app.server.closeAllConnections();
    await a.closed;
    await b.closed;
    await until(() => server.herald.hub.localSubscribers('detach:all') === 0, {
      what: 'the stream to leave its channel',
      timeoutMs: 3000,
    });
    const res = await fetch(`${server.http}/healthz`);
    assert.equal(res.status, 200, 'the server still serves');
  });

  test('many streams come and go; the server keeps serving and holds none of them after', async () => {
    const ch = 'detach:many';
    const streams = Array.from({ length: 50 }, () => openStream(server.port, ch));
    for (const s of streams) await ready(s);
    assert.equal(server.herald.hub.localSubscribers(ch), 50);
    for (const [i, s] of streams.entries()) {
      if (i % 2 === 0) s.socket.end();
      else s.socket.destroy();
    }
    await until(() => server.herald.hub.localSubscribers(ch) === 0, {
      what: 'the stream to leave its channel',
      timeoutMs: 5000,
    });
    const res = await fetch(`${server.http}/healthz`);
    assert.equal(res.status, 200);
  });
});

describe('SSE connection at shutdown', () => {
  test('a detached stream ends at shutdown and its connection closes', async () => {
    const server = await startHerald({ shutdownTimeout: 2000 });
    const s = openStream(server.port, 'detach:shutdown');
    await ready(s);
    const started = Date.now();
    await server.stop();
    await s.closed;
    assert.ok(Date.now() - started < 5000, 'shutdown did not wait on the stream');
  });

  test('a client that stopped reading does not hold shutdown up', async () => {
    const server = await startHerald({ shutdownTimeout: 2000, maxBufferedBytes: 1 << 20 });
    const ch = 'detach:stuck';
    const s = openStream(server.port, ch);
    await ready(s);
    s.socket.pause();
    // Enough queued that the end of the stream cannot be flushed to a client that does not read.
    const big = 'y'.repeat(60_000);
    for (let i = 0; i < 40; i++) await server.herald.hub.publish(ch, { data: big });
    const started = Date.now();
    await server.stop();
    assert.ok(Date.now() - started < 8000, `shutdown took ${Date.now() - started} ms`);
    s.socket.destroy();
  });
});
