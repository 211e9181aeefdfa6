// The pure encoders behind SSE and polling, and the timer wheel that holds polls.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeCursor, encodeCursor, LiveCursor } from '../../src/protocol/cursor.js';
import { dataLines, eventFields, idLine, publicationFrame } from '../../src/protocol/sse.js';
import { TimerWheel } from '../../src/transports/poll/timer-wheel.js';

describe('cursor', () => {
  test('round-trips every channel position, and is URL- and header-safe', () => {
    const c = new Map([
      ['news:sport', { epoch: 'ab12', offset: 7 }],
      ['sensors/room1/temp', { epoch: 'ff00', offset: 0 }],
      ['ünï', { epoch: 'x', offset: 2 ** 40 }],
    ]);
    const token = encodeCursor(c);
    assert.match(token, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeCursor(token), c);
  });

  test('a live cursor updated channel by channel gives the same tokens', () => {
    const start = new Map([
      ['a', { epoch: 'e1', offset: 1 }],
      ['__proto__', { epoch: 'e2', offset: 5 }],
    ]);
    const live = new LiveCursor(start);
    assert.equal(live.token(), encodeCursor(start));
    live.set('a', { epoch: 'e1', offset: 2 });
    const expected = new Map([
      ['a', { epoch: 'e1', offset: 2 }],
      ['__proto__', { epoch: 'e2', offset: 5 }],
    ]);
    assert.equal(live.token(), encodeCursor(expected));
    assert.deepEqual(decodeCursor(live.token()), expected);
  });

  test('refuses what it did not make', () => {
    const bad = [
      'not base64!',
      Buffer.from('nope').toString('base64url'),
      Buffer.from('[]').toString('base64url'),
      Buffer.from('null').toString('base64url'),
      Buffer.from('{"a":"x"}').toString('base64url'),
      Buffer.from('{"a":["e"]}').toString('base64url'),
      Buffer.from('{"a":["e",1.5]}').toString('base64url'),
      Buffer.from('{"a":["e",-1]}').toString('base64url'),
      Buffer.from('{"a":[1,1]}').toString('base64url'),
    ];
    for (const t of bad) assert.throws(() => decodeCursor(t), { code: 107 }, t);
  });
});

describe('SSE framing', () => {
  test('a multi-line text becomes several data lines', () => {
    assert.equal(dataLines('a\nb\r\nc\rd'), 'data: a\ndata: b\ndata: c\ndata: d\n');
    assert.equal(eventFields('gap', 'x'), 'event: gap\ndata: x\n');
    assert.equal(eventFields('message', 'x'), 'data: x\n');
    assert.equal(idLine('abc'), 'id: abc\n\n');
  });

  test('a publication is one data line of its JSON, whatever its payload holds', () => {
    const pub = {
      channel: 'c',
      offset: 3,
      epoch: 'e',
      data: 'two\nlines',
      time: 5,
      info: { client: 'k', user: 'u', transport: 'chat' },
    };
    const { fields, soloId } = publicationFrame(pub);
    const text = fields.toString();
    assert.equal(text.split('\n').length, 2);
    assert.deepEqual(JSON.parse(text.slice('data: '.length)), {
      channel: 'c',
      offset: 3,
      epoch: 'e',
      data: 'two\nlines',
      time: 5,
      info: { client: 'k', user: 'u' },
    });
    // A single-channel stream's id is the cursor of that channel at this publication.
    assert.equal(soloId.toString(), idLine(encodeCursor(new Map([['c', { epoch: 'e', offset: 3 }]]))));
  });
});

describe('timer wheel', () => {
  test('expires items after their delay and within one resolution of it, and forgets removed ones', (t) => {
    // The wheel's interval and clock are faked, and time moves a millisecond at a time: each item
    // is seen to fire at the exact millisecond it does.
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
    const fired: [string, number][] = [];
    const wheel = new TimerWheel<string>(50, (item) => fired.push([item, Date.now()]));
    wheel.add('a', 100);
    const kb = wheel.add('b', 100);
    wheel.add('c', 200);
    wheel.remove('b', kb);
    assert.equal(wheel.size, 2);
    for (let ms = 0; ms < 400; ms++) t.mock.timers.tick(1);
    assert.deepEqual(
      fired.map(([i]) => i),
      ['a', 'c'],
    );
    const [[, a], [, c]] = fired;
    assert.ok(a >= 100 && a < 150, `a fired at ${a} ms`);
    assert.ok(c >= 200 && c < 250, `c fired at ${c} ms`);
    assert.equal(wheel.size, 0);
  });

  test('an item added between two ticks still waits its whole delay', (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
    const fired: number[] = [];
    const wheel = new TimerWheel<string>(50, () => fired.push(Date.now()));
    wheel.add('first', 1000); // starts the wheel at 0
    t.mock.timers.tick(30);
    wheel.add('late', 100); // due at 130 or after
    for (let ms = 30; ms < 300; ms++) t.mock.timers.tick(1);
    assert.equal(fired.length, 1);
    assert.ok(fired[0] >= 130 && fired[0] < 180, `fired at ${fired[0]} ms`);
    wheel.stop();
  });
});
