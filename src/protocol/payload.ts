// The one mapping between payload bytes (MQTT, binary WebSocket frames) and the JSON view that web
// doors carry. Documented in docs/mqtt.md. Byte-oriented doors always get the original bytes back.
import type { Publication, PublishRequest } from '../model/index.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The JSON form of bytes that are not UTF-8 text. */
export interface BinaryView {
  $binary: string;
}

/** Bytes as a publication: UTF-8 JSON -> that JSON; other UTF-8 -> a string; else {$binary: base64}. */
export function fromBytes(bytes: Uint8Array, markBinary = false): PublishRequest {
  let text: string | undefined;
  try {
    text = utf8.decode(bytes);
  } catch {
    return {
      data: { $binary: Buffer.from(bytes).toString('base64') } satisfies BinaryView,
      bytes,
      binary: true,
    };
  }
  let data: unknown = text;
  if (looksLikeJson(text)) {
    try {
      data = JSON.parse(text);
    } catch {
      // plain text after all
    }
  }
  return markBinary ? { data, bytes, binary: true } : { data, bytes };
}

/** A text message (e.g. a /chat text frame) as a publication: the string itself is the data. */
export function fromText(text: string): PublishRequest {
  return { data: text };
}

/** What a byte-oriented subscriber receives: the original bytes, a string as UTF-8, else JSON. */
export function toBytes(pub: Pick<Publication, 'data' | 'bytes'>): Buffer {
  if (pub.bytes !== undefined)
    return Buffer.from(pub.bytes.buffer, pub.bytes.byteOffset, pub.bytes.byteLength);
  if (typeof pub.data === 'string') return Buffer.from(pub.data, 'utf8');
  return Buffer.from(JSON.stringify(pub.data) ?? 'null', 'utf8');
}

/** What a text-oriented subscriber shows: a string as itself, anything else as JSON text. */
export function toText(data: unknown): string {
  return typeof data === 'string' ? data : (JSON.stringify(data) ?? 'null');
}

function looksLikeJson(text: string): boolean {
  const c = text.trimStart()[0];
  return (
    c === '{' ||
    c === '[' ||
    c === '"' ||
    c === '-' ||
    (c >= '0' && c <= '9') ||
    c === 't' ||
    c === 'f' ||
    c === 'n'
  );
}
