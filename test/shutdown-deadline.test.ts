// `herald serve` stops within shutdownDeadline whatever holds it up, and says what was still open.
// The hold-up is real: a Redis that stops answering (SIGSTOP) mid-shutdown, with a Redis command
// timeout longer than the deadline. Connections alone cannot hold it: doors cut them at
// shutdownTimeout, which must be shorter.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type HeraldProcess, startHeraldProcess } from './helpers/process.js';
import { rawUpgrade } from './helpers/raw.js';
import { needsRedis, TestRedis } from './helpers/redis.js';

const DEADLINE_LINE = 'shutdown deadline passed; exiting with these still open';

/** SIGTERM, then how the process ended and how long it took (failing after `ms`). */
async function terminate(p: HeraldProcess, ms = 20_000) {
  const t0 = Date.now();
  p.child.kill('SIGTERM');
  const exit = await Promise.race([
    p.exited,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`still running ${ms} ms after SIGTERM`)), ms).unref(),
    ),
  ]);
  const lines = p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; [k: string]: unknown });
  return { code: exit.code, took: Date.now() - t0, lines };
}

describe('shutdown deadline', () => {
  test('a client that never answers the close handshake is cut at shutdownTimeout; exit 0', async () => {
    const p = await startHeraldProcess(['--shutdown-timeout', '500ms', '--shutdown-deadline', '5s']);
    try {
      const { socket } = await rawUpgrade(p.port, '/echo');
      socket.on('error', () => {});
      // It never reads the server's close frame, let alone answers it.
      socket.pause();
      const { code, took, lines } = await terminate(p);
      assert.equal(code, 0);
      assert.ok(took >= 450 && took < 4000, `exited after ${took} ms`);
      assert.ok(!lines.some((l) => l.msg === DEADLINE_LINE));
      socket.destroy();
    } finally {
      p.child.kill('SIGKILL');
    }
  });

  test('a stop held up by a frozen Redis ends at shutdownDeadline with exit 1, naming what was still open', {
    skip: needsRedis(),
  }, async () => {
    const redis = await TestRedis.start();
    const pid = Number(/process_id:(\d+)/.exec(redis.cli('info', 'server'))?.[1]);
    const p = await startHeraldProcess([
      '--engine',
      'redis',
      '--redis-url',
      redis.url,
      '--redis-command-timeout',
      '1m',
      '--shutdown-timeout',
      '500ms',
      '--shutdown-deadline',
      '2s',
    ]);
    try {
      process.kill(pid, 'SIGSTOP');
      const { code, took, lines } = await terminate(p);
      assert.equal(code, 1);
      assert.ok(took >= 1900 && took < 6000, `exited after ${took} ms`);
      const report = lines.find((l) => l.msg === DEADLINE_LINE);
      assert.ok(report, 'the deadline is logged');
      assert.equal(report.shutdownDeadline, 2000);
      // Where it stood: closing the engine waits on Redis.
      assert.ok((report.waitingFor as string[]).includes('engine'), JSON.stringify(report));
      assert.equal(report.clients, 0);
    } finally {
      process.kill(pid, 'SIGCONT');
      p.child.kill('SIGKILL');
      await redis.stop();
    }
  });
});
