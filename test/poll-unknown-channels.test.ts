// Reading channels nobody published to creates no state, through a door: short polls of random
// channel names (what a scanner or a buggy client does) leave the engine's streams and Redis's keys
// where they were.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { MemoryEngine } from '../src/engine/memory.js';
import { startHerald, type TestServer } from './helpers/herald.js';

// Thousands of polls from one address in a few seconds: the per-address rate (tested on its own)
// would refuse most of them before they reach what this file is about.
const NO_RATE = { connectionRatePerIp: 0 };

import { poll } from './helpers/http.js';
import { needsRedis, TestRedis } from './helpers/redis.js';
import { until } from './helpers/until.js';

/** `count` short polls of random channel names, a few at a time; each must answer 200 and empty. */
async function pollRandomChannels(server: TestServer, count: number): Promise<void> {
  const concurrency = 20;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const res = await poll(server.http, [`scan:${randomBytes(6).toString('hex')}`], { timeout: 0 });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json.publications, []);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

describe('polling channels nobody published to', () => {
  test('memory engine: no stream is kept for them', async () => {
    const engine = new MemoryEngine();
    const server = await startHerald(NO_RATE, engine);
    try {
      await server.herald.hub.publish('real', { data: 1 });
      await pollRandomChannels(server, 1);
      const before = engine.streamCount;
      await pollRandomChannels(server, 2000);
      assert.equal(engine.streamCount, before);
    } finally {
      await server.stop();
    }
  });

  test('redis engine: no key is kept for them', {
    skip: needsRedis(),
  }, async () => {
    const redis = await TestRedis.start();
    const server = await startHerald({ ...NO_RATE, engine: 'redis', redisUrl: redis.url });
    try {
      await server.herald.hub.publish('real', { data: 1 });
      // The first poll may create what is shared (the cluster's epoch).
      await pollRandomChannels(server, 1);
      // A poll counts as a subscription while it lasts: the node's channel counts come and go in
      // batches, so they are compared once no poll is counted any more.
      const uncounted = () => redis.cli('KEYS', 'herald:node-channels:*') === '';
      await until(uncounted, { what: 'no poll counted', timeoutMs: 3000 });
      const before = Number(redis.cli('DBSIZE'));
      await pollRandomChannels(server, 2000);
      await until(uncounted, { what: 'no poll counted', timeoutMs: 3000 });
      assert.equal(Number(redis.cli('DBSIZE')), before, redis.cli('KEYS', '*'));
    } finally {
      await server.stop();
      await redis.stop();
    }
  });
});
