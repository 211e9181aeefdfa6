// /connection/websocket with hand-written frames: every bad input gets its documented code, and
// a well-behaved client on the same server keeps being served.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Disconnects } from '../src/errors.js';
import { centrifugeServerOf } from '../src/transports/centrifuge/door.js';
import { RawClient } from './helpers/centrifuge.js';
import { startHerald, type TestServer } from './helpers/herald.js';

describe('/connection/websocket raw frames', () => {
  let server: TestServer;
  /** Connected and subscribed to `watch`; checked after every bad client. */
  let good: RawClient;
  let goodId = 10;

  const assertGoodServed = async () => {
    const id = ++goodId;
    const pub = server.herald.hub.publish('watch', { data: { id } });
    const push = await good.next();
    assert.deepEqual(push, {
      push: { channel: 'watch', pub: { data: { id }, offset: (await pub).offset, time: (await pub).time } },
    });
    good.send({ id, presence_stats: { channel: 'watch' } });
    assert.deepEqual(await good.next(), { id, presence_stats: { num_clients: 1, num_users: 1 } });
  };

  before(async () => {
    server = await startHerald({
      maxMessageSize: 4096,
      clientConnectTimeout: 1,
      clientPing: 1,
      clientPongTimeout: 1,
      maxBufferedBytes: 64 * 1024,
      maxChannelsPerClient: 3,
    });
    good = await RawClient.open(server.ws);
    await good.connect();
    good.send({ id: 2, subscribe: { channel: 'watch' } });
    assert.deepEqual(await good.next(), { id: 2, subscribe: {} });
  });
  after(async () => {
    await good.close();
    await server.stop();
  });
  afterEach(assertGoodServed);

  test('connect answers with a client id, ping interval and pong: true; unknown fields are ignored', async () => {
    const c = await RawClient.open(server.ws);
    c.send({ id: 1, connect: { name: 'test', future_field: [1, 2] }, another_future_field: true });
    const r = await c.next();
    const res = r.connect as Record<string, unknown>;
    assert.equal(r.id, 1);
    assert.match(res.client as string, /^[0-9a-f-]{36}$/);
    assert.equal(res.ping, 1);
    assert.equal(res.pong, true);
    await c.close();
  });

  test('several commands in one frame are answered in order', async () => {
    const c = await RawClient.open(server.ws);
    c.send(
      [
        { id: 1, connect: {} },
        { id: 2, subscribe: { channel: 'a' } },
        { id: 3, subscribe: { channel: 'b', recoverable: true } },
        { id: 4, publish: { channel: 'a', data: { x: 'line\nbreak' } } },
      ]
        .map((x) => JSON.stringify(x))
        .join('\n'),
    );
    assert.equal((await c.next()).id, 1);
    assert.deepEqual(await c.next(), { id: 2, subscribe: {} });
    const sub = await c.next();
    assert.equal(sub.id, 3);
    assert.equal((sub.subscribe as { recoverable: boolean }).recoverable, true);
    // The push and the publish reply may come in either order: both must come.
    const rest = [await c.next(), await c.next()];
    assert.ok(rest.some((m) => m.id === 4));
    const push = rest.find((m) => m.push) as { push: { pub: { data: unknown } } };
    assert.deepEqual(push.push.pub.data, { x: 'line\nbreak' });
    await c.close();
  });

  test('malformed JSON closes with 3501 bad request', async () => {
    const c = await RawClient.open(server.ws);
    await c.connect();
    c.send('{"id": 2, "subscribe": ');
    const closed = await c.closed;
    assert.equal(closed.code, Disconnects.BAD_REQUEST.code);
    assert.equal(closed.reason, 'bad request');
  });

  test('a wrongly shaped command closes with 3501', async () => {
    const c = await RawClient.open(server.ws);
    await c.connect();
    c.send({ id: 2, subscribe: { channel: 42 } });
    assert.equal((await c.closed).code, 3501);
  });

  test('a command before connect closes with 3501', async () => {
    const c = await RawClient.open(server.ws);
    c.send({ id: 1, subscribe: { channel: 'watch' } });
    assert.equal((await c.closed).code, 3501);
  });

  test('an unknown method is answered with error 104 and the connection stays', async () => {
    const c = await RawClient.open(server.ws);
    await c.connect();
    c.send({ id: 2, teleport: { where: 'mars' } });
    assert.deepEqual(await c.next(), { id: 2, error: { code: 104, message: 'method not found' } });
    c.send({ id: 3, rpc: { method: 'sum', data: [1, 2] } });
    assert.deepEqual(await c.next(), { id: 3, error: { code: 104, message: 'method not found: rpc sum' } });
    c.send({ id: 4, presence_stats: { channel: 'nobody' } });
    assert.deepEqual(await c.next(), { id: 4, presence_stats: { num_clients: 0, num_users: 0 } });
    await c.close();
  });

  test('bad channel names, double subscribe and the channel limit get error replies', async () => {
    const c = await RawClient.open(server.ws);
    await c.connect();
    c.send({ id: 2, subscribe: { channel: 'a+b' } });
    assert.equal(((await c.next()).error as { code: number }).code, 107);
    c.send({ id: 3, subscribe: { channel: 'twice' } });
    assert.deepEqual(await c.next(), { id: 3, subscribe: {} });
    c.send({ id: 4, subscribe: { channel: 'twice' } });
    assert.equal(((await c.next()).error as { code: number }).code, 105);
    c.send({ id: 6, subscribe: { channel: 'c2' } });
    c.send({ id: 7, subscribe: { channel: 'c3' } });
    c.send({ id: 8, subscribe: { channel: 'c4' } });
    assert.deepEqual(await c.next(), { id: 6, subscribe: {} });
    assert.deepEqual(await c.next(), { id: 7, subscribe: {} });
    assert.deepEqual(await c.next(), {
      id: 8,
      error: { code: 106, message: 'limit exceeded: at most 3 channels per connection' },
    });
    c.send({ id: 5, publish: { channel: '$sys', data: 1 } });
    assert.equal(((await c.next()).error as { code: number }).code, 107);
    await c.close();
  });

  test('an oversize frame closes with 1009', async () => {
    const c = await RawClient.open(server.ws);
    await c.connect();
    c.send({ id: 2, publish: { channel: 'big', data: 'x'.repeat(5000) } });
    assert.equal((await c.closed).code, 1009);
    // Nothing of it was published.
    assert.equal((await server.herald.hub.history('big', { limit: 0 })).position.offset, 0);
  });

  test('a binary frame closes with 3501 (this endpoint speaks JSON)', async () => {
    const c = await RawClient.open(server.ws);
    await c.connect();
    c.t.send(Buffer.from([1, 2, 3]), true);
    assert.equal((await c.closed).code, 3501);
  });

  test('on the Protobuf subprotocol a text frame closes with 3501 (that encoding is binary)', async () => {
    const c = await RawClient.open(server.ws, 'centrifuge-protobuf');
    c.send({ id: 1, connect: {} });
    assert.equal((await c.closed).code, Disconnects.BAD_REQUEST.code);
  });

  test('a client that never sends connect is closed with 3502 stale', async () => {
    const c = await RawClient.open(server.ws);
    const t0 = Date.now();
    assert.equal((await c.closed).code, Disconnects.STALE.code);
    assert.ok(Date.now() - t0 >= 800, 'not before the connect timeout');
  });

  test('a client that does not answer pings is closed with 3012 no pong', async () => {
    const c = await RawClient.open(server.ws, undefined, false);
    c.send({ id: 1, connect: {} });
    assert.equal(((await c.t.nextText()) as string).startsWith('{"id":1,"connect"'), true);
    assert.equal(await c.t.nextText(3000), '{}');
    assert.equal((await c.closed).code, Disconnects.NO_PONG.code);
  });

  test('a client that stops reading is disconnected with 3008 slow', async () => {
    const c = await RawClient.open(server.ws);
    const { client } = await c.connect();
    c.send({ id: 2, subscribe: { channel: 'flood' } });
    assert.deepEqual(await c.next(), { id: 2, subscribe: {} });
    const session = [...(centrifugeServerOf(server.herald.hub)?.sessions ?? [])].find((x) => x.id === client);
    assert.ok(session);
    // Stop reading: the server's send buffer fills past maxBufferedBytes.
    const socket = (c.t.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const chunk = 'y'.repeat(4000);
    for (let i = 0; i < 5000 && session.isConnected; i++) {
      await server.herald.hub.publish('flood', { data: chunk });
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    assert.equal(session.isConnected, false, 'the slow client was cut off');
    socket.resume();
    assert.equal((await c.closed).code, Disconnects.SLOW.code);
  });
});
