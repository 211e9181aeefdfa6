import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { createDelta } from '../../src/protocol/fossil.js';

// The SDK's own decoder, as the shipped build has it: it is not exported, so its source is cut out
// of the bundle. Decoding with the very code clients run is the point of this test.
function sdkApplyDelta(): (source: Uint8Array, delta: Uint8Array) => Uint8Array {
  const file = createRequire(import.meta.url).resolve('centrifuge');
  const src = readFileSync(file, 'utf8');
  const start = src.indexOf('const zValue = [');
  const end = src.indexOf('/** @internal */\nclass JsonCodec');
  assert.ok(start > 0 && end > start, 'the fossil decoder is where the SDK bundle keeps it');
  return new Function(`${src.slice(start, end)}\nreturn applyDelta;`)() as ReturnType<typeof sdkApplyDelta>;
}

const applyDelta = sdkApplyDelta();

// Deterministic, so a failure reproduces.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(r: () => number, n: number, alphabet = 256): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * alphabet);
  return b;
}

/** A target made from the source by random edits: inserts, deletes, replaced runs, moved blocks. */
function mutate(r: () => number, source: Uint8Array): Uint8Array {
  let cur = Array.from(source);
  const edits = Math.floor(r() * 8);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(r() * (cur.length + 1));
    const len = Math.floor(r() * 40);
    const kind = Math.floor(r() * 4);
    if (kind === 0) cur.splice(at, 0, ...randomBytes(r, len));
    else if (kind === 1) cur.splice(at, len);
    else if (kind === 2) cur.splice(at, len, ...randomBytes(r, len));
    else {
      const block = cur.slice(at, at + len);
      cur.splice(at, len);
      cur.splice(Math.floor(r() * (cur.length + 1)), 0, ...block);
    }
  }
  if (r() < 0.05) cur = [];
  return Uint8Array.from(cur);
}

const text = (s: string) => new TextEncoder().encode(s);

describe('fossil delta encoder', () => {
  test('the SDK decodes what it makes, for random sources and edited targets', () => {
    const r = rng(14);
    for (let round = 0; round < 2000; round++) {
      const size = [0, 1, 15, 16, 17, 100, 2000, 20000][round % 8] as number;
      const source = randomBytes(
        r,
        Math.floor(r() * size) + (round % 3 === 0 ? size : 0),
        round % 2 ? 4 : 256,
      );
      const target = round % 10 === 0 ? randomBytes(r, Math.floor(r() * 300)) : mutate(r, source);
      const delta = createDelta(source, target);
      assert.deepEqual(Buffer.from(applyDelta(source, delta)), Buffer.from(target), `round ${round}`);
    }
  });

  test('a JSON document with one changed field costs a few dozen bytes, not the document', () => {
    const doc = (n: number) =>
      JSON.stringify({
        counter: n,
        items: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `item ${i}` })),
      });
    const source = text(doc(1));
    const target = text(doc(2));
    const delta = createDelta(source, target);
    assert.deepEqual(Buffer.from(applyDelta(source, delta)), Buffer.from(target));
    assert.ok(delta.length < 40, `delta of ${delta.length} bytes for a ${target.length}-byte document`);
  });

  test('an ASCII target gives an ASCII delta (it travels as a JSON string)', () => {
    const source = text(JSON.stringify({ a: 'x'.repeat(100), b: 1 }));
    const target = text(JSON.stringify({ a: 'x'.repeat(90), b: 2, c: 'new' }));
    const delta = createDelta(source, target);
    assert.ok(delta.every((c) => c < 0x80));
    assert.deepEqual(
      Buffer.from(applyDelta(source, text(new TextDecoder().decode(delta)))),
      Buffer.from(target),
    );
  });
});
