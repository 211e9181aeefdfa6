// The hub's settings and their defaults (the server fills them from config.ts).
import { DEFAULT_MAX_CHANNEL_LENGTH } from '../model/index.js';
import type { ChannelOptionsResolver } from './channel-options.js';

export interface HubOptions {
  historySize: number;
  /** Seconds. */
  historyTtl: number;
  allowClientPublish: boolean;
  joinLeave: boolean;
  /** Milliseconds a subscriber's socket holds publications before writing them (0 = at once). */
  writeDelay: number;
  channelOptions?: ConstructorParameters<typeof ChannelOptionsResolver>[1];
  /** Seconds. */
  presenceTtl: number;
  maxChannelNameLength: number;
  nodeName: string;
  /** Publications held for one subscription while its subscribe result is prepared. */
  maxSubscribeBuffer: number;
  /** Deepest nesting of arrays and objects a publication's data may have. */
  maxPayloadDepth: number;
  /**
   * Milliseconds over which subscribers are told to resynchronise after the engine lost deliveries
   * (a Redis bus reconnect), so that thousands of clients do not all come back in the same second.
   */
  resyncSpread: number;
}

export const defaultHubOptions: HubOptions = {
  historySize: 100,
  historyTtl: 300,
  allowClientPublish: true,
  joinLeave: true,
  writeDelay: 0,
  presenceTtl: 60,
  maxChannelNameLength: DEFAULT_MAX_CHANNEL_LENGTH,
  nodeName: 'herald',
  maxSubscribeBuffer: 10_000,
  maxPayloadDepth: 64,
  resyncSpread: 2000,
};
