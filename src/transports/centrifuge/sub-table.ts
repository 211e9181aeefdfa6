// A connection's subscriptions. Most connections hold one channel, so a subscription record is
// also the table of a connection holding only it: no map object beside it (idle memory, see
// docs/performance.md). A second subscription makes a Map; the table shrinks back to the record when
// one is left. The session keeps one field, replaced by what `with`/`without` return.
import type { Subscriber } from '../../model/index.js';

export interface SubTable {
  readonly size: number;
  get(channel: string): ChannelSub | undefined;
  has(channel: string): boolean;
  /** The table with this subscription added (replacing one of the same channel). */
  with(sub: ChannelSub): SubTable;
  /** The table without this channel. */
  without(channel: string): SubTable;
  [Symbol.iterator](): IterableIterator<[string, ChannelSub]>;
}

/** One subscription of a connection; its yes/no state in one small integer (idle memory). */
export class ChannelSub implements SubTable {
  private bits: number;

  constructor(
    readonly channel: string,
    joinLeave: boolean,
    server: boolean,
    /** Who the hub delivers to: the session itself, or its delta subscription for this channel. */
    readonly subscriber: Subscriber,
  ) {
    this.bits = (joinLeave ? JOIN_LEAVE : 0) | (server ? SERVER : 0);
  }

  get joinLeave(): boolean {
    return (this.bits & JOIN_LEAVE) !== 0;
  }

  /** Subscribed by the server (token claim, server API): the client cannot resubscribe it alone. */
  get server(): boolean {
    return (this.bits & SERVER) !== 0;
  }

  /** Whether this connection is in the channel's presence (and must leave it). */
  get present(): boolean {
    return (this.bits & PRESENT) !== 0;
  }
  set present(v: boolean) {
    this.bits = v ? this.bits | PRESENT : this.bits & ~PRESENT;
  }

  // ---- as the table of a connection holding this one subscription -------------------------------

  get size(): number {
    return 1;
  }

  get(channel: string): ChannelSub | undefined {
    return channel === this.channel ? this : undefined;
  }

  has(channel: string): boolean {
    return channel === this.channel;
  }

  with(sub: ChannelSub): SubTable {
    return sub.channel === this.channel ? sub : new ManySubs(this, sub);
  }

  without(channel: string): SubTable {
    return channel === this.channel ? NO_SUBS : this;
  }

  *[Symbol.iterator](): IterableIterator<[string, ChannelSub]> {
    yield [this.channel, this];
  }
}

const JOIN_LEAVE = 1;
const SERVER = 2;
const PRESENT = 4;

class ManySubs implements SubTable {
  private readonly map = new Map<string, ChannelSub>();

  constructor(first: ChannelSub, second: ChannelSub) {
    this.map.set(first.channel, first);
    this.map.set(second.channel, second);
  }

  get size(): number {
    return this.map.size;
  }

  get(channel: string): ChannelSub | undefined {
    return this.map.get(channel);
  }

  has(channel: string): boolean {
    return this.map.has(channel);
  }

  with(sub: ChannelSub): SubTable {
    this.map.set(sub.channel, sub);
    return this;
  }

  without(channel: string): SubTable {
    this.map.delete(channel);
    if (this.map.size !== 1) return this;
    const [only] = this.map.values();
    return only;
  }

  [Symbol.iterator](): IterableIterator<[string, ChannelSub]> {
    return this.map.entries();
  }
}

/** The table of a connection without subscriptions: one for all of them. */
export const NO_SUBS: SubTable = Object.freeze({
  size: 0,
  get: () => undefined,
  has: () => false,
  with: (sub: ChannelSub): SubTable => sub,
  without: (): SubTable => NO_SUBS,
  *[Symbol.iterator](): IterableIterator<[string, ChannelSub]> {},
});
