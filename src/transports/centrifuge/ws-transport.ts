// The channel protocol over a WebSocket: one reply or push per frame (text for JSON, binary for
// Protobuf), disconnects as close codes, and replies and publications as ready-made frames written
// straight to the socket, coalesced per socket per tick (see ../ws/frame-writer.ts).
import { WebSocket } from 'ws';
import type { DisconnectDef } from '../../errors.js';
import type { FrameFormat } from '../../model/index.js';
import type { ClientCodec, Encoded } from '../../protocol/centrifuge/codec.js';
import { binaryFrame, textFrame } from '../../protocol/ws-frame.js';
import { FrameTarget, writeFrame } from '../ws/frame-writer.js';
import { ownerOf, releaseReceiverSoon, setOwner, takeTicket } from '../ws/idle-receiver.js';
import { answerPing } from '../ws/pings.js';
import { compactConnectionEvents, releaseReceiverBuffers, shareEmptyExtensions } from '../ws/ws-internals.js';
import type { SessionTransport, TransportPeer } from './transport.js';

/** A close frame can wait behind a full buffer: a peer that does not read is cut after this. */
const CLOSE_GRACE_MS = 1000;

/**
 * The transport of each socket. The socket's listeners are shared by every connection and find
 * their transport on the socket (ownerOf), rather than three closures made per connection (idle
 * memory, see docs/performance.md).
 */
const transportOf = (ws: WebSocket) => ownerOf<WsTransport>(ws);

function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  const t = transportOf(this);
  if (t?.peer === undefined) return;
  releaseReceiverSoon(this);
  if (isBinary !== t.binary) t.peer.violation();
  else t.peer.receive(data);
}

function onError(this: WebSocket, err: Error): void {
  transportOf(this)?.peer?.failed(err);
}

function onPing(this: WebSocket, data: Buffer): void {
  const t = transportOf(this);
  if (t === undefined) return;
  answerPing(this, data, t.encoding.maxBufferedBytes, () => t.peer?.slow());
  releaseReceiverSoon(this);
}

function onClose(this: WebSocket): void {
  const t = transportOf(this);
  setOwner(this, undefined);
  takeTicket(this)?.release();
  t?.peer?.gone();
}

/** What every connection of one encoding shares: one object per door and encoding. */
export interface WsEncoding {
  readonly codec: ClientCodec;
  readonly format: FrameFormat<Buffer>;
  readonly maxBufferedBytes: number;
}

export class WsTransport extends FrameTarget implements SessionTransport {
  peer: TransportPeer | undefined;

  constructor(
    ws: WebSocket,
    readonly encoding: WsEncoding,
  ) {
    super(ws);
  }

  get name(): string {
    return 'websocket';
  }

  get codec(): ClientCodec {
    return this.encoding.codec;
  }

  get format(): FrameFormat<Buffer> {
    return this.encoding.format;
  }

  private get maxBufferedBytes(): number {
    return this.encoding.maxBufferedBytes;
  }

  /** Starts passing frames to the session. */
  attach(peer: TransportPeer): void {
    this.peer = peer;
    setOwner(this.ws, this);
    this.ws.on('message', onMessage);
    this.ws.on('error', onError);
    this.ws.on('close', onClose);
    this.ws.on('ping', onPing);
    // The connection's listeners are all on (see compact-events.ts).
    compactConnectionEvents(this.ws);
    shareEmptyExtensions(this.ws);
    releaseReceiverSoon(this.ws);
  }

  /** Whether frames are binary (Protobuf) rather than text (JSON). */
  get binary(): boolean {
    return this.encoding.codec.name === 'protobuf';
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(message: Encoded): void {
    if (!this.open) return;
    if (this.ws.bufferedAmount > this.maxBufferedBytes) {
      this.peer?.slow();
      return;
    }
    // Through the same per-socket coalescing as publication frames: the replies to a frame of many
    // commands leave in one write at the end of the tick instead of one write each.
    this.sendFrame(typeof message === 'string' ? textFrame(message) : binaryFrame(message));
  }

  sendFrame(frame: Buffer, delayMs = 0): void {
    writeFrame(this, frame, this.binary, this.maxBufferedBytes, slowOf, delayMs);
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

  quiet(): void {
    releaseReceiverBuffers(this.ws);
  }
}

const slowOf = (t: WsTransport) => t.peer?.slow();
