// Decoding of client frames of the Centrifugo client protocol v2, JSON encoding: one WebSocket text
// frame holds one or more JSON commands separated by newlines. Pure: no sockets. Unknown fields are
// ignored so that newer clients keep working; shapes that matter are checked by hand.
import { HeraldError } from '../../errors.js';
import type { StreamPosition } from '../../model/index.js';

export const METHODS = [
  'connect',
  'subscribe',
  'unsubscribe',
  'publish',
  'presence',
  'presence_stats',
  'history',
  'send',
  'rpc',
  'refresh',
  'sub_refresh',
] as const;
export type Method = (typeof METHODS)[number];

/** Where a server-side subscription left off, as the SDK sends it on reconnect (connect `subs`). */
export interface ServerSubRecovery {
  recover: boolean;
  epoch: string;
  offset: number;
}

export interface ConnectRequest {
  token?: string;
  data?: unknown;
  name?: string;
  version?: string;
  /** Per channel of a server-side subscription: recover from there. */
  subs?: Record<string, ServerSubRecovery>;
}

export interface SubscribeRequest {
  channel: string;
  token?: string;
  recover: boolean;
  epoch: string;
  offset: number;
  positioned: boolean;
  recoverable: boolean;
  joinLeave: boolean;
  /** The delta compression asked for ("fossil"); the subscribe result says whether it is on. */
  delta?: string;
}

export interface HistoryRequest {
  channel: string;
  limit?: number;
  since?: StreamPosition;
  reverse: boolean;
}

export type Command =
  | { id: number; method: 'connect'; params: ConnectRequest }
  | { id: number; method: 'subscribe'; params: SubscribeRequest }
  | { id: number; method: 'unsubscribe' | 'presence' | 'presence_stats'; params: { channel: string } }
  | { id: number; method: 'publish'; params: { channel: string; data: unknown } }
  | { id: number; method: 'history'; params: HistoryRequest }
  | { id: 0; method: 'send'; params: { data: unknown } }
  | { id: number; method: 'rpc'; params: { method: string; data: unknown } }
  | { id: number; method: 'refresh'; params: { token?: string } }
  | { id: number; method: 'sub_refresh'; params: { channel: string; token?: string } }
  /** An empty command `{}`: the client's answer to a server ping. */
  | { id: 0; method: 'pong'; params: Record<string, never> }
  /** A command with an id but none of the methods this server knows. */
  | { id: number; method: 'unknown'; params: Record<string, never> };

const bad = (detail: string) => new HeraldError('BAD_REQUEST', detail);

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optString(o: Obj, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(`${key} must be a string`);
  return v;
}

function optBool(o: Obj, key: string): boolean {
  const v = o[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw bad(`${key} must be a boolean`);
  return v;
}

function optUint(o: Obj, key: string): number | undefined {
  let v = o[key];
  if (v === undefined || v === null) return undefined;
  // uint64 offsets may travel as strings; beyond 2^53 they are not exact in JS numbers.
  if (typeof v === 'string' && /^\d+$/.test(v)) v = Number(v);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw bad(`${key} must be a non-negative integer`);
  return v;
}

/** As in Centrifugo: no limit (or 0) asks only for the stream position, a negative one for all. */
function historyLimit(v: unknown): number | undefined {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad('limit must be an integer');
  return v < 0 ? undefined : v;
}

function channelOf(o: Obj): string {
  const c = o.channel;
  if (typeof c !== 'string') throw bad('channel must be a string');
  return c;
}

function serverSubs(v: unknown): Record<string, ServerSubRecovery> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw bad('subs must be an object');
  // A map without a prototype: a channel named __proto__ is a key like any other.
  const out: Record<string, ServerSubRecovery> = Object.create(null);
  for (const [channel, s] of Object.entries(v)) {
    if (!isObject(s)) throw bad('subs entries must be objects');
    out[channel] = {
      recover: optBool(s, 'recover'),
      epoch: optString(s, 'epoch') ?? '',
      offset: optUint(s, 'offset') ?? 0,
    };
  }
  return out;
}

/** The first method the command carries, in METHODS order; a plain loop, as it runs per command. */
function methodOf(value: Obj): Method | undefined {
  for (let i = 0; i < METHODS.length; i++) {
    const m = METHODS[i];
    const v = value[m];
    if (v !== undefined && v !== null) return m;
  }
  return undefined;
}

/** Decodes one JSON command. Throws BAD_REQUEST (a protocol violation) on anything malformed. */
export function decodeCommand(value: unknown): Command {
  if (!isObject(value)) throw bad('a command must be a JSON object');
  const id = optUint(value, 'id') ?? 0;
  if (id > 0xffffffff) throw bad('id must be a uint32');
  const method = methodOf(value);
  if (!method) {
    if (id === 0) return { id: 0, method: 'pong', params: {} };
    return { id, method: 'unknown', params: {} };
  }
  const p = value[method];
  if (!isObject(p)) throw bad(`${method} must be an object`);
  if (method === 'send') return { id: 0, method, params: { data: p.data } };
  // Every other command is answered, and an answer needs an id to land on.
  if (id === 0) throw bad(`${method} without an id`);
  switch (method) {
    case 'connect': {
      const params: ConnectRequest = {
        token: optString(p, 'token'),
        data: p.data,
        name: optString(p, 'name'),
        version: optString(p, 'version'),
      };
      const subs = serverSubs(p.subs);
      if (subs) params.subs = subs;
      return { id, method, params };
    }
    case 'subscribe':
      return {
        id,
        method,
        params: {
          channel: channelOf(p),
          token: optString(p, 'token'),
          recover: optBool(p, 'recover'),
          epoch: optString(p, 'epoch') ?? '',
          offset: optUint(p, 'offset') ?? 0,
          positioned: optBool(p, 'positioned'),
          recoverable: optBool(p, 'recoverable'),
          joinLeave: optBool(p, 'join_leave'),
          delta: optString(p, 'delta') || undefined,
        },
      };
    case 'unsubscribe':
    case 'presence':
    case 'presence_stats':
      return { id, method, params: { channel: channelOf(p) } };
    case 'publish':
      if (p.data === undefined) throw bad('publish needs data');
      return { id, method, params: { channel: channelOf(p), data: p.data } };
    case 'history': {
      let since: StreamPosition | undefined;
      if (p.since !== undefined && p.since !== null) {
        if (!isObject(p.since)) throw bad('since must be an object');
        since = { offset: optUint(p.since, 'offset') ?? 0, epoch: optString(p.since, 'epoch') ?? '' };
      }
      return {
        id,
        method,
        params: {
          channel: channelOf(p),
          limit: historyLimit(p.limit),
          since,
          reverse: optBool(p, 'reverse'),
        },
      };
    }
    case 'rpc':
      return { id, method, params: { method: optString(p, 'method') ?? '', data: p.data } };
    case 'refresh':
      return { id, method, params: { token: optString(p, 'token') } };
    case 'sub_refresh':
      return { id, method, params: { channel: channelOf(p), token: optString(p, 'token') } };
  }
}

/** Splits and decodes a text frame. Throws BAD_REQUEST when any line is not a valid command. */
export function decodeFrame(text: string): Command[] {
  const out: Command[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw bad('malformed JSON');
    }
    out.push(decodeCommand(value));
  }
  if (out.length === 0) throw bad('empty frame');
  return out;
}
