// The server API's methods and the batch parser, called with random params against a real hub on
// the memory engine: every call gives a JSON-serialisable result or a catalogue error that is not
// "internal" (an internal error means an input reached code that did not expect it).

import { runBatch } from '../../../src/api/batch.js';
import { type ApiContext, callMethod, methods } from '../../../src/api/methods.js';
import type { ErrorName } from '../../../src/errors.js';
import type { Hub } from '../../../src/hub/hub.js';
import { deepNesting, randomJson, randomString } from '../gen.js';
import type { Rng } from '../rng.js';
import { Defect, expectHeraldError, type Target } from '../runner.js';
import { memoryHub } from './hub.js';

const NAMES = [...Object.keys(methods), 'batch', 'unknown', '__proto__', 'constructor', 'toString', ''];
const KEYS = [
  'channel',
  'channels',
  'data',
  'b64data',
  'limit',
  'since',
  'offset',
  'epoch',
  'reverse',
  'pattern',
  'commands',
  'parallel',
  'method',
  'params',
];
// A small pool of channels: random names that happen to be valid still create state, and a run of
// a million cases must not turn into a test of how many channels the engine holds.
const CHANNELS = [
  'fz:a',
  'fz:b',
  'fz:c',
  '$fz',
  'fz/x/y',
  '',
  'a'.repeat(256),
  '\u0000',
  '*',
  'fz:*',
  '[',
  '\\',
];
const WORDS = [...CHANNELS, 'aGVsbG8=', 'not base64!', '====', 'AA', '-1'];
const ALLOWED: readonly ErrorName[] = [
  'BAD_REQUEST',
  'METHOD_NOT_FOUND',
  'UNRECOVERABLE_POSITION',
  'LIMIT_EXCEEDED',
  'PAYLOAD_TOO_LARGE',
  'NOT_FOUND',
];

function params(rng: Rng): unknown {
  const r = rng.float();
  if (r < 0.05) return JSON.parse(`{"channel":"fz:a","data":${deepNesting(rng, true)}}`);
  if (r < 0.15) return randomJson(rng);
  const p: Record<string, unknown> = {};
  const n = rng.int(0, 4);
  for (let i = 0; i < n; i++) {
    const k = rng.pick(KEYS);
    if (k === 'channel' || k === 'pattern') p[k] = rng.chance(0.8) ? rng.pick(CHANNELS) : randomString(rng);
    else if (k === 'channels') p[k] = Array.from({ length: rng.size(20) }, () => rng.pick(CHANNELS));
    else if (k === 'commands') p[k] = Array.from({ length: rng.size(10) }, () => batchCommand(rng));
    else p[k] = randomJson(rng, { keys: KEYS, words: WORDS, maxDepth: 3 });
  }
  return p;
}

function batchCommand(rng: Rng): unknown {
  if (rng.chance(0.2)) return randomJson(rng, { keys: KEYS, words: WORDS });
  if (rng.chance(0.3))
    return { method: rng.pick(NAMES), params: randomJson(rng, { keys: KEYS, words: WORDS }) };
  return { [rng.pick(NAMES)]: randomJson(rng, { keys: KEYS, words: WORDS, maxDepth: 3 }) };
}

let ctx: ApiContext;
let hub: Hub;
let stop: () => Promise<void>;

function checkReply(value: unknown, input: unknown): void {
  try {
    JSON.stringify(value);
  } catch (err) {
    throw new Defect(`result cannot be serialised: ${(err as Error).message}`, input);
  }
  // A batch answers failures inside its replies: none may be internal.
  const text = JSON.stringify(value) ?? '';
  if (text.includes('"code":100,')) throw new Defect('a batch reply holds an internal error', input);
}

export const api: Target = {
  name: 'api-methods',
  weight: 15,
  async setup() {
    ({ hub, stop } = await memoryHub());
    ctx = { hub, config: { maxPatternLength: 256, maxBroadcastChannels: 1000, maxBatchCommands: 1000 } };
  },
  async teardown() {
    await stop();
  },
  async run(rng) {
    const name = rng.chance(0.9) ? rng.pick(NAMES) : randomString(rng);
    const p = params(rng);
    const input = { name, params: p };
    let out: unknown;
    try {
      out = name === 'batch' ? await runBatch(ctx, p) : await callMethod(ctx, name, p);
    } catch (err) {
      expectHeraldError(err, ALLOWED, input);
      return;
    }
    checkReply(out, input);
  },
};
