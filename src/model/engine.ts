// The Engine owns channel state that must be shared by every node: offsets, history, presence, and
// the bus that carries publications to the nodes that have subscribers. The hub talks to it only
// through this interface; the memory engine is the embedded default, redis the clustered one.
import type {
  ClientInfo,
  HistoryQuery,
  HistoryResult,
  PresenceStats,
  Publication,
  PublishRequest,
} from './channel.js';
import type { MqttStore, MqttStoreOptions } from './mqtt-store.js';

export interface StreamLimits {
  /** Publications kept; 0 = keep none (the offset still advances). */
  historySize: number;
  /** Seconds a publication is kept; 0 = no age limit. */
  historyTtl: number;
}

/** Where the engine delivers what arrives for channels this node subscribed to. */
export interface EngineSink {
  onPublication(pub: Publication): void;
  onJoin(channel: string, info: ClientInfo): void;
  onLeave(channel: string, info: ClientInfo): void;
  /**
   * The engine may have missed deliveries (e.g. its bus reconnected): subscribers of the listed
   * channels (all when undefined) must re-synchronise from history.
   */
  onResync?(channels?: string[]): void;
  /** A message another node sent to this one (see Engine.sendToNode). */
  onNodeMessage?(message: Buffer): void;
}

export interface NodeInfo {
  name: string;
  /** Connections and subscriptions on that node, as last reported. */
  numClients: number;
  numSubscriptions: number;
  numChannels: number;
  uptime: number;
}

/** One node's presence entries in an in-process engine (see Engine.localPresence). */
export interface LocalPresence {
  add(channel: string, info: ClientInfo): void;
  remove(channel: string, clientId: string): void;
  /** Every entry of the group stays for the TTL from now. */
  refresh(): void;
}

export interface Engine {
  readonly name: string;
  start(sink: EngineSink): Promise<void>;
  close(): Promise<void>;

  /** Assigns the next offset, appends to history (trimmed by limits) and delivers to every node. */
  publish(channel: string, req: PublishRequest, limits: StreamLimits): Promise<Publication>;
  /**
   * publish() for an engine that has nothing to wait for (the memory engine): the same publication,
   * delivery and errors, returned (or thrown) at once, so the hub's hot path makes no promise per
   * publication. Engines that wait on I/O leave it out and the hub uses publish().
   */
  publishNow?(channel: string, req: PublishRequest, limits: StreamLimits): Publication;
  /** Sends join/leave events to every node's subscribers of the channel. */
  publishJoin(channel: string, info: ClientInfo): Promise<void>;
  publishLeave(channel: string, info: ClientInfo): Promise<void>;

  /** This node wants (or no longer wants) live publications of these channels. */
  subscribe(channels: string[]): Promise<void>;
  unsubscribe(channels: string[]): Promise<void>;
  /**
   * This node wants (or no longer wants) live publications of every channel matching these
   * MQTT-style filters (`+` one level, `#` the rest; see hub/channel-name.ts matchesFilter). Each
   * publication still reaches the sink at most once, however many filters and channel
   * subscriptions match it. Optional: without it the hub refuses pattern subscriptions.
   */
  subscribePatterns?(filters: string[]): Promise<void>;
  unsubscribePatterns?(filters: string[]): Promise<void>;

  /**
   * Publications after `since` (or the newest ones), oldest first unless reverse, and the stream's
   * current position. An unknown channel has position {offset: 0, epoch: <its new epoch>}.
   */
  history(channel: string, query: HistoryQuery, limits: StreamLimits): Promise<HistoryResult>;
  /** Forgets the channel's publications; the offset sequence and epoch stay. */
  removeHistory(channel: string): Promise<void>;

  addPresence(channel: string, info: ClientInfo, ttlSeconds: number): Promise<void>;
  /** addPresence for many entries at once (a node refreshing its clients): one round trip or few. */
  refreshPresence(entries: [channel: string, info: ClientInfo][], ttlSeconds: number): Promise<void>;
  removePresence(channel: string, clientId: string): Promise<void>;
  presence(channel: string): Promise<Record<string, ClientInfo>>;
  presenceStats(channel: string): Promise<PresenceStats>;
  /**
   * For an engine whose presence lives in this process: a node's entries held under one expiry,
   * renewed by one call per beat, so the node keeps no index of its own to refresh from. What
   * presence() answers is the same as with addPresence/refreshPresence. Optional.
   */
  localPresence?(ttlSeconds: number): LocalPresence;

  /** Channels with at least one subscriber anywhere in the cluster. */
  channels(): Promise<string[]>;
  /**
   * This node's subscriptions per channel changed (a count of 0: none left). With `replace`, the
   * list is everything this node has (its earlier report may have been lost). Optional: an engine
   * without it serves one node, whose hub counts by itself.
   */
  reportChannelCounts?(node: string, counts: [string, number][], replace: boolean): Promise<void>;
  /** Subscriptions per channel summed over every node alive, in the order asked. */
  channelCounts?(channels: string[]): Promise<number[]>;
  /** Tells the other nodes how this one is doing, and lists the nodes alive. */
  reportNode(info: NodeInfo): Promise<NodeInfo[]>;
  /** This node stops cleanly: remove its report (and channel counts) now rather than on expiry. */
  withdrawNode?(name: string): Promise<void>;
  /**
   * Node-to-node messages (e.g. a fallback transport's command reaching a node that does not hold
   * its session). `listenAsNode` starts receiving the messages sent to this node's name;
   * `sendToNode` resolves false when no node of that name listens. Optional: one node needs neither.
   */
  listenAsNode?(name: string): Promise<void>;
  sendToNode?(name: string, message: Buffer): Promise<boolean>;

  /** MQTT sessions, retained messages and wills, shared as widely as this engine shares channels. */
  mqttStore?(options: MqttStoreOptions): MqttStore;
}
