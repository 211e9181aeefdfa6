// A complete server-to-client WebSocket frame (RFC 6455 §5.2: FIN set, unmasked, no extension bits),
// built once so fan-out can write the same bytes to every socket. Pure: no sockets.

export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;

/** Header length for a payload of `length` bytes. */
export function frameHeaderLength(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

/** Writes the header into `buf` at 0 and returns its length. */
function writeHeader(buf: Buffer, opcode: number, length: number): number {
  buf[0] = 0x80 | opcode;
  if (length < 126) {
    buf[1] = length;
    return 2;
  }
  if (length < 65536) {
    buf[1] = 126;
    buf.writeUInt16BE(length, 2);
    return 4;
  }
  buf[1] = 127;
  buf.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  buf.writeUInt32BE(length >>> 0, 6);
  return 10;
}

/** The frame carrying `text` (UTF-8) as one text message. */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text, 'utf8');
  const buf = Buffer.allocUnsafe(frameHeaderLength(length) + length);
  buf.write(text, writeHeader(buf, OPCODE_TEXT, length), 'utf8');
  return buf;
}

/** The frame carrying `prefix` followed by `bytes` as one message (one copy, no string decoding). */
export function prefixedFrame(opcode: number, prefix: Buffer, bytes: Uint8Array): Buffer {
  const length = prefix.length + bytes.length;
  const buf = Buffer.allocUnsafe(frameHeaderLength(length) + length);
  const at = writeHeader(buf, opcode, length);
  prefix.copy(buf, at);
  buf.set(bytes, at + prefix.length);
  return buf;
}

/** The frame carrying `bytes` as one binary message. */
export function binaryFrame(bytes: Uint8Array): Buffer {
  return prefixedFrame(OPCODE_BINARY, EMPTY, bytes);
}

const EMPTY = Buffer.alloc(0);

/** The payload part of a frame made here (a view, not a copy). */
export function framePayload(frame: Buffer): Buffer {
  const len7 = frame[1] & 0x7f;
  return frame.subarray(len7 < 126 ? 2 : len7 === 126 ? 4 : 10);
}
