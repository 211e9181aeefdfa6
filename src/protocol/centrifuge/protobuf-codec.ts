// The Protobuf encoding of the client protocol (subprotocol `centrifuge-protobuf`, binary
// http_stream): every command and reply is length-delimited, several may share one message.
// Payloads are raw bytes: a publication reaches Protobuf clients as the bytes it entered with (MQTT,
// binary /chat), anything else as its UTF-8 text or JSON (see protocol/payload.ts), and what a
// Protobuf client publishes keeps its bytes for them.
import protobuf from 'protobufjs';
import { HeraldError } from '../../errors.js';
import type { ClientInfo, FrameFormat, Publication } from '../../model/index.js';
import { toBytes } from '../payload.js';
import { OPCODE_BINARY, prefixedFrame } from '../ws-frame.js';
import { CLIENT_PROTO } from './client-proto.js';
import type { ClientCodec } from './codec.js';
import { type Command, decodeCommand } from './commands.js';
import type { EmulationRequestBody } from './stream-formats.js';

// keepCase: the session speaks snake_case field names, as the JSON encoding shows them.
const root = protobuf.parse(CLIENT_PROTO, { keepCase: true }).root;
const type = (name: string) => root.lookupType(`centrifugal.centrifuge.protocol.${name}`);
const CommandType = type('Command');
const ReplyType = type('Reply');
const EmulationRequestType = type('EmulationRequest');

const bad = (detail: string) => new HeraldError('BAD_REQUEST', detail);

/** JSON-valued info (connection info from a token) travels as its JSON bytes. */
function jsonBytes(v: unknown): Uint8Array | undefined {
  return v === undefined ? undefined : Buffer.from(JSON.stringify(v) ?? 'null', 'utf8');
}

export function protobufClientInfo(info: ClientInfo): object {
  const w: Record<string, unknown> = { client: info.client, user: info.user };
  if (info.connInfo !== undefined) w.conn_info = jsonBytes(info.connInfo);
  if (info.chanInfo !== undefined) w.chan_info = jsonBytes(info.chanInfo);
  return w;
}

export function protobufPublication(pub: Publication): object {
  const w: Record<string, unknown> = { data: toBytes(pub), offset: pub.offset, time: pub.time };
  if (pub.info) w.info = protobufClientInfo(pub.info);
  return w;
}

function encodeReply(reply: object): Uint8Array {
  return ReplyType.encodeDelimited(ReplyType.fromObject(reply)).finish();
}

const push = (channel: string, body: object) => encodeReply({ push: { channel, ...body } });

/** A publication push from its wire form (which a delta subscriber's data replaces). */
export const protobufPublicationPush = (channel: string, pub: object): Uint8Array => push(channel, { pub });

function decodeCommands(data: Buffer): Command[] {
  const out: Command[] = [];
  const reader = protobuf.Reader.create(data);
  while (reader.pos < reader.len) {
    let message: protobuf.Message;
    try {
      message = CommandType.decodeDelimited(reader);
    } catch {
      throw bad('malformed protobuf command');
    }
    // Bytes stay bytes (publish data), uint64 offsets become numbers as in JSON.
    out.push(decodeCommand(CommandType.toObject(message, { longs: Number })));
  }
  if (out.length === 0) throw bad('empty message');
  return out;
}

export const protobufCodec: ClientCodec = {
  name: 'protobuf',
  decode: decodeCommands,
  result: (id, method, result) => encodeReply({ id, [method]: result }),
  error: (id, err) =>
    encodeReply({
      id,
      error: { code: err.code, message: err.message, ...(err.temporary ? { temporary: true } : {}) },
    }),
  join: (channel, info) => push(channel, { join: { info: protobufClientInfo(info) } }),
  leave: (channel, info) => push(channel, { leave: { info: protobufClientInfo(info) } }),
  unsubscribe: (channel, code, reason) => push(channel, { unsubscribe: { code, reason } }),
  subscribe: (channel, result) => push(channel, { subscribe: result }),
  disconnect: (code, reason, reconnect) => push('', { disconnect: { code, reason, reconnect } }),
  publication: (pub) => push(pub.channel, { pub: protobufPublication(pub) }),
  wirePublication: protobufPublication,
  wireClientInfo: protobufClientInfo,
  // An empty reply, length-delimited: the client answers with an empty command.
  ping: Uint8Array.of(0),
};

const EMPTY = Buffer.alloc(0);

/** One binary WebSocket frame per publication, the same bytes for every Protobuf subscriber. */
export const centrifugeProtobufFormat: FrameFormat<Buffer> = {
  name: 'centrifuge-protobuf',
  encode: (pub) => prefixedFrame(OPCODE_BINARY, EMPTY, protobufCodec.publication(pub) as Uint8Array),
};

/** The same reply on an http_stream: length-delimited already, so written as is. */
export const centrifugeProtobufStreamFormat: FrameFormat<Buffer> = {
  name: 'centrifuge-protobuf-stream',
  encode: (pub) => Buffer.from(protobufCodec.publication(pub) as Uint8Array),
};

/** A Protobuf /emulation body: the session, its node, and the client's commands. */
export function decodeProtobufEmulation(body: Buffer): EmulationRequestBody {
  let o: { session?: string; node?: string; data?: Uint8Array };
  try {
    o = EmulationRequestType.toObject(EmulationRequestType.decode(body)) as typeof o;
  } catch {
    throw bad('malformed protobuf emulation request');
  }
  if (!o.session || !o.data) throw bad('session and data are required');
  return { session: o.session, node: o.node ?? '', data: Buffer.from(o.data) };
}
