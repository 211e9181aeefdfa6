import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { MemoryEngine } from '../src/engine/memory.js';
import type { EngineSink } from '../src/model/index.js';
import { encodeCursor } from '../src/protocol/cursor.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { api, get } from './helpers/http.js';
import { SseClient } from './helpers/sse.js';
import { until } from './helpers/until.js';

/** A memory engine whose sink a test can reach, to simulate a bus that lost deliveries. */
class ReachableEngine extends MemoryEngine {
  reachable: EngineSink | undefined;
  override async start(sink: EngineSink): Promise<void> {
    this.reachable = sink;
    await super.start(sink);
  }
}

const sseUrl = (base: string, channels: string[], lastEventId?: string) => {
  const q = new URLSearchParams();
  for (const c of channels) q.append('channel', c);
  if (lastEventId) q.set('last_event_id', lastEventId);
  return `${base}/sse?${q}`;
};

describe('SSE', () => {
  let server: TestServer;
  const engine = new ReachableEngine();
  before(async () => {
    server = await startHerald({ sseRetry: 100, sseHeartbeat: 1, maxChannelsPerRequest: 3 }, engine);
  });
  after(() => server.stop());

  const publish = async (channel: string, data: unknown) => {
    const a = await api(server.http, 'publish', { channel, data });
    assert.ok(a.json.result, a.text);
    return a.json.result as { offset: number; epoch: string };
  };

  test('answers with event-stream headers, a retry hint, a ready event, then heartbeats', async () => {
    const ac = new AbortController();
    const res = await fetch(sseUrl(server.http, ['sse:h']), { signal: ac.signal });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.match(res.headers.get('cache-control') ?? '', /no-cache/);
    assert.equal(res.headers.get('x-accel-buffering'), 'no');
    assert.equal(res.headers.get('content-encoding'), null);
    const reader = res.body!.getReader();
    let text = '';
    const dec = new TextDecoder();
    const started = Date.now();
    while (!text.includes(':\n\n') && Date.now() - started < 4000)
      text += dec.decode((await reader.read()).value);
    assert.match(text, /^retry: 100\n\n/);
    assert.match(text, /event: ready\ndata: \{"channels":\["sse:h"\]\}\nid: [\w-]+\n\n/);
    assert.ok(text.includes(':\n\n'), 'a comment heartbeat arrives within the heartbeat interval');
    ac.abort();
  });

  test('each publication is one message event: the publication JSON, with a cursor id', async () => {
    const c = new SseClient(sseUrl(server.http, ['sse:m1', 'sse:m2']));
    await c.next('ready');
    const p1 = await publish('sse:m1', { text: 'line one\nline two' });
    const p2 = await publish('sse:m2', 'plain');
    const [m1, m2] = await c.messages(2);
    assert.deepEqual(
      { ...m1, time: 0 },
      {
        channel: 'sse:m1',
        offset: p1.offset,
        epoch: p1.epoch,
        data: { text: 'line one\nline two' },
        time: 0,
      },
    );
    assert.equal(typeof m1.time, 'number');
    assert.equal(m2.channel, 'sse:m2');
    assert.equal(m2.offset, p2.offset);
    // The id is a cursor over both channels.
    const id = c.events.at(-1)!.id;
    assert.equal(
      id,
      encodeCursor(
        new Map([
          ['sse:m1', p1],
          ['sse:m2', p2],
        ]),
      ),
    );
    c.close();
  });

  test('one-channel stream: a burst within one tick arrives whole and in order, multi-byte text intact', async () => {
    const c = new SseClient(sseUrl(server.http, ['sse:burst']));
    await c.next('ready');
    const texts = Array.from({ length: 20 }, (_, i) => `n${i} ünïcødé ✓ ${'x'.repeat(i * 50)}`);
    // Published without awaiting: the deliveries share ticks, so later events coalesce on the socket.
    const pubs = await Promise.all(texts.map((t) => server.herald.hub.publish('sse:burst', { data: t })));
    const got = await c.messages(texts.length);
    assert.deepEqual(
      got.map((m) => m.data),
      texts,
    );
    assert.deepEqual(
      got.map((m) => m.offset),
      pubs.map((p) => p.offset),
    );
    assert.equal(c.lastId(), encodeCursor(new Map([['sse:burst', pubs.at(-1)!]])));
    c.close();
  });

  test('bad requests get a 4xx JSON error, not a stream', async () => {
    const cases: [string, number, number][] = [
      ['/sse', 400, 107],
      ['/sse?channel=', 400, 107],
      ['/sse?channel=a%23b', 400, 107],
      ['/sse?channel=%24SYS', 400, 107],
      ['/sse?channel=a&channel=b&channel=c&channel=d', 400, 106],
      ['/sse?channel=a&last_event_id=not-a-cursor!', 400, 107],
      [`/sse?channel=a&last_event_id=${Buffer.from('[1]').toString('base64url')}`, 400, 107],
      [`/sse?channel=a&last_event_id=${Buffer.from('{"a":["e",-1]}').toString('base64url')}`, 400, 107],
    ];
    for (const [path, status, code] of cases) {
      const a = await get(`${server.http}${path}`);
      assert.equal(a.status, status, path);
      assert.match(a.headers.get('content-type') ?? '', /application\/json/, path);
      assert.equal(a.json.error.code, code, path);
    }
    const header = await get(`${server.http}/sse?channel=a`, { headers: { 'last-event-id': '%%%' } });
    assert.equal(header.status, 400);
    // Nothing was left subscribed, and the door still serves.
    assert.equal(server.herald.hub.localSubscribers('a'), 0);
    const c = new SseClient(sseUrl(server.http, ['sse:after-bad']));
    await c.next('ready');
    c.close();
  });

  test('a client that goes away releases its subscriptions', async () => {
    const c = new SseClient(sseUrl(server.http, ['sse:rel1', 'sse:rel2']));
    await c.next('ready');
    assert.equal(server.herald.hub.localSubscribers('sse:rel1'), 1);
    c.close();
    await until(
      () =>
        server.herald.hub.localSubscribers('sse:rel1') + server.herald.hub.localSubscribers('sse:rel2') === 0,
      { what: 'subscriptions released', timeoutMs: 3000 },
    );
  });

  test('resume with ?last_event_id: all N missed publications of every channel, in order, none twice', async () => {
    const chans = ['sse:r1', 'sse:r2'];
    const c1 = new SseClient(sseUrl(server.http, chans));
    await c1.next('ready');
    await publish('sse:r1', 'before');
    await c1.messages(1);
    const lastId = c1.lastId();
    c1.close();
    const N = 20;
    for (let i = 0; i < N; i++) await publish(chans[i % 2], i);
    const c2 = new SseClient(sseUrl(server.http, chans, lastId));
    const first = await c2.next();
    assert.equal(first.type, 'ready', 'no gap event: the resume is complete');
    const got = await c2.messages(N);
    // Every one of the N exactly once; order is exact per channel (offsets).
    assert.deepEqual(
      got.map((m) => m.data).sort((a, b) => a - b),
      Array.from({ length: N }, (_, i) => i),
    );
    assert.deepEqual(
      got.filter((m) => m.channel === 'sse:r2').map((m) => m.offset),
      Array.from({ length: N / 2 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      got.filter((m) => m.channel === 'sse:r1').map((m) => m.offset),
      Array.from({ length: N / 2 }, (_, i) => i + 2),
    );
    // One stream, written in order: a copy of any of them would come before a later publication.
    await publish('sse:r1', 'marker');
    assert.equal((await c2.messages(1))[0].data, 'marker', 'nothing twice');
    c2.close();
  });

  test('the automatic reconnect (Last-Event-ID header) resumes without loss or duplicates', async () => {
    const ch = 'sse:auto';
    const c = new SseClient(sseUrl(server.http, [ch]));
    await c.next('ready');
    await publish(ch, 0);
    await c.messages(1);
    // Cut every connection from the server side, as a restart of a proxy would.
    server.herald.app.server.closeAllConnections();
    const N = 15;
    for (let i = 1; i <= N; i++) await server.herald.hub.publish(ch, { data: i });
    const got = await c.messages(N, 5000);
    assert.deepEqual(
      got.map((m) => m.data),
      Array.from({ length: N }, (_, i) => i + 1),
    );
    assert.equal(c.events.filter((e) => e.type === 'ready').length, 2, 'reconnected once');
    assert.equal(c.events.filter((e) => e.type === 'gap').length, 0);
    await publish(ch, 'marker');
    assert.equal((await c.messages(1))[0].data, 'marker', 'nothing twice');
    c.close();
  });

  test('a stream that never saw a publication still resumes from where it connected', async () => {
    const ch = 'sse:quiet';
    await publish(ch, 'old');
    const c1 = new SseClient(sseUrl(server.http, [ch]));
    await c1.next('ready');
    const id = c1.lastId();
    c1.close();
    await publish(ch, 'missed');
    const c2 = new SseClient(sseUrl(server.http, [ch], id));
    const [m] = await c2.messages(1);
    assert.equal(m.data, 'missed');
    await publish(ch, 'marker');
    assert.equal((await c2.messages(1))[0].data, 'marker', 'nothing more from before');
    c2.close();
  });

  test('when the bus loses deliveries the stream ends and the client recovers from history', async () => {
    const ch = 'sse:resync';
    const c = new SseClient(sseUrl(server.http, [ch]));
    await c.next('ready');
    await publish(ch, 1);
    await c.messages(1);
    engine.reachable!.onResync!([ch]);
    await publish(ch, 2);
    const [m] = await c.messages(1, 5000);
    assert.equal(m.data, 2);
    await until(() => c.events.filter((e) => e.type === 'ready').length === 2, {
      what: 'reconnect',
      timeoutMs: 3000,
    });
    await publish(ch, 'marker');
    assert.equal((await c.messages(1))[0].data, 'marker', 'nothing twice');
    c.close();
  });

  test('a client that does not read is cut off once its buffer passes the bound', async () => {
    const small = await startHerald({ maxBufferedBytes: 64 * 1024 });
    try {
      const sock = connect(small.port, '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      sock.write('GET /sse?channel=slow HTTP/1.1\r\nHost: x\r\n\r\n');
      sock.pause();
      await until(() => small.herald.hub.localSubscribers('slow') === 1, {
        what: 'subscribed',
        timeoutMs: 3000,
      });
      const closed = new Promise((r) => sock.once('close', r));
      sock.on('error', () => {});
      const big = 'x'.repeat(32 * 1024);
      for (let i = 0; i < 2000 && small.herald.hub.localSubscribers('slow') > 0; i++) {
        await small.herald.hub.publish('slow', { data: big });
        if (i % 20 === 0) await new Promise((r) => setImmediate(r));
      }
      assert.equal(small.herald.hub.localSubscribers('slow'), 0, 'slow stream ended');
      sock.resume();
      await closed;
    } finally {
      await small.stop();
    }
  });

  test('shutdown ends every stream', async () => {
    const s = await startHerald();
    const res = await fetch(sseUrl(s.http, ['sse:bye']));
    const reader = res.body!.getReader();
    await reader.read();
    const stopped = s.stop();
    for (;;) {
      const r = await reader.read().catch(() => ({ done: true }));
      if (r.done) break;
    }
    await stopped;
  });
});

describe('SSE gap', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ historySize: 3 });
  });
  after(() => server.stop());

  test('history too short: a gap event first, then what history still has, then live', async () => {
    const ch = 'gap:sse';
    const c1 = new SseClient(sseUrl(server.http, [ch, 'gap:other']));
    await c1.next('ready');
    await server.herald.hub.publish(ch, { data: 0 });
    await c1.messages(1);
    const id = c1.lastId();
    c1.close();
    for (let i = 1; i <= 10; i++) await server.herald.hub.publish(ch, { data: i });
    const c2 = new SseClient(sseUrl(server.http, [ch, 'gap:other'], id));
    const first = await c2.next();
    assert.equal(first.type, 'gap');
    assert.deepEqual(JSON.parse(first.data), { channels: [ch] });
    assert.equal((await c2.next()).type, 'ready');
    const got = await c2.messages(3);
    assert.deepEqual(
      got.map((m) => m.offset),
      [9, 10, 11],
    );
    await server.herald.hub.publish(ch, { data: 11 });
    assert.equal((await c2.messages(1))[0].offset, 12);
    c2.close();
  });

  test('a cursor from another epoch is a gap too', async () => {
    const ch = 'gap:epoch';
    await server.herald.hub.publish(ch, { data: 'a' });
    const stale = encodeCursor(new Map([[ch, { epoch: 'gone', offset: 7 }]]));
    const c = new SseClient(sseUrl(server.http, [ch], stale));
    const first = await c.next();
    assert.equal(first.type, 'gap');
    const [m] = await c.messages(1);
    assert.equal(m.offset, 1);
    c.close();
  });
});
