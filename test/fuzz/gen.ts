// Generators and mutators for hostile input: random JSON from a grammar (with the shapes that break
// parsers: deep nesting, huge and odd numbers, unusual keys, unicode and lone surrogates), random
// text, and byte-level mutations of valid input (bit flips, truncation, splicing, repetition).
import type { Rng } from './rng.js';

const ODD_NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  2 ** 31,
  2 ** 32,
  2 ** 32 - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  Number.MAX_SAFE_INTEGER,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  1e308,
  -1e308,
  4294967295,
  4294967296,
];
const ODD_NUMBER_TEXT = [
  '1e400',
  '-1e400',
  '1e-400',
  '123456789012345678901234567890',
  '0.0000001',
  '-0',
  '1E3',
];
const ODD_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' ', '\u0000'];
const UNICODE = [
  'é',
  '漢',
  '😀',
  '\u0000',
  '\u001f',
  '\u007f',
  '\u2028',
  '\u2029',
  '\ufeff',
  '\ud800',
  '\udfff',
  '\r',
  '\n',
  '"',
  '\\',
  '/',
  '%',
  '#',
  '+',
  '$',
];

/** A short string: ASCII, unicode (incl. lone surrogates and controls) or a shape from `words`. */
export function randomString(rng: Rng, words: readonly string[] = [], max = 24): string {
  const r = rng.float();
  if (words.length > 0 && r < 0.3) return rng.pick(words);
  const n = rng.size(max);
  let s = '';
  for (let i = 0; i < n; i++) {
    const k = rng.float();
    if (k < 0.7) s += String.fromCharCode(rng.int(0x20, 0x7e));
    else if (k < 0.9) s += rng.pick(UNICODE);
    else s += String.fromCharCode(rng.int(0, 0xffff));
  }
  return s;
}

export function randomNumber(rng: Rng): number {
  const r = rng.float();
  if (r < 0.4) return rng.int(-5, 200);
  if (r < 0.7) return rng.pick(ODD_NUMBERS);
  if (r < 0.85) return (rng.float() - 0.5) * 10 ** rng.int(0, 30);
  return rng.u32();
}

export interface JsonOptions {
  /** Keys objects draw from (besides random and hostile ones). */
  keys?: readonly string[];
  /** Strings drawn from (besides random ones). */
  words?: readonly string[];
  maxDepth?: number;
}

/** A random JSON value. */
export function randomJson(rng: Rng, opts: JsonOptions = {}, depth = 0): unknown {
  const maxDepth = opts.maxDepth ?? 4;
  const r = rng.float();
  if (depth >= maxDepth || r < 0.45) {
    const s = rng.float();
    if (s < 0.15) return null;
    if (s < 0.3) return rng.chance(0.5);
    if (s < 0.6) return randomNumber(rng);
    return randomString(rng, opts.words);
  }
  if (r < 0.65) {
    const n = rng.size(8);
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) out.push(randomJson(rng, opts, depth + 1));
    return out;
  }
  const n = rng.size(8);
  const out: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const k = rng.float();
    const key =
      opts.keys && k < 0.6 ? rng.pick(opts.keys) : k < 0.7 ? rng.pick(ODD_KEYS) : randomString(rng, [], 8);
    // defineProperty: a "__proto__" key must become an own key, as JSON.parse makes it.
    Object.defineProperty(out, key, {
      value: randomJson(rng, opts, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** JSON text of a random value, sometimes with numbers JSON.stringify never writes (1e400, ...). */
export function randomJsonText(rng: Rng, opts: JsonOptions = {}): string {
  let text = JSON.stringify(randomJson(rng, opts)) ?? 'null';
  if (rng.chance(0.1)) text = text.replace(/-?\d+(\.\d+)?/, rng.pick(ODD_NUMBER_TEXT));
  return text;
}

/** Nesting far beyond any sane limit: what JSON.parse accepts and recursive code chokes on. */
export function deepNesting(rng: Rng, valid = false): string {
  const depth = rng.pick([65, 100, 1000, 10_000, 50_000]);
  const kind = rng.int(0, valid ? 1 : 2);
  if (kind === 0) return '['.repeat(depth) + ']'.repeat(depth);
  if (kind === 1) return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  return '['.repeat(depth);
}

/** A mutation of `input`: flips, truncations, splices, insertions, repetitions. */
export function mutateBytes(rng: Rng, input: Uint8Array, donor?: Uint8Array): Buffer {
  let b = Buffer.from(input);
  const rounds = rng.int(1, 4);
  for (let r = 0; r < rounds; r++) {
    const op = rng.int(0, 7);
    const at = b.length === 0 ? 0 : rng.int(0, b.length - 1);
    switch (op) {
      case 0: // bit flip
        if (b.length > 0) b[at] ^= 1 << rng.int(0, 7);
        break;
      case 1: // byte set to an interesting value
        if (b.length > 0) b[at] = rng.pick([0x00, 0xff, 0x7f, 0x80, 0x22, 0x5c, 0x7b, 0x5b, 0x0a, 0x0d]);
        break;
      case 2: // truncate
        b = b.subarray(0, rng.int(0, b.length));
        break;
      case 3: // delete a range
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + rng.int(1, 8)))]);
        break;
      case 4: // insert random bytes
        b = Buffer.concat([b.subarray(0, at), rng.bytes(rng.int(1, 8)), b.subarray(at)]);
        break;
      case 5: // duplicate a range
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + rng.int(1, 16)), b.subarray(at)]);
        break;
      case 6: // splice with a donor
        if (donor && donor.length > 0) {
          const from = rng.int(0, donor.length - 1);
          b = Buffer.concat([b.subarray(0, at), Buffer.from(donor.subarray(from, from + rng.int(1, 32)))]);
        }
        break;
      default: // random byte
        if (b.length > 0) b[at] = rng.u32() & 0xff;
    }
  }
  return b;
}

/** A mutation of a text, at the character level (so it stays a JS string, maybe not valid UTF-16). */
export function mutateText(rng: Rng, input: string, donor?: string): string {
  let s = input;
  const rounds = rng.int(1, 3);
  for (let r = 0; r < rounds; r++) {
    const at = rng.int(0, s.length);
    const op = rng.int(0, 5);
    if (op === 0) s = s.slice(0, at);
    else if (op === 1) s = s.slice(0, at) + s.slice(at + rng.int(1, 6));
    else if (op === 2) s = s.slice(0, at) + randomString(rng, [], 4) + s.slice(at);
    else if (op === 3)
      s =
        s.slice(0, at) +
        rng.pick(['"', '{', '}', '[', ']', ',', ':', '\n', '\\', 'null', '-', '0']) +
        s.slice(at);
    else if (op === 4 && donor) s = s.slice(0, at) + donor.slice(rng.int(0, donor.length));
    else s = s.slice(0, at) + s.slice(at, at + rng.int(1, 12)) + s.slice(at);
  }
  return s;
}
