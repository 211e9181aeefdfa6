// Per-channel settings: global defaults overridden by the longest matching channel-name prefix.
import type { ChannelOptionsOverride } from '../config.js';

export interface ChannelOptions {
  historySize: number;
  /** Seconds; 0 = no age limit. */
  historyTtl: number;
  allowClientPublish: boolean;
  joinLeave: boolean;
  /** Delta compressions subscribers may ask for ("fossil"); none by default. */
  allowedDeltaTypes: readonly string[];
  /** Milliseconds a subscriber's socket holds publications before writing them (0 = at once). */
  writeDelay: number;
}

export class ChannelOptionsResolver {
  private readonly prefixes: [string, ChannelOptionsOverride][];
  private readonly cache = new Map<string, ChannelOptions>();
  private static readonly CACHE_LIMIT = 10_000;

  constructor(
    private readonly defaults: ChannelOptions,
    overrides: Record<string, ChannelOptionsOverride> = {},
  ) {
    // Longest prefix first, so the first match is the most specific.
    this.prefixes = Object.entries(overrides).sort((a, b) => b[0].length - a[0].length);
  }

  get(channel: string): ChannelOptions {
    if (this.prefixes.length === 0) return this.defaults;
    let found = this.cache.get(channel);
    if (found) return found;
    const match = this.prefixes.find(([prefix]) => channel.startsWith(prefix));
    found = match ? { ...this.defaults, ...stripUndefined(match[1]) } : this.defaults;
    if (this.cache.size >= ChannelOptionsResolver.CACHE_LIMIT) this.cache.clear();
    this.cache.set(channel, found);
    return found;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
