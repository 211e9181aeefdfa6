// Bounds on the work one request may cause: the history a resume reads (SSE, polling, WebSocket
// protocol recovery and history), the channels of a broadcast and the commands of a batch.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encodeCursor } from '../src/protocol/cursor.js';
import { RawClient } from './helpers/centrifuge.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { api, poll } from './helpers/http.js';
import { SseClient } from './helpers/sse.js';

const MAX = 5;

describe('resume reads are bounded', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ maxRecoveryPublications: MAX, historySize: 100, sseRetry: 50 });
  });
  after(() => server.stop());

  /** Publishes 1..n on `channel`; returns the epoch. */
  const fill = async (channel: string, n: number) => {
    let epoch = '';
    for (let i = 1; i <= n; i++) epoch = (await server.herald.hub.publish(channel, { data: i })).epoch;
    return epoch;
  };
  const cursorAt = (entries: [string, string, number][]) =>
    encodeCursor(new Map(entries.map(([c, epoch, offset]) => [c, { epoch, offset }])));

  test('poll: an old cursor is answered in parts of at most the bound, and nothing is lost', async () => {
    const epoch = await fill('p', 12);
    let cursor = cursorAt([['p', epoch, 0]]);
    const got: number[] = [];
    for (let i = 0; i < 3; i++) {
      const a = await poll(server.http, ['p'], { cursor, timeout: 0 });
      assert.equal(a.status, 200, a.text);
      assert.ok(a.json.publications.length <= MAX, a.text);
      assert.equal(a.json.gap, undefined, 'a part is not a gap');
      got.push(...a.json.publications.map((p: { data: number }) => p.data));
      cursor = a.json.cursor;
    }
    assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  test('poll: channels of one request share the bound', async () => {
    const ea = await fill('pa', 6);
    const eb = await fill('pb', 6);
    const a = await poll(server.http, ['pa', 'pb'], {
      cursor: cursorAt([
        ['pa', ea, 0],
        ['pb', eb, 0],
      ]),
      timeout: 0,
    });
    assert.equal(a.json.publications.length, 4, a.text); // 2 + 2 of the 5
  });

  test('SSE: a resume past the bound ends after a part; the browser reconnects and gets the rest in order', async () => {
    const epoch = await fill('s', 12);
    const q = new URLSearchParams({ channel: 's', last_event_id: cursorAt([['s', epoch, 0]]) });
    const es = new SseClient(`${server.http}/sse?${q}`);
    try {
      const got = (await es.messages(12, 10_000)).map((m) => m.data);
      assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      assert.ok(es.errors >= 2, 'the stream was ended and resumed in parts');
      assert.equal(es.events.filter((e) => e.type === 'gap').length, 0);
      // Caught up, the stream stays open and live.
      await server.herald.hub.publish('s', { data: 13 });
      assert.equal((await es.messages(1, 5000))[0].data, 13);
    } finally {
      es.close();
    }
  });

  test('WebSocket protocol: a recovery past the bound is answered recovered: false without a read of everything', async () => {
    const epoch = await fill('w', 12);
    const c = await RawClient.open(server.ws);
    await c.connect();
    c.send({ id: 2, subscribe: { channel: 'w', recover: true, epoch, offset: 0, recoverable: true } });
    const far = (await c.next()).subscribe as Record<string, unknown>;
    assert.equal(far.was_recovering, true);
    assert.equal(far.recovered, undefined);
    assert.equal(far.publications, undefined);
    assert.equal(far.offset, 12);
    c.send({ id: 3, unsubscribe: { channel: 'w' } });
    await c.next();
    c.send({ id: 4, subscribe: { channel: 'w', recover: true, epoch, offset: 9, recoverable: true } });
    const near = (await c.next()).subscribe as { recovered: boolean; publications: { data: number }[] };
    assert.equal(near.recovered, true);
    assert.deepEqual(
      near.publications.map((p) => p.data),
      [10, 11, 12],
    );
    // history without a limit (or with a larger one) gives at most the bound.
    c.send({ id: 5, history: { channel: 'w', limit: -1 } });
    const h = (await c.next()).history as { publications: { data: number }[] };
    assert.deepEqual(
      h.publications.map((p) => p.data),
      [1, 2, 3, 4, 5],
    );
    await c.close();
  });
});

describe('server API bounds', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ maxBroadcastChannels: 3, maxBatchCommands: 2 });
  });
  after(() => server.stop());

  const offsetOf = async (channel: string) =>
    (await api(server.http, 'history', { channel })).json.result.offset as number;

  test('a broadcast to more channels than allowed is refused with 106 before anything is published', async () => {
    const a = await api(server.http, 'broadcast', { channels: ['b1', 'b2', 'b3', 'b4'], data: 'x' });
    assert.equal(a.status, 200);
    assert.equal(a.json.error.code, 106, a.text);
    assert.match(a.json.error.message, /at most 3 channels/);
    assert.equal(await offsetOf('b1'), 0);
    const ok = await api(server.http, 'broadcast', { channels: ['b1', 'b2', 'b3'], data: 'x' });
    assert.equal(ok.json.result.responses.length, 3);
    assert.equal(await offsetOf('b1'), 1);
  });

  test('a batch of more commands than allowed, or of broadcasts naming too many channels, is refused whole', async () => {
    const cmd = (channel: string) => ({ publish: { channel, data: 1 } });
    const tooMany = await api(server.http, 'batch', { commands: [cmd('t1'), cmd('t2'), cmd('t3')] });
    assert.equal(tooMany.json.error.code, 106, tooMany.text);
    assert.equal(await offsetOf('t1'), 0);
    const wide = await api(server.http, 'batch', {
      commands: [
        { broadcast: { channels: ['u1', 'u2'], data: 1 } },
        { method: 'broadcast', params: { channels: ['u3', 'u4'], data: 1 } },
      ],
    });
    assert.equal(wide.json.error.code, 106, wide.text);
    assert.equal(await offsetOf('u1'), 0);
    const ok = await api(server.http, 'batch', { commands: [cmd('t1'), cmd('t2')] });
    assert.equal(ok.json.replies.length, 2, ok.text);
  });
});
