// The hub's receiving end of one subscription that negotiated Fossil deltas. The hub groups
// subscribers by format, so this one names the delta format of its session's wire and forwards
// the rest to the session. It picks, per publication, the shared delta frame or the shared full
// one: a delta only when this client's decoder holds exactly the publication the delta builds on
// (the one before it), so a late joiner, a recovery or a skipped encode all get a full one first.
import type { ClientInfo, FrameFormat, Publication, Subscriber } from '../../model/index.js';
import type { DeltaFrame } from '../../protocol/centrifuge/delta-formats.js';
import type { SessionBase } from './session-base.js';

export class DeltaSubscription implements Subscriber<DeltaFrame> {
  /** The publication the client holds as its delta base ('' : none yet). */
  private epoch = '';
  private offset = 0;

  constructor(
    readonly format: FrameFormat<DeltaFrame>,
    private readonly session: SessionBase,
  ) {}

  /** The client received this publication whole (in a subscribe result). */
  holds(pub: Publication): void {
    this.epoch = pub.epoch;
    this.offset = pub.offset;
  }

  deliver(pub: Publication, frame: DeltaFrame): void {
    const follows = this.epoch !== '' && pub.epoch === this.epoch && pub.offset === this.offset + 1;
    this.holds(pub);
    this.session.deliver(pub, follows && frame.delta ? frame.delta : frame.full);
  }

  onJoin(channel: string, info: ClientInfo): void {
    this.session.onJoin(channel, info);
  }

  onLeave(channel: string, info: ClientInfo): void {
    this.session.onLeave(channel, info);
  }

  onInsufficientState(channel: string): void {
    this.session.onInsufficientState(channel);
  }
}
