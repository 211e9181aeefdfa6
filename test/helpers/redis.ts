// A private redis-server for a test file: a free loopback port, no persistence, started and stopped
// by the test (and restartable, to test what happens when Redis goes away). Suites that need it take
// their `skip` option from `needsRedis()`: skipped where redis-server is missing, failed in CI.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { track } from './children.js';
import { onPath, requireTool } from './requires.js';
import { until } from './until.js';

let redisSkip: false | string | undefined;

/** The `skip` option of a suite that needs redis-server and redis-cli (see requires.ts). */
export function needsRedis(): false | string {
  redisSkip ??= requireTool(
    'redis-server (with redis-cli)',
    () => onPath('redis-server') && onPath('redis-cli'),
  );
  return redisSkip;
}

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export class TestRedis {
  private proc: ChildProcess | undefined;
  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<TestRedis> {
    const r = new TestRedis(await freePort());
    await r.spawn();
    return r;
  }

  /** Starts the server again on the same port (after stop()); its data is gone (no persistence). */
  async spawn(): Promise<void> {
    const proc = track(
      spawn(
        'redis-server',
        [
          '--port',
          String(this.port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--loglevel',
          'warning',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
    this.proc = proc;
    let out = '';
    proc.stdout?.on('data', (d) => {
      out += d;
    });
    proc.stderr?.on('data', (d) => {
      out += d;
    });
    await this.waitUntilUp(proc, () => out);
  }

  private async waitUntilUp(proc: ChildProcess, output: () => string): Promise<void> {
    await until(
      () => {
        if (proc.exitCode !== null) throw new Error(`redis-server exited: ${output()}`);
        const ping = spawnSync('redis-cli', ['-p', String(this.port), 'ping'], { encoding: 'utf8' });
        return ping.stdout?.trim() === 'PONG';
      },
      {
        what: `redis-server to answer PING on port ${this.port}`,
        timeoutMs: 10_000,
        intervalMs: 50,
        detail: output,
      },
    );
  }

  /** Runs redis-cli against this server and returns its output. */
  cli(...args: string[]): string {
    const r = spawnSync('redis-cli', ['-p', String(this.port), ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** Kills the server (SIGKILL: no goodbye to clients) and waits for it to be gone. */
  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }

  /** Stop then start on the same port: what a crash and restart without persistence looks like. */
  async restart(): Promise<void> {
    await this.stop();
    await this.spawn();
  }
}

/** A Redis engine for tests: short command timeout, so a dead Redis fails calls quickly. */
export function redisEngine(url: string, prefix = 'herald'): RedisEngine {
  return new RedisEngine({ url, prefix, metaTtl: 3600, commandTimeout: 2000, nodeTtl: 60 });
}
