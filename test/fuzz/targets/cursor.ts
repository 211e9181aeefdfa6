// The SSE/poll cursor: garbage is refused as a bad request, and every cursor the server can make
// decodes back to exactly the positions it was made from (LiveCursor and encodeCursor agree).
import { deepStrictEqual } from 'node:assert/strict';
import { type Cursor, decodeCursor, encodeCursor, LiveCursor } from '../../../src/protocol/cursor.js';
import { mutateText, randomJsonText, randomString } from '../gen.js';
import type { Rng } from '../rng.js';
import { Defect, expectHeraldError, type Target } from '../runner.js';

const NAMES = ['news', '__proto__', 'constructor', 'a:b', '漢', '😀', '\ud800', 'x"y', ''];

function randomCursor(rng: Rng): Cursor {
  const c: Cursor = new Map();
  const n = rng.int(0, 6);
  for (let i = 0; i < n; i++) {
    c.set(randomString(rng, NAMES), {
      epoch: randomString(rng, ['', 'abcd']),
      offset: rng.chance(0.2) ? Number.MAX_SAFE_INTEGER - rng.int(0, 3) : rng.int(0, 1e9),
    });
  }
  return c;
}

export const cursor: Target = {
  name: 'cursor',
  weight: 15,
  run(rng) {
    const positions = randomCursor(rng);
    const token = encodeCursor(positions);
    const r = rng.float();
    if (r < 0.4) {
      // Round trip: channel names with quotes, surrogates or "__proto__" come back unchanged.
      const live = new LiveCursor(positions);
      if (live.token() !== token) throw new Defect('LiveCursor and encodeCursor disagree', [...positions]);
      let back: Cursor;
      try {
        back = decodeCursor(token);
      } catch (err) {
        throw new Defect(`a cursor this server made is refused: ${(err as Error).message}`, [...positions]);
      }
      // Lone surrogates cannot survive UTF-8; JSON.stringify escapes them, so they must. Order is
      // not compared: JSON objects put integer-like keys first, and cursors are only looked up.
      const sorted = (c: Cursor) => [...c].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      try {
        deepStrictEqual(sorted(back), sorted(positions));
      } catch {
        throw new Defect('cursor did not round-trip', [...positions]);
      }
      return;
    }
    const input =
      r < 0.7
        ? mutateText(rng, token)
        : r < 0.85
          ? Buffer.from(randomJsonText(rng)).toString('base64url')
          : randomString(rng, [], 64);
    let decoded: Cursor;
    try {
      decoded = decodeCursor(input);
    } catch (err) {
      expectHeraldError(err, ['BAD_REQUEST'], input);
      return;
    }
    for (const [ch, p] of decoded) {
      if (
        typeof ch !== 'string' ||
        typeof p.epoch !== 'string' ||
        !Number.isSafeInteger(p.offset) ||
        p.offset < 0
      )
        throw new Defect('decoded a malformed position', input);
    }
  },
};
