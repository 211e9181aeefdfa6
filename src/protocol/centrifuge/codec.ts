// What a channel-protocol session needs from an encoding: commands in, replies and pushes out. The
// session speaks in protocol objects (snake_case, as the JSON encoding shows them); the codec makes
// the bytes. JSON and Protobuf are the two encodings of Centrifugo's client protocol.
import type { ClientInfo, Publication } from '../../model/index.js';
import { type Command, decodeFrame } from './commands.js';
import {
  encodeError,
  encodeJoinPush,
  encodeLeavePush,
  encodePublicationPush,
  encodeResult,
  encodeSubscribePush,
  encodeUnsubscribePush,
  PING,
  wireClientInfo,
  wirePublication,
} from './replies.js';

export type CodecName = 'json' | 'protobuf';

/** One encoded reply or push, without any transport framing. */
export type Encoded = string | Uint8Array;

export interface ClientCodec {
  readonly name: CodecName;
  /** Every command in one client message. Throws BAD_REQUEST on anything malformed. */
  decode(data: Buffer): Command[];
  result(id: number, method: string, result: object): Encoded;
  error(id: number, err: { code: number; message: string; temporary?: boolean }): Encoded;
  join(channel: string, info: ClientInfo): Encoded;
  leave(channel: string, info: ClientInfo): Encoded;
  unsubscribe(channel: string, code: number, reason: string): Encoded;
  /** A server-side subscription made after connect; `result` as a subscribe result shows it. */
  subscribe(channel: string, result: object): Encoded;
  /** A disconnect told in-band, where the transport has no close code (HTTP streams). */
  disconnect(code: number, reason: string, reconnect: boolean): Encoded;
  publication(pub: Publication): Encoded;
  /** A publication inside a result (recovery, history), in this encoding's field types. */
  wirePublication(pub: Publication): object;
  /** A client's info inside a result (presence). */
  wireClientInfo(info: ClientInfo): object;
  readonly ping: Encoded;
}

export const jsonCodec: ClientCodec = {
  name: 'json',
  decode: (data) => decodeFrame(data.toString('utf8')),
  result: encodeResult,
  error: encodeError,
  join: encodeJoinPush,
  leave: encodeLeavePush,
  unsubscribe: encodeUnsubscribePush,
  subscribe: encodeSubscribePush,
  disconnect: (code, reason, reconnect) =>
    JSON.stringify({ push: { disconnect: { code, reason, reconnect } } }),
  publication: encodePublicationPush,
  wirePublication,
  wireClientInfo,
  ping: PING,
};
