import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, needsChromium } from './helpers/browser.js';
import { startHerald, type TestServer } from './helpers/herald.js';

describe('in a real browser', { skip: needsChromium() }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    server = await startHerald();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('/echo and /chat work from browser JavaScript', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.http}/healthz`);
    const echoed = await page.evaluate(
      (url) =>
        new Promise<string>((resolve, reject) => {
          const ws = new WebSocket(`${url}/echo`);
          ws.onopen = () => ws.send('from chromium');
          ws.onmessage = (e) => resolve(e.data as string);
          ws.onerror = () => reject(new Error('websocket error'));
        }),
      server.ws,
    );
    assert.equal(echoed, 'Echo: from chromium');
    await page.close();
  });

  test('the demo page: a message typed in one tab shows up as a broadcast in the other', async () => {
    const [a, b] = [await browser.newPage(), await browser.newPage()];
    await a.goto(`${server.http}/`);
    await b.goto(`${server.http}/`);
    for (const p of [a, b]) {
      await p.locator('#ws-log li', { hasText: 'Welcome to broadcast chat!' }).waitFor({ timeout: 5000 });
      await p.locator('#sse-status', { hasText: 'open' }).waitFor({ timeout: 5000 });
    }
    await a.fill('#ws-input', 'hello from tab A');
    await a.click('#ws-form button');
    await b.locator('#ws-log li', { hasText: 'Broadcast: hello from tab A' }).waitFor({ timeout: 5000 });
    // The same publication, seen by the browser's own EventSource on both tabs, with its offset.
    for (const p of [a, b]) {
      await p.locator('#sse-log li', { hasText: '"hello from tab A"' }).waitFor({ timeout: 5000 });
    }
    // Tab A's own broadcast, if the server sent one, would reach it before this later message.
    await b.fill('#ws-input', 'marker from tab B');
    await b.click('#ws-form button');
    await a.locator('#ws-log li', { hasText: 'Broadcast: marker from tab B' }).waitFor({ timeout: 5000 });
    assert.equal(await a.locator('#ws-log li', { hasText: 'Broadcast: hello from tab A' }).count(), 0);
    await a.close();
    await b.close();
  });

  test('EventSource resumes with Last-Event-ID after the server cut the stream, missing nothing', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.http}/healthz`);
    await page.evaluate(() => {
      const w = window as unknown as { got: number[]; opens: number };
      w.got = [];
      w.opens = 0;
      const es = new EventSource('/sse?channel=resume-demo');
      es.onopen = () => {
        w.opens++;
      };
      es.onmessage = (e) => w.got.push(JSON.parse(e.data).data);
    });
    await page.waitForFunction(() => (window as unknown as { opens: number }).opens === 1);
    await server.herald.hub.publish('resume-demo', { data: 1 });
    await page.waitForFunction(() => (window as unknown as { got: number[] }).got.length === 1);
    // Cut every SSE stream from the server side, publish while the browser is away.
    const sseDoorStreams = server.herald.hub.localSubscribers('resume-demo');
    assert.equal(sseDoorStreams, 1);
    await server.herald.hub.publish('resume-demo', { data: 2 });
    server.herald.app.server.closeAllConnections();
    await server.herald.hub.publish('resume-demo', { data: 3 });
    await server.herald.hub.publish('resume-demo', { data: 4 });
    await page.waitForFunction(() => (window as unknown as { got: number[] }).got.length >= 4, undefined, {
      timeout: 10_000,
    });
    const got = await page.evaluate(() => (window as unknown as { got: number[] }).got);
    assert.deepEqual(got, [1, 2, 3, 4]);
    assert.ok(
      (await page.evaluate(() => (window as unknown as { opens: number }).opens)) >= 2,
      'it reconnected',
    );
    await page.close();
  });
});
