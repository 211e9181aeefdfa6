// The server API's `channels` pattern against a server in a child process: a pattern that would make
// a regular expression backtrack must not pin the server, and a client-side deadline proves it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { poll } from './helpers/http.js';
import { type HeraldProcess, startHeraldProcess } from './helpers/process.js';
import { until } from './helpers/until.js';

async function channels(base: string, params: unknown, ms: number) {
  const res = await fetch(`${base}/api/channels`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(params),
    signal: AbortSignal.timeout(ms),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the test reads the JSON answer
  return { status: res.status, json: (await res.json()) as any };
}

describe('API channels pattern', () => {
  let p: HeraldProcess;
  const long = 'a'.repeat(250);
  const hold = new AbortController();

  before(async () => {
    p = await startHeraldProcess();
    // A held long poll keeps the long-named channel alive for the listing.
    poll(p.http, [long], { timeout: 50, signal: hold.signal }).catch(() => {});
    await until(async () => long in (await channels(p.http, {}, 2000)).json.result.channels, {
      what: 'long channel listed',
      intervalMs: 50,
    });
  });

  after(async () => {
    hold.abort();
    // SIGKILL: a server that failed the test may be too busy to handle SIGTERM.
    p.child.kill('SIGKILL');
    await p.exited;
  });

  test('a pattern built to make a regular expression backtrack answers at once', async () => {
    const t0 = Date.now();
    const a = await channels(p.http, { pattern: `${'*a'.repeat(12)}b` }, 3000);
    assert.ok(Date.now() - t0 < 1000, `answered in ${Date.now() - t0} ms`);
    assert.equal(a.status, 200);
    assert.deepEqual(a.json.result.channels, {});
    const b = await channels(p.http, { pattern: `${'*a'.repeat(12)}` }, 3000);
    assert.deepEqual(Object.keys(b.json.result.channels), [long]);
  });

  test('the server keeps serving afterwards', async () => {
    const res = await fetch(`${p.http}/healthz`, { signal: AbortSignal.timeout(2000) });
    assert.equal(res.status, 200);
  });

  test('a pattern longer than maxPatternLength is a bad request', async () => {
    const a = await channels(p.http, { pattern: '*'.repeat(257) }, 3000);
    assert.equal(a.status, 200);
    assert.equal(a.json.error.code, 107);
    assert.match(a.json.error.message, /pattern longer than 256 characters/);
    const ok = await channels(p.http, { pattern: '*'.repeat(256) }, 3000);
    assert.ok(long in ok.json.result.channels);
  });
});
