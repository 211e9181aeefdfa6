// One held poll: a short-lived receiver of several channels. It answers with the first burst of
// publications (coalesced within one turn of the event loop), at its deadline, or at shutdown, and
// then lets go of everything: the cursor it returns is the client's whole state.
import type { FrameFormat, Publication, Subscriber } from '../../model/index.js';
import { type Cursor, encodeCursor } from '../../protocol/cursor.js';
import { publicationText } from '../../protocol/publication.js';

/** A publication's JSON text, made once and spliced into every waiting poller's answer. */
export const pollFormat: FrameFormat<string> = { name: 'poll', encode: publicationText };

export class Poller implements Subscriber<string> {
  readonly format = pollFormat;
  /** The answer's body, once there is one; a cancelled poller never settles. */
  readonly answered: Promise<string>;
  private settle!: (body: string) => void;
  private readonly frames: string[] = [];
  private bytes = 0;
  private scheduled = false;
  done = false;
  /** Answers at the deadline while held. */
  timer: NodeJS.Timeout | undefined;

  constructor(
    readonly channels: string[],
    public cursor: Cursor,
    /** Answer bytes beyond which the rest waits for the next poll (it stays in history). */
    private readonly maxBytes: number,
    /** Lets go of the poller's subscriptions and timer; one function shared by every poller. */
    private readonly release: (poller: Poller) => void,
  ) {
    this.answered = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  /** Publications in the answer so far. */
  get taken(): number {
    return this.frames.length;
  }

  /** Adds what history gave; the answer goes out when the caller says (no coalescing needed). */
  take(pub: Publication, frame: string): boolean {
    if (this.done) return false;
    if (this.frames.length > 0 && this.bytes + frame.length > this.maxBytes) return false;
    this.frames.push(frame);
    this.bytes += frame.length;
    this.cursor.set(pub.channel, { epoch: pub.epoch, offset: pub.offset });
    return true;
  }

  deliver(pub: Publication, frame: string): void {
    if (!this.take(pub, frame)) {
      this.answer();
      return;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      // Whatever else arrives in this turn (a burst, a broadcast) goes in the same answer.
      setImmediate(() => this.answer());
    }
  }

  /**
   * The stream skipped something live: answer now with what we have. Its cursor stops before the
   * hole, so the next poll reads the rest from history (or is told of the gap).
   */
  onInsufficientState(): void {
    this.answer();
  }

  /** Ends without an answer: the request failed and is answered as an error instead. */
  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.release(this);
  }

  answer(gaps: string[] = []): void {
    if (this.done) return;
    this.done = true;
    let body = `{"publications":[${this.frames.join(',')}],"cursor":"${encodeCursor(this.cursor)}"`;
    if (gaps.length > 0) body += `,"gap":${JSON.stringify(gaps)}`;
    this.release(this);
    this.settle(`${body}}`);
  }
}
