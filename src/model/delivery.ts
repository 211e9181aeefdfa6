// How the hub hands publications to doors. A door owns sockets; the hub owns none, so it only knows
// a subscriber by these two shapes.
import type { ClientInfo, Publication } from './channel.js';

/**
 * How a door turns a publication into bytes for its wire. The hub calls `encode` at most once per
 * publication per format and hands the same result to every subscriber of that format.
 */
export interface FrameFormat<F = unknown> {
  readonly name: string;
  encode(pub: Publication): F;
}

/** A door's receiving end of one channel subscription. */
export interface Subscriber<F = unknown> {
  readonly format: FrameFormat<F>;
  deliver(pub: Publication, frame: F): void;
  onJoin?(channel: string, info: ClientInfo): void;
  onLeave?(channel: string, info: ClientInfo): void;
  /** Live delivery of this channel skipped publications: resynchronise from history. */
  onInsufficientState?(channel: string): void;
}
