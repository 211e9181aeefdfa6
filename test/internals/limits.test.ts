import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressKey } from '../../src/limits/address.js';
import { IpCounter } from '../../src/limits/ip-counter.js';
import { KeyedBuckets, TokenBucket } from '../../src/limits/token-bucket.js';

describe('limits internals', () => {
  test('a token bucket allows its burst, then its rate', () => {
    const b = new TokenBucket(2, 3, 0);
    assert.deepEqual([b.take(0), b.take(0), b.take(0), b.take(0)], [true, true, true, false]);
    assert.equal(b.take(499), false);
    assert.equal(b.take(500), true); // one token per 500 ms at 2/s
    assert.equal(b.isFull(10_000), true);
  });

  test('keyed buckets forget addresses that are idle again, so the table stays small', () => {
    const k = new KeyedBuckets(1000, 1, 60_000);
    for (let i = 0; i < 100; i++) k.take(`10.0.0.${i}`);
    assert.equal(k.size, 100);
    k.sweep(performance.now() + 20); // 20 ms later, at 1000/s, every bucket is full again
    assert.equal(k.size, 0);
    k.stop();
  });

  test('the counter refuses past the total and per address, and forgets released addresses', () => {
    const c = new IpCounter(3, 2);
    assert.equal(c.acquire('a'), undefined);
    assert.equal(c.acquire('a'), undefined);
    assert.equal(c.acquire('a'), 'address');
    assert.equal(c.acquire('b'), undefined);
    assert.equal(c.acquire('c'), 'total');
    c.release('a');
    c.release('a');
    c.release('a'); // one too many: ignored
    assert.equal(c.total, 1);
    assert.equal(c.addresses, 1);
  });

  test('addresses: IPv4 whole, IPv4-mapped as IPv4, IPv6 by its /64', () => {
    assert.equal(addressKey('127.0.0.2'), '127.0.0.2');
    assert.equal(addressKey('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8:1:2::5'), addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'));
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey(undefined), 'unknown');
  });
});
