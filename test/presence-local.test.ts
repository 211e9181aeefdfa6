// Presence with the embedded engine, held once per node (engine/memory-presence.ts), seen through
// real SDK clients: entries stay for many TTLs while the node beats, presence and presence stats
// answer as before, and a leave is seen the moment a client goes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Centrifuge, JoinContext, LeaveContext } from 'centrifuge';
import { MemoryEngine } from '../src/engine/memory.js';
import { once, sdkClient, subscribed } from './helpers/centrifuge.js';
import { startHerald, type TestServer } from './helpers/herald.js';
import { until } from './helpers/until.js';

const TTL_S = 2; // the hub beats every second

describe('presence with the memory engine, through the WebSocket protocol', () => {
  let server: TestServer;
  let engine: MemoryEngine;
  const clients: Centrifuge[] = [];
  const idOf = (c: Centrifuge) => (c as unknown as { _client: string })._client;

  before(async () => {
    // Expired entries are swept every 100 ms: a lapse would show at once.
    engine = new MemoryEngine({ sweepInterval: 100 });
    server = await startHerald({ presenceTtl: TTL_S }, engine);
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await server.stop();
  });

  test('three clients stay present for three TTLs, then one leaves and is seen leaving', async () => {
    const conns = [0, 1, 2].map(() => {
      const c = sdkClient(server.ws);
      clients.push(c);
      return c;
    });
    const subs = conns.map((c, i) => c.newSubscription('room:local', { joinLeave: i === 0 }));
    const joined = once<JoinContext>(subs[0], 'join', 5000, (ctx) => ctx.info.client === idOf(conns[2]));
    for (let i = 0; i < 3; i++) {
      subs[i].subscribe();
      conns[i].connect();
      await subscribed(subs[i]);
    }
    await joined;
    const ids = conns.map(idOf).sort();
    // Watched all along, not looked at once: none may lapse while the beats go on.
    const since = Date.now();
    await until(
      async () => {
        const p = await subs[1].presence();
        assert.deepEqual(Object.keys(p.clients).sort(), ids, `${Date.now() - since} ms after joining`);
        assert.equal((await subs[2].presenceStats()).numClients, 3);
        return Date.now() - since > 3 * TTL_S * 1000;
      },
      { what: 'three TTLs to pass', timeoutMs: 3 * TTL_S * 1000 + 10_000, intervalMs: 200 },
    );
    const left = once<LeaveContext>(subs[0], 'leave');
    const goneId = idOf(conns[2]);
    conns[2].disconnect();
    assert.equal((await left).info.client, goneId);
    assert.deepEqual(
      Object.keys((await subs[1].presence()).clients).sort(),
      ids.filter((id) => id !== goneId),
    );
    assert.deepEqual(await subs[0].presenceStats(), { numClients: 2, numUsers: 1 });
  });

  test('the server API sees the same presence as the clients', async () => {
    const c = sdkClient(server.ws);
    clients.push(c);
    const sub = c.newSubscription('room:api');
    sub.subscribe();
    c.connect();
    await subscribed(sub);
    const res = await fetch(`${server.http}/api/presence`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'room:api' }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { result: { presence: Record<string, unknown> } };
    assert.deepEqual(Object.keys(body.result.presence), [idOf(c)]);
    c.disconnect();
    await until(async () => Object.keys(await engine.presence('room:api')).length === 0, {
      what: 'the entry to go with its connection',
      timeoutMs: 5000,
    });
  });
});
