// Server-Sent Events framing (WHATWG HTML, "Server-sent events"). Pure: builds the bytes, sends
// nothing. A publication's event is encoded once and shared; each stream appends its own `id:`.
import type { Publication } from '../model/index.js';
import { encodeCursor } from './cursor.js';
import { publicationText } from './publication.js';

const LINE_BREAK = /\r\n|\r|\n/;

/** `data:` lines for a text: one per line, since a raw line break would end the field. */
export function dataLines(text: string): string {
  let out = '';
  for (const line of text.split(LINE_BREAK)) out += `data: ${line}\n`;
  return out;
}

/**
 * The fields of one event without its terminating blank line, so a stream can add `id:` and end it.
 * `message` is the default event type, so it needs no `event:` line.
 */
export function eventFields(event: string, data: string): string {
  return event === 'message' ? dataLines(data) : `event: ${event}\n${dataLines(data)}`;
}

/** A publication's `message` event, made once per publication and shared by every stream. */
export interface SseFrame {
  /** The event's fields, without id and terminating blank line. */
  fields: Buffer;
  /**
   * The id line for a stream of this one channel: its cursor depends only on the publication, so
   * single-channel streams (the common case) add nothing of their own.
   */
  soloId: Buffer;
  /**
   * The whole event for a single-channel stream as one HTTP/1.1 chunk (size line, event, CRLF), so
   * such a stream writes one shared buffer straight to its socket.
   */
  soloChunk: Buffer;
}

export function publicationFrame(pub: Publication): SseFrame {
  const fields = eventFields('message', publicationText(pub));
  const id = idLine(encodeCursor(new Map([[pub.channel, pub]])));
  const length = Buffer.byteLength(fields) + id.length; // the id line is ASCII (base64url)
  return {
    fields: Buffer.from(fields),
    soloId: Buffer.from(id),
    soloChunk: Buffer.from(`${length.toString(16)}\r\n${fields}${id}\r\n`),
  };
}

/** Ends an event with this stream's cursor as its id (the value browsers send back as Last-Event-ID). */
export function idLine(id: string): string {
  // An id with CR, LF or NUL would be split or ignored by the browser; cursors are base64url.
  return `id: ${id}\n\n`;
}

export const retryLine = (ms: number) => `retry: ${Math.max(0, Math.floor(ms))}\n\n`;

/** A comment line: ignored by clients, keeps proxies and the browser from timing the stream out. */
export const HEARTBEAT = ':\n\n';
