// A deeply nested JSON payload is the one shape JSON.parse accepts and JSON.stringify cannot give
// back (it recurses until the stack overflows). It used to be stored by the memory engine, and the
// first /poll that encoded it took the whole process down. Every door now gets the catalogue's
// error for it, nothing is stored, and the server (a real child process) keeps serving.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { encodeCursor } from '../src/protocol/cursor.js';
import { RawClient } from './helpers/centrifuge.js';
import { api, get, poll } from './helpers/http.js';
import { type HeraldProcess, startHeraldProcess } from './helpers/process.js';

const DEPTH = 6000;
const nested = '['.repeat(DEPTH) + ']'.repeat(DEPTH);

describe('a deeply nested payload, by every door', () => {
  let h: HeraldProcess;

  before(async () => {
    h = await startHeraldProcess();
  });
  after(async () => {
    h.child.kill('SIGTERM');
    await h.exited;
  });

  /** Nothing was stored, a poll from offset 0 of the channel's epoch reads it fine, and we are up. */
  async function assertNothingStoredAndAlive(channel: string): Promise<void> {
    const hist = await api(h.http, 'history', { channel, limit: -1 });
    assert.equal(hist.status, 200);
    assert.deepEqual(hist.json.result.publications, [], `${channel}: nothing in history`);
    assert.equal(hist.json.result.offset, 0);
    const cursor = encodeCursor(new Map([[channel, { offset: 0, epoch: hist.json.result.epoch }]]));
    const p = await poll(h.http, [channel], { cursor, timeout: 0 });
    assert.equal(p.status, 200, p.text);
    assert.deepEqual(p.json.publications, []);
    assert.equal(h.child.exitCode, null, `the server is still running:\n${h.output()}`);
    assert.equal((await get(`${h.http}/healthz`)).status, 200);
  }

  test('the server API answers 107 bad request naming the depth limit', async () => {
    const res = await api(h.http, 'publish', `{"channel":"deep-api","data":${nested}}`);
    assert.equal(res.status, 200);
    assert.equal(res.json.error.code, 107);
    assert.match(res.json.error.message, /nests deeper than \d+ levels/);
    await assertNothingStoredAndAlive('deep-api');
  });

  test('broadcast refuses it for every channel', async () => {
    const res = await api(h.http, 'broadcast', `{"channels":["deep-b1","deep-b2"],"data":${nested}}`);
    assert.equal(res.status, 200);
    for (const r of res.json.result.responses) assert.equal(r.error.code, 107);
    await assertNothingStoredAndAlive('deep-b1');
  });

  test('the WebSocket channel protocol answers the publish with error 107 and keeps the connection', async () => {
    const c = await RawClient.open(h.ws);
    await c.connect();
    c.send(`{"id":2,"publish":{"channel":"deep-ws","data":${nested}}}`);
    const reply = await c.next();
    assert.equal(reply.id, 2);
    assert.equal((reply.error as { code: number }).code, 107);
    // Same connection, a sane publish still works.
    c.send({ id: 3, publish: { channel: 'deep-ws', data: { ok: true } } });
    const ok = await c.next();
    assert.equal(ok.id, 3);
    assert.ok(ok.publish !== undefined, JSON.stringify(ok));
    await c.close();
    const hist = await api(h.http, 'history', { channel: 'deep-ws', limit: -1 });
    assert.deepEqual(
      hist.json.result.publications.map((p: { data: unknown }) => p.data),
      [{ ok: true }],
    );
  });

  test('MQTT over WebSocket: the publish is refused, the payload never stored', async () => {
    const client = await mqtt.connectAsync(`${h.ws}/mqtt`, { reconnectPeriod: 0, connectTimeout: 5000 });
    client.on('error', () => {});
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    // MQTT 3.1.1 has no negative PUBACK: a refused QoS 1 publish closes the connection.
    client.publish('deep-mqtt', nested, { qos: 1 }, () => {});
    await closed;
    await assertNothingStoredAndAlive('deep-mqtt');
    client.end(true);
  });

  test('everyone else is still served: a poller gets a publication made after all of that', async () => {
    const first = await poll(h.http, ['after-deep'], { timeout: 0 });
    const held = poll(h.http, ['after-deep'], { cursor: first.json.cursor, timeout: 10 });
    // Whether it lands live or from history, the cursor makes the poll answer with it.
    await api(h.http, 'publish', { channel: 'after-deep', data: 'still here' });
    const res = await held;
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.json.publications.map((p: { data: unknown }) => p.data),
      ['still here'],
    );
  });
});
