// The Engine interface's behaviour, written once and run against every engine (memory, redis, ...).
// An engine passes when it behaves as the hub expects; the suite knows nothing of its internals.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { isCompleteRecovery } from '../../src/hub/recovery.js';
import type {
  ClientInfo,
  Engine,
  EngineSink,
  Publication,
  PublishRequest,
  StreamLimits,
} from '../../src/model/index.js';
import { until } from '../helpers/until.js';

export interface EngineUnderTest {
  engine: Engine;
  /** How much the engine keeps (streams, keys): what reads must not grow. Optional. */
  stateSize?(): Promise<number>;
  /** Stops whatever the factory started besides the engine (the engine itself is closed by the suite). */
  cleanup?(): Promise<void>;
  /**
   * Moves the engine's clock on by `ms`, for the tests about expiry. Where the test owns the
   * engine's clock it moves at once; Redis stamps entries with its own (TIME), which only real
   * time moves.
   */
  passTime(ms: number): Promise<void>;
}

/** Records what the engine hands to its sink (tests wait on it with `until`). */
export class RecordingSink implements EngineSink {
  readonly pubs: Publication[] = [];
  readonly joins: [string, ClientInfo][] = [];
  readonly leaves: [string, ClientInfo][] = [];
  resyncs = 0;

  onPublication(pub: Publication): void {
    this.pubs.push(pub);
  }
  onJoin(channel: string, info: ClientInfo): void {
    this.joins.push([channel, info]);
  }
  onLeave(channel: string, info: ClientInfo): void {
    this.leaves.push([channel, info]);
  }
  onResync(): void {
    this.resyncs++;
  }

  of(channel: string): Publication[] {
    return this.pubs.filter((p) => p.channel === channel);
  }
}

const limits: StreamLimits = { historySize: 100, historyTtl: 300 };

/**
 * A publication without its epoch and time, bytes as a plain array: what the publisher decided, in
 * a form deepEqual compares key by key (a field set to undefined differs from one that is absent).
 */
function payloadOf(p: Publication): Record<string, unknown> {
  const { epoch: _e, time: _t, bytes, ...rest } = p;
  return bytes === undefined ? rest : { ...rest, bytes: [...bytes] };
}

export function engineSuite(name: string, factory: () => Promise<EngineUnderTest>): void {
  describe(`Engine behaviour: ${name}`, () => {
    let under: EngineUnderTest;
    let engine: Engine;
    const sink = new RecordingSink();
    // Fresh names per run, so an engine with shared state (redis) never sees a previous run's streams.
    const run = randomBytes(3).toString('hex');
    let n = 0;
    const fresh = (label: string) => `t${run}:${label}:${++n}`;

    before(async () => {
      under = await factory();
      engine = under.engine;
      await engine.start(sink);
    });
    after(async () => {
      await engine.close();
      await under.cleanup?.();
    });

    const publishN = async (ch: string, count: number, l: StreamLimits = limits) => {
      const out: Publication[] = [];
      for (let i = 1; i <= count; i++) out.push(await engine.publish(ch, { data: { i } }, l));
      return out;
    };

    describe('offsets and epochs', () => {
      test('offsets start at 1 and grow by one per publication, per channel', async () => {
        const a = fresh('a');
        const b = fresh('b');
        const pa = await publishN(a, 3);
        const pb = await publishN(b, 2);
        assert.deepEqual(
          pa.map((p) => p.offset),
          [1, 2, 3],
        );
        assert.deepEqual(
          pb.map((p) => p.offset),
          [1, 2],
        );
        assert.equal((await engine.publish(a, { data: 'x' }, limits)).offset, 4);
      });

      test('the epoch is stable within a stream and a non-empty string', async () => {
        const ch = fresh('epoch');
        const pubs = await publishN(ch, 5);
        assert.equal(typeof pubs[0].epoch, 'string');
        assert.ok(pubs[0].epoch.length > 0);
        assert.equal(new Set(pubs.map((p) => p.epoch)).size, 1);
        const h = await engine.history(ch, {}, limits);
        assert.equal(h.position.epoch, pubs[0].epoch);
        assert.equal(h.position.offset, 5);
      });

      test('an unknown channel has position 0 and an epoch that its first publication keeps', async () => {
        const ch = fresh('unknown');
        const h = await engine.history(ch, {}, limits);
        assert.equal(h.position.offset, 0);
        assert.ok(h.position.epoch.length > 0);
        assert.deepEqual(h.publications, []);
        const p = await engine.publish(ch, { data: 1 }, limits);
        assert.equal(p.epoch, h.position.epoch);
      });

      test('a publication carries channel, data, info and a time close to now', async () => {
        const ch = fresh('fields');
        const info: ClientInfo = { client: 'c1', user: 'u1', transport: 'chat' };
        const before = Date.now();
        const p = await engine.publish(ch, { data: { hello: ['world', 1, null] }, info }, limits);
        assert.equal(p.channel, ch);
        assert.deepEqual(p.data, { hello: ['world', 1, null] });
        assert.deepEqual(p.info, info);
        assert.ok(Math.abs(p.time - before) < 5000, `time ${p.time} far from ${before}`);
      });
    });

    describe('history', () => {
      test('is bounded by size, keeping the newest', async () => {
        const ch = fresh('size');
        const l = { historySize: 3, historyTtl: 300 };
        await publishN(ch, 7, l);
        const h = await engine.history(ch, {}, l);
        assert.deepEqual(
          h.publications.map((p) => p.offset),
          [5, 6, 7],
        );
        assert.equal(h.position.offset, 7);
      });

      test('size 0 keeps nothing but the offset still advances', async () => {
        const ch = fresh('size0');
        const l = { historySize: 0, historyTtl: 300 };
        await publishN(ch, 3, l);
        const h = await engine.history(ch, {}, l);
        assert.deepEqual(h.publications, []);
        assert.equal(h.position.offset, 3);
      });

      test('is bounded by age: publications older than the ttl are gone, the offset stays', async () => {
        const ch = fresh('age');
        const l = { historySize: 100, historyTtl: 1 };
        await publishN(ch, 70, l); // more than one trimming batch
        assert.equal((await engine.history(ch, {}, l)).publications.length, 70);
        await under.passTime(1200);
        await engine.publish(ch, { data: 'fresh' }, l);
        const h = await engine.history(ch, {}, l);
        assert.deepEqual(
          h.publications.map((p) => p.offset),
          [71],
        );
        await under.passTime(1200);
        const h2 = await engine.history(ch, {}, l);
        assert.deepEqual(h2.publications, [], 'expired on read too, without a new publication');
        assert.equal(h2.position.offset, 71);
        assert.equal(h2.position.epoch, h.position.epoch);
      });

      test('since returns exactly what follows it, oldest first; limit caps it', async () => {
        const ch = fresh('since');
        const pubs = await publishN(ch, 10);
        const epoch = pubs[0].epoch;
        const h = await engine.history(ch, { since: { offset: 6, epoch } }, limits);
        assert.deepEqual(
          h.publications.map((p) => p.offset),
          [7, 8, 9, 10],
        );
        assert.deepEqual(
          h.publications.map((p) => p.data),
          [{ i: 7 }, { i: 8 }, { i: 9 }, { i: 10 }],
        );
        const limited = await engine.history(ch, { since: { offset: 2, epoch }, limit: 3 }, limits);
        assert.deepEqual(
          limited.publications.map((p) => p.offset),
          [3, 4, 5],
        );
        const atTop = await engine.history(ch, { since: { offset: 10, epoch } }, limits);
        assert.deepEqual(atTop.publications, []);
        const fromZero = await engine.history(ch, { since: { offset: 0, epoch } }, limits);
        assert.equal(fromZero.publications.length, 10);
      });

      test('limit without since gives the oldest kept; limit 0 gives only the position', async () => {
        const ch = fresh('limit');
        await publishN(ch, 5);
        const h = await engine.history(ch, { limit: 2 }, limits);
        assert.deepEqual(
          h.publications.map((p) => p.offset),
          [1, 2],
        );
        const none = await engine.history(ch, { limit: 0 }, limits);
        assert.deepEqual(none.publications, []);
        assert.equal(none.position.offset, 5);
      });

      test('reverse gives newest first; with since, those before it; limit caps from the newest', async () => {
        const ch = fresh('reverse');
        const pubs = await publishN(ch, 6);
        const epoch = pubs[0].epoch;
        const all = await engine.history(ch, { reverse: true }, limits);
        assert.deepEqual(
          all.publications.map((p) => p.offset),
          [6, 5, 4, 3, 2, 1],
        );
        const two = await engine.history(ch, { reverse: true, limit: 2 }, limits);
        assert.deepEqual(
          two.publications.map((p) => p.offset),
          [6, 5],
        );
        const before = await engine.history(
          ch,
          { reverse: true, since: { offset: 4, epoch }, limit: 2 },
          limits,
        );
        assert.deepEqual(
          before.publications.map((p) => p.offset),
          [3, 2],
        );
        const none = await engine.history(ch, { reverse: true, since: { offset: 1, epoch } }, limits);
        assert.deepEqual(none.publications, []);
      });

      test('since with another epoch reads as if there were no since', async () => {
        const ch = fresh('otherepoch');
        await publishN(ch, 4);
        const h = await engine.history(ch, { since: { offset: 2, epoch: 'not-this-one' } }, limits);
        assert.deepEqual(
          h.publications.map((p) => p.offset),
          [1, 2, 3, 4],
        );
        assert.notEqual(h.position.epoch, 'not-this-one');
      });

      test('reading channels nobody published to creates nothing, however many', async (t) => {
        const stateSize = under.stateSize;
        if (!stateSize) {
          t.skip('the engine does not say how much it keeps');
          return;
        }
        // A first read may create what every channel shares (the cluster's epoch on Redis).
        await engine.history(fresh('first-read'), {}, limits);
        const before = await stateSize();
        const reads = 100_000;
        const batch = 1000;
        for (let i = 0; i < reads; i += batch) {
          const names = Array.from(
            { length: batch },
            () => `${fresh('read')}:${randomBytes(4).toString('hex')}`,
          );
          const answers = await Promise.all(
            names.map((c, j) =>
              engine.history(c, j % 2 ? { limit: 0 } : { since: { offset: 3, epoch: 'x' } }, limits),
            ),
          );
          assert.ok(answers.every((h) => h.position.offset === 0 && h.publications.length === 0));
        }
        const after = await stateSize();
        // Other keys may expire meanwhile (shorter TTLs of earlier tests), none may appear.
        assert.ok(after <= before, `${reads} reads left ${after - before} more things kept`);
      });

      test('removeHistory forgets publications but keeps the offset sequence and the epoch', async () => {
        const ch = fresh('remove');
        const pubs = await publishN(ch, 3);
        await engine.removeHistory(ch);
        const h = await engine.history(ch, {}, limits);
        assert.deepEqual(h.publications, []);
        assert.deepEqual(h.position, { offset: 3, epoch: pubs[0].epoch });
        const next = await engine.publish(ch, { data: 'after' }, limits);
        assert.equal(next.offset, 4);
        assert.equal(next.epoch, pubs[0].epoch);
        await engine.removeHistory(fresh('never-seen')); // no error for an unknown channel
      });
    });

    describe('payload round-trip', () => {
      test('bytes, binary and info come back byte-exact, live and from history', async () => {
        const ch = fresh('bytes');
        await engine.subscribe([ch]);
        const bytes = new Uint8Array([0, 1, 2, 10, 13, 0x7f, 0x80, 0xfe, 0xff, 58, 0]);
        const info: ClientInfo = { client: 'cl-ü', user: 'u', transport: 'mqtt', connInfo: { a: [1, 'x'] } };
        const p = await engine.publish(ch, { data: { $binary: 'AAEC' }, bytes, binary: true, info }, limits);
        const text = new TextEncoder().encode('{"k":"v\\n"}\n:line two ✓');
        await engine.publish(ch, { data: { k: 'v\n' }, bytes: text }, limits);
        await engine.publish(ch, { data: 'plain string with\nnewline: and colons:' }, limits);
        await until(() => sink.of(ch).length === 3, { what: 'three live publications', timeoutMs: 3000 });
        const h = await engine.history(ch, {}, limits);
        for (const got of [sink.of(ch), h.publications]) {
          assert.equal(got[0].offset, p.offset);
          assert.ok(got[0].bytes instanceof Uint8Array);
          assert.deepEqual([...(got[0].bytes as Uint8Array)], [...bytes]);
          assert.equal(got[0].binary, true);
          assert.deepEqual(got[0].info, info);
          assert.deepEqual(got[0].data, { $binary: 'AAEC' });
          assert.deepEqual([...(got[1].bytes as Uint8Array)], [...text]);
          assert.equal(got[1].binary, undefined);
          assert.deepEqual(got[1].data, { k: 'v\n' });
          assert.equal(got[1].info, undefined);
          assert.equal(got[2].data, 'plain string with\nnewline: and colons:');
          assert.equal(got[2].bytes, undefined);
          assert.equal(got[0].epoch, p.epoch);
          assert.equal(got[0].time, p.time);
        }
        await engine.unsubscribe([ch]);
      });

      test('every field the publisher set, and only those, comes back from publish, history and the bus', async () => {
        const ch = fresh('fields');
        await engine.subscribe([ch]);
        const info: ClientInfo = { client: 'c-ü', user: 'u', transport: 'mqtt', chanInfo: { k: [0, false] } };
        // Bytes that are not UTF-8 (a lone continuation byte, 0xff, a NUL, a newline, a colon): any
        // text decoding on the way would change them.
        const raw = new Uint8Array([0x80, 0xff, 0x00, 0x0a, 0x3a, 0xc3, 0x28, 0xfe]);
        // Each request beside the publication an engine must give back for it, written out by hand:
        // QoS 0 is a value (not "unset"), a false retain or binary is the same as none.
        const cases: [PublishRequest, Record<string, unknown>][] = [
          [
            { data: 'q0', qos: 0 },
            { data: 'q0', qos: 0 },
          ],
          [
            { data: 'q1', qos: 1 },
            { data: 'q1', qos: 1 },
          ],
          [
            { data: 'q2', qos: 2, retain: true },
            { data: 'q2', qos: 2, retain: true },
          ],
          [{ data: 'none' }, { data: 'none' }],
          [
            { data: 'falsy', qos: 0, retain: false, binary: false },
            { data: 'falsy', qos: 0 },
          ],
          [
            { data: { $binary: 'gP8ACjrDKP4=' }, bytes: raw, binary: true, info, qos: 0, retain: true },
            { data: { $binary: 'gP8ACjrDKP4=' }, bytes: [...raw], binary: true, info, qos: 0, retain: true },
          ],
          [
            { data: 'empty bytes', bytes: new Uint8Array(0), info },
            { data: 'empty bytes', bytes: [], info },
          ],
        ];
        const published: Publication[] = [];
        for (const [req] of cases) published.push(await engine.publish(ch, req, limits));
        await until(() => sink.of(ch).length === cases.length, {
          what: 'every publication live',
          timeoutMs: 3000,
        });
        const h = await engine.history(ch, {}, limits);
        const seen = { publish: published, history: h.publications, bus: sink.of(ch) };
        for (const [where, pubs] of Object.entries(seen)) {
          assert.equal(pubs.length, cases.length, where);
          pubs.forEach((p, i) => {
            const expected = { ...cases[i][1], channel: ch, offset: published[0].offset + i };
            assert.deepEqual(payloadOf(p), expected, `${where}, publication ${i}`);
            assert.equal(p.epoch, published[0].epoch, where);
            assert.equal(p.time, published[i].time, where);
          });
        }
        await engine.unsubscribe([ch]);
      });
    });

    describe('live delivery', () => {
      test('reaches the sink only for subscribed channels, in offset order', async () => {
        const on = fresh('on');
        const off = fresh('off');
        await engine.subscribe([on]);
        const pubs: Promise<Publication>[] = [];
        for (let i = 0; i < 20; i++) pubs.push(engine.publish(on, { data: i }, limits));
        await Promise.all(pubs);
        await engine.publish(off, { data: 'nobody listens' }, limits);
        await engine.publish(on, { data: 'last' }, limits);
        await until(() => sink.of(on).length === 21, { what: '21 publications', timeoutMs: 3000 });
        assert.deepEqual(
          sink.of(on).map((p) => p.offset),
          Array.from({ length: 21 }, (_, i) => i + 1),
        );
        assert.equal(sink.of(off).length, 0);
        await engine.unsubscribe([on]);
      });

      test('after unsubscribe nothing more arrives; subscribe again and it does', async () => {
        const ch = fresh('unsub');
        const marker = fresh('marker');
        await engine.subscribe([ch, marker]);
        await engine.publish(ch, { data: 1 }, limits);
        await until(() => sink.of(ch).length === 1, { what: 'first publication', timeoutMs: 3000 });
        await engine.unsubscribe([ch]);
        await engine.publish(ch, { data: 2 }, limits);
        await engine.publish(marker, { data: 'm' }, limits);
        await until(() => sink.of(marker).length === 1, { what: 'marker', timeoutMs: 3000 });
        assert.equal(sink.of(ch).length, 1);
        await engine.subscribe([ch]);
        await engine.publish(ch, { data: 3 }, limits);
        await until(() => sink.of(ch).length === 2, {
          what: 'publication after resubscribe',
          timeoutMs: 3000,
        });
        assert.equal(sink.of(ch)[1].offset, 3);
        await engine.unsubscribe([ch, marker]);
      });

      test('many subscribe calls in the same tick all resolve and all deliver', async () => {
        const names = Array.from({ length: 50 }, () => fresh('many'));
        await Promise.all(names.map((c) => engine.subscribe([c])));
        await Promise.all(names.map((c) => engine.publish(c, { data: c }, limits)));
        await until(() => names.every((c) => sink.of(c).length === 1), {
          what: 'one publication per channel',
          timeoutMs: 5000,
        });
        await engine.unsubscribe(names);
      });

      test('pattern subscriptions deliver each matching publication once, however many match', async (t) => {
        if (!engine.subscribePatterns || !engine.unsubscribePatterns) {
          t.skip('engine has no pattern subscriptions');
          return;
        }
        const base = fresh('pat');
        const exact = `${base}/a/x`;
        await engine.subscribePatterns([`${base}/+/x`, `${base}/#`]);
        await engine.subscribe([exact]);
        await engine.publish(exact, { data: 1, qos: 1, retain: true }, limits); // exact + 2 patterns
        await engine.publish(`${base}/b/x`, { data: 2 }, limits); // both patterns
        await engine.publish(`${base}/c/d/x`, { data: 3 }, limits); // '#' only: '+' is one level
        await engine.publish(`${fresh('elsewhere')}/a/x`, { data: 4 }, limits); // no match
        // Matches both patterns: a duplicate of an earlier publication would be delivered before it.
        await engine.publish(`${base}/z/x`, { data: 'marker' }, limits);
        await until(() => sink.of(`${base}/z/x`).length > 0, { what: 'the marker', timeoutMs: 3000 });
        const got = sink.pubs.filter((p) => p.channel.startsWith(`${base}/`));
        assert.deepEqual(
          got.map((p) => p.data),
          [1, 2, 3, 'marker'],
        );
        assert.equal(got[0].qos, 1);
        assert.equal(got[0].retain, true);
        await engine.unsubscribePatterns([`${base}/+/x`, `${base}/#`]);
        await engine.unsubscribe([exact]);
        await engine.publish(`${base}/b/x`, { data: 5 }, limits);
        const marker = fresh('pat-marker');
        await engine.subscribe([marker]);
        await engine.publish(marker, { data: 'm' }, limits);
        await until(() => sink.of(marker).length === 1, { what: 'marker', timeoutMs: 3000 });
        assert.equal(sink.of(`${base}/b/x`).length, 1, 'nothing after unsubscribePatterns');
        await engine.unsubscribe([marker]);
      });

      test('join and leave reach subscribed channels only', async () => {
        const ch = fresh('join');
        const other = fresh('join-other');
        await engine.subscribe([ch]);
        const info: ClientInfo = { client: 'j1', user: 'alice', transport: 'sse' };
        await engine.publishJoin(other, info);
        await engine.publishJoin(ch, info);
        await engine.publishLeave(ch, info);
        await until(() => sink.leaves.some(([c]) => c === ch), { what: 'leave', timeoutMs: 3000 });
        assert.deepEqual(
          sink.joins.filter(([c]) => c === ch),
          [[ch, info]],
        );
        assert.deepEqual(
          sink.leaves.filter(([c]) => c === ch),
          [[ch, info]],
        );
        assert.equal(sink.joins.filter(([c]) => c === other).length, 0);
        await engine.unsubscribe([ch]);
      });

      test('channels() lists channels with subscribers, and drops unsubscribed ones', async () => {
        const a = fresh('list');
        const b = fresh('list');
        await engine.subscribe([a, b]);
        const listed = await engine.channels();
        assert.ok(listed.includes(a) && listed.includes(b), `missing in ${JSON.stringify(listed)}`);
        await engine.unsubscribe([a]);
        const after = await engine.channels();
        assert.ok(!after.includes(a));
        assert.ok(after.includes(b));
        await engine.unsubscribe([b]);
      });
    });

    describe('presence', () => {
      const alice: ClientInfo = { client: 'p1', user: 'alice', transport: 'ws' };
      const alice2: ClientInfo = { client: 'p2', user: 'alice', transport: 'sse' };
      const bob: ClientInfo = { client: 'p3', user: 'bob', transport: 'chat', chanInfo: { role: 'x' } };

      test('add, list, stats and remove', async () => {
        const ch = fresh('presence');
        assert.deepEqual(await engine.presence(ch), {});
        assert.deepEqual(await engine.presenceStats(ch), { numClients: 0, numUsers: 0 });
        await engine.addPresence(ch, alice, 60);
        await engine.addPresence(ch, alice2, 60);
        await engine.addPresence(ch, bob, 60);
        await engine.addPresence(ch, bob, 60); // a refresh, not a second entry
        assert.deepEqual(await engine.presence(ch), { p1: alice, p2: alice2, p3: bob });
        assert.deepEqual(await engine.presenceStats(ch), { numClients: 3, numUsers: 2 });
        await engine.removePresence(ch, 'p2');
        await engine.removePresence(ch, 'nobody');
        assert.deepEqual(await engine.presence(ch), { p1: alice, p3: bob });
        assert.deepEqual(await engine.presenceStats(ch), { numClients: 2, numUsers: 2 });
      });

      test('an entry not refreshed within its ttl disappears; a refreshed one stays', async () => {
        const ch = fresh('expiry');
        await engine.addPresence(ch, alice, 1);
        await engine.addPresence(ch, bob, 1);
        await under.passTime(600);
        await engine.addPresence(ch, bob, 1);
        await under.passTime(600);
        assert.deepEqual(await engine.presence(ch), { p3: bob });
        assert.deepEqual(await engine.presenceStats(ch), { numClients: 1, numUsers: 1 });
        await under.passTime(600);
        assert.deepEqual(await engine.presence(ch), {});
      });
    });

    describe('nodes', () => {
      test('reportNode lists this node with what it reported', async () => {
        const info = { name: `node-${run}`, numClients: 3, numSubscriptions: 4, numChannels: 2, uptime: 5 };
        const nodes = await engine.reportNode(info);
        assert.deepEqual(
          nodes.find((x) => x.name === info.name),
          info,
        );
      });
    });
  });
}

/**
 * After a channel's state was dropped (idle past the meta TTL): a read announces a new epoch at
 * offset 0, the channel is born again in it, and a position from before is never taken as current.
 */
export async function assertRebornInNewEpoch(
  engine: Engine,
  channel: string,
  old: Publication,
  limits: StreamLimits,
): Promise<void> {
  const unknown = await engine.history(channel, {}, limits);
  assert.equal(unknown.position.offset, 0);
  assert.deepEqual(unknown.publications, [], 'history of a lost epoch is not served');
  assert.notEqual(unknown.position.epoch, old.epoch);
  for (let i = 0; i < 5; i++) await engine.publish(channel, { data: `new ${i}` }, limits);
  const since = { offset: old.offset, epoch: old.epoch };
  const h = await engine.history(channel, { since }, limits);
  assert.equal(h.position.offset, 5);
  assert.equal(h.position.epoch, unknown.position.epoch, 'the epoch a read announced is the one it got');
  assert.equal(isCompleteRecovery(since, h), false, 'offsets 4 and 5 of the new stream are not the old ones');
}
