// The channel registry: who on this node is subscribed to which channel, the subscribe-then-read
// handshake that makes recovery exact, gap detection on live delivery, and fan-out (the hot path).
import { HeraldError, toHeraldError } from '../errors.js';
import type {
  ClientInfo,
  Engine,
  FrameFormat,
  HistoryQuery,
  Logger,
  Publication,
  StreamLimits,
  StreamPosition,
  Subscriber,
} from '../model/index.js';
import { leaveGroup } from './groups.js';
import { isCompleteRecovery, isCutAtLimit } from './recovery.js';

export interface SubscribeOptions {
  /** Resume after this position. Without it the subscription starts at the stream's current top. */
  since?: StreamPosition;
  /** Read at most this many publications for the resume (the oldest after `since`). */
  limit?: number;
}

export interface SubscribeResult {
  /** The stream's position when the subscription started; live delivery continues after it. */
  position: StreamPosition;
  /**
   * With `since`: the publications after it that history still has, oldest first (from the start of
   * the current epoch when the epoch changed). Without `since`: empty.
   */
  publications: Publication[];
  /** True when `publications` are exactly everything after `since`: no gap, same epoch. */
  recovered: boolean;
  /**
   * The resume stopped at `limit`: `publications` do not reach the top (so `recovered` is false);
   * resuming again from the last of them reads the next part.
   */
  truncated: boolean;
  /**
   * Something before `publications` is lost for good: another epoch, or history no longer reaches
   * back to `since`. (A resume that is only cut at the limit is not a gap.)
   */
  gap: boolean;
  /**
   * Starts live delivery. Publications that arrived while the door was sending the result are
   * delivered now, after the result, de-duplicated by offset. Call it once the result is sent.
   */
  start(): void;
}

class Subscription {
  /** Publications held back until start(): non-null while the subscribe result is being prepared. */
  buffer: Publication[] | null = [];
  /**
   * What follows cannot be given exactly (the buffer hit its bound, or the engine lost deliveries
   * meanwhile): the subscriber must resync once its result is sent.
   */
  lost = false;
  /** Told to resync and not yet gone: live delivery stops, it recovers from history instead. */
  stale = false;
  /**
   * Where the subscribe result left the subscriber (0: nothing to skip). History is read on another
   * connection than the bus, so it can be ahead of live delivery: publications up to here already
   * went out with the result and must not go out again when the bus catches up.
   */
  through = 0;
  throughEpoch = '';
  constructor(readonly subscriber: Subscriber) {}
}

interface ChannelState {
  readonly name: string;
  /** Subscriptions grouped by wire format, so each publication is encoded once per format. */
  readonly groups: Map<FrameFormat, Map<Subscriber, Subscription>>;
  size: number;
  /** Resolves when the engine delivers this channel to this node. */
  ready: Promise<void>;
  /** The last publication dispatched ('' / 0: none yet, or forgotten after a resync). */
  epoch: string;
  lastOffset: number;
}

export interface ChannelRegistryDeps {
  engine: Engine;
  limits(channel: string): StreamLimits;
  maxSubscribeBuffer: number;
  resyncSpread: number;
  /** A channel's subscription count on this node changed. */
  countChanged(channel: string, delta: number): void;
  log?: Logger;
}

export class ChannelRegistry {
  private readonly channels = new Map<string, ChannelState>();
  private readonly resyncTimers = new Set<NodeJS.Timeout>();

  constructor(private readonly deps: ChannelRegistryDeps) {}

  get size(): number {
    return this.channels.size;
  }

  names(): string[] {
    return [...this.channels.keys()];
  }

  async subscribe(channel: string, subscriber: Subscriber, opts: SubscribeOptions): Promise<SubscribeResult> {
    const state = this.channelState(channel);
    let group = state.groups.get(subscriber.format as FrameFormat);
    if (group?.has(subscriber)) throw new HeraldError('ALREADY_SUBSCRIBED', channel);
    if (!group) {
      group = new Map();
      state.groups.set(subscriber.format as FrameFormat, group);
    }
    // Live delivery is registered (and buffered) *before* history is read: a publication made
    // meanwhile is then in the buffer, in history, or both - never in neither.
    const sub = new Subscription(subscriber);
    group.set(subscriber, sub);
    state.size++;
    this.deps.countChanged(channel, 1);
    try {
      await state.ready;
      const query: HistoryQuery = opts.since ? { since: opts.since, limit: opts.limit } : { limit: 0 };
      const h = await this.deps.engine.history(channel, query, this.deps.limits(channel));
      const recovered = opts.since ? isCompleteRecovery(opts.since, h) : true;
      const truncated = !recovered && isCutAtLimit(h, opts.limit);
      const first = h.publications[0];
      const continues =
        opts.since !== undefined &&
        opts.since.epoch === h.position.epoch &&
        (first === undefined
          ? opts.since.offset === h.position.offset
          : first.offset === opts.since.offset + 1);
      return {
        position: h.position,
        publications: opts.since ? h.publications : [],
        recovered,
        truncated,
        gap: opts.since !== undefined && !recovered && !(truncated && continues),
        start: () => this.startDelivery(state, sub, h.position),
      };
    } catch (err) {
      // Detach from the state object itself: a failed engine subscribe has already dropped it from
      // the registry, so a lookup by name would find nothing and the counts would drift.
      this.detach(state, subscriber);
      this.deps.log?.warn({ err, channel }, 'subscribe failed in the engine');
      throw toHeraldError(err, 'ENGINE_UNAVAILABLE');
    }
  }

  unsubscribe(channel: string, subscriber: Subscriber): boolean {
    const state = this.channels.get(channel);
    return state ? this.detach(state, subscriber) : false;
  }

  private detach(state: ChannelState, subscriber: Subscriber): boolean {
    if (!leaveGroup(state.groups, subscriber)) return false;
    state.size--;
    this.deps.countChanged(state.name, -1);
    if (state.size === 0 && this.channels.get(state.name) === state) {
      this.channels.delete(state.name);
      this.deps.engine
        .unsubscribe([state.name])
        .catch((err) => this.deps.log?.warn({ err, channel: state.name }, 'engine unsubscribe failed'));
    }
    return true;
  }

  localSubscribers(channel: string): number {
    return this.channels.get(channel)?.size ?? 0;
  }

  isSubscribed(channel: string, subscriber: Subscriber): boolean {
    return (
      this.channels
        .get(channel)
        ?.groups.get(subscriber.format as FrameFormat)
        ?.has(subscriber) ?? false
    );
  }

  private channelState(channel: string): ChannelState {
    let state = this.channels.get(channel);
    if (!state) {
      const created: ChannelState = {
        name: channel,
        groups: new Map(),
        size: 0,
        ready: Promise.resolve(),
        epoch: '',
        lastOffset: 0,
      };
      created.ready = this.deps.engine.subscribe([channel]).catch((err) => {
        // Forget the state so the next subscriber asks the engine again.
        if (this.channels.get(channel) === created) this.channels.delete(channel);
        throw err;
      });
      created.ready.catch(() => {}); // observed by subscribe(); avoid an unhandled rejection here
      state = created;
      this.channels.set(channel, state);
    }
    return state;
  }

  /** Hands over what arrived while the subscribe result was prepared, with the live path's checks. */
  private startDelivery(state: ChannelState, sub: Subscription, position: StreamPosition): void {
    const held = sub.buffer;
    sub.buffer = null;
    if (sub.lost) {
      this.tell(state.name, sub);
      return;
    }
    if (!held) return;
    let expected = position.offset + 1;
    for (const pub of held) {
      if (pub.epoch === position.epoch && pub.offset < expected) continue; // in the result already
      if (pub.epoch !== position.epoch || pub.offset !== expected) {
        this.tell(state.name, sub);
        return;
      }
      expected++;
      let frame: unknown;
      try {
        frame = sub.subscriber.format.encode(pub);
      } catch (err) {
        this.deps.log?.error({ err, channel: pub.channel }, 'a publication could not be encoded');
        continue;
      }
      this.deliverTo(sub, pub, frame);
    }
    sub.through = expected - 1;
    sub.throughEpoch = position.epoch;
  }

  /** Fan-out: the hot path. One encode per format, then the same frame to every subscriber. */
  dispatch(pub: Publication): boolean {
    const state = this.channels.get(pub.channel);
    if (!state) return true;
    if (pub.epoch === state.epoch) {
      if (pub.offset <= state.lastOffset) return false; // the bus repeated itself
      if (state.lastOffset > 0 && pub.offset !== state.lastOffset + 1) this.signalGap(state);
    } else if (state.epoch !== '') {
      this.signalGap(state);
    }
    state.epoch = pub.epoch;
    state.lastOffset = pub.offset;
    const maxBuffer = this.deps.maxSubscribeBuffer;
    for (const [format, group] of state.groups) {
      let frame: unknown;
      let encoded = false;
      for (const sub of group.values()) {
        if (sub.buffer !== null) {
          if (sub.buffer.length < maxBuffer) sub.buffer.push(pub);
          else sub.lost = true;
          continue;
        }
        if (sub.stale) continue;
        if (sub.through !== 0) {
          if (pub.epoch === sub.throughEpoch && pub.offset <= sub.through) continue;
          sub.through = 0; // caught up: from here on the channel's own checks suffice
        }
        if (!encoded) {
          try {
            frame = format.encode(pub);
          } catch (err) {
            this.deps.log?.error(
              { err, channel: pub.channel, format: format.name },
              'a publication could not be encoded',
            );
            break;
          }
          encoded = true;
        }
        this.deliverTo(sub, pub, frame);
      }
    }
    return true;
  }

  private deliverTo(sub: Subscription, pub: Publication, frame: unknown): void {
    try {
      sub.subscriber.deliver(pub, frame);
    } catch (err) {
      this.deps.log?.error({ err, channel: pub.channel }, 'subscriber failed to take a publication');
    }
  }

  dispatchPresence(channel: string, info: ClientInfo, joined: boolean): void {
    const state = this.channels.get(channel);
    if (!state) return;
    for (const group of state.groups.values()) {
      for (const sub of group.values()) {
        if (sub.buffer !== null || sub.stale) continue;
        try {
          if (joined) sub.subscriber.onJoin?.(channel, info);
          else sub.subscriber.onLeave?.(channel, info);
        } catch (err) {
          this.deps.log?.error({ err, channel }, 'subscriber failed to take a presence event');
        }
      }
    }
  }

  private signalGap(state: ChannelState): void {
    this.deps.log?.warn(
      { channel: state.name },
      'live delivery skipped publications; asking subscribers to resync',
    );
    for (const group of state.groups.values()) {
      for (const sub of group.values()) {
        // One still being set up learns it once its result is sent, not before.
        if (sub.buffer !== null) sub.lost = true;
        else this.tell(state.name, sub);
      }
    }
  }

  private tell(channel: string, sub: Subscription): void {
    try {
      sub.subscriber.onInsufficientState?.(channel);
    } catch (err) {
      this.deps.log?.error({ err, channel }, 'subscriber failed to take a resync signal');
    }
  }

  /**
   * The engine may have lost deliveries (its bus reconnected). Every subscriber of the channels is
   * stopped at once (so none sees a publication past the gap) and told to resync at a random moment
   * within `resyncSpread`, so a whole node's clients do not come back in the same second. The
   * channel forgets its last offset: the next publication is the new baseline, not a second gap.
   */
  resync(channels?: string[]): void {
    const spread = this.deps.resyncSpread;
    for (const name of channels ?? [...this.channels.keys()]) {
      const state = this.channels.get(name);
      if (!state) continue;
      state.epoch = '';
      state.lastOffset = 0;
      for (const group of state.groups.values()) {
        for (const sub of group.values()) {
          if (sub.buffer !== null) {
            sub.lost = true;
            continue;
          }
          // Live-only subscribers (/chat, MQTT) have no history to recover from: they carry on.
          if (sub.stale || !sub.subscriber.onInsufficientState) continue;
          sub.stale = true;
          if (spread <= 0) {
            this.tell(name, sub);
            continue;
          }
          const timer = setTimeout(() => {
            this.resyncTimers.delete(timer);
            // Gone meanwhile (it disconnected or unsubscribed): nothing to tell.
            if (this.channels.get(name) === state && group.get(sub.subscriber) === sub) this.tell(name, sub);
          }, Math.random() * spread);
          timer.unref();
          this.resyncTimers.add(timer);
        }
      }
    }
  }

  close(): void {
    for (const t of this.resyncTimers) clearTimeout(t);
    this.resyncTimers.clear();
  }
}
