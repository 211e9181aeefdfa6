// One client connection of the WebSocket channel protocol. Commands are handled strictly in the
// order they arrive (the SDK sends connect and its subscribes in one frame, and subscribe waits on
// the engine), and every reply and push goes through one bounded send path.

import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { type ConnectionTokenVerifier, TokenError, tokenReplyError } from '../../auth/connection-token.js';
import type { Config } from '../../config.js';
import { type DisconnectDef, Disconnects, HeraldError } from '../../errors.js';
import type { Hub } from '../../hub/hub.js';
import type { ClientInfo, Logger, Publication, StreamPosition, Subscriber } from '../../model/index.js';
import {
  type Command,
  type ConnectRequest,
  decodeFrame,
  type SubscribeRequest,
} from '../../protocol/centrifuge/commands.js';
import {
  centrifugeJsonFormat,
  encodeError,
  encodeJoinPush,
  encodeLeavePush,
  encodeResult,
  PING,
  wireClientInfo,
  wirePublication,
} from '../../protocol/centrifuge/replies.js';
import type { DoorCounters } from '../door-stats.js';
import { FrameTarget, writeFrame } from '../ws/frame-writer.js';

export const SERVER_VERSION = 'herald 0.1.0';

/** What a session needs from its door: shared settings and the registry it leaves on close. */
export interface SessionContext {
  readonly hub: Hub;
  /** This door's figures for /metrics. */
  readonly counters: DoorCounters;
  readonly config: Config;
  readonly log: Logger & { info(obj: object, msg?: string): void };
  readonly verifier: ConnectionTokenVerifier | undefined;
  readonly sessions: Set<ClientSession>;
}

interface ChannelSub {
  joinLeave: boolean;
  /** Whether this connection is in the channel's presence (and must leave it). */
  present: boolean;
}

/** Past the send bound a protocol client is told why (3008), which the SDK reconnects on. */
const disconnectSlow = (session: ClientSession) => session.disconnect(Disconnects.SLOW);

export class ClientSession extends FrameTarget implements Subscriber<Buffer> {
  readonly format = centrifugeJsonFormat;
  readonly id = randomUUID();
  info: ClientInfo = { client: this.id, user: '', transport: 'websocket' };
  private connected = false;
  private closed = false;
  private readonly subs = new Map<string, ChannelSub>();
  private readonly queue: Command[] = [];
  private running = false;
  /** Disconnected for not reading fast enough (a slow-consumer cut-off, for /metrics). */
  private cutSlow = false;
  /** Milliseconds since the Unix epoch. */
  readonly openedAt = Date.now();
  lastPingAt = 0;
  /** When connect succeeded; pings are due from then on. */
  connectedAt = 0;
  pongPending = false;
  /** When the connection token runs out (ms since the Unix epoch); 0 = never. */
  expiresAt = 0;

  constructor(
    ws: WebSocket,
    private readonly ctx: SessionContext,
  ) {
    super(ws);
    ws.on('message', (data: Buffer, isBinary) => this.onFrame(data, isBinary));
    ws.on('error', (err) => ctx.log.warn({ client: this.id, err: err.message }, 'websocket error'));
    ctx.counters.opened();
    ws.once('close', (code: number) => {
      if (this.cutSlow) ctx.counters.slowConsumers++;
      ctx.counters.closed(code);
      this.cleanup();
    });
  }

  get isConnected(): boolean {
    return this.connected && !this.closed;
  }

  // ---- sending ----------------------------------------------------------------------------------

  /** Sends one frame unless the peer is too slow: past the bound it is disconnected, not buffered. */
  send(frame: string): void {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ws.bufferedAmount > this.ctx.config.maxBufferedBytes) {
      this.disconnect(Disconnects.SLOW);
      return;
    }
    this.ws.send(frame);
  }

  ping(now: number): void {
    this.lastPingAt = now;
    this.pongPending = true;
    this.send(PING);
  }

  /** Closes with a protocol disconnect code; the SDK reconnects for 3000-3499 only. */
  disconnect(d: DisconnectDef): void {
    if (this.closed) return;
    if (d === Disconnects.SLOW) this.cutSlow = true;
    this.closed = true;
    this.queue.length = 0;
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(d.code, d.reason);
      // The close frame may wait behind a full buffer: do not wait for a peer that is not reading.
      setTimeout(() => this.ws.terminate(), 1000).unref();
    }
  }

  // ---- Subscriber: what the hub hands over ------------------------------------------------------

  /** The fan-out hot path: the hub's ready frame, written as is (coalesced per socket per tick). */
  deliver(_pub: Publication, frame: Buffer): void {
    if (this.closed) return;
    if (writeFrame(this, frame, false, this.ctx.config.maxBufferedBytes, disconnectSlow)) {
      this.ctx.counters.sent(frame.length);
    }
  }

  onJoin(channel: string, info: ClientInfo): void {
    if (this.subs.get(channel)?.joinLeave) this.send(encodeJoinPush(channel, info));
  }

  onLeave(channel: string, info: ClientInfo): void {
    if (this.subs.get(channel)?.joinLeave) this.send(encodeLeavePush(channel, info));
  }

  onInsufficientState(channel: string): void {
    // The SDK reconnects and recovers from its last position: nothing is lost, nothing doubled.
    this.ctx.log.warn({ client: this.id, channel }, 'insufficient state, disconnecting to resync');
    this.disconnect(Disconnects.INSUFFICIENT_STATE);
  }

  // ---- receiving --------------------------------------------------------------------------------

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    // Any frame proves the peer alive; the empty command is the proper answer to a ping.
    this.pongPending = false;
    if (isBinary) {
      this.disconnect(Disconnects.BAD_REQUEST);
      return;
    }
    let commands: Command[];
    try {
      commands = decodeFrame(data.toString('utf8'));
    } catch (err) {
      this.ctx.log.info({ client: this.id, err: (err as Error).message }, 'bad frame, disconnecting');
      this.disconnect(Disconnects.BAD_REQUEST);
      return;
    }
    for (const c of commands) if (c.method !== 'pong') this.queue.push(c);
    if (this.queue.length === 0) return;
    if (this.running) {
      // Back-pressure: read no more from this socket until the queue is worked off, so the queue
      // holds at most what was already read (bounded by maxMessageSize per frame).
      this.ws.pause();
      return;
    }
    this.drain().catch((err) => this.fail(err));
  }

  /** A failure no command reply can carry: the connection ends, and the SDK reconnects and recovers. */
  private fail(err: unknown): void {
    this.ctx.log.error({ client: this.id, err }, 'session failed');
    this.disconnect(Disconnects.SERVER_ERROR);
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const cmd = this.queue.shift() as Command;
        await this.run(cmd);
      }
    } finally {
      this.running = false;
      if (!this.closed && this.ws.isPaused) this.ws.resume();
    }
  }

  private async run(cmd: Command): Promise<void> {
    if (!this.connected && cmd.method !== 'connect') {
      this.ctx.log.info({ client: this.id, method: cmd.method }, 'command before connect');
      return this.disconnect(Disconnects.BAD_REQUEST);
    }
    try {
      const result = await this.handle(cmd);
      if (result !== undefined && !this.closed) this.send(encodeResult(cmd.id, cmd.method, result));
    } catch (err) {
      if (err instanceof ProtocolViolation) return this.disconnect(err.disconnect);
      if (this.closed) return;
      const e = err instanceof HeraldError ? err : new HeraldError('INTERNAL');
      if (!(err instanceof HeraldError)) {
        this.ctx.log.error({ client: this.id, err, method: cmd.method }, 'command failed');
      }
      this.send(encodeError(cmd.id, e));
    }
  }

  /** Returns the result to reply with, or undefined for commands that get no reply. */
  private handle(cmd: Command): Promise<object | undefined> | object | undefined {
    switch (cmd.method) {
      case 'connect':
        return this.connect(cmd.params);
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

  private async connect(req: ConnectRequest): Promise<object> {
    if (this.connected) throw new ProtocolViolation(Disconnects.BAD_REQUEST);
    const { verifier, config, hub } = this.ctx;
    let user = '';
    let connInfo: unknown;
    if (verifier) {
      if (!req.token) throw new HeraldError('UNAUTHORIZED', 'a connection token is required');
      try {
        const claims = await verifier.verify(req.token);
        user = claims.user;
        connInfo = claims.info;
        this.expiresAt = claims.exp ? claims.exp * 1000 : 0;
      } catch (err) {
        if (err instanceof TokenError && err.expired) throw tokenReplyError(err);
        throw new ProtocolViolation(Disconnects.INVALID_TOKEN);
      }
    }
    if (this.closed) return {};
    this.info = { client: this.id, user, transport: 'websocket' };
    if (connInfo !== undefined) this.info.connInfo = connInfo;
    this.connected = true;
    this.connectedAt = Date.now();
    hub.clientConnected();
    return {
      client: this.id,
      version: SERVER_VERSION,
      ping: config.clientPing,
      pong: true,
      ...this.expiry(),
    };
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

  private async subscribe(_id: number, req: SubscribeRequest): Promise<undefined> {
    const hub: Hub = this.ctx.hub;
    const { config } = this.ctx;
    const { channel } = req;
    hub.validateChannel(channel);
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
    const sub: ChannelSub = { joinLeave: req.joinLeave, present: false };
    this.subs.set(channel, sub);
    this.ctx.counters.subscriptions++;
    let result: Awaited<ReturnType<Hub['subscribe']>>;
    try {
      result = await hub.subscribe(channel, this, { since });
    } catch (err) {
      this.subs.delete(channel);
      this.ctx.counters.subscriptions--;
      throw err;
    }
    if (this.closed) {
      hub.unsubscribe(channel, this);
      return undefined;
    }
    let answer: string;
    try {
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
          reply.publications = result.publications.map(wirePublication);
        }
      }
      answer = encodeResult(_id, 'subscribe', reply);
    } catch (err) {
      // Answered as an error (an unencodable publication, say): the client is not subscribed, so
      // neither is this connection.
      this.subs.delete(channel);
      this.ctx.counters.subscriptions--;
      hub.unsubscribe(channel, this);
      throw err;
    }
    // The reply goes out before live delivery starts: what arrived meanwhile follows it, in order.
    this.send(answer);
    try {
      result.start();
    } catch (err) {
      // The client already believes it is subscribed; only a reconnect (and recovery) is honest.
      this.fail(err);
      return undefined;
    }
    sub.present = true;
    await hub.join(channel, this.info, opts.joinLeave).catch((err) => {
      this.ctx.log.warn({ client: this.id, channel, err: (err as Error).message }, 'presence join failed');
    });
    return undefined;
  }

  private async unsubscribe(channel: string): Promise<object> {
    const sub = this.subs.get(channel);
    if (sub) await this.leave(channel, sub);
    return {};
  }

  private async leave(channel: string, sub: ChannelSub): Promise<void> {
    const { hub } = this.ctx;
    this.subs.delete(channel);
    this.ctx.counters.subscriptions--;
    hub.unsubscribe(channel, this);
    if (!sub.present) return;
    await hub.leave(channel, this.info, hub.channelOptions(channel).joinLeave).catch((err) => {
      this.ctx.log.warn({ client: this.id, channel, err: (err as Error).message }, 'presence leave failed');
    });
  }

  private async publish(channel: string, data: unknown): Promise<object> {
    const hub: Hub = this.ctx.hub;
    hub.validateChannel(channel);
    if (!hub.channelOptions(channel).allowClientPublish) {
      throw new HeraldError('PERMISSION_DENIED', 'clients may not publish to this channel');
    }
    this.ctx.counters.messagesIn++;
    await hub.publish(channel, { data, info: this.info });
    return {};
  }

  private async history(req: { channel: string; limit?: number; since?: StreamPosition; reverse: boolean }) {
    const h = await this.ctx.hub.history(req.channel, {
      limit: req.limit,
      since: req.since,
      reverse: req.reverse,
    });
    if (req.since && req.since.epoch !== h.position.epoch) {
      throw new HeraldError('UNRECOVERABLE_POSITION', 'the stream epoch changed');
    }
    return {
      publications: h.publications.map(wirePublication),
      epoch: h.position.epoch,
      offset: h.position.offset,
    };
  }

  private async presence(channel: string): Promise<object> {
    const all = await this.ctx.hub.presence(channel);
    const presence: Record<string, ReturnType<typeof wireClientInfo>> = {};
    for (const [id, info] of Object.entries(all)) presence[id] = wireClientInfo(info);
    return { presence };
  }

  private async presenceStats(channel: string): Promise<object> {
    const s = await this.ctx.hub.presenceStats(channel);
    return { num_clients: s.numClients, num_users: s.numUsers };
  }

  // ---- end of life ------------------------------------------------------------------------------

  private cleanup(): void {
    this.closed = true;
    this.queue.length = 0;
    this.ctx.sessions.delete(this);
    for (const [channel, sub] of [...this.subs]) {
      this.leave(channel, sub).catch((err) =>
        this.ctx.log.error({ client: this.id, channel, err }, 'leaving a channel failed'),
      );
    }
    if (this.connected) this.ctx.hub.clientDisconnected();
    this.connected = false;
  }
}

/** A command that breaks the protocol: the connection ends with this disconnect code. */
class ProtocolViolation extends Error {
  constructor(readonly disconnect: DisconnectDef) {
    super(disconnect.reason);
  }
}
