// The plain WebSocket doors ping every socket each heartbeat interval and drop a peer that did not
// answer the previous ping; peers that answer stay connected and keep receiving.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestServer } from './helpers/herald.js';
import { until } from './helpers/until.js';
import { TestClient } from './helpers/ws.js';

describe('heartbeat on /chat and /echo', () => {
  let server: TestServer;
  before(async () => {
    server = await startHerald({ heartbeatInterval: 100 });
  });
  after(() => server.stop());

  test('a peer that never answers pings is dropped; one that answers stays and keeps receiving', async () => {
    const silent = await TestClient.open(`${server.ws}/chat`, { autoPong: false });
    const silentEcho = await TestClient.open(`${server.ws}/echo`, { autoPong: false });
    const alive = await TestClient.open(`${server.ws}/chat`);
    let pings = 0;
    alive.ws.on('ping', () => pings++);
    const publisher = await TestClient.open(`${server.ws}/chat`);
    for (const c of [silent, alive, publisher]) await c.nextText();

    const t0 = Date.now();
    const closed = await silent.closed;
    await silentEcho.closed;
    assert.equal(closed.code, 1006, 'terminated, not closed politely: the peer is presumed dead');
    assert.ok(Date.now() - t0 < 5000);

    // A few more heartbeats, each answered, and the answering peer is still served.
    const seen = pings;
    await until(() => pings >= seen + 3, { what: 'three more pings to the live peer' });
    publisher.send('still here?');
    assert.equal(await alive.nextText(), 'Broadcast: still here?');
    await Promise.all([alive.close(), publisher.close()]);
  });
});
