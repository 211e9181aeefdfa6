// The cursor SSE and polling clients hold: every channel's stream position in one opaque token, so
// one reconnect (or the next poll) resumes all of a stream's channels at once. Pure: no sockets.
import { HeraldError } from '../errors.js';
import type { StreamPosition } from '../model/index.js';

/** channel -> position. A Map keeps the request's channel order in the token. */
export type Cursor = Map<string, StreamPosition>;

/** base64url of compact JSON {"channel":["epoch",offset]}: short, URL- and header-safe. */
export function encodeCursor(cursor: Cursor): string {
  const parts: string[] = [];
  for (const [channel, p] of cursor) parts.push(segment(JSON.stringify(channel), p));
  return tokenOf(parts);
}

// Built as text, not via an object: no per-update serialisation of every channel, and a channel
// named "__proto__" stays an ordinary key.
const segment = (keyJson: string, p: StreamPosition) => `${keyJson}:[${JSON.stringify(p.epoch)},${p.offset}]`;
const tokenOf = (parts: Iterable<string>) => Buffer.from(`{${[...parts].join(',')}}`).toString('base64url');

/**
 * A stream's cursor, updated one channel at a time (each publication moves one channel), so each
 * new token re-serialises only that channel. Tokens equal encodeCursor's for the same positions.
 */
export class LiveCursor {
  private readonly keys = new Map<string, string>();
  private readonly parts = new Map<string, string>();
  readonly positions: Cursor = new Map();

  constructor(initial: Cursor = new Map()) {
    for (const [c, p] of initial) this.set(c, p);
  }

  set(channel: string, p: StreamPosition): void {
    let key = this.keys.get(channel);
    if (key === undefined) {
      key = JSON.stringify(channel);
      this.keys.set(channel, key);
    }
    this.parts.set(channel, segment(key, p));
    this.positions.set(channel, { epoch: p.epoch, offset: p.offset });
  }

  token(): string {
    return tokenOf(this.parts.values());
  }
}

/** Parses a token made by encodeCursor; anything else is a bad request, never a silent "from now". */
export function decodeCursor(token: string): Cursor {
  let o: unknown;
  try {
    if (!/^[A-Za-z0-9_-]*$/.test(token)) throw new Error('not base64url');
    o = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new HeraldError('BAD_REQUEST', 'cursor is not one this server gave out');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw new HeraldError('BAD_REQUEST', 'cursor is not one this server gave out');
  }
  const cursor: Cursor = new Map();
  for (const [channel, v] of Object.entries(o)) {
    if (
      !Array.isArray(v) ||
      v.length !== 2 ||
      typeof v[0] !== 'string' ||
      !Number.isSafeInteger(v[1]) ||
      (v[1] as number) < 0
    ) {
      throw new HeraldError('BAD_REQUEST', `cursor position for "${channel}" is malformed`);
    }
    cursor.set(channel, { epoch: v[0], offset: v[1] as number });
  }
  return cursor;
}
