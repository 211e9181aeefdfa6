// The embedded engine: every channel's stream, history and presence in this process's memory.
//
// Epochs: a stream is born with the engine's current "new stream" epoch, made at start, so a restart
// changes every epoch and clients holding old positions are told they cannot recover, rather than
// given a silent gap. Reading a channel that has no stream creates nothing: it answers offset 0 in
// the epoch the stream will be born with, so a reader and the first publication agree. When idle
// streams are dropped the "new stream" epoch moves on (a generation), so a stream born again can
// never be mistaken for the one that was dropped.
//
// State is bounded in time as on Redis: history is trimmed by age on a timer (not only when the
// channel is touched), and a stream with no history left that nobody touched or subscribed to for
// `metaTtl` seconds is dropped.

import {
  buildPublication,
  type ClientInfo,
  type Engine,
  type EngineSink,
  type HistoryQuery,
  type HistoryResult,
  type LocalPresence,
  type MqttStore,
  type MqttStoreOptions,
  matchesFilter,
  type NodeInfo,
  type PresenceStats,
  type Publication,
  type PublishRequest,
  type StreamLimits,
} from '../model/index.js';
import { newEpoch } from './epoch.js';
import { selectHistory } from './history-window.js';
import { MemoryPresence } from './memory-presence.js';
import { MemoryMqttData, MemoryMqttStore } from './mqtt/memory-store.js';

interface Stream {
  epoch: string;
  top: number;
  /** Kept publications, oldest first, from index `head`. */
  pubs: Publication[];
  head: number;
  /** The limits last applied, so the sweep trims by the channel's own age limit. */
  limits: StreamLimits;
  /** Last publish or read (ms). */
  touched: number;
}

export interface MemoryEngineOptions {
  /** Seconds an idle stream with no history left keeps its epoch and offset. */
  metaTtl: number;
  /** Milliseconds between sweeps (age trimming, idle streams, expired presence). */
  sweepInterval: number;
  now: () => number;
}

const defaults: MemoryEngineOptions = { metaTtl: 30 * 24 * 3600, sweepInterval: 10_000, now: Date.now };

export class MemoryEngine implements Engine {
  readonly name = 'memory';
  private sink: EngineSink | undefined;
  private readonly streams = new Map<string, Stream>();
  private readonly subscribed = new Set<string>();
  private readonly patterns = new Set<string>();
  private node: NodeInfo | undefined;
  private readonly opts: MemoryEngineOptions;
  private readonly now: () => number;
  private readonly startEpoch = newEpoch();
  /** Moves on whenever idle streams are dropped (see the file comment). */
  private generation = 0;
  private sweepTimer: NodeJS.Timeout | undefined;
  private mqtt: MemoryMqttData | undefined;
  private readonly presenceStore: MemoryPresence;

  constructor(options: Partial<MemoryEngineOptions> = {}) {
    this.opts = { ...defaults, ...options };
    this.now = this.opts.now;
    this.presenceStore = new MemoryPresence(this.now);
  }

  async start(sink: EngineSink): Promise<void> {
    this.sink = sink;
    this.sweepTimer = setInterval(() => this.sweep(), this.opts.sweepInterval);
    this.sweepTimer.unref();
  }

  async close(): Promise<void> {
    this.sink = undefined;
    clearInterval(this.sweepTimer);
  }

  /** The epoch a stream is born with now. */
  private newStreamEpoch(): string {
    return this.generation === 0 ? this.startEpoch : `${this.startEpoch}.${this.generation}`;
  }

  /** Streams kept (for tests and metrics). */
  get streamCount(): number {
    return this.streams.size;
  }

  /** MQTT sessions, retained messages and wills of this process; every store shares them. */
  mqttStore(options: MqttStoreOptions): MqttStore {
    this.mqtt ??= new MemoryMqttData(this.now);
    return new MemoryMqttStore(this.mqtt, options);
  }

  /** Trims every stream by age and drops idle empty ones; exposed so tests can drive it. */
  sweep(): void {
    this.mqtt?.sweep();
    const now = this.now();
    const idleBefore = now - this.opts.metaTtl * 1000;
    let dropped = false;
    for (const [channel, stream] of this.streams) {
      this.trim(stream, stream.limits);
      if (stream.head < stream.pubs.length) continue; // history left: the epoch must stay
      if (stream.touched > idleBefore || this.subscribed.has(channel)) continue;
      this.streams.delete(channel);
      dropped = true;
    }
    if (dropped) this.generation++;
    this.presenceStore.sweep();
  }

  async publish(channel: string, req: PublishRequest, limits: StreamLimits): Promise<Publication> {
    return this.publishNow(channel, req, limits);
  }

  publishNow(channel: string, req: PublishRequest, limits: StreamLimits): Publication {
    const stream = this.stream(channel, limits);
    const pub = buildPublication(channel, req, ++stream.top, stream.epoch, stream.touched);
    if (limits.historySize > 0) {
      stream.pubs.push(pub);
      this.trim(stream, limits, stream.touched);
    }
    // Delivered before publish() settles, so a publisher that awaits it and then reads history
    // never sees its publication missing from live delivery.
    if (this.subscribed.has(channel) || this.matchesPattern(channel)) this.sink?.onPublication(pub);
    return pub;
  }

  async publishJoin(channel: string, info: ClientInfo): Promise<void> {
    if (this.subscribed.has(channel)) this.sink?.onJoin(channel, info);
  }

  async publishLeave(channel: string, info: ClientInfo): Promise<void> {
    if (this.subscribed.has(channel)) this.sink?.onLeave(channel, info);
  }

  async subscribe(channels: string[]): Promise<void> {
    for (const c of channels) this.subscribed.add(c);
  }

  async unsubscribe(channels: string[]): Promise<void> {
    for (const c of channels) this.subscribed.delete(c);
  }

  async subscribePatterns(filters: string[]): Promise<void> {
    for (const f of filters) this.patterns.add(f);
  }

  async unsubscribePatterns(filters: string[]): Promise<void> {
    for (const f of filters) this.patterns.delete(f);
  }

  private matchesPattern(channel: string): boolean {
    for (const f of this.patterns) if (matchesFilter(f, channel)) return true;
    return false;
  }

  async history(channel: string, query: HistoryQuery, limits: StreamLimits): Promise<HistoryResult> {
    const stream = this.streams.get(channel);
    // Reading creates nothing: an unknown channel is at offset 0 of the epoch it would be born with.
    if (!stream) return { publications: [], position: { offset: 0, epoch: this.newStreamEpoch() } };
    stream.limits = limits;
    stream.touched = this.now();
    this.trim(stream, limits);
    const kept = stream.head === 0 ? stream.pubs : stream.pubs.slice(stream.head);
    return {
      publications: selectHistory(kept, query, stream.epoch),
      position: { offset: stream.top, epoch: stream.epoch },
    };
  }

  async removeHistory(channel: string): Promise<void> {
    const stream = this.streams.get(channel);
    if (stream) {
      stream.pubs = [];
      stream.head = 0;
    }
  }

  async addPresence(channel: string, info: ClientInfo, ttlSeconds: number): Promise<void> {
    this.presenceStore.add(channel, info, ttlSeconds);
  }

  async refreshPresence(entries: [string, ClientInfo][], ttlSeconds: number): Promise<void> {
    for (const [channel, info] of entries) this.presenceStore.add(channel, info, ttlSeconds);
  }

  async removePresence(channel: string, clientId: string): Promise<void> {
    this.presenceStore.remove(channel, clientId);
  }

  localPresence(ttlSeconds: number): LocalPresence {
    return this.presenceStore.group(ttlSeconds);
  }

  async presence(channel: string): Promise<Record<string, ClientInfo>> {
    return this.presenceStore.presence(channel);
  }

  async presenceStats(channel: string): Promise<PresenceStats> {
    return this.presenceStore.stats(channel);
  }

  async channels(): Promise<string[]> {
    return [...this.subscribed];
  }

  async reportNode(info: NodeInfo): Promise<NodeInfo[]> {
    this.node = info;
    return [this.node];
  }

  private stream(channel: string, limits: StreamLimits): Stream {
    const now = this.now();
    let stream = this.streams.get(channel);
    if (!stream) {
      stream = { epoch: this.newStreamEpoch(), top: 0, pubs: [], head: 0, limits, touched: now };
      this.streams.set(channel, stream);
    }
    stream.limits = limits;
    stream.touched = now;
    return stream;
  }

  private trim(stream: Stream, limits: StreamLimits, now = this.now()): void {
    const { pubs } = stream;
    let head = stream.head;
    if (pubs.length - head > limits.historySize) head = pubs.length - limits.historySize;
    if (limits.historyTtl > 0) {
      const oldest = now - limits.historyTtl * 1000;
      while (head < pubs.length && pubs[head].time <= oldest) head++;
    }
    // Compact lazily: an array shift per publication would be O(history) each time.
    if (head > 64 && head * 2 > pubs.length) {
      stream.pubs = pubs.slice(head);
      head = 0;
    }
    stream.head = head;
  }
}
