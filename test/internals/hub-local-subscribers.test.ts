import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryEngine } from '../../src/engine/memory.js';
import { Hub } from '../../src/hub/hub.js';
import type { FrameFormat, Subscriber } from '../../src/model/index.js';

const format: FrameFormat<null> = { name: 'none', encode: () => null };
const receiver = (): Subscriber<null> => ({ format, deliver() {} });

test('hub.localSubscribers counts this node’s subscriptions to a channel, across formats', async () => {
  const hub = new Hub(new MemoryEngine());
  await hub.start();
  const a = receiver();
  const b: Subscriber<string> = { format: { name: 'other', encode: () => '' }, deliver() {} };
  assert.equal(hub.localSubscribers('c'), 0);
  (await hub.subscribe('c', a)).start();
  (await hub.subscribe('c', b)).start();
  (await hub.subscribe('d', a)).start();
  assert.equal(hub.localSubscribers('c'), 2);
  assert.equal(hub.localSubscribers('d'), 1);
  hub.unsubscribe('c', a);
  assert.equal(hub.localSubscribers('c'), 1);
  hub.unsubscribe('c', b);
  assert.equal(hub.localSubscribers('c'), 0);
  await hub.close();
});
