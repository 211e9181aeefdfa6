// One SSE stream: a receiver of several channels that writes each publication's shared event bytes
// plus its own `id:` (the cursor over all its channels), and ends itself when it cannot keep up.
import type { ServerResponse } from 'node:http';
import type { FrameFormat, Subscriber } from '../../hub/hub.js';
import type { Publication } from '../../hub/types.js';
import { type Cursor, encodeCursor } from '../../protocol/cursor.js';
import { HEARTBEAT, idLine, publicationEvent } from '../../protocol/sse.js';

export const sseFormat: FrameFormat<Buffer> = { name: 'sse', encode: publicationEvent };

export type EndReason = 'client' | 'slow' | 'resync' | 'shutdown';

export class SseStream implements Subscriber<Buffer> {
  readonly format = sseFormat;
  /** Where the client stands on every channel: what its next `id:` says. */
  cursor: Cursor = new Map();
  ended = false;
  /** Set once the response is a stream; a resync asked for before that ends it right after. */
  open = false;
  resyncPending = false;

  constructor(
    readonly res: ServerResponse,
    private readonly maxBufferedBytes: number,
    private readonly onEnd: (stream: SseStream, reason: EndReason) => void,
  ) {}

  deliver(pub: Publication, frame: Buffer): void {
    if (this.ended || !this.roomFor()) return;
    this.cursor.set(pub.channel, { epoch: pub.epoch, offset: pub.offset });
    this.res.cork();
    this.res.write(frame);
    this.res.write(idLine(encodeCursor(this.cursor)));
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

  /** False (and the stream cut) once the client has let too much pile up. */
  private roomFor(): boolean {
    if (this.res.writableLength <= this.maxBufferedBytes) return true;
    this.end('slow');
    return false;
  }

  end(reason: EndReason): void {
    if (this.ended) return;
    this.ended = true;
    // A slow client would never drain a graceful end; cut it.
    if (reason === 'slow') this.res.destroy();
    else this.res.end();
    this.onEnd(this, reason);
  }
}

function uncork(res: ServerResponse): void {
  res.uncork();
}
