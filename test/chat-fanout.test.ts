// /chat fan-out writes one ready frame per publication to every socket: every subscriber must get
// byte-identical frames, in order, whatever the payload size; and a subscriber that stops reading is
// cut off with 1008 while the others keep receiving.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';
import { until } from './helpers/until.js';
import { TestClient } from './helpers/ws.js';

/** A WebSocket client made of a bare TCP socket, so the test sees the exact bytes the server wrote. */
async function rawClient(port: number): Promise<{ socket: Socket; bytes: () => Buffer }> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  let headerDone = false;
  let pending = Buffer.alloc(0);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(
        'GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    socket.on('data', (d: Buffer) => {
      if (headerDone) {
        chunks.push(d);
        return;
      }
      pending = Buffer.concat([pending, d]);
      const end = pending.indexOf('\r\n\r\n');
      if (end === -1) return;
      assert.match(pending.subarray(0, end).toString('latin1'), /^HTTP\/1\.1 101 /);
      headerDone = true;
      chunks.push(pending.subarray(end + 4));
      resolve();
    });
  });
  return { socket, bytes: () => Buffer.concat(chunks) };
}

/** The frame a server sends for `payload`, built by hand from RFC 6455 rather than by Herald. */
function expectedFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  let head: Buffer;
  if (n < 126) head = Buffer.from([0x80 | opcode, n]);
  else if (n < 65536) head = Buffer.from([0x80 | opcode, 126, n >> 8, n & 0xff]);
  else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

describe('/chat fan-out', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ maxMessageSize: 131072, maxBufferedBytes: 65536 });
  });
  after(() => server.stop());

  test('every subscriber receives byte-identical frames, in order, for every payload size', async () => {
    const raws = await Promise.all([1, 2, 3].map(() => rawClient(server.port)));
    const clients = await Promise.all(Array.from({ length: 40 }, () => TestClient.open(`${server.ws}/chat`)));
    for (const c of clients) assert.equal(await c.nextText(), 'Welcome to broadcast chat!');
    const welcome = expectedFrame(1, Buffer.from('Welcome to broadcast chat!'));
    await until(() => raws.every((r) => r.bytes().length >= welcome.length), {
      what: 'the welcome frame on every raw socket',
      timeoutMs: 10_000,
    });
    const publisher = await TestClient.open(`${server.ws}/chat`);
    await publisher.nextText();

    const texts = ['hello', 'ünïcødé ✓', 'm'.repeat(300), 'L'.repeat(70_000)];
    const bin = Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 13]);
    for (const t of texts) publisher.send(t);
    publisher.send(bin, true);

    for (const c of clients) {
      for (const t of texts) assert.equal(await c.nextText(), `Broadcast: ${t}`);
      const m = await c.next();
      assert.equal(m.binary, true);
      assert.deepEqual(m.data, bin);
    }
    const expected = Buffer.concat([
      welcome,
      ...texts.map((t) => expectedFrame(1, Buffer.from(`Broadcast: ${t}`))),
      expectedFrame(2, bin),
    ]);
    await until(() => raws.every((r) => r.bytes().length >= expected.length), {
      what: 'every frame on every raw socket',
      timeoutMs: 10_000,
      detail: () => `${raws.map((r) => r.bytes().length)} of ${expected.length} bytes`,
    });
    for (const r of raws) {
      assert.equal(r.bytes().length, expected.length);
      assert.ok(r.bytes().equals(expected), 'raw bytes differ from the expected frames');
      r.socket.destroy();
    }
    // An echo of the publisher's own messages would reach it before this later one.
    clients[0].send('marker');
    assert.equal(
      await publisher.nextText(),
      'Broadcast: marker',
      'the sender never gets its own message back',
    );
    await Promise.all([...clients, publisher].map((c) => c.close()));
  });

  test('a subscriber that stops reading is cut off with 1008 while the others keep receiving', async () => {
    // The server side of each upgrade, to see the moment the server gives up on the slow client.
    const serverSockets: Socket[] = [];
    const onUpgrade = (_req: unknown, socket: Socket) => serverSockets.push(socket);
    server.herald.app.server.on('upgrade', onUpgrade);
    const slow = await TestClient.open(`${server.ws}/chat`);
    const healthy = await TestClient.open(`${server.ws}/chat`);
    const publisher = await TestClient.open(`${server.ws}/chat`);
    server.herald.app.server.off('upgrade', onUpgrade);
    for (const c of [slow, healthy, publisher]) await c.nextText();

    const slowSocket = (slow.ws as unknown as { _socket: Socket })._socket;
    const serverSide = serverSockets.find((s) => s.remotePort === slowSocket.localPort);
    assert.ok(serverSide, 'server side of the slow client found');
    const kWebSocket = Object.getOwnPropertySymbols(serverSide).find((s) => s.description === 'websocket');
    const serverWs = () => (serverSide as unknown as Record<symbol, { readyState: number }>)[kWebSocket!];
    slowSocket.pause();

    const body = 'x'.repeat(60_000);
    let sent = 0;
    // Bounded: 2,000 x 60 KB is far past any kernel buffer plus the 64 KiB bound.
    while (sent < 2000 && serverWs().readyState === 1) {
      publisher.send(`${sent} ${body}`);
      assert.equal(await healthy.nextText(5000), `Broadcast: ${sent} ${body}`);
      sent++;
    }
    assert.notEqual(serverWs().readyState, 1, 'the slow client was never cut off');
    assert.ok(sent > 1, 'cut off only once its buffer filled');

    slowSocket.resume();
    const closed = await slow.closed;
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /slow consumer/);

    // What the slow client did get was whole and in order (all of it is queued by the time the
    // close is seen), and the room goes on without it.
    slow.takeQueued().forEach((m, i) => {
      assert.equal(m.data, `Broadcast: ${i} ${body}`);
    });
    for (let i = 0; i < 3; i++) publisher.send(`after ${i}`);
    for (let i = 0; i < 3; i++) assert.equal(await healthy.nextText(), `Broadcast: after ${i}`);
    await Promise.all([healthy.close(), publisher.close()]);
  });
});
