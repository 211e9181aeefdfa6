// WebSocket frames as the server reads them: ws's Receiver (server side, the options the doors use)
// fed random and mutated frames in random chunks. Every refusal must carry an RFC 6455 close code.
import { createRequire } from 'node:module';
import { mutateBytes, randomString } from '../gen.js';
import type { Rng } from '../rng.js';
import { Defect, type Target } from '../runner.js';

const require = createRequire(import.meta.url);
interface Receiver {
  on(event: string, f: (...args: unknown[]) => void): void;
  write(chunk: Buffer): boolean;
}
// Not in ws's typings or its exports map, but on its main export: the parser every door uses.
const Receiver = (require('ws') as { Receiver: new (o: object) => Receiver }).Receiver;

/** The close code ws attaches to a refused frame (under a private symbol). */
function statusCode(err: object): unknown {
  const key = Object.getOwnPropertySymbols(err).find((s) => s.description === 'status-code');
  return key ? (err as Record<symbol, unknown>)[key] : undefined;
}

const CLOSE_CODES = new Set([1002, 1007, 1009]);

/** One client frame, well-formed or not in any header field. */
export function wsFrame(rng: Rng, maxPayload: number): Buffer {
  const opcode = rng.chance(0.8) ? rng.pick([0, 1, 2, 8, 9, 10]) : rng.int(0, 15);
  const fin = rng.chance(0.8);
  const rsv = rng.chance(0.9) ? 0 : rng.int(1, 7);
  const masked = rng.chance(0.9);
  let payload: Buffer;
  if (opcode === 8 && rng.chance(0.7)) {
    const code = Buffer.alloc(2);
    code.writeUInt16BE(
      rng.chance(0.5) ? rng.pick([1000, 1001, 1005, 1006, 1015, 2999, 3000, 4999, 5000]) : rng.int(0, 65535),
    );
    payload = Buffer.concat([code, Buffer.from(randomString(rng, [], 130))]);
  } else if (opcode === 1 || rng.chance(0.3)) {
    payload = Buffer.from(randomString(rng, ['{"id":1,"connect":{}}'], 200));
  } else {
    payload = rng.bytes(rng.size(Math.min(maxPayload + 10, 70_000)));
  }
  const len = payload.length;
  // Length encodings, including non-minimal ones and declared lengths far beyond what follows.
  const enc = rng.float();
  const head: number[] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const m = masked ? 0x80 : 0;
  if (enc < 0.05) {
    head.push(m | 127, ...Buffer.from(rng.bytes(8)));
  } else if (len < 126 && enc < 0.85) head.push(m | len);
  else if (len < 65536 && enc < 0.95) head.push(m | 126, len >> 8, len & 0xff);
  else
    head.push(m | 127, 0, 0, 0, 0, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  if (!masked) return Buffer.concat([Buffer.from(head), payload]);
  const key = rng.bytes(4);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = payload[i] ^ key[i & 3];
  return Buffer.concat([Buffer.from(head), key, body]);
}

export function wsStream(rng: Rng, maxPayload: number): Buffer {
  const frames: Buffer[] = [];
  for (let n = rng.int(1, 4); n > 0; n--) frames.push(wsFrame(rng, maxPayload));
  const b = Buffer.concat(frames);
  return rng.chance(0.3) ? mutateBytes(rng, b) : b;
}

export const wsFrames: Target = {
  name: 'ws-frames',
  weight: 10,
  async run(rng) {
    const maxPayload = rng.pick([1024, 65536]);
    const stream = wsStream(rng, maxPayload);
    const receiver = new Receiver({ isServer: true, maxPayload, binaryType: 'nodebuffer' });
    let problem: string | undefined;
    receiver.on('error', (err) => {
      stopped = true;
      const code = statusCode(err as object);
      if (!(err instanceof Error) || !CLOSE_CODES.has(code as number))
        problem = `refused with close code ${String(code)} (${(err as Error).message})`;
    });
    // ws stops feeding its receiver at a close frame or an error, and so does this target.
    let stopped = false;
    receiver.on('conclude', (code) => {
      stopped = true;
      const c = code as number;
      if (!(c === 1005 || (c >= 1000 && c <= 1014 && c !== 1004 && c !== 1006) || (c >= 3000 && c <= 4999)))
        problem = `accepted a close frame with code ${c}`;
    });
    let at = 0;
    try {
      while (at < stream.length && !stopped) {
        const n = rng.int(1, stream.length - at);
        receiver.write(stream.subarray(at, at + n));
        at += n;
      }
    } catch (err) {
      throw new Defect(`receiver threw ${(err as Error).message}`, stream);
    }
    await new Promise((resolve) => setImmediate(resolve));
    if (problem) throw new Defect(problem, stream);
  },
};
