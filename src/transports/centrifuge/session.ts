// One client connection of the WebSocket channel protocol. Commands are handled strictly in the
// order they arrive (the SDK sends connect and its subscribes in one frame, and subscribe waits on
// the engine), and every reply and push goes through one bounded send path.
// This file holds the commands (connect, subscribe, publish, ...); session-base.ts the rest.

import { type Identity, identityFromClaims } from '../../auth/identity.js';
import { TokenError, type TokenVerifier, tokenReplyError } from '../../auth/tokens.js';
import { Disconnects, HeraldError, Unsubscribes } from '../../errors.js';
import type { Hub, SubscribeResult } from '../../hub/hub.js';
import type { StreamPosition, Subscriber } from '../../model/index.js';
import type { Encoded } from '../../protocol/centrifuge/codec.js';
import type { Command, ConnectRequest, SubscribeRequest } from '../../protocol/centrifuge/commands.js';
import { deltaFormatOf, deltaWirePublication } from '../../protocol/centrifuge/delta-formats.js';
import { fromBytes } from '../../protocol/payload.js';
import { DeltaSubscription } from './delta-subscription.js';
import { type ChannelSub, Closed, ProtocolViolation, SessionBase } from './session-base.js';

export type { SessionContext } from './session-base.js';

export const SERVER_VERSION = 'herald 0.1.0';

/** One subscription to make, whoever asked for it. */
interface AttachRequest {
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
interface Attached {
  /** The subscribe result as the protocol shows it (also a connect result's `subs` entry). */
  reply: Record<string, unknown>;
  /** Live delivery and presence; call after the reply was sent. */
  start(): Promise<void>;
  /** The reply could not be sent after all: undo. */
  cancel(): void;
}

export class ClientSession extends SessionBase {
  /** Returns the result to reply with, or undefined for commands that get no reply. */
  protected handle(cmd: Command): Promise<object | undefined> | object | undefined {
    switch (cmd.method) {
      case 'connect':
        return this.connect(cmd.id, cmd.params);
      case 'subscribe':
        return this.subscribe(cmd.id, cmd.params);
      case 'unsubscribe':
        return this.unsubscribe(cmd.params.channel);
      case 'publish':
        return this.publish(cmd.params.channel, cmd.params.data);
      case 'history':
        return this.history(cmd.params);
      case 'presence':
        return this.presence(cmd.params.channel);
      case 'presence_stats':
        return this.presenceStats(cmd.params.channel);
      case 'refresh':
        return this.refresh(cmd.params.token);
      case 'sub_refresh':
        // Subscription tokens are not used: a subscription lives as long as its connection.
        return {};
      case 'send':
        return undefined; // asynchronous messages to the application: there is no handler yet
      case 'rpc':
        throw new HeraldError('METHOD_NOT_FOUND', cmd.params.method ? `rpc ${cmd.params.method}` : 'rpc');
      case 'unknown':
        throw new HeraldError('METHOD_NOT_FOUND');
      case 'pong':
        return undefined;
    }
  }

  // ---- commands ---------------------------------------------------------------------------------

  /** Replies by itself (undefined): server-side subscriptions start only after the reply. */
  private async connect(id: number, req: ConnectRequest): Promise<undefined> {
    if (this.connected) throw new ProtocolViolation(Disconnects.BAD_REQUEST);
    const { verifier, config, hub } = this.ctx;
    let identity: Identity = { user: '', client: this.id };
    if (verifier && req.token) {
      try {
        const claims = await verifier.verify(req.token);
        identity = identityFromClaims(claims, this.id);
        this.expiresAt = claims.exp ? claims.exp * 1000 : 0;
      } catch (err) {
        if (err instanceof TokenError && err.expired) throw tokenReplyError(err);
        throw new ProtocolViolation(Disconnects.INVALID_TOKEN);
      }
    } else if (verifier && !config.allowClientConnectWithoutToken) {
      throw new HeraldError('UNAUTHORIZED', 'a connection token is required');
    }
    if (this.closed) return undefined;
    this.identity = identity;
    this.info = { client: this.id, user: identity.user, transport: this.transport.name };
    if (identity.info !== undefined) this.info.connInfo = identity.info;
    const attached = await this.serverSubsAtConnect(identity, req);
    if (!attached) return undefined;
    const result: Record<string, unknown> = {
      client: this.id,
      version: SERVER_VERSION,
      ping: config.clientPing,
      pong: true,
      ...this.transport.emulation,
      ...this.expiry(),
    };
    if (attached.size > 0) {
      const subs: Record<string, unknown> = {};
      for (const [channel, a] of attached) subs[channel] = a.reply;
      result.subs = subs;
    }
    let answer: Encoded;
    try {
      answer = this.transport.codec.result(id, 'connect', result);
    } catch (err) {
      for (const a of attached.values()) a.cancel();
      throw err;
    }
    this.connected = true;
    this.connectedAt = Date.now();
    hub.clientConnected();
    this.send(answer);
    for (const a of attached.values()) await a.start();
    return undefined;
  }

  /**
   * The token's channels, subscribed by the server with recovery from where the connect command
   * says each one left off. All or none: undefined when the connection closed meanwhile.
   */
  private async serverSubsAtConnect(
    identity: Identity,
    req: ConnectRequest,
  ): Promise<Map<string, Attached> | undefined> {
    const { clients, config } = this.ctx;
    const attached = new Map<string, Attached>();
    try {
      for (const channel of new Set(identity.channels ?? [])) {
        // Before anything is read about the channel, as for a client's own subscribe.
        clients.check(identity, 'subscribe', channel);
        const r = req.subs?.[channel];
        const a = await this.attach({
          channel,
          recover: r?.recover ?? false,
          epoch: r?.epoch ?? '',
          offset: r?.offset ?? 0,
          positioned: false,
          recoverable: true,
          joinLeave: false,
          server: true,
          via: (since, subscriber) =>
            clients.subscribe(identity, channel, subscriber, {
              since,
              limit: config.maxRecoveryPublications,
            }),
        });
        if (!a) throw new Closed();
        attached.set(channel, a);
      }
    } catch (err) {
      for (const a of attached.values()) a.cancel();
      if (err instanceof Closed) return undefined;
      throw err;
    }
    return attached;
  }

  private expiry(): { expires?: true; ttl?: number } {
    if (this.expiresAt === 0) return {};
    return { expires: true, ttl: Math.max(1, Math.floor((this.expiresAt - Date.now()) / 1000)) };
  }

  private async refresh(token: string | undefined): Promise<object> {
    const { verifier } = this.ctx;
    if (!verifier) return {};
    if (!token) throw new HeraldError('BAD_REQUEST', 'refresh needs a token');
    try {
      const claims = await verifier.verify(token);
      if (claims.user !== this.info.user) throw new ProtocolViolation(Disconnects.INVALID_TOKEN);
      this.expiresAt = claims.exp ? claims.exp * 1000 : 0;
    } catch (err) {
      if (err instanceof ProtocolViolation) throw err;
      if (err instanceof TokenError && err.expired) throw new ProtocolViolation(Disconnects.EXPIRED);
      throw new ProtocolViolation(Disconnects.INVALID_TOKEN);
    }
    return { client: this.id, version: SERVER_VERSION, ...this.expiry() };
  }

  private async subscribe(id: number, req: SubscribeRequest): Promise<undefined> {
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
  private async attach(req: AttachRequest): Promise<Attached | undefined> {
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
    const sub: ChannelSub = {
      joinLeave: req.joinLeave || clients.policy.forcesJoinLeave(channel),
      present: false,
      server: req.server,
      subscriber: delta ?? this,
    };
    this.subs.set(channel, sub);
    this.ctx.counters.subscriptions++;
    const drop = () => {
      if (this.subs.get(channel) !== sub) return;
      this.subs.delete(channel);
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
  private deltaFor(req: AttachRequest, allowed: readonly string[]): DeltaSubscription | undefined {
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
  private async subscriptionToken(channel: string, token: string | undefined): Promise<boolean> {
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

  private async unsubscribe(channel: string): Promise<object> {
    const sub = this.subs.get(channel);
    if (sub) await this.leave(channel, sub);
    return {};
  }

  private async publish(channel: string, data: unknown): Promise<object> {
    this.ctx.counters.messagesIn++;
    // A Protobuf client publishes bytes: kept as they are for byte-oriented subscribers.
    const req = data instanceof Uint8Array ? fromBytes(data) : { data };
    await this.ctx.clients.publish(
      this.identity,
      channel,
      { ...req, info: this.info },
      { subscribed: this.subs.has(channel) },
    );
    return {};
  }

  private async history(req: { channel: string; limit?: number; since?: StreamPosition; reverse: boolean }) {
    // No limit (or more than the cap) reads at most the cap, as a resume does.
    const cap = this.ctx.config.maxRecoveryPublications;
    const h = await this.ctx.clients.history(
      this.identity,
      req.channel,
      {
        limit: req.limit === undefined || req.limit > cap ? cap : req.limit,
        since: req.since,
        reverse: req.reverse,
      },
      { subscribed: this.subs.has(req.channel) },
    );
    if (req.since && req.since.epoch !== h.position.epoch) {
      throw new HeraldError('UNRECOVERABLE_POSITION', 'the stream epoch changed');
    }
    return {
      publications: h.publications.map((p) => this.transport.codec.wirePublication(p)),
      epoch: h.position.epoch,
      offset: h.position.offset,
    };
  }

  private async presence(channel: string): Promise<object> {
    const all = await this.ctx.clients.presence(this.identity, channel, {
      subscribed: this.subs.has(channel),
    });
    const presence: Record<string, object> = {};
    for (const [id, info] of Object.entries(all)) presence[id] = this.transport.codec.wireClientInfo(info);
    return { presence };
  }

  private async presenceStats(channel: string): Promise<object> {
    const s = await this.ctx.clients.presenceStats(this.identity, channel, {
      subscribed: this.subs.has(channel),
    });
    return { num_clients: s.numClients, num_users: s.numUsers };
  }

  // ---- the backend's commands (server API) -------------------------------------------------------

  /** Subscribes this connection on the backend's say: a `subscribe` push, no policy asked. */
  async serverSubscribe(channel: string): Promise<void> {
    if (!this.isConnected || this.subs.has(channel)) return;
    const { config } = this.ctx;
    const hub: Hub = this.ctx.hub;
    hub.validateChannel(channel);
    const a = await this.attach({
      channel,
      recover: false,
      epoch: '',
      offset: 0,
      positioned: false,
      recoverable: true,
      joinLeave: false,
      server: true,
      via: (since, subscriber) =>
        hub.subscribe(channel, subscriber, { since, limit: config.maxRecoveryPublications }),
    });
    if (!a) return;
    let push: Encoded;
    try {
      push = this.transport.codec.subscribe(channel, a.reply);
    } catch (err) {
      a.cancel();
      throw err;
    }
    this.send(push);
    await a.start();
  }

  /** Ends one subscription, client-side or server-side, with an unsubscribe push (2000). */
  async serverUnsubscribe(channel: string): Promise<void> {
    const sub = this.subs.get(channel);
    if (!sub || this.closed) return;
    const u = Unsubscribes.SERVER;
    this.send(this.transport.codec.unsubscribe(channel, u.code, u.reason));
    await this.leave(channel, sub);
  }

  /** A new connection expiry from the backend (ms since the Unix epoch, 0 = never), or the end. */
  serverRefresh(expired: boolean, expiresAt: number): void {
    if (!this.isConnected) return;
    if (expired) this.disconnect(Disconnects.EXPIRED);
    else this.expiresAt = expiresAt;
  }
}
