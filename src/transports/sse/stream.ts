// One SSE stream: a receiver of several channels that writes each publication's shared event bytes
// plus its `id:` (the cursor over all its channels), and ends itself when it cannot keep up.

import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Ticket } from '../../limits/connections.js';
import type { FrameFormat, Publication, Subscriber } from '../../model/index.js';
import { type Cursor, LiveCursor } from '../../protocol/cursor.js';
import { HEARTBEAT, idLine, publicationFrame, type SseFrame } from '../../protocol/sse.js';
import { writeCoalesced } from '../coalesce.js';
import type { DoorCounters } from '../door-stats.js';

export const sseFormat: FrameFormat<SseFrame> = { name: 'sse', encode: publicationFrame };

export type EndReason = 'client' | 'slow' | 'resync' | 'shutdown' | 'error';

export class SseStream implements Subscriber<SseFrame> {
  readonly format = sseFormat;
  /**
   * Where the client stands on every channel: what its next `id:` says. A one-channel stream
   * writes each publication's shared id instead, so it drops this after its opening id.
   */
  private cursor: LiveCursor | undefined;
  private solo = false;
  ended = false;
  /** Set once the response is a stream; a resync asked for before that ends it right after. */
  open = false;
  resyncPending = false;
  /** The tick of the last direct write, to spot a second event within the same tick. */
  lastTick = -1;
  /** Milliseconds the socket holds a publication before writing (the channel's writeDelay; 0 = none). */
  writeDelay = 0;
  /** The connection-limit ticket, released when the response closes. */
  ticket: Ticket | undefined;
  /** The response closed (set by the door's shared 'close' listener). */
  gone = false;

  constructor(
    readonly res: ServerResponse,
    private readonly maxBufferedBytes: number,
    private readonly onEnd: (stream: SseStream, reason: EndReason) => void,
    private readonly counters?: DoorCounters,
  ) {}

  /** Starts the stream's cursor at these positions (one per channel); returns its first token. */
  startAt(positions: Cursor): string {
    const cursor = new LiveCursor(positions);
    this.solo = positions.size === 1;
    if (!this.solo) this.cursor = cursor;
    return cursor.token();
  }

  deliver(pub: Publication, frame: SseFrame): void {
    if (this.ended || !this.roomFor()) return;
    if (this.solo && this.direct()) {
      writeCoalesced(this, this.res.socket as Socket, frame.soloChunk, this.writeDelay);
      this.counters?.sent(frame.soloChunk.length);
      return;
    }
    this.counters?.sent(frame.fields.length);
    this.res.cork();
    this.res.write(frame.fields);
    if (this.solo) this.res.write(frame.soloId);
    else {
      this.cursor ??= new LiveCursor();
      this.cursor.set(pub.channel, pub);
      this.res.write(idLine(this.cursor.token()));
    }
    process.nextTick(uncork, this.res);
  }

  /** Live delivery skipped something: end; the browser reconnects with its id and recovers. */
  onInsufficientState(): void {
    if (this.open) this.end('resync');
    else this.resyncPending = true;
  }

  beat(): void {
    if (!this.ended && this.roomFor()) this.res.write(HEARTBEAT);
  }

  write(text: string | Buffer): void {
    if (!this.ended && this.roomFor()) this.res.write(text);
  }

  /**
   * Whether the shared chunk may go straight to the socket: the response is chunked (HTTP/1.1) and
   * holds no output of its own (its writable length is all the socket's), so the bytes land in
   * order after what `res` wrote. A corked socket is fine: its buffer keeps the order too.
   */
  private direct(): boolean {
    const res = this.res as ServerResponse & { chunkedEncoding?: boolean };
    const socket = res.socket;
    return (
      res.chunkedEncoding === true &&
      res.headersSent &&
      socket !== null &&
      res.writableLength === socket.writableLength
    );
  }

  /** False (and the stream cut) once the client has let too much pile up. */
  private roomFor(): boolean {
    if (this.res.writableLength <= this.maxBufferedBytes) return true;
    this.end('slow');
    return false;
  }

  end(reason: EndReason): void {
    if (this.ended) return;
    this.ended = true;
    // A slow client would never drain a graceful end; after an error the last event may be
    // incomplete, and a clean end would pass it off as whole. Cut both.
    if (reason === 'slow' || reason === 'error') this.res.destroy();
    else this.res.end();
    this.onEnd(this, reason);
  }
}

function uncork(res: ServerResponse): void {
  res.uncork();
}
