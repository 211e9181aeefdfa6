// The hub: the one place a publication lands, whatever door it came in by. It validates, asks the
// engine for a position, and hands each publication to every local subscriber, encoding it once per
// wire format. It does no I/O of its own: doors own sockets, the engine owns shared state. This file
// is the facade; each concern lives beside it (channels, patterns, presence, channel counts).
import { HeraldError, toHeraldError } from '../errors.js';
import {
  assertChannelName,
  type ClientInfo,
  type Engine,
  type EngineSink,
  type HistoryQuery,
  type HistoryResult,
  type Logger,
  type NodeInfo,
  type PresenceStats,
  type Publication,
  type PublishRequest,
  type StreamLimits,
  type Subscriber,
} from '../model/index.js';
import { ChannelCountReporter } from './channel-counts.js';
import { type ChannelOptions, ChannelOptionsResolver } from './channel-options.js';
import { ChannelRegistry, type SubscribeOptions, type SubscribeResult } from './channels.js';
import { NodeMessages } from './node-messages.js';
import { defaultHubOptions, type HubOptions } from './options.js';
import { PatternRegistry } from './patterns.js';
import { payloadDepthProblem } from './payload-limits.js';
import { PresenceTracker } from './presence.js';
import { UserControl } from './user-control.js';

export type { SubscribeOptions, SubscribeResult } from './channels.js';
export { defaultHubOptions, type HubOptions } from './options.js';
export { isCompleteRecovery } from './recovery.js';

export class Hub {
  readonly options: HubOptions;
  private readonly resolver: ChannelOptionsResolver;
  private readonly channels: ChannelRegistry;
  private readonly patterns: PatternRegistry;
  private readonly presenceTracker: PresenceTracker;
  private readonly counts: ChannelCountReporter;
  /** Node-to-node messages through the engine (fallback transports, per-user control). */
  readonly nodeMessages: NodeMessages;
  /** The backend's commands to a user's connections, on whichever node they are. */
  readonly users: UserControl;
  private beatTimer: NodeJS.Timeout | undefined;
  private clientCount = 0;
  private subscriptionCount = 0;
  private readonly startedAt = Date.now();
  private readonly publishedListeners = new Set<(pub: Publication) => void>();

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
        // Per channel prefix only: a delta costs the server a payload kept per channel.
        allowedDeltaTypes: [],
        writeDelay: o.writeDelay,
      },
      o.channelOptions,
    );
    this.channels = new ChannelRegistry({
      engine,
      limits: (channel) => this.limits(channel),
      maxSubscribeBuffer: o.maxSubscribeBuffer,
      resyncSpread: o.resyncSpread,
      countChanged: (channel, delta) => {
        this.subscriptionCount += delta;
        this.counts.changed(channel);
      },
      log,
    });
    this.patterns = new PatternRegistry({
      engine,
      maxChannelNameLength: o.maxChannelNameLength,
      countChanged: (delta) => {
        this.subscriptionCount += delta;
      },
      log,
    });
    this.presenceTracker = new PresenceTracker(engine, o.presenceTtl, log);
    this.counts = new ChannelCountReporter(engine, o.nodeName, this.channels, log);
    this.nodeMessages = new NodeMessages(engine, log);
    this.users = new UserControl(
      this.nodeMessages,
      o.nodeName,
      async () => (await this.nodes()).map((n) => n.name),
      log,
    );
  }

  async start(): Promise<void> {
    const sink: EngineSink = {
      onPublication: (pub) => this.dispatch(pub),
      onJoin: (channel, info) => this.channels.dispatchPresence(channel, info, true),
      onLeave: (channel, info) => this.channels.dispatchPresence(channel, info, false),
      onResync: (channels) => this.resync(channels),
      onNodeMessage: (message) => this.nodeMessages.receive(message),
    };
    await this.engine.start(sink);
    await this.engine.listenAsNode?.(this.options.nodeName);
    // Listed in cluster info at once, not only after the first beat.
    await this.engine.reportNode(this.localStats()).catch(() => {});
    this.counts.flush();
    // Presence entries expire in the engine unless refreshed, so a crashed node's clients vanish.
    const every = Math.max(1, Math.floor(this.options.presenceTtl / 3)) * 1000;
    // The same beat tells the cluster this node is alive (engines expire silent nodes).
    this.beatTimer = setInterval(() => {
      void this.presenceTracker.refresh();
      this.engine.reportNode(this.localStats()).catch(() => {});
      this.counts.flush();
    }, every);
    this.beatTimer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.beatTimer);
    this.counts.close();
    this.channels.close();
    // A node that stops cleanly leaves cluster info now, not when its report expires.
    await this.engine.withdrawNode?.(this.options.nodeName).catch((err) => {
      this.log?.warn({ err }, 'could not withdraw this node from cluster info');
    });
    await this.engine.close();
  }

  channelOptions(channel: string): ChannelOptions {
    return this.resolver.get(channel);
  }

  validateChannel(channel: unknown): asserts channel is string {
    assertChannelName(channel, this.options.maxChannelNameLength);
  }

  /** The channel's options are its stream limits: shared and cached, no object per publication. */
  private limits(channel: string): StreamLimits {
    return this.resolver.get(channel);
  }

  /** Maps an engine failure for the client (no raw detail) and logs the detail. */
  private engineFailure(err: unknown, what: string, channel?: string): HeraldError {
    const e = toHeraldError(err, 'ENGINE_UNAVAILABLE');
    if (e !== err) this.log?.warn({ err, channel }, `${what} failed in the engine`);
    return e;
  }

  // ---- publishing -------------------------------------------------------------------------------

  async publish(channel: string, req: PublishRequest): Promise<Publication> {
    return this.publishEager(channel, req);
  }

  /**
   * publish(), done before returning when the engine can (the memory engine's publishNow): the
   * publication itself, or else a promise of it. The same checks, errors (thrown at once rather
   * than rejected when nothing had to be waited for) and listeners: the hot path of a publisher
   * with many channels, without a promise per publication.
   */
  publishEager(channel: string, req: PublishRequest): Publication | Promise<Publication> {
    this.validateChannel(channel);
    // Checked before the engine stores anything: what could not be encoded is never kept.
    const problem = payloadDepthProblem(req.data, this.options.maxPayloadDepth);
    if (problem) throw new HeraldError('BAD_REQUEST', problem);
    const engine = this.engine;
    let pub: Publication;
    try {
      if (engine.publishNow === undefined) {
        return engine.publish(channel, req, this.limits(channel)).then(
          (p) => this.published(p),
          (err) => {
            throw this.engineFailure(err, 'publish', channel);
          },
        );
      }
      pub = engine.publishNow(channel, req, this.limits(channel));
    } catch (err) {
      throw this.engineFailure(err, 'publish', channel);
    }
    return this.published(pub);
  }

  /** Tells the onPublished listeners; a failing one is logged, the publication stands. */
  private published(pub: Publication): Publication {
    if (this.publishedListeners.size === 0) return pub;
    for (const listener of this.publishedListeners) {
      try {
        listener(pub);
      } catch (err) {
        this.log?.error({ err, channel: pub.channel }, 'a publication listener failed');
      }
    }
    return pub;
  }

  /**
   * Called once for each publication this node made, whatever door asked for it, after the engine
   * accepted it - not for publications other nodes made. Work that must happen once per publication
   * in a cluster (MQTT's retained store and offline queues) hangs here rather than on delivery,
   * which every node sees.
   */
  onPublished(listener: (pub: Publication) => void): () => void {
    this.publishedListeners.add(listener);
    return () => this.publishedListeners.delete(listener);
  }

  private dispatch(pub: Publication): void {
    if (!this.channels.dispatch(pub)) return; // the bus repeated a publication
    if (this.patterns.size > 0) this.patterns.dispatch(pub);
  }

  private resync(channels?: string[]): void {
    // The engine reconnected: what it held for this node may be gone with it.
    if (!channels) this.counts.replaceAll();
    this.channels.resync(channels);
  }

  // ---- subscribing ------------------------------------------------------------------------------

  async subscribe(
    channel: string,
    subscriber: Subscriber,
    opts: SubscribeOptions = {},
  ): Promise<SubscribeResult> {
    this.validateChannel(channel);
    return this.channels.subscribe(channel, subscriber, opts);
  }

  unsubscribe(channel: string, subscriber: Subscriber): boolean {
    return this.channels.unsubscribe(channel, subscriber);
  }

  /** Subscriptions to the channel on this node (any door). */
  localSubscribers(channel: string): number {
    return this.channels.localSubscribers(channel);
  }

  isSubscribed(channel: string, subscriber: Subscriber): boolean {
    return this.channels.isSubscribed(channel, subscriber);
  }

  /** Live delivery of every channel matching an MQTT-style filter; see patterns.ts. */
  subscribePattern(filter: string, subscriber: Subscriber): Promise<void> {
    return this.patterns.subscribe(filter, subscriber);
  }

  unsubscribePattern(filter: string, subscriber: Subscriber): boolean {
    return this.patterns.unsubscribe(filter, subscriber);
  }

  // ---- history ----------------------------------------------------------------------------------

  async history(channel: string, query: HistoryQuery = {}): Promise<HistoryResult> {
    this.validateChannel(channel);
    try {
      return await this.engine.history(channel, query, this.limits(channel));
    } catch (err) {
      throw this.engineFailure(err, 'history', channel);
    }
  }

  async removeHistory(channel: string): Promise<void> {
    this.validateChannel(channel);
    try {
      await this.engine.removeHistory(channel);
    } catch (err) {
      throw this.engineFailure(err, 'history removal', channel);
    }
  }

  // ---- presence ---------------------------------------------------------------------------------

  join(channel: string, info: ClientInfo, announce: boolean): Promise<void> {
    return this.presenceTracker.join(channel, info, announce);
  }

  leave(channel: string, info: ClientInfo, announce: boolean): Promise<void> {
    return this.presenceTracker.leave(channel, info, announce);
  }

  async presence(channel: string): Promise<Record<string, ClientInfo>> {
    this.validateChannel(channel);
    try {
      return await this.engine.presence(channel);
    } catch (err) {
      throw this.engineFailure(err, 'presence', channel);
    }
  }

  async presenceStats(channel: string): Promise<PresenceStats> {
    this.validateChannel(channel);
    try {
      return await this.engine.presenceStats(channel);
    } catch (err) {
      throw this.engineFailure(err, 'presence stats', channel);
    }
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
   * node). Changes reach the engine in batches, within a few tens of milliseconds.
   */
  async channelCounts(channels: string[]): Promise<number[]> {
    if (!this.engine.channelCounts) return channels.map((c) => this.localSubscribers(c));
    try {
      return await this.engine.channelCounts(channels);
    } catch (err) {
      throw this.engineFailure(err, 'channel counts');
    }
  }

  async channelsList(): Promise<string[]> {
    try {
      return await this.engine.channels();
    } catch (err) {
      throw this.engineFailure(err, 'channel list');
    }
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
    try {
      return await this.engine.reportNode(this.localStats());
    } catch (err) {
      throw this.engineFailure(err, 'node report');
    }
  }
}
