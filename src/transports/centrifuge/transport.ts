// The one seam between a channel-protocol session and the connection it runs on: a WebSocket, or
// one of the SDK's fallback transports (an HTTP stream or SSE for replies, /emulation requests for
// commands). The session decides what to say; the transport frames it and owns the bytes in flight.
import type { DisconnectDef } from '../../errors.js';
import type { FrameFormat } from '../../model/index.js';
import type { ClientCodec, Encoded } from '../../protocol/centrifuge/codec.js';

export interface SessionTransport {
  /** As the SDK names it: websocket, http_stream or sse. */
  readonly name: string;
  readonly codec: ClientCodec;
  /** How a publication looks on this transport: one frame per publication for all alike. */
  readonly format: FrameFormat<Buffer>;
  /** For the fallback transports: where the client sends its later commands (connect result). */
  readonly emulation?: { session: string; node: string };
  /** Whether replies can still be written. */
  readonly open: boolean;
  /** Writes one reply or push; a peer past `maxBufferedBytes` is disconnected as slow instead. */
  send(message: Encoded): void;
  /**
   * Writes a publication frame made by `format`, under the same bound; a socket may hold it up to
   * `delayMs` to write it with the next ones (the channel's writeDelay).
   */
  sendFrame(frame: Buffer, delayMs?: number): void;
  /** Ends the connection, telling the client why (close code, or a disconnect push). */
  close(d: DisconnectDef): void;
  /** Cuts the connection without a word, as a network failure would. */
  abort(): void;
  /** Stops taking commands in until resume(): the session is still working on earlier ones. */
  pause(): void;
  resume(): void;
  /** The session worked off everything read so far: read buffers may be let go of until more comes. */
  quiet?(): void;
}

/** What a transport tells its session. */
export interface TransportPeer {
  /** One client message (one or more commands). */
  receive(data: Buffer): void;
  /** The connection is gone, for whatever reason. */
  gone(): void;
  /** A message that breaks the framing (e.g. a binary WebSocket frame for JSON): ends the session. */
  violation(): void;
  /** The peer stopped reading: past `maxBufferedBytes` queued, it is disconnected as slow. */
  slow(): void;
  /** The connection failed (a socket or framing error); its close follows. */
  failed(err: Error): void;
}
