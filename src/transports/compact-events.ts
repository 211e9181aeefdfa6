// An EventEmitter keeps its listeners in `_events`. A `ws` WebSocket or an HTTP response starts it
// as an object with a null prototype, which V8 holds in dictionary mode: a hash table of ~160 bytes
// for three event names and ~256 for four. Node's streams start it as a literal of five names, and
// every name added later (ws puts four more on its receiver, a socket gets more) lands in a
// separate property array beside the object: 40-64 bytes more per table (heap snapshots of idle
// connections, docs/performance.md, "Idle RSS, round 3"). A connection that lives for hours with the
// same few listeners gets one object holding exactly its names, all inside the object.
import type { EventEmitter } from 'node:events';

type WithEvents = { _events?: unknown; _eventsCount?: unknown };

/**
 * JSON text of an object with the given names, by name list. V8's JSON.parse builds an object with
 * exactly as many in-object fields as the text has names; `{}` has four, and a fifth name goes to a
 * property array. Event names are the code's own, so there are a handful of lists; the cache is
 * bounded anyway.
 */
const templates = new Map<string, string>();
const MAX_TEMPLATES = 64;

function tableFor(names: string[]): Record<string, unknown> {
  const key = names.join('\n');
  let text = templates.get(key);
  if (text === undefined) {
    const o: Record<string, null> = {};
    for (const n of names) o[n] = null;
    text = JSON.stringify(o);
    if (templates.size < MAX_TEMPLATES) templates.set(key, text);
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * Rebuilds the emitter's listener table as a plain object with the same entries, all held inside
 * the object. Call it once the long-lived listeners are on; adding or removing listeners later
 * works as before. Does nothing when the emitter does not keep its listeners where Node's
 * EventEmitter does.
 */
export function compactEvents(emitter: EventEmitter): void {
  const e = emitter as unknown as WithEvents;
  const events = e._events;
  if (events === null || typeof events !== 'object' || typeof e._eventsCount !== 'number') return;
  const proto = Object.getPrototypeOf(events);
  if (proto !== null && proto !== Object.prototype) return;
  const table = events as Record<string | symbol, unknown>;
  const keys = Reflect.ownKeys(table);
  // Prototype names ('constructor', 'toString') are never event names here; Node's streams make
  // the same choice. JSON has no symbols: a table with a symbol name is rebuilt name by name.
  const names = keys.filter((k): k is string => typeof k === 'string');
  const plain: Record<string | symbol, unknown> =
    names.length === keys.length && !names.includes('__proto__') ? tableFor(names) : {};
  for (const k of keys) plain[k] = table[k];
  e._events = plain;
}
