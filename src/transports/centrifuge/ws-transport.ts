// The channel protocol over a WebSocket: one reply or push per frame (text for JSON, binary for
// Protobuf), disconnects as close codes, and replies and publications as ready-made frames written
// straight to the socket, coalesced per socket per tick (see ../ws/frame-writer.ts).
import { WebSocket } from 'ws';
import type { DisconnectDef } from '../../errors.js';
import type { FrameFormat } from '../../model/index.js';
import type { ClientCodec, Encoded } from '../../protocol/centrifuge/codec.js';
import { binaryFrame, textFrame } from '../../protocol/ws-frame.js';
import { FrameTarget, writeFrame } from '../ws/frame-writer.js';
import type { SessionTransport, TransportPeer } from './transport.js';

/** A close frame can wait behind a full buffer: a peer that does not read is cut after this. */
const CLOSE_GRACE_MS = 1000;

export class WsTransport extends FrameTarget implements SessionTransport {
  readonly name = 'websocket';
  private slow: (() => void) | undefined;

  constructor(
    ws: WebSocket,
    readonly codec: ClientCodec,
    readonly format: FrameFormat<Buffer>,
    private readonly maxBufferedBytes: number,
  ) {
    super(ws);
  }

  /** Starts passing frames to the session; `onSlow` runs when the peer stops reading. */
  attach(peer: TransportPeer, onSlow: () => void, onError: (err: Error) => void): void {
    this.slow = onSlow;
    const binary = this.codec.name === 'protobuf';
    this.ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary !== binary) peer.violation();
      else peer.receive(data);
    });
    this.ws.on('error', onError);
    this.ws.once('close', () => peer.gone());
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(message: Encoded): void {
    if (!this.open) return;
    if (this.ws.bufferedAmount > this.maxBufferedBytes) {
      this.slow?.();
      return;
    }
    // Through the same per-socket coalescing as publication frames: the replies to a frame of many
    // commands leave in one write at the end of the tick instead of one write each.
    this.sendFrame(typeof message === 'string' ? textFrame(message) : binaryFrame(message));
  }

  sendFrame(frame: Buffer): void {
    writeFrame(this, frame, this.codec.name === 'protobuf', this.maxBufferedBytes, slowOf);
  }

  close(d: DisconnectDef): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(d.code, d.reason);
      setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
    }
  }

  abort(): void {
    this.ws.terminate();
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    if (this.ws.isPaused) this.ws.resume();
  }

  callSlow(): void {
    this.slow?.();
  }
}

const slowOf = (t: WsTransport) => t.callSlow();
