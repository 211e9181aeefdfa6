// What /sse and /poll read from a query string: the channel list, the cursor parameters and the
// poll timeout. Whatever the query parser hands over, the answer is a valid value or a 4xx error.
import { HeraldError } from '../../../src/errors.js';
import type { Hub } from '../../../src/hub/hub.js';
import { channelsFrom, cursorFrom } from '../../../src/transports/channel-request.js';
import { holdSeconds } from '../../../src/transports/poll/door.js';
import { randomJson, randomString } from '../gen.js';
import type { Rng } from '../rng.js';
import { Defect, expectHeraldError, type Target } from '../runner.js';
import { memoryHub } from './hub.js';

const CHANNELS = ['news', 'a:b', '$x', '', ' ', 'a'.repeat(300), '\u0000', 'a/b/#', '+'];
const TIMEOUTS = [
  '0',
  '25',
  '1.5',
  '-1',
  '1e3',
  '',
  ' 1',
  '1.',
  '.5',
  '99999999999999999999999',
  '9'.repeat(400),
  'NaN',
  'Infinity',
  '0x10',
];

/** Shapes a query parser produces (string, repeated key = array) and some it never should. */
function queryValue(rng: Rng, words: readonly string[]): unknown {
  const r = rng.float();
  if (r < 0.1) return undefined;
  if (r < 0.6) return randomString(rng, words, 40);
  if (r < 0.9) return Array.from({ length: rng.size(40) }, () => randomString(rng, words, 40));
  return randomJson(rng, { words });
}

let hub: Hub;
let stop: () => Promise<void>;

export const query: Target = {
  name: 'query',
  weight: 10,
  async setup() {
    ({ hub, stop } = await memoryHub());
  },
  async teardown() {
    await stop();
  },
  run(rng) {
    const which = rng.int(0, 2);
    if (which === 0) {
      const raw = queryValue(rng, CHANNELS);
      const max = rng.int(1, 16);
      try {
        const list = channelsFrom(raw, hub, max);
        if (list.length === 0 || list.length > max || new Set(list).size !== list.length)
          throw new Defect(`channel list of ${list.length} passed (max ${max})`, raw);
        for (const c of list) if (typeof c !== 'string') throw new Defect('a non-string channel passed', raw);
      } catch (err) {
        if (err instanceof Defect) throw err;
        expectHeraldError(err, ['BAD_REQUEST', 'LIMIT_EXCEEDED'], raw);
      }
    } else if (which === 1) {
      const raw = queryValue(rng, TIMEOUTS);
      try {
        const s = holdSeconds(raw, 25, 60);
        if (!Number.isFinite(s) || s < 0 || s > 60) throw new Defect(`hold of ${s} s`, raw);
      } catch (err) {
        if (err instanceof Defect) throw err;
        expectHeraldError(err, ['BAD_REQUEST'], raw);
      }
    } else {
      const a = queryValue(rng, ['eyJ9', 'e30', '']);
      const b = queryValue(rng, ['eyJ9', 'e30', '']);
      try {
        const c = cursorFrom(a, b);
        if (c !== undefined && !(c instanceof Map)) throw new Defect('cursor is not a map', [a, b]);
      } catch (err) {
        if (err instanceof Defect) throw err;
        if (!(err instanceof HeraldError)) throw new Defect(`${(err as Error).message}`, [a, b]);
        expectHeraldError(err, ['BAD_REQUEST'], [a, b]);
      }
    }
  },
};
