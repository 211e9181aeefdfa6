import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, needsChromium } from './helpers/browser.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { screenshot } from './helpers/screenshots.js';

describe('the admin dashboard in a real browser', { skip: needsChromium() }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    server = await startHerald({ adminPassword: 'correct horse' });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('its data routes refuse a caller without a session', async () => {
    const res = await fetch(`${server.http}/admin/api/stats`);
    assert.equal(res.status, 401);
    const publish = await fetch(`${server.http}/admin/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'chat', data: 'x' }),
    });
    assert.equal(publish.status, 401);
  });

  test('a wrong password is refused; the right one gives an HttpOnly, SameSite=Strict session', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.http}/admin`);
    await page.fill('#password', 'wrong');
    await page.click('#login button');
    await page.locator('#login-error', { hasText: 'Wrong password.' }).waitFor();
    assert.equal(await page.locator('#fig-connections').count(), 0, 'no dashboard');
    assert.deepEqual(await context.cookies(), []);

    await page.fill('#password', 'correct horse');
    await page.click('#login button');
    await page.locator('#node', { hasText: 'engine memory' }).waitFor();
    const [cookie] = await context.cookies();
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    await context.close();
  });

  test('the connection count changes when a demo page connects; inspect and publish', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const admin = await context.newPage();
    await admin.goto(`${server.http}/admin`);
    await admin.fill('#password', 'correct horse');
    await admin.click('#login button');
    const figure = admin.locator('#fig-connections');
    await admin.locator('#node', { hasText: 'engine memory' }).waitFor();
    const before = Number(await figure.textContent());

    const demo = await browser.newPage();
    await demo.goto(`${server.http}/`);
    await demo.locator('#pane-mqtt .state.live').waitFor({ timeout: 10_000 });
    await admin.waitForFunction(
      (n) => Number(document.getElementById('fig-connections')?.textContent) > n,
      before,
    );
    await admin.locator('#doors tr', { hasText: 'sse' }).waitFor();

    await admin.fill('#inspect-channel', 'chat');
    await admin.fill('#inspect-data', 'from the admin page');
    await admin.click('#inspect-publish button');
    await admin.locator('#inspect-history tr', { hasText: 'from the admin page' }).waitFor();
    await demo.locator('#pane-sse .log li', { hasText: 'from the admin page' }).waitFor();
    await admin.locator('#busiest tr', { hasText: 'chat' }).first().waitFor();
    await screenshot(admin, 'admin');
    await demo.close();
    await context.close();
  });
});

describe('the admin dashboard without a password', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald();
  });
  after(() => server.stop());

  test('is served to a caller on this machine', async () => {
    const res = await fetch(`${server.http}/admin`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Herald admin/);
    const stats = await (await fetch(`${server.http}/admin/api/stats`)).json();
    assert.equal(typeof stats.doors.sse.connections, 'number');
  });
});
