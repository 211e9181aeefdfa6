// What every channel-protocol session is, whatever it says: its state, the one bounded send path,
// the hub's Subscriber side (deliveries, presence, resync), commands taken strictly in order with
// back-pressure, and the end of its life. The commands themselves are in session.ts.

import type { ClientHub } from '../../auth/client-hub.js';
import { ANONYMOUS, type Identity } from '../../auth/identity.js';
import type { TokenVerifier } from '../../auth/tokens.js';
import type { Config } from '../../config.js';
import { type DisconnectDef, Disconnects, HeraldError, Unsubscribes } from '../../errors.js';
import type { Hub } from '../../hub/hub.js';
import { type CommandRate, commandRate, type RateOptions } from '../../limits/command-rate.js';
import type { ClientInfo, FrameFormat, Logger, Publication, Subscriber } from '../../model/index.js';
import type { Encoded } from '../../protocol/centrifuge/codec.js';
import type { Command } from '../../protocol/centrifuge/commands.js';
import { connectionId } from '../connection-id.js';
import type { DoorCounters } from '../door-stats.js';
import { sessionClock } from './keepalive.js';
import { type ChannelSub, NO_SUBS, type SubTable } from './sub-table.js';
import type { SessionTransport, TransportPeer } from './transport.js';

/** What a session needs from its door: shared settings and the registry it leaves on close. */
export interface SessionContext {
  readonly hub: Hub;
  /** Every command a client sends goes through here: the channel policy is asked first. */
  readonly clients: ClientHub;
  /** This door's figures for /metrics. */
  readonly counters: DoorCounters;
  readonly config: Config;
  readonly log: Logger & { info(obj: object, msg?: string): void };
  readonly verifier: TokenVerifier | undefined;
  readonly sessions: Set<SessionBase>;
}

export abstract class SessionBase implements Subscriber<Buffer>, TransportPeer {
  info: ClientInfo;
  /** Who the connect command proved this client to be. */
  identity: Identity = ANONYMOUS;
  /**
   * The session's yes/no state in the low bits of one small integer, and above them the code this
   * side closed with (see the accessors below): idle memory.
   */
  private flags = 0;
  /** Replaced, not changed in place, as subscriptions come and go (sub-table.ts). */
  protected subs: SubTable = NO_SUBS;
  /** Commands read and not run yet; made when there are some (most connections are idle). */
  protected queue: Command[] | undefined;
  /**
   * On the sessions' clock (keepalive.ts), as is lastPingAt: when the connection opened, and from
   * connect on, when connect succeeded (one field for both: each is read only in its phase).
   */
  private since = sessionClock();
  lastPingAt = 0;
  /** When the connection token runs out (ms since the Unix epoch); 0 = never. */
  expiresAt = 0;
  /**
   * Milliseconds a socket holds publications before writing them together: the shortest
   * `writeDelay` of the channels subscribed (0 = at once), so no channel waits longer than asked.
   */
  writeDelay = 0;
  protected readonly rate: CommandRate;

  constructor(
    readonly transport: SessionTransport,
    protected readonly ctx: SessionContext,
  ) {
    // The id lives in the client info only (see `id`).
    this.info = { client: connectionId(), user: '', transport: transport.name };
    const rates = ratesOf(ctx.config);
    this.rate = commandRate(rates.command, rates.publish);
    ctx.counters.opened();
  }

  get id(): string {
    return this.info.client;
  }

  /** When the connection opened; read while it is not connected. */
  get openedAt(): number {
    return this.since;
  }

  /** When connect succeeded; pings are due from then on. 0 before. */
  get connectedAt(): number {
    return this.connected ? this.since : 0;
  }
  set connectedAt(at: number) {
    this.since = at;
  }

  /** The code this side closed with, for the disconnect counters; unset when the peer left. */
  protected get closeCode(): number | undefined {
    const code = this.flags >>> CLOSE_CODE_SHIFT;
    return code === 0 ? undefined : code;
  }
  protected set closeCode(code: number | undefined) {
    this.flags = (this.flags & FLAG_BITS) | ((code ?? 0) << CLOSE_CODE_SHIFT);
  }

  protected get connected(): boolean {
    return (this.flags & CONNECTED) !== 0;
  }
  protected set connected(v: boolean) {
    this.flag(CONNECTED, v);
  }
  protected get closed(): boolean {
    return (this.flags & CLOSED) !== 0;
  }
  protected set closed(v: boolean) {
    this.flag(CLOSED, v);
  }
  /** Working off the command queue. */
  protected get running(): boolean {
    return (this.flags & RUNNING) !== 0;
  }
  protected set running(v: boolean) {
    this.flag(RUNNING, v);
  }
  /** Disconnected for not reading fast enough (a slow-consumer cut-off, for /metrics). */
  protected get cutSlow(): boolean {
    return (this.flags & CUT_SLOW) !== 0;
  }
  protected set cutSlow(v: boolean) {
    this.flag(CUT_SLOW, v);
  }
  /** Pinged, and nothing heard since. */
  get pongPending(): boolean {
    return (this.flags & PONG_PENDING) !== 0;
  }
  set pongPending(v: boolean) {
    this.flag(PONG_PENDING, v);
  }

  private flag(bit: number, on: boolean): void {
    this.flags = on ? this.flags | bit : this.flags & ~bit;
  }

  get format(): FrameFormat<Buffer> {
    return this.transport.format;
  }

  get isConnected(): boolean {
    return this.connected && !this.closed;
  }

  // ---- sending ----------------------------------------------------------------------------------

  /** Sends one reply or push unless the peer is too slow: past the bound it is disconnected. */
  send(message: Encoded): void {
    if (this.closed) return;
    this.transport.send(message);
  }

  ping(now: number): void {
    this.lastPingAt = now;
    this.pongPending = true;
    this.send(this.transport.codec.ping);
  }

  /** Closes with a protocol disconnect code; the SDK reconnects for 3000-3499 only. */
  disconnect(d: DisconnectDef): void {
    if (this.closed) return;
    if (d === Disconnects.SLOW) this.cutSlow = true;
    this.closeCode = d.code;
    this.closed = true;
    this.queue = undefined;
    this.transport.close(d);
  }

  slow(): void {
    this.disconnect(Disconnects.SLOW);
  }

  failed(err: Error): void {
    this.ctx.log.warn({ client: this.id, err: err.message }, `${this.transport.name} error`);
  }

  // ---- Subscriber: what the hub hands over ------------------------------------------------------

  /** The fan-out hot path: the hub's ready frame, written as is (coalesced per socket per tick). */
  deliver(_pub: Publication, frame: Buffer): void {
    if (this.closed) return;
    this.transport.sendFrame(frame, this.writeDelay);
    this.ctx.counters.sent(frame.length);
  }

  onJoin(channel: string, info: ClientInfo): void {
    if (this.subs.get(channel)?.joinLeave)
      this.send(this.transport.codec.join(channel, this.ctx.clients.visibleInfo(channel, info)));
  }

  onLeave(channel: string, info: ClientInfo): void {
    if (this.subs.get(channel)?.joinLeave)
      this.send(this.transport.codec.leave(channel, this.ctx.clients.visibleInfo(channel, info)));
  }

  onInsufficientState(channel: string): void {
    const sub = this.subs.get(channel);
    if (!sub || this.closed) return;
    if (sub.server) {
      // The SDK has no way to resubscribe a server-side subscription: it reconnects, and its
      // connect command recovers every one of them.
      this.ctx.log.warn({ client: this.id, channel }, 'insufficient state on a server-side subscription');
      this.disconnect(Disconnects.INSUFFICIENT_STATE);
      return;
    }
    // Only this subscription resyncs: the SDK subscribes again from its last position, and the
    // connection and its other channels carry on.
    this.ctx.log.warn({ client: this.id, channel }, 'insufficient state, unsubscribing to resync');
    this.leave(channel, sub).catch((err) =>
      this.ctx.log.error({ client: this.id, channel, err }, 'leaving a channel failed'),
    );
    const u = Unsubscribes.INSUFFICIENT_STATE;
    this.send(this.transport.codec.unsubscribe(channel, u.code, u.reason));
  }

  // ---- receiving --------------------------------------------------------------------------------

  receive(data: Buffer): void {
    if (this.closed) return;
    // Any frame proves the peer alive; the empty command is the proper answer to a ping.
    this.pongPending = false;
    let commands: Command[];
    try {
      commands = this.transport.codec.decode(data);
    } catch (err) {
      this.ctx.log.info({ client: this.id, err: (err as Error).message }, 'bad frame, disconnecting');
      this.disconnect(Disconnects.BAD_REQUEST);
      return;
    }
    for (const c of commands) {
      if (c.method === 'pong') continue;
      this.queue ??= [];
      this.queue.push(c);
    }
    if (this.queue === undefined) return;
    if (this.running) {
      // Back-pressure: read no more from this socket until the queue is worked off, so the queue
      // holds at most what was already read (bounded by maxMessageSize per frame).
      this.transport.pause();
      return;
    }
    this.drain().catch((err) => this.fail(err));
  }

  /** A failure no command reply can carry: the connection ends, and the SDK reconnects and recovers. */
  protected fail(err: unknown): void {
    this.ctx.log.error({ client: this.id, err }, 'session failed');
    this.disconnect(Disconnects.SERVER_ERROR);
  }

  protected async drain(): Promise<void> {
    this.running = true;
    try {
      for (let cmd = this.queue?.shift(); cmd !== undefined && !this.closed; cmd = this.queue?.shift()) {
        // Awaited even when done at once (a publish on the memory engine): the first command's
        // writes leave in this tick and the rest of the frame's in the next, which the coalescer
        // (coalesce.ts) takes as a burst and writes once per socket per turn - measured cheaper
        // per publication than a write per push as it comes (docs/performance.md, round 3).
        await this.run(cmd);
      }
    } finally {
      this.queue = undefined;
      this.running = false;
      if (!this.closed) {
        this.transport.resume();
        this.transport.quiet?.();
      }
    }
  }

  /** Runs one command and sends its reply; a promise only while the command is under way. */
  protected run(cmd: Command): Promise<void> | undefined {
    if (!this.connected && cmd.method !== 'connect') {
      this.ctx.log.info({ client: this.id, method: cmd.method }, 'command before connect');
      this.disconnect(Disconnects.BAD_REQUEST);
      return undefined;
    }
    // Checked before any work: a refused command costs one small reply, nothing else.
    const verdict = this.rate.check(cmd.method === 'publish');
    if (verdict === 'disconnect') {
      this.disconnect(Disconnects.TOO_MANY_REQUESTS);
      return undefined;
    }
    if (verdict === 'refuse') {
      this.send(this.transport.codec.error(cmd.id, new HeraldError('TOO_MANY_REQUESTS')));
      return undefined;
    }
    let result: Promise<object | undefined> | object | undefined;
    try {
      result = this.handle(cmd);
    } catch (err) {
      this.refuse(cmd, err);
      return undefined;
    }
    if (result instanceof Promise)
      return result.then(
        (r) => this.answer(cmd, r),
        (err) => this.refuse(cmd, err),
      );
    this.answer(cmd, result);
    return undefined;
  }

  private answer(cmd: Command, result: object | undefined): void {
    try {
      if (result !== undefined && !this.closed)
        this.send(this.transport.codec.result(cmd.id, cmd.method, result));
    } catch (err) {
      this.refuse(cmd, err);
    }
  }

  /** A command that failed: its error reply, or the end of the connection for a protocol violation. */
  private refuse(cmd: Command, err: unknown): void {
    if (err instanceof ProtocolViolation) {
      this.disconnect(err.disconnect);
      return;
    }
    if (this.closed) return;
    const e = err instanceof HeraldError ? err : new HeraldError('INTERNAL');
    if (!(err instanceof HeraldError)) {
      this.ctx.log.error({ client: this.id, err, method: cmd.method }, 'command failed');
    }
    this.send(this.transport.codec.error(cmd.id, e));
  }

  protected async leave(channel: string, sub: ChannelSub): Promise<void> {
    const { hub } = this.ctx;
    this.subs = this.subs.without(channel);
    this.ctx.counters.subscriptions--;
    hub.unsubscribe(channel, sub.subscriber);
    if (!sub.present) return;
    await hub.leave(channel, this.info, this.ctx.clients.joinLeave(channel)).catch((err) => {
      this.ctx.log.warn({ client: this.id, channel, err: (err as Error).message }, 'presence leave failed');
    });
  }

  // ---- end of life ------------------------------------------------------------------------------

  violation(): void {
    this.disconnect(Disconnects.BAD_REQUEST);
  }

  gone(): void {
    if (this.cutSlow) this.ctx.counters.slowConsumers++;
    // The server's own code when it closed; otherwise the peer went away (1006 as ws reports it).
    this.ctx.counters.closed(this.closeCode ?? 1006);
    this.closed = true;
    this.queue = undefined;
    this.ctx.sessions.delete(this);
    for (const [channel, sub] of [...this.subs]) {
      this.leave(channel, sub).catch((err) =>
        this.ctx.log.error({ client: this.id, channel, err }, 'leaving a channel failed'),
      );
    }
    if (this.connected) this.ctx.hub.clientDisconnected();
    this.connected = false;
  }

  /** Returns the result to reply with, or undefined for commands that get no reply. */
  protected abstract handle(cmd: Command): Promise<object | undefined> | object | undefined;
}

const CONNECTED = 1;
const CLOSED = 2;
const RUNNING = 4;
const CUT_SLOW = 8;
const PONG_PENDING = 16;
/** The flags above; the close code (at most 4999) sits above them. */
const FLAG_BITS = 0xff;
const CLOSE_CODE_SHIFT = 8;

/** The rate options of every session of one config, made once rather than per connection. */
const rates = new WeakMap<Config, { command: RateOptions; publish: RateOptions }>();

function ratesOf(config: Config): { command: RateOptions; publish: RateOptions } {
  let r = rates.get(config);
  if (r === undefined) {
    r = {
      command: { rate: config.commandRate, burst: config.commandBurst },
      publish: { rate: config.publishRate, burst: config.publishBurst },
    };
    rates.set(config, r);
  }
  return r;
}

/** The connection closed while a connect was under way: nothing to answer. */
export class Closed extends Error {}

/** A command that breaks the protocol: the connection ends with this disconnect code. */
export class ProtocolViolation extends Error {
  constructor(readonly disconnect: DisconnectDef) {
    super(disconnect.reason);
  }
}
