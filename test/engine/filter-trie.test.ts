// The filter tree the MQTT stores look publications up in must agree with matchesFilter everywhere.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FilterTrie } from '../../src/engine/mqtt/filter-trie.js';
import { matchesFilter } from '../../src/model/index.js';

test('FilterTrie finds exactly the filters matchesFilter matches, and forgets deleted ones', () => {
  const levels = ['a', 'b', '', '$SYS', '+', '#'];
  const filters = new Set<string>(['#', '+', '$SYS/#', 'a/#', 'a/+/b', '+/+', 'a//b', '+/#']);
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return (seed >>> 16) % n;
  };
  for (let i = 0; i < 2000; i++) {
    const depth = 1 + rand(4);
    const parts = Array.from({ length: depth }, (_, i) => {
      const l = levels[rand(levels.length)];
      return l === '#' && i < depth - 1 ? 'a' : l;
    });
    filters.add(parts.join('/'));
  }
  assert.ok(filters.size > 200, `${filters.size} filters`);
  const trie = new FilterTrie<string>();
  for (const f of filters) trie.add(f, f);
  const topics = ['a', 'a/b', 'a//b', '/a', 'a/b/c', '$SYS', '$SYS/a', 'b/a/b/a', '', 'a/a/b'];
  const check = () => {
    for (const t of topics) {
      const want = [...filters].filter((f) => matchesFilter(f, t)).sort();
      assert.deepEqual([...trie.match(t)].sort(), want, `topic ${JSON.stringify(t)}`);
    }
  };
  check();
  for (const f of [...filters].filter((_, i) => i % 2)) {
    trie.delete(f, f);
    filters.delete(f);
  }
  check();
  assert.equal(trie.size, filters.size);
});
