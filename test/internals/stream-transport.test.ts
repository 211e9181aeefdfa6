// The fallback transports take commands as separate /emulation requests. While the session is busy
// those requests wait at the transport, a bounded number of them: past the bound the request is
// refused (429, code 111), and what waited reaches the session in the order it came.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { HeraldError } from '../../src/errors.js';
import { centrifugeJsonFormat } from '../../src/protocol/centrifuge/replies.js';
import { StreamTransport } from '../../src/transports/centrifuge/stream-transport.js';

function transport(maxPending: number) {
  const res = new PassThrough() as unknown as ServerResponse;
  const t = new StreamTransport(
    'http_stream',
    res,
    // The codec and format are not used on the receiving side.
    undefined as never,
    centrifugeJsonFormat as never,
    (m) => Buffer.from(String(m)),
    1 << 20,
    maxPending,
    { session: 's', node: 'n' },
  );
  const received: string[] = [];
  t.attach({
    receive: (d) => received.push(d.toString()),
    gone() {},
    violation() {},
    slow() {},
    failed() {},
  });
  return { t, received };
}

test('requests wait while the session is busy, up to the bound, then reach it in order', async () => {
  const { t, received } = transport(3);
  await t.receive(Buffer.from('first'));
  t.pause(); // the session is working on 'first'
  const waiting = ['a', 'b', 'c'].map((x) => t.receive(Buffer.from(x)));
  await assert.rejects(t.receive(Buffer.from('d')), (err: HeraldError) => {
    assert.equal(err.code, 111);
    assert.equal(err.status, 429);
    return true;
  });
  assert.deepEqual(received, ['first'], 'nothing reaches a busy session');
  t.resume();
  await Promise.all(waiting);
  assert.deepEqual(received, ['first', 'a', 'b', 'c']);
});
