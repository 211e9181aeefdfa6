// SmallMap keeps a connection's first subscription inline and makes a Map for a second: it must
// answer exactly as a Map would through every transition (one, many, back to none), in order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SmallMap } from '../../src/transports/centrifuge/small-map.js';

function same<K, V>(m: SmallMap<K, V>, ref: Map<K, V>, keys: K[]): void {
  assert.equal(m.size, ref.size);
  assert.deepEqual([...m], [...ref]);
  for (const k of keys) {
    assert.equal(m.has(k), ref.has(k), `has(${String(k)})`);
    assert.equal(m.get(k), ref.get(k), `get(${String(k)})`);
  }
}

test('behaves as a Map through one entry, many entries and back to none', () => {
  const m = new SmallMap<string, number>();
  const ref = new Map<string, number>();
  const keys = ['a', 'b', 'c', 'missing'];
  same(m, ref, keys);
  const steps: [op: 'set' | 'delete', key: string, value?: number][] = [
    ['delete', 'a'],
    ['set', 'a', 1],
    ['set', 'a', 2], // overwrite the inline entry
    ['delete', 'b'], // not there: nothing changes
    ['set', 'b', 3], // second entry: becomes a Map, order kept
    ['set', 'c', 4],
    ['delete', 'a'],
    ['set', 'a', 5],
    ['delete', 'b'],
    ['delete', 'c'],
    ['delete', 'a'],
    ['set', 'c', 6],
  ];
  for (const [op, key, value] of steps) {
    if (op === 'set') {
      m.set(key, value as number);
      ref.set(key, value as number);
    } else assert.equal(m.delete(key), ref.delete(key), `delete(${key})`);
    same(m, ref, keys);
  }
});

test('an undefined value is still an entry', () => {
  const m = new SmallMap<string, undefined>();
  m.set('x', undefined);
  assert.equal(m.has('x'), true);
  assert.equal(m.size, 1);
  assert.deepEqual([...m], [['x', undefined]]);
});
