// The small surgeries that keep an idle connection small (docs/performance.md, idle memory): each
// on real sockets, checking that the connection still behaves exactly as before.
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WebSocket, WebSocketServer } from 'ws';
import { compactEvents } from '../../src/transports/compact-events.js';
import { dropHalfOpenEndListener, forgetPeerName } from '../../src/transports/idle-socket.js';
import {
  compactConnectionEvents,
  releaseReceiverBuffers,
  shareEmptyExtensions,
} from '../../src/transports/ws/ws-internals.js';

type Internal = WebSocket & {
  _extensions: object;
  _receiver: { _extensions: object; _buffers: unknown[] };
  _sender: { _extensions: object };
  _socket: Socket & { _peername?: unknown };
};

describe('compactEvents', () => {
  test('listeners keep working after the table is rebuilt, and can still be added and removed', () => {
    const e = new EventEmitter();
    const got: string[] = [];
    const a = (x: string) => got.push(`a${x}`);
    const b = (x: string) => got.push(`b${x}`);
    e.on('one', a);
    e.on('two', a);
    e.on('two', b);
    compactEvents(e);
    assert.notEqual(Object.getPrototypeOf((e as unknown as { _events: object })._events), null);
    e.emit('one', '1');
    e.emit('two', '2');
    assert.deepEqual(got, ['a1', 'a2', 'b2']);
    assert.equal(e.listenerCount('two'), 2);
    assert.deepEqual(e.eventNames().sort(), ['one', 'two']);
    e.off('two', a);
    e.on('three', b);
    e.emit('two', '3');
    e.emit('three', '4');
    assert.deepEqual(got, ['a1', 'a2', 'b2', 'b3', 'b4']);
    assert.throws(
      () => e.emit('error', new Error('unhandled')),
      /unhandled/,
      "an 'error' nobody listens to still throws",
    );
  });
});

/** V8's heap in use after a full collection (gc made reachable at run time, as --expose-gc would). */
function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('compactEvents: every name inside the table', () => {
  // A stream with the names ws gives its receiver: five from the stream, four added.
  const names = ['conclude', 'drain', 'error', 'message', 'ping', 'pong'];
  function receiverLike(): Writable {
    const w = new Writable();
    for (const n of names) w.on(n, () => {});
    return w;
  }
  /** Heap bytes per table, for N tables made by `make` from streams built beforehand. */
  function bytesPerTable(make: (w: Writable) => void): number {
    const N = 20_000;
    const streams = Array.from({ length: N }, receiverLike);
    // The tables replaced stay alive: the difference is the new tables' size alone.
    const replaced = streams.map((w) => (w as unknown as { _events: object })._events);
    const before = heapAfterGc();
    for (const w of streams) make(w);
    const bytes = (heapAfterGc() - before) / N;
    assert.equal(streams.length + replaced.length, 2 * N); // kept alive until measured
    return bytes;
  }

  test('a stream table with names added later is one object with every name inside it', () => {
    // Nine names (five from the stream, four added): a 24-byte header and nine 8-byte fields. A
    // table filled name by name from `{}` (four fields inside, the rest in a property array beside
    // it) costs 100-130 bytes, measured the same way.
    const compact = bytesPerTable((w) => compactEvents(w));
    assert.ok(compact <= 24 + 9 * 8 + 4, `compacted ${compact.toFixed(1)} B per table`);
    const w = receiverLike();
    const own = (w as unknown as { _events: object })._events;
    compactEvents(w);
    assert.notEqual((w as unknown as { _events: object })._events, own, "the stream's own table is replaced");
    const byName = bytesPerTable((w) => {
      const e = w as unknown as { _events: Record<string, unknown> };
      const plain: Record<string, unknown> = {};
      for (const k of Object.keys(e._events)) plain[k] = e._events[k];
      e._events = plain;
    });
    assert.ok(byName > compact, `name by name ${byName.toFixed(1)} B, compacted ${compact.toFixed(1)} B`);
  });

  test('symbol names and a __proto__ name are kept', () => {
    const e = new EventEmitter();
    const sym = Symbol('s');
    const got: string[] = [];
    e.on(sym, () => got.push('sym'));
    e.on('__proto__', () => got.push('proto'));
    e.on('x', () => got.push('x'));
    compactEvents(e);
    e.emit(sym);
    e.emit('__proto__');
    e.emit('x');
    assert.deepEqual(got, ['sym', 'proto', 'x']);
  });
});

describe('a server-side WebSocket trimmed for idling', () => {
  let http: Server;
  let wss: WebSocketServer;
  const accepted: Internal[] = [];
  let url = '';

  before(async () => {
    http = createServer();
    wss = new WebSocketServer({ server: http, perMessageDeflate: false, autoPong: false });
    wss.on('connection', (ws) => {
      const w = ws as Internal;
      accepted.push(w);
      assert.equal(w._socket.remoteAddress, '127.0.0.1'); // asked once, as admission does
      forgetPeerName(w._socket);
      dropHalfOpenEndListener(w._socket);
      shareEmptyExtensions(ws);
      ws.on('message', (data: Buffer) => ws.send(`echo ${data}`));
      compactConnectionEvents(ws);
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  after(async () => {
    wss.close();
    http.close();
  });

  async function open(): Promise<WebSocket> {
    const c = new WebSocket(url);
    await once(c, 'open');
    return c;
  }

  test('connections share one empty extension table and still talk both ways', async () => {
    const [c1, c2] = [await open(), await open()];
    const [s1, s2] = accepted.slice(-2) as [Internal, Internal];
    assert.equal(s1._extensions, s2._extensions);
    assert.equal(s1._receiver._extensions, s1._extensions);
    assert.equal(s1._sender._extensions, s1._extensions);
    assert.ok(Object.isFrozen(s1._extensions));
    c1.send('x'.repeat(70_000)); // more than one chunk: the receiver queues them
    const [m] = await once(c1, 'message');
    assert.equal(String(m).length, 'echo '.length + 70_000);
    releaseReceiverBuffers(s1);
    c1.send('after');
    assert.equal(String((await once(c1, 'message'))[0]), 'echo after');
    c2.send('two');
    assert.equal(String((await once(c2, 'message'))[0]), 'echo two');
    c1.close();
    c2.close();
    await Promise.all([once(c1, 'close'), once(c2, 'close')]);
  });

  test("the socket's, receiver's and WebSocket's tables are rebuilt with the same listeners", async () => {
    const c = await open();
    const s = accepted.at(-1) as Internal & { _events: object; _receiver: { _events: object } };
    for (const e of [s as unknown as EventEmitter, s._receiver as unknown as EventEmitter, s._socket]) {
      const table = (e as unknown as { _events: object })._events;
      assert.equal(Object.getPrototypeOf(table), Object.prototype);
    }
    assert.deepEqual(
      (s._receiver as unknown as EventEmitter).eventNames().sort(),
      ['close', 'conclude', 'drain', 'error', 'finish', 'message', 'ping', 'pong', 'prefinish'].filter(
        (n) => (s._receiver as unknown as EventEmitter).listenerCount(n) > 0,
      ),
    );
    c.send('still talking');
    assert.equal(String((await once(c, 'message'))[0]), 'echo still talking');
    c.close(1000);
    const [code] = await once(c, 'close');
    assert.equal(code, 1000);
  });

  test('the peer address is read again when asked; a client FIN still closes the connection', async () => {
    const c = await open();
    const s = accepted.at(-1) as Internal;
    assert.equal(s._socket._peername, null, 'the cached address is gone');
    assert.equal(s._socket.remoteAddress, '127.0.0.1');
    assert.equal(s._socket.listenerCount('end'), 1, "only the WebSocket's own 'end' listener");
    const closed = once(s, 'close');
    (c as unknown as { _socket: Socket })._socket.end(); // FIN without a close frame
    const [code] = await closed;
    assert.equal(code, 1006);
  });
});
