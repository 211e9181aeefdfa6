import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { hasChromium, launchChromium } from './helpers/browser.js';
import { startHerald, type TestServer } from './helpers/herald.js';

describe('in a real browser', { skip: !hasChromium && 'chromium is not installed' }, () => {
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
    }
    await a.fill('#ws-input', 'hello from tab A');
    await a.click('#ws-form button');
    await b.locator('#ws-log li', { hasText: 'Broadcast: hello from tab A' }).waitFor({ timeout: 5000 });
    assert.equal(await a.locator('#ws-log li', { hasText: 'Broadcast: hello from tab A' }).count(), 0);
    await a.close();
    await b.close();
  });
});
