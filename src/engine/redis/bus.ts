// The Pub/Sub bus: one dedicated connection per node, subscribed only to the channels (and MQTT-style
// filters, as globs) this node has subscribers for. It decodes what arrives, hands each publication
// to the sink once, and after a reconnect subscribes everything again and tells the hub to resync.
import type { Redis } from 'ioredis';
import { type EngineSink, type Logger, matchesFilter } from '../../model/index.js';
import { decodeBusMessage, publicationFrom } from './codec.js';
import { BusSubscriptions } from './subscriptions.js';

const MAX_DELIVERED_TRACKED = 100_000;
/**
 * Messages held while subscriptions are renewed (a round trip or a few): past it they are dropped,
 * which the resync that follows covers for every subscriber that can recover.
 */
const MAX_HELD_DURING_RESUBSCRIBE = 10_000;

/** An MQTT filter as a Redis glob: '+' and '#' become '*', glob metacharacters are escaped. */
export function filterToGlob(filter: string): string {
  if (filter === '#') return '*';
  return globEscape(filter)
    .split('/')
    .map((level) => (level === '+' ? '*' : level))
    .join('/')
    .replace(/\/#$/, '*');
}

export function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

export class RedisBus {
  private readonly subs: BusSubscriptions;
  /** MQTT-style filters the hub wants (PSUBSCRIBEd as globs, then matched exactly here). */
  private readonly psubs: BusSubscriptions;
  private readonly filters = new Map<string, string>();
  /**
   * The newest publication handed to the sink per channel: a publication can arrive once for a
   * channel subscription and once per matching pattern, and must reach the sink once.
   */
  private readonly delivered = new Map<string, { epoch: string; offset: number }>();
  sink: EngineSink | undefined;
  private wasReady = false;
  /** Messages that arrived while subscriptions were renewed after a reconnect (null: none held). */
  private held: [channel: string, message: Buffer, withPresence: boolean][] | null = null;
  /** The bus channel of messages to this node, once it listens. */
  private nodeChannel = '';

  constructor(
    private readonly conn: Redis,
    readonly prefix: string,
    private readonly log?: Logger,
  ) {
    this.subs = new BusSubscriptions(conn);
    this.psubs = new BusSubscriptions(conn, 'pattern');
    conn.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onMessage(channel, message));
    conn.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, message: Buffer) =>
      this.onPatternMessage(channel, message),
    );
    conn.on('close', () => {
      this.subs.connectionLost();
      this.psubs.connectionLost();
    });
    conn.on('ready', () => this.onReady());
  }

  /** The bus channel of a Herald channel. */
  channel(name: string): string {
    return this.prefix + name;
  }

  subscribe(channels: string[]): Promise<void> {
    return this.subs.subscribe(channels.map((c) => this.prefix + c));
  }

  unsubscribe(channels: string[]): Promise<void> {
    return this.subs.unsubscribe(channels.map((c) => this.prefix + c));
  }

  subscribePatterns(filters: string[]): Promise<void> {
    const globs: string[] = [];
    for (const f of filters) {
      const glob = this.prefix + filterToGlob(f);
      this.filters.set(f, glob);
      globs.push(glob);
    }
    return this.psubs.subscribe(globs);
  }

  unsubscribePatterns(filters: string[]): Promise<void> {
    const globs: string[] = [];
    for (const f of filters) {
      if (!this.filters.delete(f)) continue;
      const glob = this.prefix + filterToGlob(f);
      // Two filters may share a glob ('a/+' and 'a/#' do not, but '+' and '+' would): keep it if used.
      if (![...this.filters.values()].includes(glob)) globs.push(glob);
    }
    return this.psubs.unsubscribe(globs);
  }

  private onPatternMessage(busChannel: Buffer, message: Buffer): void {
    const channel = busChannel.toString('utf8').slice(this.prefix.length);
    // A glob is wider than its filter ('*' crosses '/'): match the filter itself.
    for (const f of this.filters.keys()) {
      if (matchesFilter(f, channel)) {
        this.deliver(channel, message, false);
        return;
      }
    }
  }

  /** Listens on `busChannel` for messages to this node; subscribed again after a reconnect. */
  listenAsNode(busChannel: string): Promise<void> {
    this.nodeChannel = busChannel;
    return this.subs.subscribe([busChannel]);
  }

  private onMessage(busChannel: Buffer, message: Buffer): void {
    const name = busChannel.toString('utf8');
    if (!this.subs.has(name)) return;
    if (name === this.nodeChannel) {
      this.sink?.onNodeMessage?.(message);
      return;
    }
    this.deliver(name.slice(this.prefix.length), message, true);
  }

  private deliver(channel: string, message: Buffer, withPresence: boolean): void {
    const sink = this.sink;
    if (!sink) return;
    if (this.held !== null) {
      // Resubscribing after a reconnect: the hub hears of the resync first (below), then these.
      if (this.held.length < MAX_HELD_DURING_RESUBSCRIBE) this.held.push([channel, message, withPresence]);
      return;
    }
    try {
      const m = decodeBusMessage(message);
      if (m.kind === 'pub') {
        if (this.alreadyDelivered(channel, m.epoch, m.offset)) return;
        sink.onPublication(publicationFrom(channel, m.offset, m.epoch, m.time, m.body));
      } else if (!withPresence) {
        // presence events are for channel subscribers only
      } else if (m.kind === 'join') sink.onJoin(channel, m.info);
      else sink.onLeave(channel, m.info);
    } catch (err) {
      this.log?.warn({ err, channel }, 'dropped a malformed message from the Redis bus');
    }
  }

  private alreadyDelivered(channel: string, epoch: string, offset: number): boolean {
    const last = this.delivered.get(channel);
    if (last && last.epoch === epoch && offset <= last.offset) return true;
    // Bounded: forgetting only risks a repeat, which the hub drops for channel subscribers anyway.
    if (!last && this.delivered.size >= MAX_DELIVERED_TRACKED) this.delivered.clear();
    this.delivered.set(channel, { epoch, offset });
    return false;
  }

  private onReady(): void {
    if (!this.wasReady) {
      this.wasReady = true;
      return;
    }
    // A new connection: Redis knows none of our subscriptions, and whatever was published while we
    // were away never reached us. Subscribe again first, then let the subscribers catch up. What
    // arrives while the subscriptions are renewed is held until the hub has been told: delivered
    // before, its jump in offsets would tell every subscriber at once that it has a gap, instead of
    // the spread-out resync the hub gives them.
    this.held ??= [];
    Promise.all([this.subs.resubscribeAll(), this.psubs.resubscribeAll()]).then(
      () => {
        this.log?.info({ channels: this.subs.wanted.size }, 'Redis bus reconnected; channels resubscribed');
        this.sink?.onResync?.();
        this.release();
      },
      (err: Error) => {
        this.log?.warn({ err: err.message }, 'resubscribing after a Redis reconnect failed; retrying');
        this.held = null; // covered by the resync of the next reconnect
        this.conn.disconnect(true); // reconnect, and try again on the next ready
      },
    );
  }

  private release(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const [channel, message, withPresence] of held) this.deliver(channel, message, withPresence);
  }
}
