import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';
import { clientFrame, parseServerFrames, rawUpgrade } from './helpers/raw.js';
import { until } from './helpers/until.js';
import { TestClient } from './helpers/ws.js';

const closeCodeOf = (payload: Buffer) => payload.readUInt16BE(0);

/** How a connection the server cut off ended, as its client saw it. */
interface Ending {
  /** Code of the first Close frame, once one was read. */
  closeCode?: number;
  /** How TCP ended, once it did: FIN from the server, a reset, or closed without either. */
  tcp?: 'FIN' | 'reset' | 'closed';
  bytes: number;
}

/** Reads the server's frames one by one as they come (megabytes of them), noting how it ends. */
function watchEnding(socket: import('node:net').Socket, initial: Buffer): Ending {
  const ending: Ending = { bytes: initial.length };
  let pending = initial;
  const consume = () => {
    for (;;) {
      if (pending.length < 2) return;
      let len = pending[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (pending.length < 4) return;
        len = pending.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (pending.length < 10) return;
        len = Number(pending.readBigUInt64BE(2));
        at = 10;
      }
      if (pending.length < at + len) return;
      if ((pending[0] & 0x0f) === 0x8 && ending.closeCode === undefined) {
        ending.closeCode = closeCodeOf(pending.subarray(at, at + len));
      }
      pending = pending.subarray(at + len);
    }
  };
  consume();
  socket.on('data', (d: Buffer) => {
    ending.bytes += d.length;
    pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
    consume();
  });
  socket.on('end', () => {
    ending.tcp ??= 'FIN';
  });
  socket.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ECONNRESET') ending.tcp ??= 'reset';
  });
  socket.on('close', () => {
    ending.tcp ??= 'closed';
  });
  return ending;
}

/** Collects what the server sends on a raw socket until it closes the TCP connection. */
function collectUntilEnd(
  socket: import('node:net').Socket,
  initial: Buffer,
): Promise<{ bytes: Buffer; serverEndedFirst: boolean }> {
  let bytes = initial;
  let weEnded = false;
  return new Promise((resolve) => {
    socket.on('data', (d: Buffer) => {
      bytes = Buffer.concat([bytes, d]);
    });
    socket.once('end', () => {
      const serverEndedFirst = !weEnded;
      weEnded = true;
      socket.end();
      resolve({ bytes, serverEndedFirst });
    });
    socket.once('close', () => resolve({ bytes, serverEndedFirst: false }));
  });
}

describe('WebSocket robustness on /echo and /chat', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ maxMessageSize: 1024 });
  });
  after(() => server.stop());

  test('an oversize message closes that connection with 1009; another session goes on', async () => {
    const bystander = await TestClient.open(`${server.ws}/echo`);
    const big = await TestClient.open(`${server.ws}/echo`);
    big.send('x'.repeat(1025));
    assert.equal((await big.closed).code, 1009);
    bystander.send('still here');
    assert.equal(await bystander.nextText(), 'Echo: still here');
    const exact = 'y'.repeat(1024 - 'Echo: '.length);
    bystander.send(exact);
    assert.equal(await bystander.nextText(), `Echo: ${exact}`);
    await bystander.close();
  });

  test('invalid UTF-8 in a text frame closes with 1007; another session goes on', async () => {
    const bystander = await TestClient.open(`${server.ws}/echo`);
    const { socket, status, rest } = await rawUpgrade(server.port, '/echo');
    assert.equal(status, 101);
    const done = collectUntilEnd(socket, rest);
    socket.write(clientFrame(0x1, Buffer.from([0x68, 0xff, 0xfe, 0x69])));
    const frames = parseServerFrames((await done).bytes);
    const close = frames.find((f) => f.opcode === 0x8);
    assert.ok(close, 'the server sends a Close frame');
    assert.equal(closeCodeOf(close.payload), 1007);
    bystander.send('ok');
    assert.equal(await bystander.nextText(), 'Echo: ok');
    await bystander.close();
  });

  test('a protocol violation (unmasked client frame) closes with 1002; /chat goes on', async () => {
    const a = await TestClient.open(`${server.ws}/chat`);
    const b = await TestClient.open(`${server.ws}/chat`);
    await a.nextText();
    await b.nextText();
    const { socket, rest } = await rawUpgrade(server.port, '/chat');
    const done = collectUntilEnd(socket, rest);
    socket.write(clientFrame(0x1, Buffer.from('not masked'), { mask: false }));
    const close = parseServerFrames((await done).bytes).find((f) => f.opcode === 0x8);
    assert.ok(close);
    assert.equal(closeCodeOf(close.payload), 1002);
    // The bystanders' room still works, once the server has let the bad client go.
    await until(() => server.herald.hub.localSubscribers('chat') === 2, { what: 'the bad client gone' });
    a.send('after the bad client');
    assert.equal(await b.nextText(), 'Broadcast: after the bad client');
    await Promise.all([a.close(), b.close()]);
  });

  test('an unknown opcode is a protocol violation (1002)', async () => {
    const { socket, rest } = await rawUpgrade(server.port, '/echo');
    const done = collectUntilEnd(socket, rest);
    socket.write(clientFrame(0x3, Buffer.from('?')));
    const close = parseServerFrames((await done).bytes).find((f) => f.opcode === 0x8);
    assert.ok(close);
    assert.equal(closeCodeOf(close.payload), 1002);
  });

  test('close handshake: the server answers a Close frame with its own, then closes TCP first', async () => {
    const { socket, status, rest } = await rawUpgrade(server.port, '/echo');
    assert.equal(status, 101);
    const done = collectUntilEnd(socket, rest);
    socket.write(clientFrame(0x1, Buffer.from('hi')));
    const code = Buffer.alloc(2);
    code.writeUInt16BE(1000);
    socket.write(clientFrame(0x8, code));
    const { bytes, serverEndedFirst } = await done;
    const frames = parseServerFrames(bytes);
    assert.deepEqual(
      frames.map((f) => f.opcode),
      [0x1, 0x8],
      'an echo text frame, then the close frame',
    );
    assert.equal(frames[0].payload.toString(), 'Echo: hi');
    assert.equal(closeCodeOf(frames[1].payload), 1000);
    assert.equal(serverEndedFirst, true, 'the server sends FIN before the client does');
  });
});

describe('HTTP answers around the WebSocket doors', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ allowedOrigins: ['https://good.example'] });
  });
  after(() => server.stop());

  test('GET /healthz answers 200', async () => {
    const res = await fetch(`${server.http}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  test('plain GET on /echo and /chat answers 426 with an explanation', async () => {
    for (const path of ['/echo', '/chat']) {
      const res = await fetch(`${server.http}${path}`);
      assert.equal(res.status, 426);
      assert.match(await res.text(), /WebSocket endpoint/);
    }
  });

  test('an unknown path is a 404, and an upgrade there is refused', async () => {
    const res = await fetch(`${server.http}/no-such-thing`);
    assert.equal(res.status, 404);
    assert.equal((await res.json()).error.code, 152);
    const { status, socket } = await rawUpgrade(server.port, '/no-such-thing');
    assert.equal(status, 404);
    socket.destroy();
  });

  test('the origin allow-list refuses other origins with 403 and admits listed ones', async () => {
    const bad = await rawUpgrade(server.port, '/echo', { Origin: 'https://evil.example' });
    assert.equal(bad.status, 403);
    bad.socket.destroy();
    const good = await TestClient.open(`${server.ws}/echo`, { headers: { Origin: 'https://good.example' } });
    good.send('x');
    assert.equal(await good.nextText(), 'Echo: x');
    await good.close();
  });

  test('CORS answers the listed origin and not others', async () => {
    const ok = await fetch(`${server.http}/healthz`, { headers: { Origin: 'https://good.example' } });
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://good.example');
    assert.equal(ok.headers.get('access-control-allow-credentials'), null, 'never with credentials');
    const no = await fetch(`${server.http}/healthz`, { headers: { Origin: 'https://evil.example' } });
    assert.equal(no.headers.get('access-control-allow-origin'), null);
  });

  test('with no allow-list every origin is permitted, as "*" without credentials', async () => {
    const open = await startHerald();
    try {
      const res = await fetch(`${open.http}/healthz`, { headers: { Origin: 'https://anyone.example' } });
      // A reflected origin with credentials would let any page read answers with the visitor's cookies.
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.equal(res.headers.get('access-control-allow-credentials'), null);
      const c = await TestClient.open(`${open.ws}/chat`, { headers: { Origin: 'https://anyone.example' } });
      assert.equal(await c.nextText(), 'Welcome to broadcast chat!');
      await c.close();
    } finally {
      await open.stop();
    }
  });
});

describe('dead and slow peers', () => {
  test('a peer that stops answering pings is dropped; a live one stays', async () => {
    const server = await startHerald({ heartbeatInterval: 100 });
    try {
      const live = await TestClient.open(`${server.ws}/echo`); // ws answers pings by itself
      const { socket } = await rawUpgrade(server.port, '/echo'); // never answers
      const dropped = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('data', () => {});
      socket.on('end', () => socket.end());
      await dropped;
      live.send('still alive');
      assert.equal(await live.nextText(), 'Echo: still alive');
      await live.close();
    } finally {
      await server.stop();
    }
  });

  test('a /chat client that does not read is cut off with 1008; the others keep receiving', async (t) => {
    // The writer floods on purpose (up to 400 messages): its publish rate is not what is tested.
    const server = await startHerald({ maxBufferedBytes: 64 * 1024, maxMessageSize: 60_000, publishRate: 0 });
    try {
      const { socket: slow, rest } = await rawUpgrade(server.port, '/chat');
      slow.pause(); // reads nothing from now on: the kernel buffers fill, then the server's
      const reader = await TestClient.open(`${server.ws}/chat`);
      const writer = await TestClient.open(`${server.ws}/chat`);
      await reader.nextText();
      await writer.nextText();
      await until(() => server.herald.hub.localSubscribers('chat') === 3, { what: 'three chat subscribers' });
      const chunk = 'z'.repeat(50_000);
      let received = 0;
      // Bounded: 400 x 50 kB is far more than loopback's socket buffers can hide.
      for (let i = 0; i < 400 && server.herald.hub.localStats().numClients === 3; i++) {
        writer.send(chunk);
        await reader.nextText(5000);
        received++;
      }
      await until(() => server.herald.hub.localStats().numClients === 2, {
        what: 'the slow client to be disconnected',
        timeoutMs: 3000,
      });
      writer.send('after');
      assert.equal(await reader.nextText(), 'Broadcast: after');
      // The 1008 close frame queues behind megabytes this client never read, and the server stops
      // waiting for it to drain after a second and drops the connection: the client sees the close
      // frame, or only the TCP close or reset that follows it. One of the two must come.
      const ending = watchEnding(slow, rest);
      slow.resume();
      await until(() => ending.closeCode !== undefined || ending.tcp !== undefined, {
        what: 'the 1008 close frame or the TCP close/reset after it',
        timeoutMs: 10_000,
        detail: () => `${ending.bytes} bytes read, no close frame, TCP open`,
      });
      const saw =
        ending.closeCode !== undefined
          ? `a close frame with code ${ending.closeCode}`
          : `no close frame, then the TCP connection ${{ FIN: 'closed by the server (FIN)', reset: 'reset', closed: 'closed' }[ending.tcp!]}`;
      t.diagnostic(`the slow client saw ${saw} (${ending.bytes} bytes read)`);
      if (ending.closeCode !== undefined) assert.equal(ending.closeCode, 1008, `the client saw ${saw}`);
      assert.ok(received > 0);
      slow.destroy();
      await Promise.all([reader.close(), writer.close()]);
    } finally {
      await server.stop();
    }
  });
});
