import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encodeCursor } from '../src/protocol/cursor.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { api, get, poll } from './helpers/http.js';
import { until } from './helpers/until.js';

describe('polling', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ pollTimeout: 1, pollMaxTimeout: 2, maxChannelsPerRequest: 3 });
  });
  after(() => server.stop());

  const publish = (channel: string, data: unknown) => server.herald.hub.publish(channel, { data });

  test('short poll: empty answer and a cursor at once, then exactly what was published since', async () => {
    const ch = 'poll:short';
    await publish(ch, 'before');
    const t0 = Date.now();
    const first = await poll(server.http, [ch], { timeout: 0 });
    assert.ok(Date.now() - t0 < 500, 'answered at once');
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('cache-control'), 'no-store');
    assert.deepEqual(first.json.publications, []);
    assert.equal(typeof first.json.cursor, 'string');
    assert.equal(first.json.gap, undefined);
    const p = await publish(ch, { n: 1 });
    await publish(ch, { n: 2 });
    const second = await poll(server.http, [ch], { timeout: 0, cursor: first.json.cursor });
    assert.deepEqual(
      second.json.publications.map((x: { data: unknown }) => x.data),
      [{ n: 1 }, { n: 2 }],
    );
    const { time, ...rest } = second.json.publications[0];
    assert.deepEqual(rest, { channel: ch, offset: 2, epoch: p.epoch, data: { n: 1 } });
    assert.equal(typeof time, 'number');
    const third = await poll(server.http, [ch], { timeout: 0, cursor: second.json.cursor });
    assert.deepEqual(third.json.publications, []);
    assert.equal(third.json.cursor, second.json.cursor);
  });

  test('long poll without a cursor is held until a publication arrives', async () => {
    const ch = 'poll:long';
    const t0 = Date.now();
    const pending = poll(server.http, [ch, 'poll:long2'], { timeout: 2 });
    // With the memory engine a poll's subscriptions complete in the tick that registers them, so
    // both counted means the poll is held, past its history read.
    await until(
      () =>
        server.herald.hub.localSubscribers(ch) === 1 &&
        server.herald.hub.localSubscribers('poll:long2') === 1,
      { what: 'poll held', timeoutMs: 2000 },
    );
    await publish(ch, 'now');
    const a = await pending;
    assert.ok(Date.now() - t0 < 1500, 'answered on arrival, not at the timeout');
    assert.deepEqual(
      a.json.publications.map((x: { data: unknown }) => x.data),
      ['now'],
    );
    assert.equal(server.herald.hub.localSubscribers(ch), 0, 'nothing kept after answering');
    // The cursor covers both channels, so the next poll resumes both.
    await publish('poll:long2', 'other');
    const b = await poll(server.http, [ch, 'poll:long2'], { cursor: a.json.cursor, timeout: 0 });
    assert.deepEqual(
      b.json.publications.map((x: { data: unknown }) => x.data),
      ['other'],
    );
  });

  test('a burst published together comes back in one answer', async () => {
    const pending = poll(server.http, ['poll:b1', 'poll:b2'], { timeout: 2 });
    await until(() => server.herald.hub.localSubscribers('poll:b2') === 1, {
      what: 'poll held',
      timeoutMs: 2000,
    });
    await api(server.http, 'broadcast', { channels: ['poll:b1', 'poll:b2'], data: 'both' });
    const a = await pending;
    assert.deepEqual(a.json.publications.map((x: { channel: string }) => x.channel).sort(), [
      'poll:b1',
      'poll:b2',
    ]);
  });

  test('with nothing to say, a long poll answers at its timeout with the same cursor', async () => {
    const ch = 'poll:timeout';
    const start = await poll(server.http, [ch], { timeout: 0 });
    const t0 = Date.now();
    const a = await poll(server.http, [ch], { timeout: 1, cursor: start.json.cursor });
    const took = Date.now() - t0;
    assert.ok(took >= 950 && took < 3000, `held about a second, took ${took} ms`);
    assert.deepEqual(a.json.publications, []);
    assert.equal(a.json.cursor, start.json.cursor);
  });

  test('no timeout means the configured default; a larger one is capped', async () => {
    let t0 = Date.now();
    await poll(server.http, ['poll:dflt']);
    let took = Date.now() - t0;
    assert.ok(took >= 950 && took < 3000, `default 1 s, took ${took} ms`);
    t0 = Date.now();
    await poll(server.http, ['poll:cap'], { timeout: 600 });
    took = Date.now() - t0;
    assert.ok(took >= 1950 && took < 4000, `capped at 2 s, took ${took} ms`);
  });

  test('resume: a poller away while N were published gets all N in order, none twice', async () => {
    const chans = ['poll:r1', 'poll:r2'];
    const start = await poll(server.http, chans, { timeout: 0 });
    const N = 30;
    for (let i = 0; i < N; i++) await publish(chans[i % 2], i);
    const a = await poll(server.http, chans, { cursor: start.json.cursor, timeout: 1 });
    const got = a.json.publications as { channel: string; offset: number; data: number }[];
    assert.deepEqual(
      got.map((p) => p.data).sort((x, y) => x - y),
      Array.from({ length: N }, (_, i) => i),
    );
    for (const c of chans) {
      assert.deepEqual(
        got.filter((p) => p.channel === c).map((p) => p.offset),
        Array.from({ length: N / 2 }, (_, i) => i + 1),
      );
    }
    const again = await poll(server.http, chans, { cursor: a.json.cursor, timeout: 0 });
    assert.deepEqual(again.json.publications, [], 'none twice');
  });

  test('a loop of long polls misses nothing published while it was between requests', async () => {
    const ch = 'poll:loop';
    let cursor = (await poll(server.http, [ch], { timeout: 0 })).json.cursor as string;
    const N = 40;
    const seen: number[] = [];
    let rounds = 0;
    // Five at a time, each batch only once the poller has come back for more: publications land
    // while a poll is held and while the poller is between two requests.
    const publisher = (async () => {
      for (let i = 0; i < N; i++) {
        await publish(ch, i);
        if (i % 5 === 4) {
          const after = rounds;
          await until(() => rounds > after || seen.length === N, { what: `poll round ${after + 1}` });
        }
      }
    })();
    for (; rounds < 200 && seen.length < N; rounds++) {
      const a = await poll(server.http, [ch], { cursor, timeout: 2 });
      for (const p of a.json.publications) seen.push(p.data);
      cursor = a.json.cursor;
    }
    await publisher;
    assert.deepEqual(
      seen,
      Array.from({ length: N }, (_, i) => i),
    );
  });

  test('bad requests get a 4xx JSON error', async () => {
    const cases: [string, number, number][] = [
      ['/poll', 400, 107],
      ['/poll?channel=a%2Bb', 400, 107],
      ['/poll?channel=a&channel=b&channel=c&channel=d', 400, 106],
      ['/poll?channel=a&cursor=%7B%7D', 400, 107],
      [`/poll?channel=a&cursor=${Buffer.from('{"a":[1,2]}').toString('base64url')}`, 400, 107],
      ['/poll?channel=a&cursor=x&cursor=y', 400, 107],
      ['/poll?channel=a&timeout=abc', 400, 107],
      ['/poll?channel=a&timeout=-1', 400, 107],
    ];
    for (const [path, status, code] of cases) {
      const a = await get(`${server.http}${path}`);
      assert.equal(a.status, status, path);
      assert.equal(a.json.error.code, code, path);
    }
    assert.equal(server.herald.hub.localSubscribers('a'), 0);
  });

  test('a poller that goes away releases its subscription at once', async () => {
    const ac = new AbortController();
    const pending = poll(server.http, ['poll:gone'], { timeout: 2, signal: ac.signal }).catch(
      () => undefined,
    );
    await until(() => server.herald.hub.localSubscribers('poll:gone') === 1, {
      what: 'poll held',
      timeoutMs: 2000,
    });
    ac.abort();
    await pending;
    await until(() => server.herald.hub.localSubscribers('poll:gone') === 0, {
      what: 'released',
      timeoutMs: 1000,
    });
  });

  test('many held polls share one timer and all answer on time', async () => {
    const t0 = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => poll(server.http, [`poll:many:${i % 10}`], { timeout: 1 })),
    );
    const took = Date.now() - t0;
    assert.ok(answers.every((a) => a.status === 200 && a.json.publications.length === 0));
    assert.ok(took < 4000, `took ${took} ms`);
  });

  test('shutdown answers held polls instead of dropping them', async () => {
    const s = await startHerald({ pollTimeout: 30 });
    const pending = poll(s.http, ['poll:bye']);
    await until(() => s.herald.hub.localSubscribers('poll:bye') === 1, {
      what: 'poll held',
      timeoutMs: 2000,
    });
    await s.stop();
    const a = await pending;
    assert.equal(a.status, 200);
    assert.deepEqual(a.json.publications, []);
  });
});

describe('polling answer size', () => {
  test('a backlog larger than one answer arrives over several polls, complete and in order', async () => {
    const server = await startHerald({ maxBufferedBytes: 2000 });
    try {
      const ch = 'poll:backlog';
      let cursor = (await poll(server.http, [ch], { timeout: 0 })).json.cursor as string;
      const N = 30;
      for (let i = 0; i < N; i++) await server.herald.hub.publish(ch, { data: { i, pad: 'x'.repeat(200) } });
      const seen: number[] = [];
      let answers = 0;
      while (seen.length < N && answers < 50) {
        const a = await poll(server.http, [ch], { cursor, timeout: 0 });
        answers++;
        for (const p of a.json.publications) seen.push(p.data.i);
        cursor = a.json.cursor;
      }
      assert.ok(answers > 1, 'split over several answers');
      assert.deepEqual(
        seen,
        Array.from({ length: N }, (_, i) => i),
      );
    } finally {
      await server.stop();
    }
  });
});

describe('polling gap', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ historySize: 3 });
  });
  after(() => server.stop());

  test('a cursor history no longer covers: what history has, and a gap field', async () => {
    const ch = 'gap:poll';
    const start = await poll(server.http, [ch, 'gap:fine'], { timeout: 0 });
    for (let i = 1; i <= 10; i++) await server.herald.hub.publish(ch, { data: i });
    await server.herald.hub.publish('gap:fine', { data: 'ok' });
    const a = await poll(server.http, [ch, 'gap:fine'], { cursor: start.json.cursor, timeout: 0 });
    assert.deepEqual(a.json.gap, [ch]);
    assert.deepEqual(
      a.json.publications
        .filter((p: { channel: string }) => p.channel === ch)
        .map((p: { offset: number }) => p.offset),
      [8, 9, 10],
    );
    assert.equal(a.json.publications.filter((p: { channel: string }) => p.channel === 'gap:fine').length, 1);
    const b = await poll(server.http, [ch, 'gap:fine'], { cursor: a.json.cursor, timeout: 0 });
    assert.equal(b.json.gap, undefined);
    assert.deepEqual(b.json.publications, []);
  });

  test('a cursor from another epoch is a gap', async () => {
    const ch = 'gap:poll-epoch';
    await server.herald.hub.publish(ch, { data: 1 });
    const stale = encodeCursor(new Map([[ch, { epoch: 'gone', offset: 1 }]]));
    const a = await poll(server.http, [ch], { cursor: stale, timeout: 1 });
    assert.deepEqual(a.json.gap, [ch]);
    assert.equal(a.json.publications[0].offset, 1);
  });
});
