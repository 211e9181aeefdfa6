// The one channel policy: may this identity subscribe to, publish to, read the history of, or see
// the presence of this channel? Decided per namespace, the part of the channel name before the first
// ":" (a channel named exactly like a namespace, such as the seed's `chat`, belongs to it; a channel
// whose namespace is not configured follows the default namespace). Option names are Centrifugo's.
// Nothing is allowed unless configured: an empty policy is a closed namespace.
//
// Beyond the namespace rules, a channel can be limited to users by name: everything after the last
// "~" is a comma-separated list of user ids (`dialog:~alice,bob`). Centrifugo spells this with
// "#", which is an MQTT wildcard and so cannot be a channel name here. The limit always applies to
// clients; a namespace with allow_user_limited_channels also lets the listed users subscribe.
import type { NamespacePolicy } from '../config.js';
import { HeraldError } from '../errors.js';
import { matchesFilter } from '../model/index.js';
import type { Identity } from './identity.js';

export type Action = 'subscribe' | 'publish' | 'history' | 'presence';

/** What the door knows about this client and channel beyond its identity. */
export interface AccessContext {
  /** The client is subscribed to the channel (for the `_for_subscriber` options). */
  subscribed?: boolean;
  /** The client presented a valid subscription token for this channel. */
  subscriptionToken?: boolean;
}

export const USER_LIMIT_SEPARATOR = '~';

/** The users a channel is limited to, or undefined for a channel open to the namespace's rules. */
export function channelUsers(channel: string): string[] | undefined {
  const i = channel.lastIndexOf(USER_LIMIT_SEPARATOR);
  if (i < 0) return undefined;
  return channel
    .slice(i + 1)
    .split(',')
    .filter((u) => u !== '');
}

export class ChannelPolicy {
  private readonly namespaces: Map<string, NamespacePolicy>;

  constructor(
    private readonly defaultNamespace: NamespacePolicy,
    namespaces: Record<string, NamespacePolicy>,
    /** The older per-prefix switch (allowClientPublish, channelOptions): it can only take away. */
    private readonly clientPublishAllowed: (channel: string) => boolean = () => true,
  ) {
    this.namespaces = new Map(Object.entries(namespaces));
  }

  namespaceOf(channel: string): NamespacePolicy {
    const i = channel.indexOf(':');
    return this.namespaces.get(i < 0 ? channel : channel.slice(0, i)) ?? this.defaultNamespace;
  }

  /** Undefined when allowed; otherwise the error to answer with (103 permission denied). */
  authorize(
    identity: Identity,
    action: Action,
    channel: string,
    ctx: AccessContext = {},
  ): HeraldError | undefined {
    if (identity.admin) return undefined;
    const users = channelUsers(channel);
    // Anonymous ('') is never in a list: empty names are dropped when the list is read.
    if (users && !users.includes(identity.user)) return denied(action, channel);
    const ns = this.namespaceOf(channel);
    let allowed = allows(ns, identity, action, ctx.subscribed === true);
    if (!allowed && action === 'subscribe') {
      allowed =
        ctx.subscriptionToken === true ||
        identity.channels?.includes(channel) === true ||
        (users !== undefined && ns.allow_user_limited_channels === true);
    }
    if (allowed && action === 'publish' && !this.clientPublishAllowed(channel)) allowed = false;
    return allowed ? undefined : denied(action, channel);
  }

  /**
   * A subscription to an MQTT filter. Sound rather than exact: a filter with a wildcard is allowed
   * only when every namespace it can reach lets this identity subscribe by rule (grants by token
   * and user-limited channels name single channels, so they do not count). A filter whose literal
   * part before the first wildcard holds a ":" stays in that one namespace; any other wildcard
   * filter can reach every namespace, so the default and every configured namespace must allow it.
   * `$` topics (the broker's $SYS) are for administrators only. The MQTT door also checks each
   * delivery with authorize(), which is what keeps user-limited channels private under `#`.
   */
  authorizeFilter(identity: Identity, filter: string): HeraldError | undefined {
    if (identity.admin) return undefined;
    if (filter.startsWith('$')) return new HeraldError('PERMISSION_DENIED', `subscribe ${filter}`);
    const levels = filter.split('/');
    const wild = levels.findIndex((l) => l === '+' || l === '#');
    if (wild < 0) return this.authorize(identity, 'subscribe', filter);
    const literal = levels.slice(0, wild).join('/');
    const colon = literal.indexOf(':');
    const reachable =
      colon >= 0
        ? [this.namespaces.get(literal.slice(0, colon)) ?? this.defaultNamespace]
        : [this.defaultNamespace, ...this.namespaces.values()];
    // A channel named exactly like a namespace is in that namespace: covered by the list above.
    if (reachable.every((ns) => allows(ns, identity, 'subscribe', false))) return undefined;
    return new HeraldError('PERMISSION_DENIED', `subscribe ${filter}`);
  }

  /** Whether a delivery on `channel` may reach a subscriber of `filter` (MQTT's per-message check). */
  mayReceive(identity: Identity, channel: string, filter?: string): boolean {
    if (filter !== undefined && !matchesFilter(filter, channel)) return false;
    return this.authorize(identity, 'subscribe', channel) === undefined;
  }

  /** Whether clients see each other's connection info in presence and join/leave. */
  showsInfo(channel: string): boolean {
    return this.namespaceOf(channel).presence_show_info === true;
  }

  /** The namespace's join_leave, when it says. */
  joinLeave(channel: string): boolean | undefined {
    return this.namespaceOf(channel).join_leave;
  }

  /** Join/leave pushed to every subscriber, whether or not it asked. */
  forcesJoinLeave(channel: string): boolean {
    return this.namespaceOf(channel).force_push_join_leave === true;
  }
}

function allows(ns: NamespacePolicy, identity: Identity, action: Action, subscribed: boolean): boolean {
  const anonymous = identity.user === '';
  switch (action) {
    case 'subscribe':
      return (
        ns.allow_subscribe_for_client === true && (!anonymous || ns.allow_subscribe_for_anonymous === true)
      );
    case 'publish':
      return (
        (ns.allow_publish_for_client === true || (subscribed && ns.allow_publish_for_subscriber === true)) &&
        (!anonymous || ns.allow_publish_for_anonymous === true)
      );
    case 'history':
      return (
        (ns.allow_history_for_client === true || (subscribed && ns.allow_history_for_subscriber === true)) &&
        (!anonymous || ns.allow_history_for_anonymous === true)
      );
    case 'presence':
      return (
        (ns.allow_presence_for_client === true ||
          (subscribed && ns.allow_presence_for_subscriber === true)) &&
        (!anonymous || ns.allow_presence_for_anonymous === true)
      );
  }
}

function denied(action: Action, channel: string): HeraldError {
  return new HeraldError('PERMISSION_DENIED', `${action} ${channel}`);
}
