import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryEngine } from '../../src/engine/memory.js';
import type { HeraldError } from '../../src/errors.js';
import { Hub } from '../../src/hub/hub.js';
import type { Engine, FrameFormat, Publication, Subscriber } from '../../src/model/index.js';
import { filterProblem, matchesFilter } from '../../src/model/index.js';

function counter(name = 'test'): { format: FrameFormat<string>; encodes: () => number } {
  let n = 0;
  return {
    format: {
      name,
      encode: (p) => {
        n++;
        return `${p.channel}#${p.offset}`;
      },
    },
    encodes: () => n,
  };
}

function collector(format: FrameFormat<string>): Subscriber<string> & { got: string[]; pubs: Publication[] } {
  const got: string[] = [];
  const pubs: Publication[] = [];
  return {
    format,
    got,
    pubs,
    deliver(pub, frame) {
      got.push(frame);
      pubs.push(pub);
    },
  };
}

async function hub(engine: Engine = new MemoryEngine()): Promise<Hub> {
  const h = new Hub(engine);
  await h.start();
  return h;
}

describe('filters', () => {
  test('filterProblem accepts MQTT filters and refuses malformed ones', () => {
    for (const ok of ['#', '+', 'a/+/c', 'a/#', '+/+', 'sensors/room1/temp', '/a', 'a//b']) {
      assert.equal(filterProblem(ok), undefined, ok);
    }
    for (const bad of ['', 'a#', 'a/#/b', '#/a', 'a+/b', 'a/b+', 'a/\u0000', 'x'.repeat(300)]) {
      assert.ok(filterProblem(bad), JSON.stringify(bad));
    }
  });

  test('matchesFilter follows MQTT 3.1.1 section 4.7', () => {
    assert.ok(matchesFilter('sport/#', 'sport'));
    assert.ok(matchesFilter('sport/#', 'sport/tennis/p1'));
    assert.ok(matchesFilter('sport/+/p1', 'sport/tennis/p1'));
    assert.ok(!matchesFilter('sport/+', 'sport/tennis/p1'));
    assert.ok(matchesFilter('+/+', '/finance'));
    assert.ok(!matchesFilter('+', '/finance'));
    assert.ok(!matchesFilter('#', '$SYS/x'));
    assert.ok(!matchesFilter('+/x', '$SYS/x'));
  });
});

describe('hub pattern subscriptions', () => {
  test('deliver every matching channel, live, in offset order, and nothing else', async () => {
    const h = await hub();
    const { format } = counter();
    const wild = collector(format);
    const plus = collector(format);
    await h.subscribePattern('sensors/#', wild);
    await h.subscribePattern('sensors/+/temp', plus);
    await h.publish('sensors/a/temp', { data: 1 });
    await h.publish('sensors/a/humidity', { data: 2 });
    await h.publish('sensors/a/temp', { data: 3 });
    await h.publish('other', { data: 4 });
    await h.publish('sensors', { data: 5 });
    assert.deepEqual(wild.got, ['sensors/a/temp#1', 'sensors/a/humidity#1', 'sensors/a/temp#2', 'sensors#1']);
    assert.deepEqual(plus.got, ['sensors/a/temp#1', 'sensors/a/temp#2']);
    await h.close();
  });

  test('encode once per publication per format, and channel subscribers still get theirs once', async () => {
    const h = await hub();
    const c = counter();
    const subs = [collector(c.format), collector(c.format), collector(c.format)];
    await h.subscribePattern('a/#', subs[0]);
    await h.subscribePattern('a/+', subs[1]);
    await h.subscribePattern('#', subs[2]);
    const plainFormat = counter('plain');
    const exact = collector(plainFormat.format);
    (await h.subscribe('a/b', exact)).start();
    const pub = await h.publish('a/b', { data: 'x' });
    assert.equal(c.encodes(), 1);
    assert.equal(plainFormat.encodes(), 1);
    for (const s of [...subs, exact]) assert.deepEqual(s.pubs, [pub]);
    await h.close();
  });

  test('unsubscribe stops delivery and releases the engine pattern', async () => {
    const engine = new MemoryEngine();
    const calls: string[] = [];
    const unsub = engine.unsubscribePatterns.bind(engine);
    engine.unsubscribePatterns = async (f) => {
      calls.push(...f);
      return unsub(f);
    };
    const h = await hub(engine);
    const { format } = counter();
    const a = collector(format);
    const b = collector(format);
    await h.subscribePattern('x/#', a);
    await h.subscribePattern('x/#', b);
    await assert.rejects(h.subscribePattern('x/#', a), (e: HeraldError) => e.kind === 'ALREADY_SUBSCRIBED');
    assert.equal(h.unsubscribePattern('x/#', a), true);
    assert.equal(h.unsubscribePattern('x/#', a), false);
    await h.publish('x/1', { data: 1 });
    assert.deepEqual(a.got, []);
    assert.deepEqual(b.got, ['x/1#1']);
    assert.deepEqual(calls, []);
    h.unsubscribePattern('x/#', b);
    assert.deepEqual(calls, ['x/#']);
    await h.publish('x/1', { data: 2 });
    assert.deepEqual(b.got, ['x/1#1']);
    await h.close();
  });

  test('a malformed filter is a bad request; an engine without patterns says not available', async () => {
    const h = await hub();
    const s = collector(counter().format);
    await assert.rejects(h.subscribePattern('a/#/b', s), (e: HeraldError) => e.kind === 'BAD_REQUEST');
    await h.close();
    const bare = new MemoryEngine() as Partial<MemoryEngine>;
    delete (bare as { subscribePatterns?: unknown }).subscribePatterns;
    Object.defineProperty(bare, 'subscribePatterns', { value: undefined });
    const h2 = await hub(bare as Engine);
    await assert.rejects(h2.subscribePattern('a/#', s), (e: HeraldError) => e.kind === 'NOT_AVAILABLE');
    await h2.close();
  });

  test('a subscriber that throws does not stop the others', async () => {
    const h = await hub();
    const { format } = counter();
    const bad: Subscriber<string> = {
      format,
      deliver() {
        throw new Error('boom');
      },
    };
    const good = collector(format);
    await h.subscribePattern('#', bad);
    await h.subscribePattern('#', good);
    await h.publish('c', { data: 1 });
    assert.deepEqual(good.got, ['c#1']);
    await h.close();
  });

  test('qos and retain are kept on the publication and in history', async () => {
    const h = await hub();
    const pub = await h.publish('q', { data: 1, qos: 2, retain: true });
    assert.equal(pub.qos, 2);
    assert.equal(pub.retain, true);
    const hist = await h.history('q');
    assert.equal(hist.publications[0].qos, 2);
    assert.equal(hist.publications[0].retain, true);
    const plain = await h.publish('q', { data: 2 });
    assert.equal(plain.qos, undefined);
    assert.equal(plain.retain, undefined);
    await h.close();
  });
});
