// How publications travel through Redis: as a Pub/Sub message on the bus and as a Stream entry in
// history. Pure: no connections. The payload part ("body") is encoded once by the publishing node and
// stored and broadcast unchanged by the publish script, which only prefixes the position it assigned.
//
// body    = header JSON [ "\n" raw bytes ]   (JSON.stringify never emits a raw newline, so the first
//           "\n" ends the header; the raw bytes after it are kept byte-exact, never re-encoded)
// header  = {"d": data, "i"?: ClientInfo, "b"?: 1 (binary), "q"?: MQTT QoS 0|1|2, "r"?: 1 (MQTT retain),
//            "m"?: MessageProperties (MQTT 5)}
//           ("q" absent = the publisher set no QoS; 0 is kept as 0, never read as absent)
// bus     = "p" offset ":" epoch ":" time ":" body   (a publication)
//         | "j" ClientInfo JSON | "l" ClientInfo JSON   (join / leave)
// stream  = entry id "<offset>-0", fields t = time (ms), d = body; the epoch lives in the meta hash.
import {
  buildPublication,
  type ClientInfo,
  type MessageProperties,
  type Publication,
  type PublicationPayload,
  type PublishRequest,
} from '../../model/index.js';

const NL = 0x0a;
const COLON = 0x3a;

interface Header {
  d?: unknown;
  i?: ClientInfo;
  b?: 1;
  q?: 0 | 1 | 2;
  r?: 1;
  m?: MessageProperties;
}

/**
 * The body as Redis stores it. Without raw bytes it is the header's JSON text, left a string: the
 * Redis client then writes the whole command as one string (UTF-8 on the socket, the same bytes)
 * instead of copying a Buffer per publication into a second one.
 */
export function encodeBody(req: PublishRequest): string | Buffer {
  const header: Header = { d: req.data };
  if (req.info !== undefined) header.i = req.info;
  if (req.binary) header.b = 1;
  if (req.qos !== undefined) header.q = req.qos;
  if (req.retain) header.r = 1;
  if (req.props !== undefined) header.m = req.props;
  const json = JSON.stringify(header);
  if (req.bytes === undefined) return json;
  const bytes = Buffer.from(req.bytes.buffer, req.bytes.byteOffset, req.bytes.byteLength);
  return Buffer.concat([Buffer.from(json, 'utf8'), Buffer.from([NL]), bytes]);
}

/** The payload part of a publication from its body; fields the publisher did not set stay absent. */
export function decodeBody(body: Buffer): PublicationPayload {
  const nl = body.indexOf(NL);
  const header = JSON.parse(body.toString('utf8', 0, nl === -1 ? body.length : nl)) as Header;
  const out: PublicationPayload = { data: header.d };
  // A copy: the reply buffer may be a slice of a larger one that must not stay pinned.
  if (nl !== -1) out.bytes = new Uint8Array(body.subarray(nl + 1));
  if (header.b === 1) out.binary = true;
  if (header.i !== undefined) out.info = header.i;
  if (header.q === 0 || header.q === 1 || header.q === 2) out.qos = header.q;
  if (header.r === 1) out.retain = true;
  if (header.m !== undefined && typeof header.m === 'object' && header.m !== null) out.props = header.m;
  return out;
}

export type BusMessage =
  | { kind: 'pub'; offset: number; epoch: string; time: number; body: Buffer }
  | { kind: 'join' | 'leave'; info: ClientInfo };

export function encodePresenceEvent(kind: 'join' | 'leave', info: ClientInfo): string {
  return (kind === 'join' ? 'j' : 'l') + JSON.stringify(info);
}

/** Parses a bus message; throws on anything that is not one (the caller logs and drops it). */
export function decodeBusMessage(msg: Buffer): BusMessage {
  const kind = msg[0];
  if (kind === 0x70 /* p */) {
    const a = msg.indexOf(COLON, 1);
    const b = a === -1 ? -1 : msg.indexOf(COLON, a + 1);
    const c = b === -1 ? -1 : msg.indexOf(COLON, b + 1);
    if (c === -1) throw new Error('malformed publication on the bus');
    return {
      kind: 'pub',
      offset: Number(msg.toString('latin1', 1, a)),
      epoch: msg.toString('latin1', a + 1, b),
      time: Number(msg.toString('latin1', b + 1, c)),
      body: msg.subarray(c + 1),
    };
  }
  if (kind === 0x6a /* j */ || kind === 0x6c /* l */) {
    return {
      kind: kind === 0x6a ? 'join' : 'leave',
      info: JSON.parse(msg.toString('utf8', 1)) as ClientInfo,
    };
  }
  throw new Error(`unknown bus message kind ${kind}`);
}

export function publicationFrom(
  channel: string,
  offset: number,
  epoch: string,
  time: number,
  body: Buffer,
): Publication {
  return buildPublication(channel, decodeBody(body), offset, epoch, time);
}

/** Stream entry fields as Redis returns them ([name, value, ...]) to (time, body). */
export function entryFields(fields: Buffer[]): { time: number; body: Buffer } {
  let time = 0;
  let body: Buffer | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i].toString('latin1');
    if (name === 't') time = Number(fields[i + 1].toString('latin1'));
    else if (name === 'd') body = fields[i + 1];
  }
  if (body === undefined) throw new Error('history entry without a body');
  return { time, body };
}

/** "<offset>-0" to offset. */
export function entryOffset(id: Buffer): number {
  const s = id.toString('latin1');
  const dash = s.indexOf('-');
  return Number(dash === -1 ? s : s.slice(0, dash));
}
