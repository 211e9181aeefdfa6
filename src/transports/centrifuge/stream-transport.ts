// The channel protocol over one long HTTP response (the SDK's http_stream and sse transports):
// replies and pushes stream down it, commands arrive as separate /emulation requests. There is no
// close code on HTTP, so a disconnect is told in-band as a disconnect push before the stream ends.
import type { ServerResponse } from 'node:http';
import { type DisconnectDef, HeraldError } from '../../errors.js';
import type { FrameFormat } from '../../model/index.js';
import type { ClientCodec, Encoded } from '../../protocol/centrifuge/codec.js';
import type { SessionTransport, TransportPeer } from './transport.js';

export class StreamTransport implements SessionTransport {
  private peer: TransportPeer | undefined;
  private ended = false;
  private paused = false;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly name: 'http_stream' | 'sse',
    private readonly res: ServerResponse,
    readonly codec: ClientCodec,
    readonly format: FrameFormat<Buffer>,
    private readonly frame: (message: Encoded) => Buffer,
    private readonly maxBufferedBytes: number,
    /** /emulation requests held while the session is busy; past it they are refused. */
    private readonly maxPending: number,
    readonly emulation: { session: string; node: string },
  ) {}

  attach(peer: TransportPeer): void {
    this.peer = peer;
    this.res.once('close', () => {
      this.ended = true;
      this.release();
      peer.gone();
    });
  }

  get open(): boolean {
    return !this.ended && !this.res.destroyed;
  }

  /**
   * Commands from an /emulation request. While the session is busy they wait here, before its
   * queue, a bounded number of requests at a time: a client firing many requests at once is told
   * 429 rather than growing the session's queue without bound.
   */
  async receive(data: Buffer): Promise<void> {
    if (!this.open) return;
    if (this.paused) {
      if (this.waiting.length >= this.maxPending) {
        throw new HeraldError('TOO_MANY_REQUESTS', `more than ${this.maxPending} commands requests waiting`);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      if (!this.open) return;
    }
    this.peer?.receive(data);
  }

  send(message: Encoded): void {
    this.write(this.frame(message));
  }

  sendFrame(frame: Buffer): void {
    this.write(frame);
  }

  private write(bytes: Buffer): void {
    if (!this.open) return;
    if (this.res.writableLength > this.maxBufferedBytes) {
      this.peer?.slow();
      return;
    }
    this.res.write(bytes);
  }

  close(d: DisconnectDef): void {
    if (!this.open) return;
    // The push may wait behind a full buffer; the end is what matters, and destroy() follows.
    if (this.res.writableLength <= this.maxBufferedBytes) {
      this.res.write(this.frame(this.codec.disconnect(d.code, d.reason, d.reconnect)));
    }
    this.ended = true;
    this.res.end();
    setTimeout(() => this.res.destroy(), 1000).unref();
  }

  abort(): void {
    this.res.destroy();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.release();
  }

  private release(): void {
    for (const w of this.waiting.splice(0)) w();
  }
}
