// The hub as a client may use it. Every client-originated call names the identity it acts for, and
// the policy is asked before the hub is: a door that goes through here cannot forget the check.
// Doors use this for everything a client asks; the raw Hub is for the server's own work (the server
// API, the MQTT bridge's feed, bookkeeping).
import type { Hub, SubscribeOptions, SubscribeResult } from '../hub/hub.js';
import type {
  ClientInfo,
  HistoryQuery,
  HistoryResult,
  PresenceStats,
  Publication,
  PublishRequest,
  Subscriber,
} from '../model/index.js';
import type { Identity } from './identity.js';
import type { AccessContext, Action, ChannelPolicy } from './policy.js';

export class ClientHub {
  constructor(
    readonly hub: Hub,
    readonly policy: ChannelPolicy,
  ) {}

  /** Validates the name, then asks the policy; throws the catalogue error (103) when refused. */
  check(identity: Identity, action: Action, channel: string, ctx?: AccessContext): void {
    this.hub.validateChannel(channel);
    const refused = this.policy.authorize(identity, action, channel, ctx);
    if (refused) throw refused;
  }

  subscribe(
    identity: Identity,
    channel: string,
    subscriber: Subscriber,
    opts: SubscribeOptions = {},
    ctx?: AccessContext,
  ): Promise<SubscribeResult> {
    this.check(identity, 'subscribe', channel, ctx);
    return this.hub.subscribe(channel, subscriber, opts);
  }

  unsubscribe(channel: string, subscriber: Subscriber): boolean {
    return this.hub.unsubscribe(channel, subscriber);
  }

  /**
   * The hub's publish after the policy's check, settled at once where the engine allows (see
   * Hub.publishEager): the publication or a promise of it; refusals are thrown.
   */
  publish(
    identity: Identity,
    channel: string,
    req: PublishRequest,
    ctx?: AccessContext,
  ): Publication | Promise<Publication> {
    this.check(identity, 'publish', channel, ctx);
    return this.hub.publishEager(channel, req);
  }

  history(
    identity: Identity,
    channel: string,
    query: HistoryQuery,
    ctx?: AccessContext,
  ): Promise<HistoryResult> {
    this.check(identity, 'history', channel, ctx);
    return this.hub.history(channel, query);
  }

  /** Other connections' info stays hidden unless the namespace shows it (presence_show_info). */
  async presence(
    identity: Identity,
    channel: string,
    ctx?: AccessContext,
  ): Promise<Record<string, ClientInfo>> {
    this.check(identity, 'presence', channel, ctx);
    const all = await this.hub.presence(channel);
    if (this.policy.showsInfo(channel)) return all;
    const out: Record<string, ClientInfo> = {};
    for (const [id, info] of Object.entries(all)) out[id] = { client: info.client, user: info.user };
    return out;
  }

  presenceStats(identity: Identity, channel: string, ctx?: AccessContext): Promise<PresenceStats> {
    this.check(identity, 'presence', channel, ctx);
    return this.hub.presenceStats(channel);
  }

  /** What a join/leave push may show of `info` to other subscribers of `channel`. */
  visibleInfo(channel: string, info: ClientInfo): ClientInfo {
    return this.policy.showsInfo(channel) ? info : { client: info.client, user: info.user };
  }

  /** Whether joins and leaves on `channel` are announced: the namespace's say, else the channel options'. */
  joinLeave(channel: string): boolean {
    return this.policy.joinLeave(channel) ?? this.hub.channelOptions(channel).joinLeave;
  }
}
