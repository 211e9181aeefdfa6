// The MqttStore contract, written once and run against every engine's store (memory, Redis). A
// "world" is one cluster's shared state: every store it hands out is one node's view of it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type {
  MqttStore,
  MqttStoreOptions,
  StoredMessage,
  StoredSubscription,
  StoredWill,
} from '../../src/model/index.js';

export interface StoreWorld {
  /** Node `node`'s store; every store of one world shares the state. */
  store(node: string, options?: Partial<MqttStoreOptions>): MqttStore;
  /** Moves the store's clock on (memory: at once; Redis: real time passes). */
  passTime(ms: number): Promise<void>;
  /** Waits until every store knows of the others' latest changes (Redis: filter caches). */
  settle(): Promise<void>;
  close(): Promise<void>;
}

const FOREVER = 0xffffffff;

function msg(
  topic: string,
  qos: 0 | 1 | 2,
  payload: Buffer | string = 'x',
  extra: Partial<StoredMessage> = {},
) {
  return { topic, payload: Buffer.from(payload), qos, retain: false, ...extra } as StoredMessage;
}

function state(subscriptions: StoredSubscription[], expiryInterval = 3600, incomingQos2: number[] = []) {
  return { subscriptions, expiryInterval, incomingQos2 };
}

export function mqttStoreSuite(name: string, makeWorld: () => Promise<StoreWorld>): void {
  /** A world and node a's store, closed after the test. */
  async function withWorld(fn: (w: StoreWorld, a: MqttStore) => Promise<void>): Promise<void> {
    const w = await makeWorld();
    try {
      await fn(w, w.store('a', { sessionQueue: 100 }));
    } finally {
      await w.close();
    }
  }

  /** Claims `cid` on `conn`, saves subscriptions, and releases it: an offline session. */
  async function offline(s: MqttStore, cid: string, subs: StoredSubscription[], expiry = 3600) {
    const r = await s.claim(cid, 'u', false, 'a', `${cid}-c0`, true);
    assert.equal(r.ok, true);
    await s.release(cid, `${cid}-c0`, state(subs, expiry), []);
  }

  /** Reconnects `cid` and returns what was queued for it. */
  async function drain(s: MqttStore, cid: string, conn = `${cid}-drain`): Promise<StoredMessage[]> {
    const r = await s.claim(cid, 'u', false, 'a', conn, false);
    assert.equal(r.ok, true);
    return s.takeQueue(cid, conn);
  }

  describe(`MqttStore contract: ${name}`, () => {
    test('claim: a new session, then a takeover by the same user returns the session and its holder', async () => {
      await withWorld(async (_w, s) => {
        assert.deepEqual(await s.claim('c1', 'alice', false, 'a', 'k1', false), { ok: true });
        const subs: StoredSubscription[] = [{ filter: 'x/+', qos: 1, id: 7, noLocal: true }];
        await s.saveSession('c1', 'k1', state(subs, 60, [5, 9]));
        const r = await s.claim('c1', 'alice', false, 'b', 'k2', false);
        assert.deepEqual(r, {
          ok: true,
          session: {
            clientId: 'c1',
            owner: 'alice',
            subscriptions: subs,
            expiryInterval: 60,
            incomingQos2: [5, 9],
          },
          previous: { node: 'a', conn: 'k1' },
        });
      });
    });

    test('claim: another user is refused, an admin is not, and the session keeps its owner', async () => {
      await withWorld(async (_w, s) => {
        await s.claim('c1', 'alice', false, 'a', 'k1', false);
        await s.saveSession('c1', 'k1', state([{ filter: 't', qos: 1 }]));
        assert.deepEqual(await s.claim('c1', 'mallory', false, 'a', 'k2', false), {
          ok: false,
          reason: 'owner',
        });
        // The refused claim changed nothing: k1 still holds the session.
        await s.saveSession('c1', 'k1', state([{ filter: 'still-k1', qos: 1 }]));
        const r = await s.claim('c1', 'root', true, 'a', 'k3', false);
        assert.ok(r.ok);
        assert.equal(r.session?.owner, 'alice');
        assert.deepEqual(r.session?.subscriptions, [{ filter: 'still-k1', qos: 1 }]);
        assert.deepEqual(r.previous, { node: 'a', conn: 'k1' });
        assert.deepEqual(await s.claim('c1', 'mallory', false, 'a', 'k4', false), {
          ok: false,
          reason: 'owner',
        });
      });
    });

    test('claim: clean start deletes the old session and its queue; an expired session counts as none', async () => {
      await withWorld(async (w, s) => {
        await offline(s, 'c1', [{ filter: 't/#', qos: 1 }]);
        await s.enqueue(msg('t/1', 1));
        const r = await s.claim('c1', 'u', false, 'a', 'k1', true);
        assert.deepEqual(r, { ok: true });
        assert.deepEqual(await s.takeQueue('c1', 'k1'), []);
        // A new user may take a client id whose session expired.
        await offline(s, 'c2', [{ filter: 't/#', qos: 1 }], 1);
        await w.passTime(1100);
        assert.deepEqual(await s.claim('c2', 'someone-else', false, 'a', 'k2', false), { ok: true });
      });
    });

    test('claim discards a will an earlier connection left waiting', async () => {
      await withWorld(async (_w, s) => {
        await s.claim('c1', 'u', false, 'a', 'k1', false);
        await s.setWill('c1', 'k1', { ...msg('will/c1', 1), publishAt: Date.now() + 60_000 });
        await s.release('c1', 'k1', state([], 60), []);
        await s.claim('c1', 'u', false, 'a', 'k2', false);
        assert.equal(await s.takeWill('c1', 'k1'), undefined);
        assert.deepEqual(await s.reap([]), [], 'no will left for reap either');
      });
    });

    test('writes from a connection that no longer holds the session change nothing; its requeue is kept', async () => {
      await withWorld(async (_w, s) => {
        const mine: StoredSubscription[] = [{ filter: 'new', qos: 1 }];
        await s.claim('c1', 'u', false, 'a', 'old', false);
        await s.saveSession('c1', 'old', state([{ filter: 'kept', qos: 1 }]));
        await s.claim('c1', 'u', false, 'b', 'new', false);
        await s.saveSession('c1', 'new', state(mine, 120));
        await s.setWill('c1', 'new', msg('will/new', 1));
        // The stale connection tries everything.
        await s.saveSession('c1', 'old', state([{ filter: 'stale', qos: 2 }], 5));
        await s.setWill('c1', 'old', msg('will/old', 1));
        assert.equal(await s.takeWill('c1', 'old'), undefined);
        assert.deepEqual(await s.takeQueue('c1', 'old'), []);
        await s.release('c1', 'old', state([], 0), [msg('unacked', 1, 'u1')]);
        // The new holder still holds a session with its own state, its will, and the requeued message.
        const w = await s.takeWill('c1', 'new');
        assert.equal(w?.topic, 'will/new');
        const q = await s.takeQueue('c1', 'new');
        assert.deepEqual(
          q.map((m) => m.topic),
          ['unacked'],
        );
        const r = await s.claim('c1', 'u', false, 'a', 'third', false);
        assert.ok(r.ok);
        assert.deepEqual(r.session?.subscriptions, mine);
        assert.equal(r.session?.expiryInterval, 120);
      });
    });

    test('release: expiry 0 deletes the session, otherwise it is offline until its expiry', async () => {
      await withWorld(async (w, s) => {
        await s.claim('gone', 'u', false, 'a', 'k', false);
        await s.release('gone', 'k', state([{ filter: 'g', qos: 1 }], 0), [msg('g', 1)]);
        assert.deepEqual(await s.claim('gone', 'other', false, 'a', 'k2', false), { ok: true });

        await offline(s, 'short', [{ filter: 's', qos: 1 }], 1);
        await offline(s, 'forever', [{ filter: 's', qos: 1 }], FOREVER);
        await s.enqueue(msg('s', 1, 'before'));
        await w.passTime(1100);
        await s.enqueue(msg('s', 1, 'after'));
        assert.deepEqual(await s.claim('short', 'u', false, 'a', 'k3', false), { ok: true }, 'expired: none');
        assert.deepEqual(await s.takeQueue('short', 'k3'), []);
        const q = await drain(s, 'forever');
        assert.deepEqual(
          q.map((m) => m.payload.toString()),
          ['before', 'after'],
        );
      });
    });

    test('enqueue: matching filters of offline sessions, once per session, QoS and ids as MQTT says', async () => {
      await withWorld(async (w, s) => {
        await offline(s, 'multi', [
          { filter: 'a/+/c', qos: 1, id: 1 },
          { filter: 'a/#', qos: 2, id: 2 },
          { filter: 'a/b/c', qos: 0, id: 3 },
          { filter: 'zzz', qos: 2, id: 4 },
        ]);
        await offline(s, 'low', [{ filter: '#', qos: 1 }]);
        await offline(s, 'zero', [{ filter: 'a/b/c', qos: 0 }]);
        await offline(s, 'shared', [{ filter: 'a/b/c', qos: 2, group: 'g' }]);
        await offline(s, 'nolocal', [{ filter: 'a/#', qos: 2, noLocal: true }]);
        await offline(s, 'dollar', [
          { filter: '+/x', qos: 1 },
          { filter: '#', qos: 1 },
          { filter: '$SYS/#', qos: 1, id: 9 },
        ]);
        await s.claim('online', 'u', false, 'a', 'on', false);
        await s.saveSession('online', 'on', state([{ filter: '#', qos: 2 }]));
        await w.settle();

        await s.enqueue(msg('a/b/c', 2, 'q2', { origin: 'nolocal' }));
        await s.enqueue(msg('a/b/c', 1, 'q1'));
        await s.enqueue(msg('a/b/c', 0, 'q0'));
        await s.enqueue(msg('$SYS/x', 2, 'sys'));

        const multi = await drain(s, 'multi');
        assert.deepEqual(
          multi.map((m) => [m.payload.toString(), m.qos, m.subscriptionIds]),
          [
            ['q2', 2, [1, 2, 3]],
            ['q1', 1, [1, 2, 3]],
          ],
        );
        assert.deepEqual(
          (await drain(s, 'low')).map((m) => [m.payload.toString(), m.qos, m.subscriptionIds]),
          [
            ['q2', 1, undefined],
            ['q1', 1, undefined],
          ],
        );
        assert.deepEqual(await drain(s, 'zero'), [], 'a QoS 0 subscription queues nothing');
        assert.deepEqual(await drain(s, 'shared'), [], 'shared subscriptions are for online members');
        assert.deepEqual(
          (await drain(s, 'nolocal')).map((m) => m.payload.toString()),
          ['q1'],
          'its own publication is skipped',
        );
        assert.deepEqual(
          (await drain(s, 'dollar')).map((m) => [m.topic, m.subscriptionIds]),
          [
            ['a/b/c', undefined],
            ['a/b/c', undefined],
            ['$SYS/x', [9]],
          ],
          'wildcards at the start never match a $ topic',
        );
        assert.deepEqual(await s.takeQueue('online', 'on'), [], 'online sessions get live deliveries');
      });
    });

    test('mayQueue: never false for a topic an offline session would queue', async () => {
      await withWorld(async (_w, s) => {
        // The broker skips building the message when this says false: a wrong false loses messages.
        await offline(s, 'c1', [{ filter: 'm/+', qos: 1 }]);
        assert.notEqual(s.mayQueue?.('m/x'), false);
        await s.enqueue(msg('m/x', 1, 'kept'));
        const q = await drain(s, 'c1');
        assert.deepEqual(
          q.map((m) => m.payload.toString()),
          ['kept'],
        );
      });
    });

    test('enqueue: past sessionQueue the oldest are dropped and counted', async () => {
      const w = await makeWorld();
      try {
        const drops: [string, number][] = [];
        const s = w.store('a', { sessionQueue: 3, onQueueDrop: (c, n) => drops.push([c, n]) });
        await offline(s, 'c1', [{ filter: 'q', qos: 1 }]);
        for (let i = 1; i <= 5; i++) await s.enqueue(msg('q', 1, `m${i}`));
        assert.deepEqual(drops, [
          ['c1', 1],
          ['c1', 1],
        ]);
        assert.deepEqual(
          (await drain(s, 'c1')).map((m) => m.payload.toString()),
          ['m3', 'm4', 'm5'],
        );
      } finally {
        await w.close();
      }
    });

    test('release puts unacknowledged messages at the head of the queue; expired messages are not taken', async () => {
      await withWorld(async (_w, s) => {
        await s.claim('c1', 'u', false, 'a', 'k', false);
        const subs = [{ filter: 't', qos: 2 as const }];
        await s.release('c1', 'k', state(subs), [msg('t', 1, 'r1'), msg('t', 2, 'r2')]);
        await s.enqueue(msg('t', 2, 'new'));
        await s.enqueue(msg('t', 2, 'stale', { props: { expiresAt: Date.now() - 1 } }));
        await s.enqueue(msg('t', 2, 'fresh', { props: { expiresAt: Date.now() + 60_000 } }));
        assert.deepEqual(
          (await drain(s, 'c1')).map((m) => [m.payload.toString(), m.qos]),
          [
            ['r1', 1],
            ['r2', 2],
            ['new', 2],
            ['fresh', 2],
          ],
        );
      });
    });

    test('payload bytes and properties round-trip exactly', async () => {
      await withWorld(async (_w, s) => {
        const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x0a, 0x7c, 0xc3, 0x28, 0x80, 0x0d, 0x0a]);
        const props = {
          contentType: 'application/octet-stream',
          userProperties: [
            ['k', 'v'],
            ['k', 'v2'],
          ] as [string, string][],
          responseTopic: 'reply/here',
          correlationData: Buffer.from([1, 2, 3]).toString('base64'),
          utf8: false,
          expiresAt: Date.now() + 60_000,
        };
        const m = msg('bin/ü|x', 2, bytes, { props, origin: 'pub\n1', retain: true });
        await offline(s, 'c1', [{ filter: 'bin/#', qos: 2 }]);
        await s.enqueue(m);
        const [q] = await drain(s, 'c1');
        assert.deepEqual(q, m);
        await s.setRetained(m);
        assert.deepEqual(await s.retained('bin/ü|x'), [m]);
        await s.claim('c2', 'u', false, 'a', 'k', false);
        const will: StoredWill = { ...m, publishAt: 1234 };
        await s.setWill('c2', 'k', will);
        assert.deepEqual(await s.takeWill('c2', 'k'), will);
        assert.deepEqual(await s.takeQueue('c1', 'c1-drain'), []);
        // Empty and large payloads too.
        await offline(s, 'c3', [{ filter: 'big', qos: 1 }]);
        const big = Buffer.alloc(256 * 1024, 0xab);
        await s.enqueue(msg('big', 1, Buffer.alloc(0)));
        await s.enqueue(msg('big', 1, big));
        const q3 = await drain(s, 'c3');
        assert.equal(q3[0].payload.length, 0);
        assert.ok(q3[1].payload.equals(big));
      });
    });

    test('retained: set, clear with an empty payload, exact and wildcard lookups, expired ones removed', async () => {
      await withWorld(async (_w, s) => {
        for (const t of ['r/a', 'r/b', 'r/b/c', '$SYS/r', 'other']) await s.setRetained(msg(t, 1, t));
        await s.setRetained(msg('r/old', 1, 'old', { props: { expiresAt: Date.now() - 1 } }));
        const topics = async (f: string) => (await s.retained(f)).map((m) => m.topic).sort();
        assert.deepEqual(await topics('r/a'), ['r/a']);
        assert.deepEqual(await topics('r/none'), []);
        assert.deepEqual(await topics('r/+'), ['r/a', 'r/b']);
        assert.deepEqual(await topics('r/#'), ['r/a', 'r/b', 'r/b/c']);
        assert.deepEqual(await topics('#'), ['other', 'r/a', 'r/b', 'r/b/c']);
        assert.deepEqual(await topics('$SYS/#'), ['$SYS/r']);
        assert.deepEqual(await topics('r/old'), [], 'expired');
        await s.setRetained(msg('r/a', 1, ''));
        assert.deepEqual(await topics('r/+'), ['r/b']);
        // A glob character in a topic is matched literally.
        await s.setRetained(msg('g/[*]?', 1, 'glob'));
        assert.deepEqual(await topics('g/+'), ['g/[*]?']);
        assert.deepEqual(await topics('g/[x]?'), []);
      });
    });

    test('reap: sessions of dead nodes go offline and queue; due wills go to one caller once', async () => {
      const w = await makeWorld();
      try {
        const a = w.store('a', { sessionQueue: 10 });
        const b = w.store('b', { sessionQueue: 10 });
        const c = w.store('c', { sessionQueue: 10 });
        await a.claim('dies', 'u', false, 'a', 'ka', false);
        await a.saveSession('dies', 'ka', state([{ filter: 'd/#', qos: 1 }]));
        await a.setWill('dies', 'ka', msg('will/dies', 1, 'now'));
        await a.claim('later', 'u', false, 'a', 'kl', false);
        await a.setWill('later', 'kl', { ...msg('will/later', 1), publishAt: Date.now() + 1000 });
        await b.claim('lives', 'u', false, 'b', 'kb', false);
        await b.saveSession('lives', 'kb', state([{ filter: 'd/#', qos: 1 }]));
        await b.setWill('lives', 'kb', msg('will/lives', 1));
        await b.claim('brief', 'u', false, 'a', 'kx', false); // held by a, expiry 0: goes with it

        const [fromB, fromC] = await Promise.all([b.reap(['b', 'c']), c.reap(['b', 'c'])]);
        const wills = [...fromB, ...fromC];
        assert.deepEqual(
          wills.map((x) => [x.clientId, x.topic]),
          [['dies', 'will/dies']],
        );
        assert.deepEqual(await b.reap(['b', 'c']), [], 'a will is handed out once');
        await w.settle();
        await c.enqueue(msg('d/1', 1, 'while-dead'));
        assert.deepEqual(
          (await drain(c, 'dies')).map((m) => m.payload.toString()),
          ['while-dead'],
        );
        assert.deepEqual(await b.takeQueue('lives', 'kb'), [], 'the live node keeps its session');
        assert.deepEqual(await c.claim('brief', 'v', false, 'c', 'ky', false), { ok: true });
        await w.passTime(1100);
        const late = await Promise.all([b.reap(['b', 'c']), c.reap(['b', 'c'])]);
        assert.deepEqual(
          late.flat().map((x) => x.clientId),
          ['later'],
        );
      } finally {
        await w.close();
      }
    });

    test('shared membership: per group and filter, alive nodes only, sorted', async () => {
      await withWorld(async (w, a) => {
        const b = w.store('b');
        await b.setSharedMembership('g', 'x/#', 'b', true);
        await a.setSharedMembership('g', 'x/#', 'a', true);
        await a.setSharedMembership('g', 'x/#', 'c', true);
        await a.setSharedMembership('h', 'y', 'c', true);
        await a.setSharedMembership('g', 'y', 'a', true);
        await a.setSharedMembership('g', 'y', 'a', false);
        assert.deepEqual([...(await a.sharedMembership(['b', 'a']))].sort(), [['g\nx/#', ['a', 'b']]]);
        assert.deepEqual([...(await b.sharedMembership(['a', 'b', 'c']))].sort(), [
          ['g\nx/#', ['a', 'b', 'c']],
          ['h\ny', ['c']],
        ]);
      });
    });
  });
}
