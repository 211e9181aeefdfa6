// A connection's subscriptions (sub-table.ts): the record of its only subscription is its table, a
// second one makes a Map, and the table shrinks back to a record when one is left. It must answer
// exactly as a Map would through every transition (none, one, many, back to one and none), in order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Subscriber } from '../../src/model/index.js';
import { ChannelSub, NO_SUBS, type SubTable } from '../../src/transports/centrifuge/sub-table.js';

// Never delivered to here: the table only keeps it.
const subscriber = { deliver() {} } as unknown as Subscriber;

function same(t: SubTable, ref: Map<string, ChannelSub>, keys: string[]): void {
  assert.equal(t.size, ref.size);
  assert.deepEqual([...t], [...ref]);
  for (const k of keys) {
    assert.equal(t.has(k), ref.has(k), `has(${k})`);
    assert.equal(t.get(k), ref.get(k), `get(${k})`);
  }
}

test('behaves as a Map through none, one, many entries and back', () => {
  let t = NO_SUBS;
  const ref = new Map<string, ChannelSub>();
  const keys = ['a', 'b', 'c', 'missing'];
  same(t, ref, keys);
  const steps: [op: 'add' | 'delete', key: string][] = [
    ['delete', 'a'],
    ['add', 'a'],
    ['add', 'a'], // a new record for the same channel replaces the old one
    ['delete', 'b'], // not there: nothing changes
    ['add', 'b'], // second entry: a Map, order kept
    ['add', 'c'],
    ['delete', 'missing'],
    ['delete', 'a'],
    ['add', 'a'],
    ['delete', 'b'],
    ['delete', 'c'], // one left: the record is the table again
    ['delete', 'a'],
    ['add', 'c'],
    ['add', 'a'],
    ['delete', 'c'],
  ];
  for (const [op, key] of steps) {
    if (op === 'add') {
      const sub = new ChannelSub(key, false, false, subscriber);
      t = t.with(sub);
      ref.set(key, sub);
    } else {
      t = t.without(key);
      ref.delete(key);
    }
    same(t, ref, keys);
  }
  assert.ok(t instanceof ChannelSub, 'one subscription: its record is the whole table');
  assert.equal(t.without('a'), NO_SUBS);
});

test('the flags of a record', () => {
  const s = new ChannelSub('x', true, false, subscriber);
  assert.deepEqual([s.joinLeave, s.server, s.present], [true, false, false]);
  s.present = true;
  assert.deepEqual([s.joinLeave, s.server, s.present], [true, false, true]);
  s.present = false;
  const server = new ChannelSub('y', false, true, subscriber);
  assert.deepEqual([server.joinLeave, server.server, server.present], [false, true, false]);
  assert.equal(s.present, false);
});
