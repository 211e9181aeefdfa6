// The listener tables of a WebSocket connection's socket, receiver and WebSocket are rebuilt once
// its listeners are on (idle memory, docs/performance.md "Idle RSS, round 3"). What a client sees
// must not change: fragmented messages, pings between fragments, the close handshake and the
// message size limit, on the plain doors and the channel protocol, byte by byte on a raw socket.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { centrifugeServerOf } from '../src/transports/centrifuge/door.js';
import { WsTransport } from '../src/transports/centrifuge/ws-transport.js';
import { hasLiveReceiver, hasLiveSender } from '../src/transports/ws/idle-receiver.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { clientFrame, parseServerFrames, rawUpgrade, type ServerFrame } from './helpers/raw.js';
import { until } from './helpers/until.js';

const TEXT = 0x1;
const CONTINUATION = 0x0;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

/** Collects the server's frames on a raw socket. */
function reader(socket: Socket, first: Buffer): { frames: () => ServerFrame[]; ended: () => boolean } {
  let buf = first;
  let ended = false;
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
  });
  socket.on('close', () => {
    ended = true;
  });
  socket.on('error', () => {});
  return { frames: () => parseServerFrames(buf), ended: () => ended };
}

function closeCode(f: ServerFrame): number {
  return f.payload.readUInt16BE(0);
}

describe('WebSocket connections with rebuilt listener tables', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ maxMessageSize: 1024 });
  });
  after(() => server.stop());

  test('/echo: a fragmented message with a ping between its fragments is answered whole, the ping first', async () => {
    const { socket, status, rest } = await rawUpgrade(server.port, '/echo');
    assert.equal(status, 101);
    const r = reader(socket, rest);
    socket.write(clientFrame(TEXT, Buffer.from('hello, '), { fin: false }));
    socket.write(clientFrame(PING, Buffer.from('between')));
    socket.write(clientFrame(CONTINUATION, Buffer.from('fragmented '), { fin: false }));
    socket.write(clientFrame(CONTINUATION, Buffer.from('world')));
    await until(() => r.frames().length >= 2, { what: 'the pong and the echo' });
    const [pong, echo] = r.frames();
    assert.equal(pong.opcode, PONG);
    assert.equal(pong.payload.toString(), 'between');
    assert.equal(echo.opcode, TEXT);
    assert.match(echo.payload.toString(), /hello, fragmented world/);
    // The close handshake: the server answers the client's close frame with its own and ends.
    socket.write(clientFrame(CLOSE, Buffer.from([0x03, 0xe8])));
    await until(() => r.ended(), { what: 'the server to end the connection' });
    const last = r.frames().at(-1) as ServerFrame;
    assert.equal(last.opcode, CLOSE);
    assert.equal(closeCode(last), 1000);
  });

  for (const [path, headers] of [
    ['/chat', {}],
    ['/echo', {}],
    ['/connection/websocket', { 'Sec-WebSocket-Protocol': 'centrifuge-json' }],
  ] as const) {
    test(`${path}: a message over maxMessageSize, even in fragments, is closed with 1009`, async () => {
      const { socket, status, rest } = await rawUpgrade(server.port, path, headers);
      assert.equal(status, 101);
      const r = reader(socket, rest);
      socket.write(clientFrame(TEXT, Buffer.alloc(600, 'a'), { fin: false }));
      socket.write(clientFrame(CONTINUATION, Buffer.alloc(600, 'b')));
      await until(() => r.frames().some((f) => f.opcode === CLOSE), { what: 'a close frame' });
      const close = r.frames().find((f) => f.opcode === CLOSE) as ServerFrame;
      assert.equal(closeCode(close), 1009);
      await until(() => r.ended(), { what: 'the server to end the connection' });
    });
  }

  test('the channel protocol: a command split over fragments is read whole, then the close handshake', async () => {
    const { socket, status, rest } = await rawUpgrade(server.port, '/connection/websocket', {
      'Sec-WebSocket-Protocol': 'centrifuge-json',
    });
    assert.equal(status, 101);
    const r = reader(socket, rest);
    const command = '{"id":1,"connect":{}}\n{"id":2,"subscribe":{"channel":"news"}}';
    socket.write(clientFrame(TEXT, Buffer.from(command.slice(0, 10)), { fin: false }));
    socket.write(clientFrame(PING, Buffer.from('p')));
    socket.write(clientFrame(CONTINUATION, Buffer.from(command.slice(10))));
    await until(
      () =>
        /"id":2/.test(
          r
            .frames()
            .map((f) => f.payload.toString())
            .join(''),
        ),
      {
        what: 'the subscribe reply',
      },
    );
    const frames = r.frames();
    assert.equal(frames[0].opcode, PONG);
    const text = frames
      .filter((f) => f.opcode === TEXT)
      .map((f) => f.payload.toString())
      .join('\n');
    assert.match(text, /"id":1,"connect":\{"client":/);
    assert.match(text, /"id":2,"subscribe":\{/);
    socket.write(clientFrame(CLOSE, Buffer.from([0x03, 0xe8])));
    await until(() => r.ended(), { what: 'the server to end the connection' });
    const last = r.frames().at(-1) as ServerFrame;
    assert.equal(last.opcode, CLOSE);
    assert.equal(closeCode(last), 1000);
  });

  test('the channel protocol: a connection whose parser and sender were dropped gets publications, pings and commands', async () => {
    const { socket, status, rest } = await rawUpgrade(server.port, '/connection/websocket', {
      'Sec-WebSocket-Protocol': 'centrifuge-json',
    });
    assert.equal(status, 101);
    const r = reader(socket, rest);
    const texts = () =>
      r
        .frames()
        .filter((f) => f.opcode === TEXT)
        .map((f) => f.payload.toString())
        .join('\n');
    socket.write(
      clientFrame(TEXT, Buffer.from('{"id":1,"connect":{}}\n{"id":2,"subscribe":{"channel":"quiet"}}')),
    );
    await until(() => /"id":2/.test(texts()), { what: 'the subscribe reply' });
    const connect = /"client":"([^"]+)"/.exec(texts());
    const session = [...(centrifugeServerOf(server.herald.hub)?.sessions ?? [])].find(
      (x) => x.id === connect?.[1],
    );
    assert.ok(session?.transport instanceof WsTransport);
    const ws = session.transport.ws;
    // Idle memory (docs/performance.md, round 4): read from elsewhere, not fields of their own.
    for (const f of ['id', 'openedAt', 'connectedAt', 'closeCode']) assert.ok(!Object.hasOwn(session, f), f);
    assert.ok(!Object.hasOwn(session.transport, 'ticket'), 'the ticket is on the socket');
    const subs = (session as unknown as { subs: object }).subs;
    assert.equal(subs.constructor.name, 'ChannelSub', 'one subscription: its record is the table');
    await until(() => !hasLiveReceiver(ws), { what: "the quiet connection's parser to go" });
    await until(() => !hasLiveSender(ws), { what: "the quiet connection's sender to go" });
    // A publication reaches it; a ping is answered; a command is read and answered.
    await server.herald.hub.publish('quiet', { data: { n: 1 } });
    await until(() => /"pub":\{"data":\{"n":1\}/.test(texts()), { what: 'the publication' });
    socket.write(clientFrame(PING, Buffer.from('q')));
    await until(() => r.frames().some((f) => f.opcode === PONG && f.payload.toString() === 'q'), {
      what: 'the pong',
    });
    await until(() => !hasLiveReceiver(ws), { what: 'the parser to go again' });
    socket.write(clientFrame(TEXT, Buffer.from('{"id":3,"presence_stats":{"channel":"quiet"}}')));
    await until(() => /"id":3,"presence_stats":\{"num_clients":1/.test(texts()), {
      what: 'the command reply',
    });
    await until(() => !hasLiveReceiver(ws), { what: 'the parser to go once more' });
    // The pong above went out through a sender made again; it is dropped again since.
    assert.equal(hasLiveSender(ws), false);
    socket.write(clientFrame(CLOSE, Buffer.from([0x03, 0xe8])));
    await until(() => r.ended(), { what: 'the server to end the connection' });
    assert.equal(closeCode(r.frames().at(-1) as ServerFrame), 1000);
  });
});
