// The hub's delivery edges that used to go wrong: counts after a failed engine subscribe, the
// hand-over of publications buffered while a subscribe result was prepared, resync after the engine
// lost deliveries, and payloads that could never be encoded.
import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { MemoryEngine } from '../../src/engine/memory.js';
import { Hub } from '../../src/hub/hub.js';
import type {
  EngineSink,
  HistoryQuery,
  HistoryResult,
  Publication,
  StreamLimits,
  Subscriber,
} from '../../src/model/index.js';
import { offsetFormat, Recorder } from '../helpers/recorder.js';

const format = offsetFormat;

/** A live-only subscriber, as /chat and MQTT are: no history, no resync. */
class LiveOnly implements Subscriber<number> {
  readonly format = format;
  readonly got: number[] = [];
  deliver(_pub: Publication, frame: number): void {
    this.got.push(frame);
  }
}

class TestEngine extends MemoryEngine {
  captured!: EngineSink;
  failSubscribe = false;
  beforeHistory: (() => void) | undefined;
  override async start(sink: EngineSink): Promise<void> {
    this.captured = sink;
    await super.start(sink);
  }
  override async subscribe(channels: string[]): Promise<void> {
    if (this.failSubscribe) throw new Error('redis: connect ECONNREFUSED 10.0.0.7:6379');
    await super.subscribe(channels);
  }
  override async history(channel: string, query: HistoryQuery, limits: StreamLimits): Promise<HistoryResult> {
    const hook = this.beforeHistory;
    this.beforeHistory = undefined;
    const h = await super.history(channel, query, limits);
    hook?.();
    return h;
  }
}

async function makeHub(options: ConstructorParameters<typeof Hub>[1] = {}) {
  const engine = new TestEngine();
  const hub = new Hub(engine, { resyncSpread: 0, ...options });
  await hub.start();
  return { hub, engine };
}

const pub = (channel: string, offset: number, epoch: string): Publication => ({
  channel,
  offset,
  epoch,
  data: offset,
  time: Date.now(),
});

describe('hub: a failed engine subscribe', () => {
  test('leaves the subscription count where it was, and the door can still unsubscribe safely', async () => {
    const { hub, engine } = await makeHub();
    engine.failSubscribe = true;
    for (let i = 0; i < 5; i++) {
      const r = new Recorder();
      await assert.rejects(hub.subscribe('down', r), (err: Error & { code?: number }) => {
        assert.equal(err.code, 150);
        assert.doesNotMatch(err.message, /ECONNREFUSED|10\.0\.0\.7/, 'no raw engine text for clients');
        return true;
      });
      assert.equal(hub.unsubscribe('down', r), false); // what every door's catch does
    }
    assert.equal(hub.localStats().numSubscriptions, 0);
    assert.equal(hub.localStats().numChannels, 0);
    engine.failSubscribe = false;
    const r = new Recorder();
    (await hub.subscribe('down', r)).start();
    assert.equal(hub.localStats().numSubscriptions, 1);
    await hub.publish('down', { data: 1 });
    assert.deepEqual(r.got, [1]);
    await hub.close();
  });
});

describe('hub: publications buffered during a subscribe', () => {
  test('a skipped offset among them is signalled, not delivered past', async () => {
    const { hub, engine } = await makeHub();
    const first = await hub.publish('room', { data: 0 });
    const r = new Recorder();
    // After history answered (top = 1), the bus brings offset 3: offset 2 went missing.
    engine.beforeHistory = () => engine.captured.onPublication(pub('room', 3, first.epoch));
    const res = await hub.subscribe('room', r);
    assert.deepEqual(res.position, { offset: 1, epoch: first.epoch });
    res.start();
    assert.deepEqual(r.got, []);
    assert.deepEqual(r.gaps, ['room']);
    await hub.close();
  });

  test('a subscriber that throws while taking them does not break start() or the others', async () => {
    const { hub, engine } = await makeHub();
    const first = await hub.publish('room', { data: 0 });
    const thrower: Subscriber<number> = {
      format,
      deliver() {
        throw new Error('socket gone');
      },
    };
    // A real publication (offset 2) lands while the subscribe result is held back.
    engine.beforeHistory = () => void hub.publish('room', { data: 2 });
    const res = await hub.subscribe('room', thrower);
    assert.equal(res.position.offset, first.offset);
    assert.doesNotThrow(() => res.start());
    const r = new Recorder();
    (await hub.subscribe('room', r)).start();
    await hub.publish('room', { data: 3 });
    assert.deepEqual(r.got, [3]);
    await hub.close();
  });
});

describe('hub: resync after the engine lost deliveries', () => {
  test('a channel kept alive by a live-only subscriber does not signal a second, spurious gap', async () => {
    const { hub, engine } = await makeHub();
    const chat = new LiveOnly();
    (await hub.subscribe('room', chat)).start();
    const r1 = new Recorder();
    (await hub.subscribe('room', r1)).start();
    const p1 = await hub.publish('room', { data: 1 });
    engine.captured.onResync?.(); // the bus reconnected: offsets 2 and 3 went by unseen
    assert.deepEqual(r1.gaps, ['room']);
    hub.unsubscribe('room', r1);
    // The client recovers: a new subscription from its last position.
    const r2 = new Recorder();
    const res = await hub.subscribe('room', r2, { since: { offset: p1.offset, epoch: p1.epoch } });
    res.start();
    // The next live publication is offset 4; the channel must not call it a gap again.
    engine.captured.onPublication(pub('room', 4, p1.epoch));
    assert.deepEqual(r2.gaps, []);
    assert.deepEqual(r2.got, [4]);
    assert.deepEqual(chat.got, [1, 4], 'live-only subscribers carry on through a resync');
    await hub.close();
  });

  test('subscribers are stopped at once and told spread over resyncSpread, not all at the same moment', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const { hub, engine } = await makeHub({ resyncSpread: 1000 });
      const subs: Recorder[] = [];
      for (let i = 0; i < 200; i++) {
        const r = new Recorder();
        (await hub.subscribe('wide', r)).start();
        subs.push(r);
      }
      const p1 = await hub.publish('wide', { data: 1 });
      engine.captured.onResync?.();
      assert.equal(subs.filter((s) => s.gaps.length > 0).length, 0, 'nobody told synchronously');
      // Stopped: a publication past the gap must not reach a subscriber about to recover.
      engine.captured.onPublication(pub('wide', p1.offset + 3, p1.epoch));
      assert.ok(subs.every((s) => s.got.length === 1));
      mock.timers.tick(250);
      const early = subs.filter((s) => s.gaps.length > 0).length;
      assert.ok(early > 0 && early < 200, `${early} of 200 told within the first quarter`);
      mock.timers.tick(750);
      assert.ok(
        subs.every((s) => s.gaps.length === 1),
        'everyone told exactly once by the end',
      );
      await hub.close();
    } finally {
      mock.timers.reset();
    }
  });
});

describe('hub: payload depth', () => {
  const nest = (depth: number) => JSON.parse('['.repeat(depth) + ']'.repeat(depth));

  test('data at the limit is accepted, one level deeper is refused with 107 and not stored', async () => {
    const { hub } = await makeHub({ maxPayloadDepth: 10 });
    await hub.publish('deep', { data: nest(10) });
    await assert.rejects(hub.publish('deep', { data: nest(11) }), (err: Error & { code?: number }) => {
      assert.equal(err.code, 107);
      return true;
    });
    await assert.rejects(hub.publish('deep', { data: { a: [{ b: nest(9) }] } }), { code: 107 });
    const h = await hub.history('deep');
    assert.equal(h.position.offset, 1);
    await hub.close();
  });

  test('the check itself survives a payload far deeper than the stack', async () => {
    const { hub } = await makeHub();
    await assert.rejects(hub.publish('deep', { data: nest(200_000) }), { code: 107 });
    await hub.close();
  });
});

describe('hub: a resume read in parts', () => {
  test('after an epoch change the new epoch is read in parts too, with the gap reported once', async () => {
    const { hub } = await makeHub();
    const pubs: Publication[] = [];
    for (let i = 0; i < 10; i++) pubs.push(await hub.publish('parts', { data: i }));
    const lost = { offset: 4, epoch: 'an-epoch-redis-lost' };
    const first = await hub.subscribe('parts', new Recorder(), { since: lost, limit: 3 });
    assert.deepEqual(
      first.publications.map((p) => p.offset),
      [1, 2, 3],
    );
    assert.equal(first.truncated, true, 'the rest of the new epoch follows on the next resume');
    assert.equal(first.gap, true);
    // The next resume continues from the last one given: no gap any more, the next part.
    const next = await hub.subscribe('parts', new Recorder(), {
      since: { offset: 3, epoch: pubs[0].epoch },
      limit: 3,
    });
    assert.deepEqual(
      next.publications.map((p) => p.offset),
      [4, 5, 6],
    );
    assert.equal(next.gap, false);
    assert.equal(next.truncated, true);
    await hub.close();
  });
});
