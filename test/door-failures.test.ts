// A failure inside a door's request handler, after the hub subscribed it, must be answered through
// the HTTP error path (500 with the catalogue's body), release what it took, and leave the server
// serving. The failure used is real: a publication whose data has no JSON form (a BigInt, given by
// an embedding application through hub.publish) cannot be encoded for web clients.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RawClient } from './helpers/centrifuge.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { get, poll } from './helpers/http.js';

const INTERNAL = { error: { code: 100, message: 'internal server error', temporary: true } };

describe('a door handler that fails', () => {
  let server: TestServer;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    server = await startHerald({ pollTimeout: 1, pollMaxTimeout: 2 });
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await server.stop();
  });

  /** A cursor just before an unencodable publication on `channel`. */
  async function cursorBeforeBadPublication(channel: string): Promise<string> {
    const start = await poll(server.http, [channel], { timeout: 0 });
    // Live fan-out to other formats (MQTT) fails on it too; history keeps it all the same.
    await server.herald.hub.publish(channel, { data: 10n }).catch(() => {});
    return start.json.cursor;
  }

  test('poll answers 500 with the catalogue error, releases its subscriptions, and the server keeps serving', async () => {
    const ch = 'fail:poll';
    const cursor = await cursorBeforeBadPublication(ch);
    const a = await poll(server.http, [ch, 'fail:poll2'], {
      cursor,
      timeout: 0,
      signal: AbortSignal.timeout(3000),
    });
    assert.equal(a.status, 500);
    assert.deepEqual(a.json, INTERNAL);
    assert.equal(server.herald.hub.localSubscribers(ch), 0);
    assert.equal(server.herald.hub.localSubscribers('fail:poll2'), 0);
    assert.deepEqual(unhandled, []);
    const ok = await poll(server.http, ['fail:other'], { timeout: 0 });
    assert.equal(ok.status, 200);
  });

  test('SSE answers 500 with the catalogue error before the stream starts, and releases its subscriptions', async () => {
    const ch = 'fail:sse';
    const cursor = await cursorBeforeBadPublication(ch);
    const before = server.herald.hub.localStats().numClients;
    const a = await get(`${server.http}/sse?channel=${ch}&last_event_id=${cursor}`, {
      signal: AbortSignal.timeout(3000),
    });
    assert.equal(a.status, 500);
    assert.deepEqual(a.json, INTERNAL);
    assert.equal(server.herald.hub.localSubscribers(ch), 0);
    assert.equal(server.herald.hub.localStats().numClients, before);
    assert.deepEqual(unhandled, []);
    const ok = await get(`${server.http}/healthz`);
    assert.equal(ok.status, 200);
  });

  test('WebSocket protocol: a recovering subscribe answers the catalogue error and holds no subscription', async () => {
    const ch = 'fail:ws';
    const cursor = await cursorBeforeBadPublication(ch);
    const [epoch, offset] = Object.values(JSON.parse(Buffer.from(cursor, 'base64url').toString()))[0] as [
      string,
      number,
    ];
    const c = await RawClient.open(server.ws);
    await c.connect();
    c.send({ id: 2, subscribe: { channel: ch, recover: true, epoch, offset } });
    assert.deepEqual(await c.next(), { id: 2, error: INTERNAL.error });
    assert.equal(server.herald.hub.localSubscribers(ch), 0);
    // The connection is still served, and the channel can be subscribed afresh.
    c.send({ id: 3, subscribe: { channel: ch } });
    assert.deepEqual(await c.next(), { id: 3, subscribe: {} });
    assert.equal(server.herald.hub.localSubscribers(ch), 1);
    assert.deepEqual(unhandled, []);
    await c.close();
  });
});
