// A node keeps its clients present by refreshing their entries before they expire, in batches (one
// engine call per beat, pipelined on Redis), so many entries survive their TTL; entries of a node
// that stopped refreshing expire; after Redis lost its data the next beat puts them back.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryEngine } from '../src/engine/memory.js';
import { Hub } from '../src/hub/hub.js';
import type { Engine } from '../src/model/index.js';
import { redisAvailable, redisEngine, TestRedis } from './helpers/redis.js';

const CHANNELS = 40;
const PER_CHANNEL = 50; // 2,000 entries
const TTL = 2; // seconds; the hub refreshes every second

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('presence refresh', () => {
  test('memory engine: 2,000 entries outlive their TTL while refreshed', async () => {
    const engine = new MemoryEngine();
    const hub = new Hub(engine, { presenceTtl: TTL });
    await hub.start();
    await fill(hub);
    await sleep(TTL * 1000 + 1500);
    assert.equal(await present(engine), CHANNELS * PER_CHANNEL);
    await hub.close();
    await sleep(TTL * 1000 + 100);
    assert.equal(await present(engine), 0, 'without refresh they expire');
  });

  test('redis engine: 2,000 entries outlive their TTL, vanish when their node stops, and come back after a data loss', {
    skip: redisAvailable() ? false : 'redis-server is not on the PATH',
  }, async () => {
    const redis = await TestRedis.start();
    const engine = redisEngine(redis.url);
    const hub = new Hub(engine, { presenceTtl: TTL });
    const observer = redisEngine(redis.url);
    try {
      await hub.start();
      await observer.start({ onPublication() {}, onJoin() {}, onLeave() {} });
      await fill(hub);
      await sleep(TTL * 1000 + 1500);
      assert.equal(await present(observer), CHANNELS * PER_CHANNEL);

      // Redis restarts empty: the node's next beats put its clients back (scripts reloaded too).
      await redis.restart();
      await until(
        async () => (await present(observer).catch(() => 0)) === CHANNELS * PER_CHANNEL,
        8000,
        'presence restored',
      );

      await hub.close();
      await sleep(TTL * 1000 + 200);
      assert.equal(await present(observer), 0, 'a node that stops refreshing loses its entries');
    } finally {
      await hub.close();
      await observer.close();
      await redis.stop();
    }
  });
});
