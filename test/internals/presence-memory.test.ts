// Presence with the embedded engine is indexed once per node (engine/memory-presence.ts): the hub's
// tracker keeps no copy of its own, an entry costs one Map slot, and a beat renews every entry
// without re-adding each one. These checks fail if a second index or per-entry expiry comes back.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MemoryEngine } from '../../src/engine/memory.js';
import { Hub } from '../../src/hub/hub.js';

describe('presence with the memory engine', () => {
  test('an entry joined through the hub costs one Map slot, not two indexes and an expiry each', () => {
    // In a child with --expose-gc, so the heap can be measured after a full collection.
    const src = (p: string) => JSON.stringify(fileURLToPath(new URL(`../../src/${p}`, import.meta.url)));
    const script = `
      const { MemoryEngine } = await import(${src('engine/memory.ts')});
      const { Hub } = await import(${src('hub/hub.ts')});
      const N = 20000;
      const heap = () => { global.gc(); global.gc(); return process.memoryUsage().heapUsed; };
      const hub = new Hub(new MemoryEngine(), { presenceTtl: 60 });
      await hub.start();
      // The infos exist before (sessions hold them): only what presence adds is measured.
      const infos = [];
      for (let i = 0; i < N; i++) infos.push({ client: 'client-' + i, user: '' });
      await hub.join('warm', infos[0], false);
      heap();
      const before = heap();
      for (const info of infos) await hub.join('room', info, false);
      const perEntry = (heap() - before) / N;
      const present = (await hub.presenceStats('room')).numClients;
      for (const info of infos) await hub.leave('room', info, false);
      const left = Object.keys(await hub.presence('room')).length;
      await hub.close();
      console.log(JSON.stringify({ perEntry, present, left }));
    `;
    const r = spawnSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const { perEntry, present, left } = JSON.parse(r.stdout) as Record<string, number>;
    assert.equal(present, 20_000);
    assert.equal(left, 0);
    // One slot of an ordered hash table that doubles as it grows: ~46 B. With the tracker's own
    // Map and an entry object with a heap-number expiry beside it, it was ~110 B.
    assert.ok(perEntry < 70, `${perEntry.toFixed(1)} B per presence entry`);
  });

  test('a beat renews every entry without re-adding them one by one', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 });
    const engine = new MemoryEngine({ now: () => Date.now(), sweepInterval: 500 });
    let added = 0;
    const addPresence = engine.addPresence.bind(engine);
    engine.addPresence = (...a) => {
      added++;
      return addPresence(...a);
    };
    const refreshPresence = engine.refreshPresence.bind(engine);
    engine.refreshPresence = (...a) => {
      added += a[0].length;
      return refreshPresence(...a);
    };
    const hub = new Hub(engine, { presenceTtl: 3 });
    await hub.start();
    try {
      for (let i = 0; i < 100; i++)
        await hub.join(`ch:${i % 3}`, { client: `c${i}`, user: `u${i % 7}` }, false);
      // A beat a second and a sweep every half second, for three times the TTL.
      for (let s = 1; s <= 9; s++) {
        t.mock.timers.tick(1000);
        assert.equal(Object.keys(await hub.presence('ch:0')).length, 34, `present after ${s} s`);
      }
      assert.deepEqual(await hub.presenceStats('ch:1'), { numClients: 33, numUsers: 7 });
      assert.equal(added, 0, 'no entry was added or refreshed one by one');
    } finally {
      await hub.close();
    }
  });
});
