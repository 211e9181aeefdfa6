import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MemoryEngine } from '../../src/engine/memory.js';
import { assertRebornInNewEpoch, engineSuite, RecordingSink } from './engine-suite.js';

engineSuite('memory', async () => {
  // The engine's clock is real time plus whatever the expiry tests skip ahead.
  let skipped = 0;
  const engine = new MemoryEngine({ now: () => Date.now() + skipped });
  return {
    engine,
    stateSize: async () => engine.streamCount,
    passTime: async (ms) => {
      skipped += ms;
    },
  };
});

describe('Memory engine: state is bounded in time', () => {
  /** An engine on a clock the test moves, swept only when the test says so. */
  async function onClock() {
    const clock = { now: 1_000_000 };
    const engine = new MemoryEngine({ metaTtl: 60, sweepInterval: 3_600_000, now: () => clock.now });
    await engine.start(new RecordingSink());
    return { engine, clock };
  }

  test('a stream with no history left and nobody subscribed is dropped after metaTtl idle', async () => {
    const { engine, clock } = await onClock();
    const none = { historySize: 0, historyTtl: 0 };
    await engine.publish('idle', { data: 1 }, none);
    await engine.publish('read', { data: 1 }, none);
    await engine.subscribe(['listened']);
    await engine.publish('listened', { data: 1 }, none);
    assert.equal(engine.streamCount, 3);
    clock.now += 59_000;
    await engine.history('read', { limit: 0 }, none); // a read keeps a stream, as a publish does
    engine.sweep();
    assert.equal(engine.streamCount, 3, 'nothing is idle for metaTtl yet');
    clock.now += 2_000;
    engine.sweep();
    assert.equal(engine.streamCount, 2, "'idle' went; 'read' was read, 'listened' has a subscriber");
    clock.now += 60_000;
    engine.sweep();
    assert.equal(engine.streamCount, 1, "only 'listened' stays");
    await engine.close();
  });

  test('history ages out on the sweep, without the channel being touched, and the empty stream goes', async () => {
    const { engine, clock } = await onClock();
    const aging = { historySize: 100, historyTtl: 5 };
    const forever = { historySize: 100, historyTtl: 0 };
    await engine.publish('aging', { data: 1 }, aging);
    await engine.publish('kept', { data: 1 }, forever);
    clock.now += 61_000;
    engine.sweep();
    // 'aging' could only go if the sweep trimmed it by age: a stream with history left is kept
    // (its epoch must stay valid for the positions that history covers), as 'kept' is.
    assert.equal(engine.streamCount, 1);
    const kept = await engine.history('kept', {}, forever);
    assert.equal(kept.publications.length, 1);
    await engine.close();
  });

  test('a stream born again after being dropped has another epoch: an old position is not mistaken', async () => {
    const { engine, clock } = await onClock();
    const l = { historySize: 100, historyTtl: 5 };
    let old = await engine.publish('reborn', { data: 0 }, l);
    for (let i = 1; i < 3; i++) old = await engine.publish('reborn', { data: i }, l);
    clock.now += 61_000;
    engine.sweep();
    assert.equal(engine.streamCount, 0);
    await assertRebornInNewEpoch(engine, 'reborn', old, l);
    await engine.close();
  });

  test('100,000 reads of unknown channels leave the heap where it was', () => {
    // In a child with --expose-gc, so the heap can be measured after a full collection.
    const memory = fileURLToPath(new URL('../../src/engine/memory.ts', import.meta.url));
    const script = `
      const { MemoryEngine } = await import(${JSON.stringify(memory)});
      const engine = new MemoryEngine();
      const limits = { historySize: 100, historyTtl: 300 };
      const heap = () => { global.gc(); global.gc(); return process.memoryUsage().heapUsed; };
      for (let i = 0; i < 1000; i++) await engine.history('warm' + i, {}, limits);
      const before = heap();
      for (let i = 0; i < 100000; i++) await engine.history('c' + Math.random() + i, { limit: 0 }, limits);
      console.log(JSON.stringify({ grew: heap() - before, streams: engine.streamCount }));
    `;
    const r = spawnSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const { grew, streams } = JSON.parse(r.stdout) as { grew: number; streams: number };
    assert.equal(streams, 0);
    // A kept entry per read would be tens of megabytes; what is left is noise.
    assert.ok(grew < 2 * 1024 * 1024, `the heap grew by ${grew} bytes`);
  });
});
