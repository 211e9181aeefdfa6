// The short, seeded pass of the fuzz suite inside `npm test`: the same targets as `npm run fuzz`,
// with fewer cases. Case counts finish well inside the time bounds, so the cases run are the same
// on every run (the bounds only stop a machine that has become far slower).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Failure, runTargets } from './runner.js';
import { socketPass } from './sockets/pass.js';
import { inProcessTargets } from './targets/index.js';

const SEED = 20_240_601;

const report = (failures: Failure[]) =>
  failures
    .map(
      (f) =>
        `${f.target} case ${f.index}: ${f.message}\n  input: ${f.input}\n  replay: npm run fuzz -- --seed ${f.seed} --only ${f.target} --index ${f.index}`,
    )
    .join('\n');

describe('fuzz, short pass', () => {
  test('every in-process parser refuses hostile input cleanly', async () => {
    const { stats, failures } = await runTargets(inProcessTargets, {
      seed: SEED,
      cases: 30_000,
      seconds: 12,
    });
    assert.equal(failures.length, 0, report(failures));
    assert.ok(stats.every((s) => s.cases > 0));
  });

  test('the server process survives hostile sockets, answers cleanly and keeps its subscribers whole', async () => {
    const r = await socketPass({ seed: SEED, cases: 1500, seconds: 15, maxHeapGrowth: 48 * 2 ** 20 });
    assert.equal(r.failures.length, 0, report(r.failures));
    assert.deepEqual(r.problems, []);
    assert.ok(r.published > 0, 'the watchers saw publications');
  });
});
