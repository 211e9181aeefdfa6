// How replies and publications are framed on the SDK's fallback transports. HTTP streaming carries
// newline-delimited JSON (Protobuf replies are length-delimited already, see the codec); SSE carries
// one `data:` event per reply. Each publication format is one object, so the hub encodes a
// publication once per format and every stream of that format writes the same bytes.
import type { FrameFormat } from '../../model/index.js';
import type { Encoded } from './codec.js';
import { encodePublicationPush } from './replies.js';

/** One /emulation request: commands for a session, on the node that holds it. */
export interface EmulationRequestBody {
  session: string;
  node: string;
  data: Buffer;
}

export function streamFrame(message: Encoded): Buffer {
  if (typeof message === 'string') return Buffer.from(`${message}\n`, 'utf8');
  return Buffer.from(message.buffer, message.byteOffset, message.byteLength);
}

/** JSON never holds a raw newline (JSON.stringify escapes them), so one `data:` line suffices. */
export function sseFrame(message: Encoded): Buffer {
  const text = typeof message === 'string' ? message : Buffer.from(message).toString('utf8');
  return Buffer.from(`data: ${text}\n\n`, 'utf8');
}

export const centrifugeJsonStreamFormat: FrameFormat<Buffer> = {
  name: 'centrifuge-json-stream',
  encode: (pub) => streamFrame(encodePublicationPush(pub)),
};

export const centrifugeSseFormat: FrameFormat<Buffer> = {
  name: 'centrifuge-sse',
  encode: (pub) => sseFrame(encodePublicationPush(pub)),
};
