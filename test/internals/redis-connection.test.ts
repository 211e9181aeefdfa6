// The one way Herald connects to Redis: the configured URL reaches ioredis whole (TLS, credentials,
// database), its password never reaches a log, and nothing in src/ builds a connection another way.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRedisConnection, redactUrl } from '../../src/engine/redis/index.js';

const src = fileURLToPath(new URL('../../src', import.meta.url));

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (e.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

describe('Redis connections', () => {
  test('a rediss:// URL keeps TLS, and user, password and database come from it', () => {
    const conn = createRedisConnection({
      url: 'rediss://herald-user:s3cret@127.0.0.1:1/3',
      name: 'test',
      redis: { lazyConnect: true },
    });
    try {
      assert.equal(conn.status, 'wait', 'lazy: no socket was opened');
      assert.ok(conn.options.tls, 'TLS from the rediss:// scheme');
      assert.equal(conn.options.username, 'herald-user');
      assert.equal(conn.options.password, 's3cret');
      assert.equal(conn.options.db, 3);
      assert.equal(conn.options.host, '127.0.0.1');
      assert.equal(conn.options.port, 1);
      assert.equal(conn.options.connectionName, 'test');
    } finally {
      conn.disconnect();
    }
  });

  test('a plain redis:// URL does not turn TLS on', () => {
    const conn = createRedisConnection({
      url: 'redis://127.0.0.1:1',
      name: 'test',
      redis: { lazyConnect: true },
    });
    try {
      assert.equal(conn.options.tls, undefined);
      assert.equal(conn.options.db, 0);
    } finally {
      conn.disconnect();
    }
  });

  test('the URL as logged has no password', () => {
    const shown = redactUrl('rediss://herald-user:s3cret@redis.example:6380/3');
    assert.ok(!shown.includes('s3cret'), shown);
    assert.match(shown, /^rediss:\/\/herald-user:\*\*\*@redis\.example:6380\/3$/);
    assert.equal(redactUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
  });

  test('no code in src/ builds a Redis connection except through the factory', async () => {
    const factory = join(src, 'engine', 'redis', 'connection.ts');
    const offenders: string[] = [];
    for (const file of await sourceFiles(src)) {
      if (file === factory) continue;
      const text = await readFile(file, 'utf8');
      // `new Redis(`, `new IORedis(`, `new Redis.Cluster(`, a copy of another connection, node-redis.
      if (/new\s+(IO)?Redis\b|\.duplicate\(\)|from 'redis'/.test(text)) offenders.push(relative(src, file));
    }
    assert.deepEqual(offenders, []);
  });
});
