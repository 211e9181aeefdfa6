// Encoding of server frames of the Centrifugo client protocol v2, JSON encoding: replies to
// commands (echoing the command id) and pushes (no id). Pure: no sockets. Payloads (`data`, `info`)
// are embedded as raw JSON; JSON.stringify escapes newlines inside strings, so a frame never holds
// a raw newline except as the separator between replies.
import type { ClientInfo, FrameFormat, Publication } from '../../model/index.js';
import { textFrame } from '../ws-frame.js';

/** A server ping; the client answers with the same empty object when `pong` was announced. */
export const PING = '{}';

export interface WireClientInfo {
  client: string;
  user: string;
  conn_info?: unknown;
  chan_info?: unknown;
}

export interface WirePublication {
  data: unknown;
  offset?: number;
  info?: WireClientInfo;
  time?: number;
}

export function wireClientInfo(info: ClientInfo): WireClientInfo {
  const w: WireClientInfo = { client: info.client, user: info.user };
  if (info.connInfo !== undefined) w.conn_info = info.connInfo;
  if (info.chanInfo !== undefined) w.chan_info = info.chanInfo;
  return w;
}

/** The client and user part of the last client info encoded: a publisher publishes many times. */
let lastClient = '';
let lastUser = '';
let lastClientUser = '{"client":"","user":""';

/** JSON.stringify(wireClientInfo(info)) without the object; undefined where that would differ. */
function clientInfoJson(info: ClientInfo): string | undefined {
  if (info.client !== lastClient || info.user !== lastUser) {
    if (typeof info.client !== 'string' || typeof info.user !== 'string') return undefined;
    lastClientUser = `{"client":${JSON.stringify(info.client)},"user":${JSON.stringify(info.user)}`;
    lastClient = info.client;
    lastUser = info.user;
  }
  let s = lastClientUser;
  if (info.connInfo !== undefined) {
    const c = JSON.stringify(info.connInfo);
    if (c === undefined) return undefined;
    s += `,"conn_info":${c}`;
  }
  if (info.chanInfo !== undefined) {
    const c = JSON.stringify(info.chanInfo);
    if (c === undefined) return undefined;
    s += `,"chan_info":${c}`;
  }
  return `${s}}`;
}

export function wirePublication(pub: Publication): WirePublication {
  const w: WirePublication = { data: pub.data ?? null, offset: pub.offset };
  if (pub.info) w.info = wireClientInfo(pub.info);
  w.time = pub.time;
  return w;
}

export function encodeResult(id: number, method: string, result: object): string {
  return `{"id":${id},${JSON.stringify(method)}:${JSON.stringify(result)}}`;
}

export function encodeError(id: number, err: { code: number; message: string; temporary?: boolean }): string {
  const e = err.temporary
    ? { code: err.code, message: err.message, temporary: true }
    : { code: err.code, message: err.message };
  return JSON.stringify({ id, error: e });
}

function push(channel: string, kind: string, body: object): string {
  return `{"push":{"channel":${JSON.stringify(channel)},${JSON.stringify(kind)}:${JSON.stringify(body)}}}`;
}

/**
 * The same bytes as push(channel, 'pub', wirePublication(pub)), written out directly: one push per
 * publication is the hot path when every channel has its own subscriber, and the intermediate
 * objects (wire publication, wire client info, the push wrapper) were most of its garbage.
 */
export function encodePublicationPush(pub: Publication): string {
  const data = JSON.stringify(pub.data ?? null);
  const info = pub.info ? clientInfoJson(pub.info) : '';
  // What an object drops or shows differently (a function as data, a missing position): the slow way.
  if (
    data === undefined ||
    info === undefined ||
    typeof pub.offset !== 'number' ||
    typeof pub.time !== 'number'
  )
    return push(pub.channel, 'pub', wirePublication(pub));
  return `{"push":{"channel":${JSON.stringify(pub.channel)},"pub":{"data":${data},"offset":${JSON.stringify(pub.offset)}${info && `,"info":${info}`},"time":${JSON.stringify(pub.time)}}}}`;
}

export function encodeJoinPush(channel: string, info: ClientInfo): string {
  return push(channel, 'join', { info: wireClientInfo(info) });
}

export function encodeLeavePush(channel: string, info: ClientInfo): string {
  return push(channel, 'leave', { info: wireClientInfo(info) });
}

/** Ends one subscription; a code of 2500 or more makes the SDK subscribe again (with recovery). */
export function encodeUnsubscribePush(channel: string, code: number, reason: string): string {
  return push(channel, 'unsubscribe', { code, reason });
}

export function encodeSubscribePush(channel: string, result: object): string {
  return push(channel, 'subscribe', result);
}

/**
 * The publication push as every subscriber of this format receives it: the hub encodes it once per
 * publication, as a complete WebSocket text frame, and the door writes the same bytes to each socket
 * (no per-subscriber UTF-8 conversion or frame header).
 */
export const centrifugeJsonFormat: FrameFormat<Buffer> = {
  name: 'centrifuge-json',
  encode: (pub) => textFrame(encodePublicationPush(pub)),
};
