// Recovery at the hub: subscribe-with-since returns exactly what was missed or says it cannot, and
// publications racing the subscribe are neither lost nor doubled. Runs on the memory engine; the
// same hub code runs on every engine.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryEngine } from '../../src/engine/memory.js';
import { Hub } from '../../src/hub/hub.js';
import type {
  EngineSink,
  HistoryQuery,
  HistoryResult,
  Publication,
  StreamLimits,
} from '../../src/model/index.js';
import { Recorder } from '../helpers/recorder.js';

/** The memory engine with a hook that runs just before history is read, and access to the sink. */
class HookedEngine extends MemoryEngine {
  beforeHistory: (() => Promise<void>) | undefined;
  captured!: EngineSink;
  override async start(sink: EngineSink): Promise<void> {
    this.captured = sink;
    await super.start(sink);
  }
  override async history(channel: string, query: HistoryQuery, limits: StreamLimits): Promise<HistoryResult> {
    const hook = this.beforeHistory;
    this.beforeHistory = undefined;
    await hook?.();
    return super.history(channel, query, limits);
  }
}

/**
 * The memory engine with live delivery that can fall behind history, as a node's Redis bus can:
 * while `lagging`, publications are stored but reach the hub only on catchUp().
 */
class LaggingBusEngine extends MemoryEngine {
  lagging: Publication[] | null = null;
  private hubSink!: EngineSink;
  override async start(sink: EngineSink): Promise<void> {
    this.hubSink = sink;
    await super.start({
      onPublication: (p) => (this.lagging ? this.lagging.push(p) : sink.onPublication(p)),
      onJoin: (c, i) => sink.onJoin(c, i),
      onLeave: (c, i) => sink.onLeave(c, i),
      onResync: (c) => sink.onResync?.(c),
    });
  }
  catchUp(): void {
    const behind = this.lagging ?? [];
    this.lagging = null;
    for (const p of behind) this.hubSink.onPublication(p);
  }
}

async function makeHub(historySize = 100) {
  const engine = new HookedEngine();
  const hub = new Hub(engine, { historySize, historyTtl: 300 });
  await hub.start();
  return { hub, engine };
}

const publish = async (hub: Hub, ch: string, n: number) => {
  const out: Publication[] = [];
  for (let i = 0; i < n; i++) out.push(await hub.publish(ch, { data: i }));
  return out;
};

describe('hub recovery', () => {
  test('since a kept position: recovered, with exactly the missed publications in order', async () => {
    const { hub } = await makeHub();
    const pubs = await publish(hub, 'room', 5);
    const r = new Recorder();
    const res = await hub.subscribe('room', r, { since: { offset: 2, epoch: pubs[0].epoch } });
    assert.equal(res.recovered, true);
    assert.deepEqual(
      res.publications.map((p) => p.offset),
      [3, 4, 5],
    );
    assert.deepEqual(res.position, { offset: 5, epoch: pubs[0].epoch });
    res.start();
    await hub.publish('room', { data: 'live' });
    assert.deepEqual(r.got, [6]);
    assert.deepEqual(r.gaps, []);
    await hub.close();
  });

  test('since the current top: recovered with nothing to give', async () => {
    const { hub } = await makeHub();
    const pubs = await publish(hub, 'room', 3);
    const res = await hub.subscribe('room', new Recorder(), { since: { offset: 3, epoch: pubs[0].epoch } });
    assert.equal(res.recovered, true);
    assert.deepEqual(res.publications, []);
    await hub.close();
  });

  test('since a position history no longer reaches: not recovered, what is kept is given', async () => {
    const { hub } = await makeHub(3);
    const pubs = await publish(hub, 'room', 8);
    const res = await hub.subscribe('room', new Recorder(), { since: { offset: 2, epoch: pubs[0].epoch } });
    assert.equal(res.recovered, false);
    assert.deepEqual(
      res.publications.map((p) => p.offset),
      [6, 7, 8],
    );
    await hub.close();
  });

  test('since another epoch (the stream was lost): not recovered', async () => {
    const { hub } = await makeHub();
    await publish(hub, 'room', 2);
    const res = await hub.subscribe('room', new Recorder(), { since: { offset: 1, epoch: 'gone' } });
    assert.equal(res.recovered, false);
    await hub.close();
  });

  test('a position from the future is not recovered', async () => {
    const { hub } = await makeHub();
    const pubs = await publish(hub, 'room', 2);
    const res = await hub.subscribe('room', new Recorder(), { since: { offset: 9, epoch: pubs[0].epoch } });
    assert.equal(res.recovered, false);
    await hub.close();
  });

  test('publications made while subscribing are neither lost nor duplicated', async () => {
    const { hub, engine } = await makeHub();
    const pubs = await publish(hub, 'room', 3);
    // Published after live delivery is registered but before history is read: in both.
    engine.beforeHistory = async () => {
      await publish(hub, 'room', 2);
    };
    const r = new Recorder();
    const res = await hub.subscribe('room', r, { since: { offset: 1, epoch: pubs[0].epoch } });
    assert.equal(res.recovered, true);
    // Published after history was read, before the door sent the result: only in the buffer.
    await publish(hub, 'room', 2);
    assert.deepEqual(r.got, [], 'nothing delivered before start()');
    res.start();
    const seen = [...res.publications.map((p) => p.offset), ...r.got];
    assert.deepEqual(seen, [2, 3, 4, 5, 6, 7]);
    await publish(hub, 'room', 1);
    assert.deepEqual(r.got.at(-1), 8);
    assert.deepEqual(r.gaps, []);
    await hub.close();
  });

  test('a subscribe buffer past its bound is not delivered in part: the subscriber must resync', async () => {
    const engine = new HookedEngine();
    const hub = new Hub(engine, { historySize: 100, historyTtl: 300, maxSubscribeBuffer: 3 });
    await hub.start();
    const r = new Recorder();
    const res = await hub.subscribe('room', r);
    await publish(hub, 'room', 5); // arrives while the door is still sending its result
    res.start();
    assert.deepEqual(r.got, [], 'no partial, gapped delivery');
    assert.deepEqual(r.gaps, ['room']);
    await publish(hub, 'room', 1);
    assert.deepEqual(r.got, [6], 'live delivery continues after the signal');
    await hub.close();
  });

  test('without since, publications racing the subscribe start right after the position', async () => {
    const { hub, engine } = await makeHub();
    await publish(hub, 'room', 2);
    engine.beforeHistory = async () => {
      await publish(hub, 'room', 1); // offset 3: before the position, so not delivered
    };
    const r = new Recorder();
    const res = await hub.subscribe('room', r);
    assert.equal(res.position.offset, 3);
    await publish(hub, 'room', 2);
    res.start();
    assert.deepEqual(r.got, [4, 5]);
    await hub.close();
  });

  test('a skipped offset on live delivery is signalled to subscribers as insufficient state', async () => {
    const { hub, engine } = await makeHub();
    const r = new Recorder();
    const res = await hub.subscribe('room', r);
    res.start();
    const [p1] = await publish(hub, 'room', 1);
    engine.captured.onPublication({ ...p1, offset: 3 }); // offset 2 never arrived
    assert.deepEqual(r.gaps, ['room']);
    assert.deepEqual(r.got, [1, 3]);
    await hub.close();
  });

  test('an epoch change on live delivery is signalled as insufficient state', async () => {
    const { hub, engine } = await makeHub();
    const r = new Recorder();
    (await hub.subscribe('room', r)).start();
    const [p1] = await publish(hub, 'room', 1);
    engine.captured.onPublication({ ...p1, offset: 1, epoch: 'new-epoch' });
    assert.deepEqual(r.gaps, ['room']);
    await hub.close();
  });

  test('an epoch change while the result is held back is signalled on start()', async () => {
    const { hub, engine } = await makeHub();
    await publish(hub, 'room', 1);
    const r = new Recorder();
    const res = await hub.subscribe('room', r);
    engine.captured.onPublication({
      channel: 'room',
      offset: 1,
      epoch: 'new-epoch',
      data: null,
      time: Date.now(),
    });
    res.start();
    assert.deepEqual(r.gaps, ['room']);
    assert.deepEqual(r.got, []);
    await hub.close();
  });

  test('what the result gave is not delivered again when live delivery catches up with history', async () => {
    const engine = new LaggingBusEngine();
    const hub = new Hub(engine, { historySize: 100, historyTtl: 300 });
    await hub.start();
    // Someone on this node already listens, so the channel is live here.
    const other = new Recorder();
    (await hub.subscribe('room', other)).start();
    const first = await hub.publish('room', { data: 0 });
    engine.lagging = [];
    await publish(hub, 'room', 3);
    const r = new Recorder();
    const res = await hub.subscribe('room', r, { since: { offset: first.offset, epoch: first.epoch } });
    assert.equal(res.recovered, true);
    assert.deepEqual(
      res.publications.map((p) => p.offset),
      [2, 3, 4],
    );
    res.start();
    engine.catchUp();
    await hub.publish('room', { data: 'live' });
    assert.deepEqual(r.got, [5], 'offsets 2-4 came with the result; live delivery adds only 5');
    assert.deepEqual(r.gaps, []);
    assert.deepEqual(other.got, [1, 2, 3, 4, 5]);
    await hub.close();
  });

  test('an engine resync (bus reconnected) asks every subscriber to resynchronise', async () => {
    const engine = new HookedEngine();
    const hub = new Hub(engine, { historySize: 100, historyTtl: 300, resyncSpread: 0 });
    await hub.start();
    const a = new Recorder();
    const b = new Recorder();
    (await hub.subscribe('one', a)).start();
    (await hub.subscribe('two', b)).start();
    engine.captured.onResync?.(['two']);
    assert.deepEqual(a.gaps, []);
    assert.deepEqual(b.gaps, ['two']);
    engine.captured.onResync?.();
    assert.deepEqual(a.gaps, ['one']);
    // Already told and not yet gone: told once, not once per resync.
    assert.deepEqual(b.gaps, ['two']);
    await hub.close();
  });
});

describe('hub publish: engines that publish at once and engines that wait', () => {
  type How = 'throws at once' | 'throws without publishNow' | 'rejects';
  class Broken extends MemoryEngine {
    constructor(private readonly how: How) {
      super();
      // Without publishNow the hub goes through publish(), as on Redis.
      if (how !== 'throws at once') Object.defineProperty(this, 'publishNow', { value: undefined });
    }
    override publishNow(): never {
      throw new Error('disk on fire');
    }
    override publish(): Promise<never> {
      if (this.how === 'rejects') return Promise.reject(new Error('disk on fire'));
      throw new Error('disk on fire');
    }
  }
  const engineError = (err: unknown) =>
    (err as { code?: number }).code === 150 && !(err as Error).message.includes('disk');
  for (const how of ['throws at once', 'throws without publishNow', 'rejects'] as const) {
    test(`an engine that ${how} gives the catalogue's engine error, never the raw one`, async () => {
      const hub = new Hub(new Broken(how));
      await hub.start();
      try {
        await assert.rejects(hub.publish('ch', { data: 1 }), engineError);
        if (how === 'rejects') {
          // Nothing known at once: the promise is handed back, and it rejects the same way.
          await assert.rejects(Promise.resolve(hub.publishEager('ch', { data: 1 })), engineError);
        } else {
          assert.throws(() => hub.publishEager('ch', { data: 1 }), engineError);
        }
      } finally {
        await hub.close();
      }
    });
  }
});
