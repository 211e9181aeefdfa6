import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, needsChromium } from './helpers/browser.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { outageOf } from './helpers/outage.js';
import { screenshot } from './helpers/screenshots.js';

const PANES = ['ws', 'centrifuge', 'sse', 'long-poll', 'short-poll', 'mqtt'];

describe('the demo page in a real browser', { skip: needsChromium() }, () => {
  let server: TestServer;
  let browser: Browser;
  const failedRequests: string[] = [];
  before(async () => {
    server = await startHerald();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function openDemo(): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('response', (r) => {
      if (r.status() >= 400) failedRequests.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(`${server.http}/`);
    for (const id of PANES) {
      await page.locator(`#pane-${id} .state.live`).waitFor({ timeout: 10_000 });
    }
    return page;
  }

  test('every pane goes live, with its libraries and favicon served by Herald', async () => {
    const page = await openDemo();
    assert.deepEqual(failedRequests, []);
    const icon = await page.request.get(`${server.http}/favicon.ico`);
    assert.equal(icon.status(), 200);
    await page.close();
  });

  test('two people chat in the room; each sees the other online', async () => {
    const [a, b] = [await openDemo(), await openDemo()];
    await a.fill('#room-name', 'alice');
    await a.dispatchEvent('#room-name', 'change');
    await b.fill('#room-name', 'bob');
    await b.dispatchEvent('#room-name', 'change');
    await a.locator('#online li', { hasText: 'bob' }).waitFor();
    await b.locator('#online li', { hasText: 'alice' }).waitFor();

    await a.fill('#room-input', 'hello bob');
    await a.click('#room-form button');
    await b.locator('#room-log li', { hasText: 'alice: hello bob' }).waitFor();
    await b.fill('#room-input', 'hi alice');
    await b.click('#room-form button');
    await a.locator('#room-log li', { hasText: 'bob: hi alice' }).waitFor();
    // Alice's message reached every one of her own panes, each with a measured delay.
    for (const id of PANES) {
      const line = a.locator(`#pane-${id} .log li`, { hasText: 'alice: hello bob' });
      await line.waitFor({ timeout: 10_000 });
      assert.match((await line.locator('.delay').textContent()) ?? '', /^\+\d+ ms$/);
    }
    await screenshot(a, 'demo-chat');
    await a.close();
    await b.close();
  });

  test('a publication made through the server API appears in every pane', async () => {
    const page = await openDemo();
    const res = await fetch(`${server.http}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'chat', data: { text: 'from the API' } }),
    });
    assert.equal(res.status, 200);
    for (const id of PANES) {
      await page
        .locator(`#pane-${id} .log li`, { hasText: '{"text":"from the API"}' })
        .waitFor({ timeout: 10_000 });
    }
    await screenshot(page, 'demo-api-publication');
    await page.close();
  });

  test('the channel explorer shows offset and epoch, and publishes', async () => {
    const page = await openDemo();
    await page.fill('#explorer-channel', 'chat');
    await page.click('#explorer-form button');
    await page.locator('#explorer-state.live').waitFor();
    await page.fill('#explorer-data', '{"price":42}');
    await page.click('#explorer-publish button');
    const row = page.locator('#explorer-log tr', { hasText: '{"price":42}' });
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    const { epoch, offset } = (await server.herald.hub.history('chat')).position;
    assert.deepEqual(cells, ['chat', String(offset), epoch, '{"price":42}']);
    await page.close();
  });

  test('after the server cuts every connection, the SSE, channel-protocol, long-poll and MQTT panes recover what was published meanwhile, each once', async () => {
    const outage = outageOf(server.herald.app.server);
    const page = await openDemo();
    // What each pane that resumes says once back. The /chat pane does not replay by design, and the
    // short poll may sleep through a short outage without noticing it.
    const RESUMED: Record<string, string> = {
      centrifuge: 'live, recovered 3',
      sse: 'live, recovered 3',
      'long-poll': 'live, recovered 3',
      mqtt: 'live, session resumed',
    };
    const RESUMING = Object.keys(RESUMED);
    // Straight into the hub, the way the server API does it: while the outage lasts, the API is as
    // unreachable as every other door, and a publication from another node would arrive this way.
    const publish = (text: string) => server.herald.hub.publish('chat', { data: text });
    const seen = async (text: string) => {
      for (const id of RESUMING) {
        await page.locator(`#pane-${id} .log li`, { hasText: text }).waitFor({ timeout: 20_000 });
      }
    };
    const before = ['cut-before-1', 'cut-before-2'];
    const away = ['cut-away-1', 'cut-away-2', 'cut-away-3'];
    for (const text of before) await publish(text);
    await seen(before.at(-1)!);

    await outage.begin();
    for (const id of RESUMING) await page.locator(`#pane-${id} .state.reconnecting`).waitFor();
    for (const text of away) await publish(text);
    await outage.end();

    for (const [id, state] of Object.entries(RESUMED)) {
      await page.locator(`#pane-${id} .state.recovered`, { hasText: state }).waitFor({ timeout: 20_000 });
    }
    // Delivery is in order, so once this one is shown, a duplicate of anything earlier would be too.
    await publish('cut-after');
    await seen('cut-after');
    await screenshot(page, 'demo-recovered');
    for (const id of RESUMING) {
      const lines = await page.locator(`#pane-${id} .log li:not(.note) .text`).allTextContents();
      const messages = lines.map((l) => l.replace(/^#\d+ /, '')).filter((m) => m.startsWith('cut-'));
      assert.deepEqual(messages, [...before, ...away, 'cut-after'], `the ${id} pane`);
    }
    outage.dispose();
    await page.close();
  });
});
