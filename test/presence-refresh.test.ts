// A node keeps its clients present by refreshing their entries before they expire, in batches (one
// engine call per beat, pipelined on Redis), so many entries survive their TTL; entries of a node
// that stopped refreshing expire; after Redis lost its data the next beat puts them back.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryEngine } from '../src/engine/memory.js';
import { Hub } from '../src/hub/hub.js';
import type { Engine } from '../src/model/index.js';
import { needsRedis, redisEngine, TestRedis } from './helpers/redis.js';
import { until } from './helpers/until.js';

const CHANNELS = 40;
const PER_CHANNEL = 50; // 2,000 entries
const ALL = CHANNELS * PER_CHANNEL;
const TTL = 2; // seconds; the hub refreshes every second
const BEAT_MS = 1000;

async function fill(hub: Hub): Promise<void> {
  const joins: Promise<void>[] = [];
  for (let c = 0; c < CHANNELS; c++) {
    for (let i = 0; i < PER_CHANNEL; i++) {
      joins.push(hub.join(`pr:${c}`, { client: `c${c}-${i}`, user: `u${i}` }, false));
    }
  }
  await Promise.all(joins);
}

async function present(engine: Engine): Promise<number> {
  let n = 0;
  for (let c = 0; c < CHANNELS; c++) n += Object.keys(await engine.presence(`pr:${c}`)).length;
  return n;
}

/** Lets the work a timer callback started (promise chains, no I/O) finish. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('presence refresh', () => {
  test('memory engine: 2,000 entries outlive their TTL while refreshed, and expire TTL after the last beat', async (t) => {
    // The hub's beat and the engine's clock are both faked: time passes exactly as the test says.
    t.mock.timers.enable({ apis: ['setInterval', 'setTimeout', 'Date'], now: 1_000_000 });
    const engine = new MemoryEngine({ now: () => Date.now() });
    const hub = new Hub(engine, { presenceTtl: TTL });
    await hub.start();
    await fill(hub);
    for (let beat = 1; beat <= TTL + 2; beat++) {
      t.mock.timers.tick(BEAT_MS);
      await settle();
      assert.equal(await present(engine), ALL, `all present after ${beat} s`);
    }
    await hub.close(); // the last refresh was the beat just before
    t.mock.timers.tick(TTL * 1000 - 1);
    assert.equal(await present(engine), ALL, 'not expired before their TTL');
    t.mock.timers.tick(1);
    assert.equal(await present(engine), 0, 'without refresh they expire');
  });

  // Redis expires entries on its own clock, which no test can move: here real time has to pass.
  test('redis engine: 2,000 entries outlive their TTL, vanish when their node stops, and come back after a data loss', {
    skip: needsRedis(),
  }, async () => {
    const redis = await TestRedis.start();
    const engine = redisEngine(redis.url);
    const hub = new Hub(engine, { presenceTtl: TTL });
    const observer = redisEngine(redis.url);
    try {
      await hub.start();
      await observer.start({ onPublication() {}, onJoin() {}, onLeave() {} });
      await fill(hub);
      // Watched all along, not looked at once: none may lapse while the beats go on.
      const filledAt = Date.now();
      await until(
        async () => {
          assert.equal(await present(observer), ALL, `all present ${Date.now() - filledAt} ms after joining`);
          return Date.now() - filledAt > TTL * 1000 + BEAT_MS;
        },
        { what: 'the TTL and a beat to pass', timeoutMs: TTL * 1000 + 10_000, intervalMs: 200 },
      );

      // Redis restarts empty: the node's next beats put its clients back (scripts reloaded too).
      await redis.restart();
      await until(async () => (await present(observer).catch(() => 0)) === ALL, {
        what: 'presence restored',
        timeoutMs: 8000,
        intervalMs: 100,
      });

      await hub.close();
      const closedAt = Date.now();
      await until(async () => (await present(observer)) === 0, {
        what: 'the entries of a node that stopped refreshing to expire',
        timeoutMs: TTL * 1000 + 3000,
        intervalMs: 100,
      });
      // Their last refresh was at most one beat before the node stopped.
      const lasted = Date.now() - closedAt;
      assert.ok(lasted >= TTL * 1000 - BEAT_MS - 100, `expired ${lasted} ms after the node stopped`);
    } finally {
      await hub.close();
      await observer.close();
      await redis.stop();
    }
  });
});
