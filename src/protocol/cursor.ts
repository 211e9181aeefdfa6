// The cursor SSE and polling clients hold: every channel's stream position in one opaque token, so
// one reconnect (or the next poll) resumes all of a stream's channels at once. Pure: no sockets.
import { HeraldError } from '../errors.js';
import type { StreamPosition } from '../hub/types.js';

/** channel -> position. A Map keeps the request's channel order in the token. */
export type Cursor = Map<string, StreamPosition>;

/** base64url of compact JSON {"channel":["epoch",offset]}: short, URL- and header-safe. */
export function encodeCursor(cursor: Cursor): string {
  const o: Record<string, [string, number]> = {};
  for (const [channel, p] of cursor) o[channel] = [p.epoch, p.offset];
  return Buffer.from(JSON.stringify(o)).toString('base64url');
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
