// The `herald` client commands as a person runs them, against a real server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { herald } from './helpers/cli.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { until } from './helpers/until.js';

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

  test('publish without data publishes each line of stdin, in order, JSON or text', async () => {
    const s = ['--server', server.http];
    const piped = await herald(['publish', 'cli-lines', ...s], { input: '{"n":1}\nplain text\n\n[2]\n' });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(
      piped.stdout.trim().split('\n').length,
      3,
      'one result line per publication; blank lines skipped',
    );
    const dash = await herald(['publish', 'cli-lines', '-', ...s], { input: 'last' });
    assert.equal(dash.code, 0, dash.stderr);
    const history = JSON.parse((await herald(['history', 'cli-lines', ...s])).stdout);
    assert.deepEqual(
      history.publications.map((p: { data: unknown }) => p.data),
      [{ n: 1 }, 'plain text', [2], 'last'],
    );
  });

  test('--api-url and HERALD_API_URL name the server too', async () => {
    const flag = await herald(['info', '--api-url', server.http]);
    assert.equal(flag.code, 0, flag.stderr);
    const env = await herald(['info'], { env: { HERALD_API_URL: server.http } });
    assert.equal(env.code, 0, env.stderr);
    assert.equal(JSON.parse(env.stdout).nodes.length, 1);
  });

  test('a server that is not there is named, exit 1', async () => {
    const closed = await startHerald();
    const url = closed.http;
    await closed.stop();
    const r = await herald(['info', '--server', url]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim(),
      `herald: cannot reach the server at ${url} (ECONNREFUSED); is it running? (--server URL)`,
    );
  });

  test('bad arguments exit 2 with a message', async () => {
    const notUrl = await herald(['info', '--server', 'localhost:8080']);
    assert.equal(notUrl.code, 2);
    assert.match(notUrl.stderr, /--server must be an http:\/\/ or https:\/\/ URL/);
    const missing = await herald(['publish', 'a-channel', 'data', 'and-more']);
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
