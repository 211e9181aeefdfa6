import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';
import { TestClient } from './helpers/ws.js';

describe('GET /metrics', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald();
  });
  after(() => server.stop());

  const gauge = (text: string, name: string) => Number(text.match(new RegExp(`^${name} (\\d+)$`, 'm'))?.[1]);

  test('reports clients, subscriptions and channels as they change, in Prometheus text format', async () => {
    const empty = await (await fetch(`${server.http}/metrics`)).text();
    assert.equal(gauge(empty, 'herald_clients'), 0);
    // Doors may hold internal subscriptions (the MQTT bridge does): count from here.
    const subs0 = gauge(empty, 'herald_subscriptions');
    const channels0 = gauge(empty, 'herald_channels');
    assert.match(empty, /^# TYPE herald_process_cpu_seconds_total counter$/m);
    const a = await TestClient.open(`${server.ws}/chat`);
    const b = await TestClient.open(`${server.ws}/chat`);
    await a.nextText();
    await b.nextText();
    const res = await fetch(`${server.http}/metrics`);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    assert.equal(gauge(text, 'herald_clients'), 2);
    assert.equal(gauge(text, 'herald_subscriptions') - subs0, 2);
    assert.equal(gauge(text, 'herald_channels') - channels0, 1);
    await Promise.all([a.close(), b.close()]);
  });
});
