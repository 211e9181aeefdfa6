// A client's WebSocket pings on every Herald WebSocket door (/chat, /echo, the channel protocol)
// get their pong with the same payload, as RFC 6455 asks; a client that floods pings and never
// reads the pongs is cut off like any other client that stops reading, and everyone else carries on.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';
import { clientFrame, rawUpgrade } from './helpers/raw.js';
import { until } from './helpers/until.js';
import { TestClient } from './helpers/ws.js';

/** The next 'drain' (a reset ends the wait through 'close' instead: no rejection here). */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

describe('client pings', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ maxBufferedBytes: 16 * 1024 });
  });
  after(() => server.stop());

  for (const [path, protocol] of [
    ['/chat', undefined],
    ['/echo', undefined],
    ['/connection/websocket', 'centrifuge-json'],
  ] as const) {
    test(`${path}: a ping is answered with a pong carrying its payload`, async () => {
      const c = await TestClient.open(`${server.ws}${path}`, undefined, protocol);
      for (const payload of ['first', 'second', '']) {
        const pong = once(c.ws, 'pong');
        c.ws.ping(payload);
        const [data] = (await pong) as [Buffer];
        assert.equal(data.toString(), payload);
      }
      await c.close();
    });
  }

  for (const path of ['/chat', '/connection/websocket']) {
    test(`${path}: a client that floods pings and reads nothing is cut off; others are served`, async () => {
      const { socket, status } = await rawUpgrade(
        server.port,
        path,
        path === '/chat' ? {} : { 'Sec-WebSocket-Protocol': 'centrifuge-json' },
      );
      assert.equal(status, 101);
      socket.pause(); // never reads again: pongs pile up in the kernel, then in the server
      socket.on('error', () => {}); // the server's reset, seen on a later write
      let gone = false;
      const closed = new Promise<void>((resolve) =>
        socket.once('close', () => {
          gone = true;
          resolve();
        }),
      );
      const ping = clientFrame(0x9, Buffer.alloc(125, 'p'));
      // Pings until the server cuts the client off (the reset shows on a write), bounded in count
      // (~100 MiB, far more than kernel buffers and the 16 KiB bound) and in time.
      const t0 = Date.now();
      for (let i = 0; i < 800_000 && !gone && Date.now() - t0 < 20_000; i++) {
        if (!socket.write(ping)) await Promise.race([drained(socket), closed]);
      }
      await until(() => gone, { what: 'the flooding client cut off', timeoutMs: 5_000 });
      const other = await TestClient.open(`${server.ws}/echo`);
      other.send('hello');
      assert.equal(await other.nextText(), 'Echo: hello');
      await other.close();
    });
  }
});
