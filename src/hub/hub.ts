// The hub: the one place a publication lands, whatever door it came in by. It validates, asks the
// engine for a position, and hands each publication to every local subscriber, encoding it once per
// wire format. It does no I/O of its own: doors own sockets, the engine owns shared state.
import type { Engine, EngineSink, NodeInfo, StreamLimits } from '../engine/engine.js';
import { HeraldError } from '../errors.js';
import {
  assertChannelName,
  DEFAULT_MAX_CHANNEL_LENGTH,
  filterProblem,
  matchesFilter,
} from './channel-name.js';
import { type ChannelOptions, ChannelOptionsResolver } from './channel-options.js';
import type {
  ClientInfo,
  HistoryQuery,
  HistoryResult,
  PresenceStats,
  Publication,
  PublishRequest,
  StreamPosition,
} from './types.js';

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

export interface SubscribeOptions {
  /** Resume after this position. Without it the subscription starts at the stream's current top. */
  since?: StreamPosition;
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
   * Starts live delivery. Publications that arrived while the door was sending the result are
   * delivered now, after the result, de-duplicated by offset. Call it once the result is sent.
   */
  start(): void;
}

export interface HubOptions {
  historySize: number;
  historyTtl: number;
  allowClientPublish: boolean;
  joinLeave: boolean;
  channelOptions?: ConstructorParameters<typeof ChannelOptionsResolver>[1];
  presenceTtl: number;
  maxChannelNameLength: number;
  nodeName: string;
  /** Publications held for one subscription while its subscribe result is prepared. */
  maxSubscribeBuffer: number;
}

/** How long subscription count changes are gathered before the engine is told (one batch). */
const COUNTS_DELAY_MS = 50;

export const defaultHubOptions: HubOptions = {
  historySize: 100,
  historyTtl: 300,
  allowClientPublish: true,
  joinLeave: true,
  presenceTtl: 60,
  maxChannelNameLength: DEFAULT_MAX_CHANNEL_LENGTH,
  nodeName: 'herald',
  maxSubscribeBuffer: 10_000,
};

class Subscription {
  /** Publications held back until start(): non-null while the subscribe result is being prepared. */
  buffer: Publication[] | null = [];
  /** The buffer hit its bound: what follows cannot be given exactly, the subscriber must resync. */
  overflowed = false;
  constructor(readonly subscriber: Subscriber) {}
}

interface ChannelState {
  readonly name: string;
  /** Subscriptions grouped by wire format, so each publication is encoded once per format. */
  readonly groups: Map<FrameFormat, Map<Subscriber, Subscription>>;
  size: number;
  /** Resolves when the engine delivers this channel to this node. */
  ready: Promise<void>;
  epoch: string;
  lastOffset: number;
}

/** Subscribers of one MQTT-style filter, grouped by wire format like a channel's. */
interface PatternState {
  readonly filter: string;
  readonly groups: Map<FrameFormat, Set<Subscriber>>;
  size: number;
  ready: Promise<void>;
}

export interface Logger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export class Hub {
  readonly options: HubOptions;
  private readonly resolver: ChannelOptionsResolver;
  private readonly channels = new Map<string, ChannelState>();
  private readonly patterns = new Map<string, PatternState>();
  private readonly presenceLocal = new Map<string, Map<string, ClientInfo>>();
  private presenceTimer: NodeJS.Timeout | undefined;
  private clientCount = 0;
  /** Channels whose local subscription count changed since the engine was last told. */
  private readonly countsDirty = new Set<string>();
  private countsReplace = true;
  private countsTimer: NodeJS.Timeout | undefined;
  private subscriptionCount = 0;
  private readonly startedAt = Date.now();

  constructor(
    readonly engine: Engine,
    options: Partial<HubOptions> = {},
    private readonly log?: Logger,
  ) {
    this.options = { ...defaultHubOptions, ...options };
    const o = this.options;
    this.resolver = new ChannelOptionsResolver(
      {
        historySize: o.historySize,
        historyTtl: o.historyTtl,
        allowClientPublish: o.allowClientPublish,
        joinLeave: o.joinLeave,
      },
      o.channelOptions,
    );
  }

  async start(): Promise<void> {
    const sink: EngineSink = {
      onPublication: (pub) => this.dispatch(pub),
      onJoin: (channel, info) => this.dispatchPresence(channel, info, true),
      onLeave: (channel, info) => this.dispatchPresence(channel, info, false),
      onResync: (channels) => this.resync(channels),
    };
    await this.engine.start(sink);
    // Listed in cluster info at once, not only after the first beat.
    await this.engine.reportNode(this.localStats()).catch(() => {});
    this.flushCounts();
    // Presence entries expire in the engine unless refreshed, so a crashed node's clients vanish.
    const every = Math.max(1, Math.floor(this.options.presenceTtl / 3)) * 1000;
    // The same beat tells the cluster this node is alive (engines expire silent nodes).
    this.presenceTimer = setInterval(() => {
      void this.refreshPresence();
      this.engine.reportNode(this.localStats()).catch(() => {});
      this.flushCounts();
    }, every);
    this.presenceTimer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.presenceTimer);
    clearTimeout(this.countsTimer);
    await this.engine.close();
  }

  channelOptions(channel: string): ChannelOptions {
    return this.resolver.get(channel);
  }

  validateChannel(channel: unknown): asserts channel is string {
    assertChannelName(channel, this.options.maxChannelNameLength);
  }

  private limits(channel: string): StreamLimits {
    const o = this.resolver.get(channel);
    return { historySize: o.historySize, historyTtl: o.historyTtl };
  }

  // ---- publishing -------------------------------------------------------------------------------

  async publish(channel: string, req: PublishRequest): Promise<Publication> {
    this.validateChannel(channel);
    try {
      return await this.engine.publish(channel, req, this.limits(channel));
    } catch (err) {
      throw engineError(err);
    }
  }

  // ---- subscribing ------------------------------------------------------------------------------

  async subscribe(
    channel: string,
    subscriber: Subscriber,
    opts: SubscribeOptions = {},
  ): Promise<SubscribeResult> {
    this.validateChannel(channel);
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
    this.subscriptionCount++;
    this.countChanged(channel);
    try {
      await state.ready;
      const query: HistoryQuery = opts.since ? { since: opts.since } : { limit: 0 };
      const h = await this.engine.history(channel, query, this.limits(channel));
      const recovered = opts.since ? isCompleteRecovery(opts.since, h) : true;
      return {
        position: h.position,
        publications: opts.since ? h.publications : [],
        recovered,
        start: () => this.startDelivery(state, sub, h.position),
      };
    } catch (err) {
      this.unsubscribe(channel, subscriber);
      throw engineError(err);
    }
  }

  unsubscribe(channel: string, subscriber: Subscriber): boolean {
    const state = this.channels.get(channel);
    if (!state) return false;
    const group = state.groups.get(subscriber.format as FrameFormat);
    if (!group?.delete(subscriber)) return false;
    if (group.size === 0) state.groups.delete(subscriber.format as FrameFormat);
    state.size--;
    this.subscriptionCount--;
    this.countChanged(channel);
    if (state.size === 0) {
      this.channels.delete(channel);
      this.engine
        .unsubscribe([channel])
        .catch((err) => this.log?.warn({ err, channel }, 'engine unsubscribe failed'));
    }
    return true;
  }

  /** Subscriptions to the channel on this node (any door). */
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

  /**
   * Live delivery of every channel matching an MQTT-style filter (`+` one level, `#` the rest). A
   * filter spans many streams, so there is no history, recovery or gap signal: it is for doors whose
   * own protocol has none to offer (MQTT). Presence events are not delivered to patterns.
   */
  async subscribePattern(filter: string, subscriber: Subscriber): Promise<void> {
    const problem = filterProblem(filter, this.options.maxChannelNameLength);
    if (problem) throw new HeraldError('BAD_REQUEST', problem);
    const engine = this.engine;
    if (!engine.subscribePatterns) {
      throw new HeraldError('NOT_AVAILABLE', `engine "${engine.name}" has no pattern subscriptions`);
    }
    let state = this.patterns.get(filter);
    if (!state) {
      const created: PatternState = { filter, groups: new Map(), size: 0, ready: Promise.resolve() };
      created.ready = engine.subscribePatterns([filter]).catch((err) => {
        if (this.patterns.get(filter) === created) this.patterns.delete(filter);
        throw err;
      });
      created.ready.catch(() => {});
      state = created;
      this.patterns.set(filter, state);
    }
    let group = state.groups.get(subscriber.format as FrameFormat);
    if (group?.has(subscriber)) throw new HeraldError('ALREADY_SUBSCRIBED', filter);
    if (!group) {
      group = new Set();
      state.groups.set(subscriber.format as FrameFormat, group);
    }
    group.add(subscriber);
    state.size++;
    this.subscriptionCount++;
    try {
      await state.ready;
    } catch (err) {
      this.unsubscribePattern(filter, subscriber);
      throw engineError(err);
    }
  }

  unsubscribePattern(filter: string, subscriber: Subscriber): boolean {
    const state = this.patterns.get(filter);
    const group = state?.groups.get(subscriber.format as FrameFormat);
    if (!state || !group?.delete(subscriber)) return false;
    if (group.size === 0) state.groups.delete(subscriber.format as FrameFormat);
    state.size--;
    this.subscriptionCount--;
    if (state.size === 0) {
      this.patterns.delete(filter);
      this.engine
        .unsubscribePatterns?.([filter])
        .catch((err) => this.log?.warn({ err, filter }, 'engine pattern unsubscribe failed'));
    }
    return true;
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
      created.ready = this.engine.subscribe([channel]).catch((err) => {
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

  private startDelivery(state: ChannelState, sub: Subscription, position: StreamPosition): void {
    const held = sub.buffer;
    sub.buffer = null;
    if (sub.overflowed) {
      sub.subscriber.onInsufficientState?.(state.name);
      return;
    }
    if (!held || held.length === 0) return;
    for (const pub of held) {
      if (pub.epoch !== position.epoch) {
        sub.subscriber.onInsufficientState?.(state.name);
        return;
      }
      if (pub.offset <= position.offset) continue; // already covered by the subscribe result
      sub.subscriber.deliver(pub, sub.subscriber.format.encode(pub));
    }
  }

  /** Fan-out: the hot path. One encode per format, then the same frame to every subscriber. */
  private dispatch(pub: Publication): void {
    const state = this.channels.get(pub.channel);
    if (state) {
      if (!this.dispatchChannel(state, pub)) return;
    }
    if (this.patterns.size > 0) this.dispatchPatterns(pub);
  }

  /** Delivers to the channel's own subscribers; false when the bus repeated a publication. */
  private dispatchChannel(state: ChannelState, pub: Publication): boolean {
    if (pub.epoch === state.epoch) {
      if (pub.offset <= state.lastOffset) return false; // the bus repeated itself
      if (state.lastOffset > 0 && pub.offset !== state.lastOffset + 1) this.signalGap(state);
    } else if (state.epoch !== '') {
      this.signalGap(state);
    }
    state.epoch = pub.epoch;
    state.lastOffset = pub.offset;
    for (const [format, group] of state.groups) {
      let frame: unknown;
      let encoded = false;
      for (const sub of group.values()) {
        if (sub.buffer !== null) {
          if (sub.buffer.length < this.options.maxSubscribeBuffer) sub.buffer.push(pub);
          else sub.overflowed = true;
          continue;
        }
        if (!encoded) {
          frame = format.encode(pub);
          encoded = true;
        }
        try {
          sub.subscriber.deliver(pub, frame);
        } catch (err) {
          this.log?.error({ err, channel: pub.channel }, 'subscriber failed to take a publication');
        }
      }
    }
    return true;
  }

  /**
   * Delivers to pattern subscribers whose filter matches, one encode per format across all of them.
   * (A format used both by a channel's subscribers and by patterns is encoded once for each side;
   * in practice only the MQTT bridge subscribes by pattern, with a format of its own.)
   */
  private dispatchPatterns(pub: Publication): void {
    let frames: Map<FrameFormat, unknown> | undefined;
    for (const pattern of this.patterns.values()) {
      if (!matchesFilter(pattern.filter, pub.channel)) continue;
      for (const [format, group] of pattern.groups) {
        frames ??= new Map();
        let frame = frames.get(format);
        if (frame === undefined && !frames.has(format)) {
          frame = format.encode(pub);
          frames.set(format, frame);
        }
        for (const subscriber of group) {
          try {
            subscriber.deliver(pub, frame);
          } catch (err) {
            this.log?.error(
              { err, channel: pub.channel, filter: pattern.filter },
              'pattern subscriber failed',
            );
          }
        }
      }
    }
  }

  private signalGap(state: ChannelState): void {
    this.log?.warn(
      { channel: state.name },
      'live delivery skipped publications; asking subscribers to resync',
    );
    for (const group of state.groups.values()) {
      for (const sub of group.values()) sub.subscriber.onInsufficientState?.(state.name);
    }
  }

  private resync(channels?: string[]): void {
    // The engine reconnected: what it held for this node may be gone with it.
    if (!channels) this.countsReplace = true;
    this.scheduleCounts();
    const names = channels ?? [...this.channels.keys()];
    for (const name of names) {
      const state = this.channels.get(name);
      if (state) this.signalGap(state);
    }
  }

  private dispatchPresence(channel: string, info: ClientInfo, joined: boolean): void {
    const state = this.channels.get(channel);
    if (!state) return;
    for (const group of state.groups.values()) {
      for (const sub of group.values()) {
        if (sub.buffer !== null) continue;
        if (joined) sub.subscriber.onJoin?.(channel, info);
        else sub.subscriber.onLeave?.(channel, info);
      }
    }
  }

  // ---- history ----------------------------------------------------------------------------------

  async history(channel: string, query: HistoryQuery = {}): Promise<HistoryResult> {
    this.validateChannel(channel);
    try {
      return await this.engine.history(channel, query, this.limits(channel));
    } catch (err) {
      throw engineError(err);
    }
  }

  async removeHistory(channel: string): Promise<void> {
    this.validateChannel(channel);
    await this.engine.removeHistory(channel).catch((err) => {
      throw engineError(err);
    });
  }

  // ---- presence ---------------------------------------------------------------------------------

  /** Marks a client present in a channel; announces the join when `announce` is set. */
  async join(channel: string, info: ClientInfo, announce: boolean): Promise<void> {
    let local = this.presenceLocal.get(channel);
    if (!local) {
      local = new Map();
      this.presenceLocal.set(channel, local);
    }
    local.set(info.client, info);
    await this.engine.addPresence(channel, info, this.options.presenceTtl);
    if (announce) await this.engine.publishJoin(channel, info);
  }

  async leave(channel: string, info: ClientInfo, announce: boolean): Promise<void> {
    const local = this.presenceLocal.get(channel);
    if (local) {
      local.delete(info.client);
      if (local.size === 0) this.presenceLocal.delete(channel);
    }
    await this.engine.removePresence(channel, info.client);
    if (announce) await this.engine.publishLeave(channel, info);
  }

  async presence(channel: string): Promise<Record<string, ClientInfo>> {
    this.validateChannel(channel);
    return this.engine.presence(channel).catch((err) => {
      throw engineError(err);
    });
  }

  async presenceStats(channel: string): Promise<PresenceStats> {
    this.validateChannel(channel);
    return this.engine.presenceStats(channel).catch((err) => {
      throw engineError(err);
    });
  }

  /** Keeps this node's clients present: one batched engine call, not one call per client. */
  private async refreshPresence(): Promise<void> {
    const entries: [string, ClientInfo][] = [];
    for (const [channel, local] of this.presenceLocal) {
      for (const info of local.values()) entries.push([channel, info]);
    }
    if (entries.length === 0) return;
    await this.engine.refreshPresence(entries, this.options.presenceTtl).catch((err) => {
      this.log?.warn(
        { err, entries: entries.length },
        'refreshing presence failed; retrying on the next beat',
      );
    });
  }

  // ---- cluster-wide information -----------------------------------------------------------------

  clientConnected(): void {
    this.clientCount++;
  }

  clientDisconnected(): void {
    this.clientCount--;
  }

  /**
   * Subscriptions per channel over the whole cluster (this node's own when the engine serves one
   * node). Changes reach the engine in batches, within COUNTS_DELAY_MS.
   */
  async channelCounts(channels: string[]): Promise<number[]> {
    if (!this.engine.channelCounts) return channels.map((c) => this.localSubscribers(c));
    return this.engine.channelCounts(channels).catch((err) => {
      throw engineError(err);
    });
  }

  private countChanged(channel: string): void {
    if (!this.engine.reportChannelCounts) return;
    this.countsDirty.add(channel);
    this.scheduleCounts();
  }

  private scheduleCounts(): void {
    if (this.countsTimer || !this.engine.reportChannelCounts) return;
    this.countsTimer = setTimeout(() => this.flushCounts(), COUNTS_DELAY_MS);
    this.countsTimer.unref();
  }

  /** Tells the engine this node's changed channel counts (all of them after a reconnect). */
  private flushCounts(): void {
    clearTimeout(this.countsTimer);
    this.countsTimer = undefined;
    const report = this.engine.reportChannelCounts;
    if (!report) return;
    const replace = this.countsReplace;
    const names = replace ? [...this.channels.keys()] : [...this.countsDirty];
    this.countsReplace = false;
    this.countsDirty.clear();
    const counts = names.map((c): [string, number] => [c, this.localSubscribers(c)]);
    // Runs on every beat too, even with nothing changed: it keeps the node's counts from expiring.
    report.call(this.engine, this.options.nodeName, counts, replace).catch((err) => {
      // Not lost: the whole list is sent again once the engine answers.
      this.countsReplace = true;
      this.log?.warn({ err }, 'reporting channel counts failed');
    });
  }

  async channelsList(): Promise<string[]> {
    return this.engine.channels().catch((err) => {
      throw engineError(err);
    });
  }

  localStats(): NodeInfo {
    return {
      name: this.options.nodeName,
      numClients: this.clientCount,
      numSubscriptions: this.subscriptionCount,
      numChannels: this.channels.size,
      uptime: Math.floor((Date.now() - this.startedAt) / 1000),
    };
  }

  async nodes(): Promise<NodeInfo[]> {
    return this.engine.reportNode(this.localStats()).catch((err) => {
      throw engineError(err);
    });
  }
}

/** Whether history gave exactly everything after `since`: same epoch and no missing offsets. */
export function isCompleteRecovery(since: StreamPosition, h: HistoryResult): boolean {
  if (since.epoch !== h.position.epoch) return false;
  if (since.offset > h.position.offset) return false; // a position from the future: not ours
  if (since.offset === h.position.offset) return true;
  const first = h.publications[0];
  return (
    first !== undefined &&
    first.offset === since.offset + 1 &&
    h.publications.length === h.position.offset - since.offset
  );
}

function engineError(err: unknown): HeraldError {
  if (err instanceof HeraldError) return err;
  return new HeraldError('ENGINE_UNAVAILABLE', (err as Error)?.message, { cause: err });
}
