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
