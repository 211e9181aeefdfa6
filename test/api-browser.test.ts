// The attack the server API's browser rules exist for, played in real Chromium: a page from another
// origin on the visitor's machine tries to publish through Herald's key-less, loopback-only API.
// The page is served from 127.0.0.2 so both sides are in the loopback address space and Chromium's
// Private Network Access rules do not step in: what stops the page must be Herald itself.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, needsChromium } from './helpers/browser.js';
import { startHerald } from './helpers/herald.js';
import { api } from './helpers/http.js';

interface Attempt {
  /** What the page could read: the status and body, or the error fetch threw. */
  read?: { status: number; type: string; body: string };
  error?: string;
}

/** Runs fetch() in the page and reports what the page's own script could see. */
function attempt(page: Page, url: string, init: { mode?: RequestMode; type: string; body: string }) {
  return page.evaluate(
    async ({ url, init }): Promise<Attempt> => {
      try {
        const res = await fetch(url, {
          method: 'POST',
          mode: init.mode ?? 'cors',
          headers: { 'content-type': init.type },
          body: init.body,
        });
        return { read: { status: res.status, type: res.type, body: await res.text() } };
      } catch (err) {
        return { error: String(err) };
      }
    },
    { url, init },
  );
}

describe('a cross-origin page in Chromium against the server API', { skip: needsChromium() }, () => {
  let browser: Browser;
  let site: Server;
  let origin: string;
  before(async () => {
    browser = await launchChromium();
    site = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>another site</title><p>hello</p>');
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.2', resolve));
    origin = `http://127.0.0.2:${(site.address() as AddressInfo).port}`;
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => site?.close(resolve));
  });

  test('cannot publish with text/plain, no-cors or JSON, and cannot read any answer', async () => {
    const server = await startHerald();
    const page = await browser.newPage();
    try {
      await page.goto(`${origin}/`);
      const url = `${server.http}/api/publish`;
      const body = JSON.stringify({ channel: 'csrf', data: 'from another site' });
      // A "simple" request: no preflight, the browser sends it and only hides the answer.
      const plain = await attempt(page, url, { type: 'text/plain', body });
      assert.ok(plain.error, `the page read an answer: ${JSON.stringify(plain.read)}`);
      // What an HTML form or an image beacon does: the answer is opaque by design.
      const blind = await attempt(page, url, { type: 'text/plain', body, mode: 'no-cors' });
      assert.deepEqual(blind.read, { status: 0, type: 'opaque', body: '' });
      // JSON needs a preflight, which the API does not grant to this origin.
      const json = await attempt(page, url, { type: 'application/json', body });
      assert.ok(json.error, `the page read an answer: ${JSON.stringify(json.read)}`);
      const h = await api(server.http, 'history', { channel: 'csrf' });
      assert.equal(h.json.result.offset, 0, 'nothing was published');
    } finally {
      await page.close();
      await server.stop();
    }
  });

  test('a page whose origin is in apiAllowedOrigins can (the rules above are what stopped the other)', async () => {
    const server = await startHerald({ apiAllowedOrigins: [origin] });
    const page = await browser.newPage();
    try {
      await page.goto(`${origin}/`);
      const url = `${server.http}/api/publish`;
      const body = JSON.stringify({ channel: 'allowed', data: 'from the admin page' });
      const json = await attempt(page, url, { type: 'application/json', body });
      assert.equal(json.read?.status, 200, JSON.stringify(json));
      assert.equal(JSON.parse(json.read.body).result.offset, 1);
      const plain = await attempt(page, url, { type: 'text/plain', body });
      assert.equal(plain.read?.status, 415, 'readable, and refused');
      assert.equal(JSON.parse(plain.read.body).error.code, 153);
      const h = await api(server.http, 'history', { channel: 'allowed' });
      assert.equal(h.json.result.offset, 1);
    } finally {
      await page.close();
      await server.stop();
    }
  });
});
