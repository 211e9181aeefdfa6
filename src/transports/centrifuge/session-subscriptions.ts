// The subscribing half of a channel-protocol session: one `attach` for every subscription whoever
// asked for it (the client's subscribe command, the token's channels at connect, the server API),
// with recovery, presence, subscription tokens and delta negotiation; and unsubscribing.

import { TokenError, type TokenVerifier, tokenReplyError } from '../../auth/tokens.js';
import { HeraldError } from '../../errors.js';
import type { SubscribeResult } from '../../hub/hub.js';
import type { StreamPosition, Subscriber } from '../../model/index.js';
import type { Encoded } from '../../protocol/centrifuge/codec.js';
import type { SubscribeRequest } from '../../protocol/centrifuge/commands.js';
import { deltaFormatOf, deltaWirePublication } from '../../protocol/centrifuge/delta-formats.js';
import { DeltaSubscription } from './delta-subscription.js';
import { SessionBase } from './session-base.js';
import { ChannelSub } from './sub-table.js';

/** One subscription to make, whoever asked for it. */
export interface AttachRequest {
  channel: string;
  recover: boolean;
  epoch: string;
  offset: number;
  positioned: boolean;
  recoverable: boolean;
  joinLeave: boolean;
  server: boolean;
  /** The delta compression the client asked for ("fossil"), if any. */
  delta?: string;
  /** The hub call: through the channel policy for what a client asked, past it for the backend. */
  via(since: StreamPosition | undefined, subscriber: Subscriber): Promise<SubscribeResult>;
}

/** A subscription made in the hub but not yet live: its reply goes out first, then start(). */
export interface Attached {
  /** The subscribe result as the protocol shows it (also a connect result's `subs` entry). */
  reply: Record<string, unknown>;
  /** Live delivery and presence; call after the reply was sent. */
  start(): Promise<void>;
  /** The reply could not be sent after all: undo. */
  cancel(): void;
}

export abstract class SubscribingSession extends SessionBase {
  protected async subscribe(id: number, req: SubscribeRequest): Promise<undefined> {
    const { config, clients } = this.ctx;
    const { channel } = req;
    const access = { subscriptionToken: await this.subscriptionToken(channel, req.token) };
    // Before anything is read about the channel, even its position for a recovery.
    clients.check(this.identity, 'subscribe', channel, access);
    const a = await this.attach({
      ...req,
      server: false,
      via: (since, subscriber) =>
        clients.subscribe(
          this.identity,
          channel,
          subscriber,
          { since, limit: config.maxRecoveryPublications },
          access,
        ),
    });
    if (!a) return undefined;
    let answer: Encoded;
    try {
      answer = this.transport.codec.result(id, 'subscribe', a.reply);
    } catch (err) {
      // Answered as an error (an unencodable publication, say): the client is not subscribed, so
      // neither is this connection.
      a.cancel();
      throw err;
    }
    // The reply goes out before live delivery starts: what arrived meanwhile follows it, in order.
    this.send(answer);
    await a.start();
    return undefined;
  }

  /** Subscribes in the hub and builds the result; undefined when the connection closed meanwhile. */
  protected async attach(req: AttachRequest): Promise<Attached | undefined> {
    const { hub, config, clients } = this.ctx;
    const { channel } = req;
    if (this.subs.has(channel)) throw new HeraldError('ALREADY_SUBSCRIBED', channel);
    if (this.subs.size >= config.maxChannelsPerClient) {
      throw new HeraldError(
        'LIMIT_EXCEEDED',
        `at most ${config.maxChannelsPerClient} channels per connection`,
      );
    }
    const opts = hub.channelOptions(channel);
    const recoverable = req.recoverable && opts.historySize > 0;
    const positioned = req.positioned || recoverable;
    let since: StreamPosition | undefined;
    if (req.recover) {
      // No epoch means "whatever the current one is", as Centrifugo reads it.
      const epoch = req.epoch || (await hub.history(channel, { limit: 0 })).position.epoch;
      since = { epoch, offset: req.offset };
    }
    const delta = this.deltaFor(req, opts.allowedDeltaTypes);
    const sub = new ChannelSub(
      channel,
      req.joinLeave || clients.policy.forcesJoinLeave(channel),
      req.server,
      delta ?? this,
    );
    this.writeDelay = this.subs.size === 0 ? opts.writeDelay : Math.min(this.writeDelay, opts.writeDelay);
    this.subs = this.subs.with(sub);
    this.ctx.counters.subscriptions++;
    const drop = () => {
      if (this.subs.get(channel) !== sub) return;
      this.subs = this.subs.without(channel);
      this.ctx.counters.subscriptions--;
    };
    let result: SubscribeResult;
    try {
      result = await req.via(since, sub.subscriber);
    } catch (err) {
      drop();
      throw err;
    }
    if (this.closed) {
      hub.unsubscribe(channel, sub.subscriber);
      return undefined;
    }
    const reply: Record<string, unknown> = {};
    if (recoverable) reply.recoverable = true;
    if (positioned) {
      reply.positioned = true;
      reply.epoch = result.position.epoch;
      reply.offset = result.position.offset;
    }
    if (req.recover) {
      reply.was_recovering = true;
      if (result.recovered) {
        reply.recovered = true;
        reply.publications = result.publications.map((p) =>
          delta
            ? deltaWirePublication(this.transport.codec.name, p)
            : this.transport.codec.wirePublication(p),
        );
      }
    }
    if (delta) {
      reply.delta = true;
      // Sent whole in this result: the next live publication may build on the last of them.
      const last = reply.publications ? result.publications.at(-1) : undefined;
      if (last) delta.holds(last);
    }
    return {
      reply,
      cancel: () => {
        drop();
        hub.unsubscribe(channel, sub.subscriber);
      },
      start: async () => {
        try {
          result.start();
        } catch (err) {
          // The client already believes it is subscribed; only a reconnect (and recovery) is honest.
          this.fail(err);
          return;
        }
        // Told to resync while starting: that subscription is gone already, and must not join.
        if (this.subs.get(channel) !== sub) return;
        sub.present = true;
        await hub.join(channel, this.info, clients.joinLeave(channel)).catch((err) => {
          this.ctx.log.warn(
            { client: this.id, channel, err: (err as Error).message },
            'presence join failed',
          );
        });
      },
    };
  }

  /**
   * The delta subscription to deliver through, when the client asked for Fossil deltas and the
   * channel allows them; otherwise the session takes full publications (the SDK then does too).
   */
  protected deltaFor(req: AttachRequest, allowed: readonly string[]): DeltaSubscription | undefined {
    if (req.delta === undefined) return undefined;
    if (req.delta !== 'fossil') throw new HeraldError('BAD_REQUEST', `unknown delta type ${req.delta}`);
    // Server-side subscriptions have no subscribe command to negotiate it in.
    if (req.server || !allowed.includes('fossil')) return undefined;
    const format = deltaFormatOf(this.format);
    return format ? new DeltaSubscription(format, this) : undefined;
  }

  /**
   * Whether the subscribe command carries a valid subscription token for this channel and this
   * user. A token for another channel or user is refused outright rather than ignored.
   */
  protected async subscriptionToken(channel: string, token: string | undefined): Promise<boolean> {
    const { verifier } = this.ctx;
    if (!token || !verifier) return false;
    let claims: Awaited<ReturnType<TokenVerifier['verifySubscription']>>;
    try {
      claims = await verifier.verifySubscription(token);
    } catch (err) {
      if (err instanceof TokenError && err.expired) throw tokenReplyError(err);
      throw new HeraldError('PERMISSION_DENIED', 'invalid subscription token');
    }
    if (claims.channel !== channel || claims.user !== this.identity.user) {
      throw new HeraldError('PERMISSION_DENIED', 'subscription token is for another channel or user');
    }
    return true;
  }

  protected async unsubscribe(channel: string): Promise<object> {
    const sub = this.subs.get(channel);
    if (sub) await this.leave(channel, sub);
    return {};
  }
}
