// What SSE and polling share: which channels a request names, where it resumes, and subscribing a
// door's receiver to all of them at once (live delivery first, history second, via the hub).
import type { ClientHub } from '../auth/client-hub.js';
import type { Identity } from '../auth/identity.js';
import { HeraldError } from '../errors.js';
import type { Hub } from '../hub/hub.js';
import type { Publication, StreamPosition, Subscriber } from '../model/index.js';
import { type Cursor, decodeCursor } from '../protocol/cursor.js';

/** The `channel` query parameter(s): validated, de-duplicated, bounded. */
export function channelsFrom(raw: unknown, hub: Hub, max: number): string[] {
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) throw new HeraldError('BAD_REQUEST', 'name at least one channel: ?channel=NAME');
  const channels = [...new Set(list as unknown[])];
  if (channels.length > max) {
    throw new HeraldError('LIMIT_EXCEEDED', `at most ${max} channels per request, got ${channels.length}`);
  }
  for (const c of channels) hub.validateChannel(c);
  return channels as string[];
}

/** A cursor token from the first non-empty source; none = start from now. */
export function cursorFrom(...tokens: unknown[]): Cursor | undefined {
  for (const t of tokens) {
    if (Array.isArray(t)) throw new HeraldError('BAD_REQUEST', 'give one cursor, not several');
    if (typeof t === 'string' && t !== '') return decodeCursor(t);
  }
  return undefined;
}

export interface MultiSubscription {
  /** Where each channel's stream stood when live delivery took over (after `publications`). */
  positions: Map<string, StreamPosition>;
  /** Missed publications history still had: each channel in offset order, merged by time. */
  publications: Publication[];
  /** Channels whose resume is incomplete: the epoch changed or history no longer reaches back. */
  gaps: string[];
  /**
   * Channels whose resume was cut at the read limit: `publications` holds the oldest part (after the
   * cursor, or from the start of a new epoch); resuming again from the last one given reads the next.
   */
  truncated: string[];
  /** Starts live delivery on every channel; call once the publications above are sent. */
  start(): void;
}

/**
 * Subscribes `subscriber` to every channel, resuming those the cursor names. All or nothing: every
 * channel is authorized before any is subscribed, and when one fails, the others are released and
 * the error is thrown. The resumed channels share `maxPublications`, so one request reads at most
 * that many (or one per channel, if more).
 */
export async function subscribeAll(
  clients: ClientHub,
  identity: Identity,
  channels: string[],
  subscriber: Subscriber,
  cursor: Cursor | undefined,
  maxPublications: number,
): Promise<MultiSubscription> {
  for (const c of channels) clients.check(identity, 'subscribe', c);
  const resumed = cursor ? channels.filter((c) => cursor.has(c)).length : 0;
  const limit = Math.max(1, Math.floor(maxPublications / Math.max(1, resumed)));
  const settled = await Promise.allSettled(
    channels.map((c) => {
      const since = cursor?.get(c);
      return clients.subscribe(identity, c, subscriber, since ? { since, limit } : {});
    }),
  );
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) {
    for (const c of channels) clients.unsubscribe(c, subscriber);
    throw (failed as PromiseRejectedResult).reason;
  }
  const positions = new Map<string, StreamPosition>();
  const publications: Publication[] = [];
  const gaps: string[] = [];
  const truncated: string[] = [];
  const results = settled.map(
    (s) => (s as PromiseFulfilledResult<Awaited<ReturnType<Hub['subscribe']>>>).value,
  );
  results.forEach((r, i) => {
    positions.set(channels[i], r.position);
    if (r.truncated) truncated.push(channels[i]);
    if (r.gap) gaps.push(channels[i]);
    for (const p of r.publications) publications.push(p);
  });
  // Each channel's order is exact; across channels, merge by time (stable) to approximate arrival.
  if (channels.length > 1) publications.sort((a, b) => a.time - b.time);
  return {
    positions,
    publications,
    gaps,
    truncated,
    start: () => {
      for (const r of results) r.start();
    },
  };
}

/**
 * The cursor a client holds *before* the given publications: for a resumed channel its own
 * position, for a gap the point just before what history still had, otherwise the stream's top.
 */
export function startingCursor(
  sub: MultiSubscription,
  channels: string[],
  cursor: Cursor | undefined,
): Cursor {
  const out: Cursor = new Map();
  const firstOf = new Map<string, Publication>();
  for (const p of sub.publications) if (!firstOf.has(p.channel)) firstOf.set(p.channel, p);
  for (const c of channels) {
    const top = sub.positions.get(c)!;
    const first = firstOf.get(c);
    const since = cursor?.get(c);
    if (since && !sub.gaps.includes(c)) out.set(c, since);
    else if (first) out.set(c, { epoch: first.epoch, offset: first.offset - 1 });
    else out.set(c, top);
  }
  return out;
}
