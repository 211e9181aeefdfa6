// A Herald server on the Redis engine, in this process: what it leaves behind when it stops, and
// what its clients see while Redis is away.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald } from './helpers/herald.js';
import { redisAvailable, TestRedis } from './helpers/redis.js';

const skip = redisAvailable() ? false : 'redis-server is not on the PATH';

/** The names of the connections Redis has from clients other than redis-cli itself. */
function connectionNames(redis: TestRedis): string[] {
  return redis
    .cli('CLIENT', 'LIST')
    .split('\n')
    .filter((l) => !/ cmd=client\|list /.test(l))
    .map((l) => /(?:^| )name=(\S*)/.exec(l)?.[1] ?? '?');
}

describe('a server on the Redis engine', { skip }, () => {
  let redis: TestRedis;
  before(async () => {
    redis = await TestRedis.start();
  });
  after(() => redis?.stop());

  test('stop() closes every Redis connection the server opened, the MQTT persistence’s too', async () => {
    const server = await startHerald({ engine: 'redis', redisUrl: redis.url });
    assert.deepEqual(connectionNames(redis).sort(), [
      'herald:bus',
      'herald:cmd',
      'herald:mqtt',
      'herald:mqtt-scripts',
    ]);
    await server.stop();
    assert.deepEqual(connectionNames(redis), []);
  });
});
