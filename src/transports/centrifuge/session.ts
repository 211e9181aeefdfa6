// One client connection of the channel protocol, in three layers: session-base.ts (state, the one
// bounded send path, delivery, commands taken strictly in order, end of life), session-subscriptions.ts
// (subscribing, whoever asks), and here the remaining commands - connect with the token's channels,
// refresh, publish, history, presence - and what the server API asks of a connection.

import { ANONYMOUS, type Identity, identityFromClaims } from '../../auth/identity.js';
import type { AccessContext } from '../../auth/policy.js';
import { TokenError, tokenReplyError } from '../../auth/tokens.js';
import { Disconnects, HeraldError, Unsubscribes } from '../../errors.js';
import type { Hub } from '../../hub/hub.js';
import type { PublishRequest, StreamPosition } from '../../model/index.js';
import type { Encoded } from '../../protocol/centrifuge/codec.js';
import type { Command, ConnectRequest } from '../../protocol/centrifuge/commands.js';
import { fromBytes } from '../../protocol/payload.js';
import { sessionClock } from './keepalive.js';
import { Closed, ProtocolViolation } from './session-base.js';

export type { SessionContext } from './session-base.js';

export const SERVER_VERSION = 'herald 0.1.0';

/** The access context of a publish, shared rather than made per command (the policy only reads it). */
const SUBSCRIBED: AccessContext = Object.freeze({ subscribed: true });
const NOT_SUBSCRIBED: AccessContext = Object.freeze({ subscribed: false });

/** A publish command's result: empty, and only ever read to encode the reply. */
const PUBLISHED: object = Object.freeze({});
const publishResult = (): object => PUBLISHED;

import { type Attached, SubscribingSession } from './session-subscriptions.js';

export class ClientSession extends SubscribingSession {
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
    // Without a token: anonymous, one shared object (the client id is in `info`).
    let identity: Identity = ANONYMOUS;
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
    this.connectedAt = sessionClock();
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

  private publish(channel: string, data: unknown): object | Promise<object> {
    this.ctx.counters.messagesIn++;
    // A Protobuf client publishes bytes: kept as they are for byte-oriented subscribers.
    // One request object per publish (no spread of an intermediate one): this is the hot path when
    // every channel has its own subscriber.
    const req: PublishRequest = data instanceof Uint8Array ? fromBytes(data) : { data };
    req.info = this.info;
    // With the memory engine the publication is made (and delivered) before this returns, and the
    // reply follows with no promise in between; a refusal is thrown and answered as before.
    const done = this.ctx.clients.publish(
      this.identity,
      channel,
      req,
      this.subs.has(channel) ? SUBSCRIBED : NOT_SUBSCRIBED,
    );
    return done instanceof Promise ? done.then(publishResult) : PUBLISHED;
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
