// A quiet connection's frame parser is dropped and made again when ws needs it (idle-receiver.ts,
// docs/performance.md "Idle RSS, round 3"). On real sockets: it is dropped only between frames,
// the dropped parser is garbage, and everything a client can send to a connection without one is
// handled exactly as before - text, fragments, pings, an oversized message, a close frame, a FIN -
// as is the server closing it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  hasLiveReceiver,
  ownerOf,
  setOwner,
  setTicket,
  takeTicket,
} from '../../src/transports/ws/idle-receiver.js';
import { gc, type IdleClient, type IdleEchoServer, startIdleEchoServer } from '../helpers/idle-ws.js';
import { clientFrame, type ServerFrame } from '../helpers/raw.js';
import { until } from '../helpers/until.js';

const TEXT = 0x1;
const CONTINUATION = 0x0;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

describe('IdleWebSocket: the frame parser of a quiet connection', () => {
  let srv: IdleEchoServer;

  before(async () => {
    srv = await startIdleEchoServer({ maxPayload: 1024 });
  });
  after(() => srv.close());

  async function connect(): Promise<IdleClient> {
    const c = await srv.connect();
    await until(() => !hasLiveReceiver(c.server), { what: 'the parser of the new connection to go' });
    return c;
  }

  test('dropped once accepted, made again for a message, dropped again; the old one is garbage', async () => {
    const c = await connect();
    c.socket.write(clientFrame(TEXT, Buffer.from('one')));
    await until(() => c.frames().length === 1, { what: 'the first echo' });
    assert.equal(c.frames()[0].payload.toString(), 'echo one');
    await until(() => !hasLiveReceiver(c.server), { what: 'the parser to go again' });
    const internals = c.server as unknown as { liveReceiver?: object };
    c.socket.write(clientFrame(TEXT, Buffer.from('two')));
    await until(() => c.frames().length === 2, { what: 'the second echo' });
    const ref = new WeakRef(internals.liveReceiver ?? {});
    await until(() => !hasLiveReceiver(c.server), { what: 'the parser to go a third time' });
    await until(
      () => {
        gc();
        return ref.deref() === undefined;
      },
      { what: 'the dropped parser to be collected' },
    );
    c.socket.destroy();
  });

  test('a busy connection keeps one parser across its messages; it goes once the connection is quiet', async () => {
    const c = await connect();
    const internals = c.server as unknown as { liveReceiver?: object };
    c.socket.write(clientFrame(TEXT, Buffer.from('m0')));
    await until(() => c.frames().length === 1, { what: 'the first echo' });
    const first = internals.liveReceiver;
    assert.ok(first, 'a parser while messages come');
    // Each message as soon as the last is answered, for 0.6 s (more than two sweeps, none quiet).
    const t0 = performance.now();
    let i = 1;
    for (; performance.now() - t0 < 600 && i < 5000; i++) {
      c.socket.write(clientFrame(TEXT, Buffer.from(`m${i}`)));
      await until(() => c.frames().length === i + 1, { what: `echo ${i}` });
      assert.equal(internals.liveReceiver, first, `message ${i} used the same parser`);
    }
    assert.ok(i > 10, 'messages went back and forth');
    await until(() => !hasLiveReceiver(c.server), { what: 'the parser to go once quiet' });
    c.socket.destroy();
  });

  test('never dropped in the middle of a fragmented message; a ping between fragments is answered', async () => {
    const c = await connect();
    c.socket.write(clientFrame(TEXT, Buffer.from('frag-'), { fin: false }));
    c.socket.write(clientFrame(PING, Buffer.from('mid')));
    await until(() => c.frames().length === 1, { what: 'the pong' });
    assert.equal(c.frames()[0].opcode, PONG);
    // The pong scheduled a release; the first fragment is held in the parser, so it stays.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(c.server.releaseReceiver(), false);
    assert.ok(hasLiveReceiver(c.server));
    c.socket.write(clientFrame(CONTINUATION, Buffer.from('ment')));
    await until(() => c.frames().length === 2, { what: 'the whole message echoed' });
    assert.equal(c.frames()[1].payload.toString(), 'echo frag-ment');
    c.socket.destroy();
  });

  test('a ping, an oversized message, a close frame reach a connection without a parser', async () => {
    const a = await connect();
    a.socket.write(clientFrame(PING, Buffer.from('p')));
    await until(() => a.frames().length === 1, { what: 'the pong' });
    assert.equal(a.frames()[0].payload.toString(), 'p');
    await until(() => !hasLiveReceiver(a.server), { what: 'the parser to go' });
    a.socket.write(clientFrame(TEXT, Buffer.alloc(2000, 'x')));
    await until(() => a.frames().some((f) => f.opcode === CLOSE), { what: 'the 1009 close' });
    assert.equal((a.frames().find((f) => f.opcode === CLOSE) as ServerFrame).payload.readUInt16BE(0), 1009);

    const b = await connect();
    b.socket.write(clientFrame(CLOSE, Buffer.from([0x03, 0xe8])));
    await until(() => b.frames().some((f) => f.opcode === CLOSE), { what: 'the close answer' });
    assert.equal((b.frames().find((f) => f.opcode === CLOSE) as ServerFrame).payload.readUInt16BE(0), 1000);
    await until(() => srv.closes.includes(1000), { what: "the server's close event" });
    a.socket.destroy();
    b.socket.destroy();
  });

  test('a FIN, and the server closing, work on a connection without a parser', async () => {
    srv.closes.length = 0;
    const a = await connect();
    a.socket.end();
    await until(() => srv.closes.includes(1006), { what: 'the close after a FIN' });

    const b = await connect();
    b.server.close(4000, 'bye');
    await until(() => b.frames().some((f) => f.opcode === CLOSE), { what: "the server's close frame" });
    b.socket.write(clientFrame(CLOSE, Buffer.from([0x0f, 0xa0])));
    await until(() => srv.closes.includes(4000), { what: 'the close handshake to finish' });
    b.socket.destroy();
  });

  test("the door's object and the ticket are fields of the connection, taken once", async () => {
    const c = await connect();
    const session = { name: 'session' };
    setOwner(c.server, session);
    assert.equal(c.server.owner, session, 'a field, not a side table');
    assert.equal(ownerOf(c.server), session);
    let released = 0;
    const ticket = { release: () => released++ } as unknown as Parameters<typeof setTicket>[1];
    setTicket(c.server, ticket);
    assert.equal(c.server.ticket, ticket);
    takeTicket(c.server)?.release();
    takeTicket(c.server)?.release();
    assert.equal(released, 1);
    setOwner(c.server, undefined);
    assert.equal(ownerOf(c.server), undefined);
    c.socket.destroy();
  });
});
