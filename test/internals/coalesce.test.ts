// The write coalescer: at once when not behind, one write per socket per turn while publications
// arrive faster than one per turn, and the explicit write delay.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { writeCoalesced } from '../../src/transports/coalesce.js';

/** Records what reached the "wire": each uncorked write or flush as one syscall. */
class FakeSocket {
  corks = 0;
  pending: string[] = [];
  syscalls: string[][] = [];
  get writableCorked() {
    return this.corks;
  }
  cork() {
    this.corks++;
  }
  uncork() {
    if (this.corks > 0 && --this.corks === 0 && this.pending.length > 0) {
      this.syscalls.push(this.pending);
      this.pending = [];
    }
  }
  write(b: Buffer) {
    if (this.corks > 0) this.pending.push(b.toString());
    else this.syscalls.push([b.toString()]);
    return true;
  }
}

const turn = () => new Promise((r) => setImmediate(r));
/** One "request": its own macrotask, as each API publication is. */
const inOwnTask = (fn: () => void) =>
  new Promise<void>((r) =>
    setImmediate(() => {
      fn();
      r();
    }),
  );

test('a lone publication per turn is written at once', async () => {
  const s = new FakeSocket();
  const t = { lastTick: -1 };
  writeCoalesced(t, s as unknown as Socket, Buffer.from('a'));
  assert.deepEqual(s.syscalls, [['a']]);
  await turn();
  await turn();
  writeCoalesced(t, s as unknown as Socket, Buffer.from('b'));
  assert.deepEqual(s.syscalls, [['a'], ['b']]);
});

test('publications in separate ticks of one turn are batched, in order, once behind', async () => {
  await turn();
  await turn();
  const s = new FakeSocket();
  const t = { lastTick: -1 };
  const w = (x: string) => writeCoalesced(t, s as unknown as Socket, Buffer.from(x));
  // Several ticks within one turn (as several requests read in one poll phase).
  w('1');
  await Promise.resolve();
  await new Promise<void>((r) => process.nextTick(r));
  w('2');
  await new Promise<void>((r) => process.nextTick(r));
  w('3');
  await turn();
  assert.deepEqual(s.syscalls.flat(), ['1', '2', '3']);
  assert.ok(s.syscalls.length <= 2, `got ${JSON.stringify(s.syscalls)}`);
  assert.equal(s.corks, 0);
  // Quiet again: after a turn with one tick of writes, writes go out at once.
  await inOwnTask(() => w('4'));
  await turn();
  await inOwnTask(() => w('5'));
  assert.deepEqual(s.syscalls.at(-1), ['5']);
});

test('writeDelay holds the socket that long, then writes everything as one', (t) => {
  // Time is the subject here, so the test moves it: no wall-clock waiting, no margin to guess.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const s = new FakeSocket();
  const target = { lastTick: -1 };
  writeCoalesced(target, s as unknown as Socket, Buffer.from('x'), 30);
  writeCoalesced(target, s as unknown as Socket, Buffer.from('y'), 30);
  t.mock.timers.tick(29);
  assert.deepEqual(s.syscalls, [], 'held for the whole delay');
  t.mock.timers.tick(1);
  assert.deepEqual(s.syscalls, [['x', 'y']]);
  assert.equal(s.corks, 0);
});
