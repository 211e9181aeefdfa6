// An EventEmitter keeps its listeners in `_events`, an object made with a null prototype, which V8
// holds in dictionary mode: a hash table of ~160 bytes for three event names and ~256 for four
// (heap snapshots of idle connections, docs/performance.md). Node's own streams avoid that by
// starting `_events` as a plain object literal; emitters that are not streams (a `ws` WebSocket,
// an HTTP response) do not. A connection that lives for hours with the same few listeners gets the
// same names in a plain object instead: a few bytes per name.
import type { EventEmitter } from 'node:events';

type WithEvents = { _events?: unknown; _eventsCount?: unknown };

/**
 * Rebuilds the emitter's listener table as a plain object with the same entries. Call it once the
 * long-lived listeners are on; adding or removing listeners later works as before. Does nothing
 * when the emitter does not keep its listeners where Node's EventEmitter does.
 */
export function compactEvents(emitter: EventEmitter): void {
  const e = emitter as unknown as WithEvents;
  const events = e._events;
  if (events === null || typeof events !== 'object' || typeof e._eventsCount !== 'number') return;
  if (Object.getPrototypeOf(events) !== null) return; // already a plain object (a stream's)
  // Prototype names ('constructor', 'toString') are never event names here; Node's streams make
  // the same choice.
  const plain: Record<string | symbol, unknown> = {};
  for (const key of Reflect.ownKeys(events)) plain[key] = (events as Record<string | symbol, unknown>)[key];
  e._events = plain;
}
