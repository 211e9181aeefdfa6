// A hub subscriber that records what it is handed: offsets delivered and channels told to resync.
import type { FrameFormat, Publication, Subscriber } from '../../src/model/index.js';

export const offsetFormat: FrameFormat<number> = { name: 'offset', encode: (p) => p.offset };

export class Recorder implements Subscriber<number> {
  readonly format = offsetFormat;
  readonly got: number[] = [];
  readonly gaps: string[] = [];
  deliver(_pub: Publication, frame: number): void {
    this.got.push(frame);
  }
  onInsufficientState(channel: string): void {
    this.gaps.push(channel);
  }
}
