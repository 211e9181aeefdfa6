// Per-connection rates of a client that sends commands: every command, and publishes on their own.
// Buckets are made on first use: most connections are idle and must stay small.
import { TokenBucket } from './token-bucket.js';

export interface RateOptions {
  /** Per second; 0 = no limit. */
  rate: number;
  burst: number;
}

export type Verdict = 'ok' | 'refuse' | 'disconnect';

export class CommandRate {
  private commands: TokenBucket | undefined;
  private publishes: TokenBucket | undefined;
  /** Refusals since the last accepted command. */
  private refusedInARow = 0;

  constructor(
    private readonly command: RateOptions,
    private readonly publish: RateOptions,
  ) {}

  /**
   * Whether to run a command. A client that keeps sending after being refused more times in a row
   * than its command burst is not backing off: it is disconnected rather than answered forever.
   */
  check(isPublish: boolean): Verdict {
    const ok = this.takeCommand() && (!isPublish || this.takePublish());
    if (ok) {
      this.refusedInARow = 0;
      return 'ok';
    }
    this.refusedInARow++;
    return this.refusedInARow > Math.max(1, this.command.burst) ? 'disconnect' : 'refuse';
  }

  private takeCommand(): boolean {
    if (this.command.rate <= 0) return true;
    this.commands ??= new TokenBucket(this.command.rate, Math.max(1, this.command.burst));
    return this.commands.take();
  }

  private takePublish(): boolean {
    if (this.publish.rate <= 0) return true;
    this.publishes ??= new TokenBucket(this.publish.rate, Math.max(1, this.publish.burst));
    return this.publishes.take();
  }
}

/** With both rates off a CommandRate never refuses and keeps no state: one serves everyone. */
const UNLIMITED = new CommandRate({ rate: 0, burst: 1 }, { rate: 0, burst: 1 });

/** The rates of one connection: its own buckets, or the shared unlimited one (idle memory). */
export function commandRate(command: RateOptions, publish: RateOptions): CommandRate {
  return command.rate <= 0 && publish.rate <= 0 ? UNLIMITED : new CommandRate(command, publish);
}

/** Just the publish rate, for doors whose only command is a publish (/chat, MQTT). */
export function publishBucket(o: RateOptions): TokenBucket | undefined {
  return o.rate > 0 ? new TokenBucket(o.rate, Math.max(1, o.burst)) : undefined;
}
