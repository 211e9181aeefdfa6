// The embedded engine: every channel's stream, history and presence in this process's memory.
// Its epoch for a channel is made when the channel is first seen, so a restart changes every epoch
// and clients holding old positions are told they cannot recover, rather than given a silent gap.

import { matchesFilter } from '../hub/channel-name.js';
import type {
  ClientInfo,
  HistoryQuery,
  HistoryResult,
  PresenceStats,
  Publication,
  PublishRequest,
} from '../hub/types.js';
import type { Engine, EngineSink, NodeInfo, StreamLimits } from './engine.js';
import { newEpoch } from './epoch.js';
import { selectHistory } from './history-window.js';

interface Stream {
  epoch: string;
  top: number;
  /** Kept publications, oldest first, from index `head`. */
  pubs: Publication[];
  head: number;
}

interface PresenceEntry {
  info: ClientInfo;
  expires: number;
}

export class MemoryEngine implements Engine {
  readonly name = 'memory';
  private sink: EngineSink | undefined;
  private readonly streams = new Map<string, Stream>();
  private readonly presenceByChannel = new Map<string, Map<string, PresenceEntry>>();
  private readonly subscribed = new Set<string>();
  private readonly patterns = new Set<string>();
  private node: NodeInfo | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  async start(sink: EngineSink): Promise<void> {
    this.sink = sink;
  }

  async close(): Promise<void> {
    this.sink = undefined;
  }

  async publish(channel: string, req: PublishRequest, limits: StreamLimits): Promise<Publication> {
    const stream = this.stream(channel);
    const pub: Publication = {
      channel,
      offset: ++stream.top,
      epoch: stream.epoch,
      data: req.data,
      time: this.now(),
    };
    if (req.bytes !== undefined) pub.bytes = req.bytes;
    if (req.binary) pub.binary = true;
    if (req.info !== undefined) pub.info = req.info;
    if (req.qos !== undefined) pub.qos = req.qos;
    if (req.retain) pub.retain = true;
    if (limits.historySize > 0) {
      stream.pubs.push(pub);
      this.trim(stream, limits);
    }
    // Delivered before the promise settles, so a publisher that awaits publish() and then reads
    // history never sees its publication missing from live delivery.
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
    const stream = this.stream(channel);
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
    let entries = this.presenceByChannel.get(channel);
    if (!entries) {
      entries = new Map();
      this.presenceByChannel.set(channel, entries);
    }
    entries.set(info.client, { info, expires: this.now() + ttlSeconds * 1000 });
  }

  async refreshPresence(entries: [string, ClientInfo][], ttlSeconds: number): Promise<void> {
    for (const [channel, info] of entries) await this.addPresence(channel, info, ttlSeconds);
  }

  async removePresence(channel: string, clientId: string): Promise<void> {
    const entries = this.presenceByChannel.get(channel);
    if (!entries) return;
    entries.delete(clientId);
    if (entries.size === 0) this.presenceByChannel.delete(channel);
  }

  async presence(channel: string): Promise<Record<string, ClientInfo>> {
    const out: Record<string, ClientInfo> = {};
    const entries = this.presenceByChannel.get(channel);
    if (!entries) return out;
    const now = this.now();
    for (const [id, e] of entries) {
      if (e.expires > now) out[id] = e.info;
      else entries.delete(id);
    }
    return out;
  }

  async presenceStats(channel: string): Promise<PresenceStats> {
    const present = Object.values(await this.presence(channel));
    return { numClients: present.length, numUsers: new Set(present.map((i) => i.user)).size };
  }

  async channels(): Promise<string[]> {
    return [...this.subscribed];
  }

  async reportNode(info: NodeInfo): Promise<NodeInfo[]> {
    this.node = info;
    return [this.node];
  }

  private stream(channel: string): Stream {
    let stream = this.streams.get(channel);
    if (!stream) {
      stream = { epoch: newEpoch(), top: 0, pubs: [], head: 0 };
      this.streams.set(channel, stream);
    }
    return stream;
  }

  private trim(stream: Stream, limits: StreamLimits): void {
    const { pubs } = stream;
    let head = stream.head;
    if (pubs.length - head > limits.historySize) head = pubs.length - limits.historySize;
    if (limits.historyTtl > 0) {
      const oldest = this.now() - limits.historyTtl * 1000;
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
