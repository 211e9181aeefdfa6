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

export function encodePublicationPush(pub: Publication): string {
  return push(pub.channel, 'pub', wirePublication(pub));
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
