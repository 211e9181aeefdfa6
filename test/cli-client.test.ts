// The `herald` client commands as a person runs them, against a real server.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startHerald, type TestServer } from './helpers/herald.js';
import { until } from './helpers/until.js';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function herald(args: string[], opts: { until?: (out: string) => boolean } = {}): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: root });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
    if (opts.until?.(stdout)) child.kill('SIGINT');
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('herald client commands', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald();
  });
  after(() => server.stop());

  test('publish, then subscribe --since sees it and what followed; history, presence, channels, info', async () => {
    const s = ['--server', server.http];
    const first = await herald(['publish', 'cli-news', '{"n":1}', ...s]);
    assert.equal(first.code, 0, first.stderr);
    const { offset, epoch } = JSON.parse(first.stdout);
    await herald(['publish', 'cli-news', 'two', ...s]);

    const sub = await herald(['subscribe', 'cli-news', '--since', `${offset - 1}:${epoch}`, ...s], {
      until: (out) => out.split('\n').length > 2,
    });
    const lines = sub.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((p) => p.data),
      [{ n: 1 }, 'two'],
    );
    assert.equal(sub.code, 0, 'ends cleanly on Ctrl-C');

    const history = JSON.parse((await herald(['history', 'cli-news', ...s])).stdout);
    assert.equal(history.publications.length, 2);
    assert.deepEqual(JSON.parse((await herald(['presence', 'cli-news', ...s])).stdout), { presence: {} });
    assert.ok('channels' in JSON.parse((await herald(['channels', ...s])).stdout));
    assert.equal(JSON.parse((await herald(['info', ...s])).stdout).nodes.length, 1);
  });

  test('subscribe prints a publication made while it listens', async () => {
    const s = ['--server', server.http];
    const sub = herald(['subscribe', 'cli-live', ...s], { until: (out) => out.includes('"live"') });
    await until(() => server.herald.hub.localSubscribers('cli-live') === 1, { what: 'the subscriber' });
    await herald(['publish', 'cli-live', 'live', ...s]);
    const done = await sub;
    assert.equal(JSON.parse(done.stdout.trim()).data, 'live');
  });

  test('bad arguments exit 2 with a message', async () => {
    const missing = await herald(['publish', 'only-a-channel']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /publish: wrong number of arguments/);
    const unknown = await herald(['history', 'x', '--bogus']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--bogus/);
    const since = await herald(['subscribe', 'x', '--since', 'yesterday']);
    assert.equal(since.code, 2);
    assert.match(since.stderr, /--since must be offset:epoch/);
  });
});
