// A quiet connection's frame writer object (ws's Sender) is dropped and made again when ws needs it
// (idle-sender.ts, docs/performance.md "Idle memory, round 4"). On real sockets: dropped only while
// idle, the dropped one is garbage, bufferedAmount and the fan-out's check do not make it again,
// and everything ws writes through it - a message, a Blob in order with text, a ping, a pong, a
// close - reaches the client exactly as before.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hasLiveSender, releaseReceiverSoon } from '../../src/transports/ws/idle-receiver.js';
import { senderWritesAtOnce } from '../../src/transports/ws/ws-internals.js';
import { gc, type IdleClient, type IdleEchoServer, startIdleEchoServer } from '../helpers/idle-ws.js';
import { clientFrame, type ServerFrame } from '../helpers/raw.js';
import { until } from '../helpers/until.js';

const TEXT = 0x1;
const BINARY = 0x2;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

describe("IdleWebSocket: ws's Sender of a quiet connection", () => {
  let srv: IdleEchoServer;

  before(async () => {
    srv = await startIdleEchoServer();
  });
  after(() => srv.close());

  async function connect(): Promise<IdleClient> {
    const c = await srv.connect();
    await until(() => !hasLiveSender(c.server), { what: 'the sender of the new connection to go' });
    return c;
  }

  test('dropped once accepted; asking bufferedAmount or whether it writes at once does not make it again', async () => {
    const c = await connect();
    assert.equal(c.server.bufferedAmount, 0);
    assert.equal(senderWritesAtOnce(c.server), true);
    assert.equal(hasLiveSender(c.server), false);
    c.socket.destroy();
  });

  test('made again to answer a message, dropped again; the old one is garbage', async () => {
    const c = await connect();
    c.socket.write(clientFrame(TEXT, Buffer.from('one')));
    await until(() => c.frames().length === 1, { what: 'the first echo' });
    assert.equal(c.frames()[0].payload.toString(), 'echo one');
    await until(() => !hasLiveSender(c.server), { what: 'the sender to go again' });
    const internals = c.server as unknown as { liveSender?: object };
    c.server.send('pushed');
    const ref = new WeakRef(internals.liveSender ?? {});
    assert.ok(hasLiveSender(c.server), 'made again by send()');
    await until(() => c.frames().length === 2, { what: 'the push' });
    assert.equal(c.frames()[1].payload.toString(), 'pushed');
    releaseReceiverSoon(c.server);
    await until(() => !hasLiveSender(c.server), { what: 'the sender to go a third time' });
    await until(
      () => {
        gc();
        return ref.deref() === undefined;
      },
      { what: 'the dropped sender to be collected' },
    );
    c.socket.destroy();
  });

  test('kept while it queues (a Blob being read); text sent behind the Blob stays behind it', async () => {
    const c = await connect();
    c.server.send(new Blob(['blob-bytes']));
    assert.equal(senderWritesAtOnce(c.server), false, 'queueing while the Blob is read');
    c.server.send('after');
    assert.equal(c.server.releaseSender(), false, 'not dropped while it queues');
    await until(() => c.frames().length === 2, { what: 'both messages' });
    assert.deepEqual(
      c.frames().map((f) => [f.opcode, f.payload.toString()]),
      [
        [BINARY, 'blob-bytes'],
        [TEXT, 'after'],
      ],
    );
    await until(() => c.server.releaseSender(), { what: 'the sender to be idle again' });
    c.socket.destroy();
  });

  test('ping, pong and close go out through a sender made again', async () => {
    const c = await connect();
    c.server.ping(Buffer.from('srv'));
    await until(() => c.frames().length === 1, { what: 'the ping' });
    assert.deepEqual([c.frames()[0].opcode, c.frames()[0].payload.toString()], [PING, 'srv']);
    releaseReceiverSoon(c.server);
    await until(() => !hasLiveSender(c.server), { what: 'the sender to go' });
    c.socket.write(clientFrame(PING, Buffer.from('cli')));
    await until(() => c.frames().length === 2, { what: 'the pong' });
    assert.deepEqual([c.frames()[1].opcode, c.frames()[1].payload.toString()], [PONG, 'cli']);
    await until(() => !hasLiveSender(c.server), { what: 'the sender to go again' });
    srv.closes.length = 0;
    c.server.close(4001, 'bye');
    await until(() => c.frames().some((f) => f.opcode === CLOSE), { what: "the server's close frame" });
    const close = c.frames().find((f) => f.opcode === CLOSE) as ServerFrame;
    assert.equal(close.payload.readUInt16BE(0), 4001);
    assert.equal(close.payload.subarray(2).toString(), 'bye');
    c.socket.write(clientFrame(CLOSE, Buffer.from([0x0f, 0xa1])));
    await until(() => srv.closes.includes(4001), { what: 'the close handshake to finish' });
    c.socket.destroy();
  });
});
