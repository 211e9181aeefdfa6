// One MQTT connection: its byte stream, the protocol state machine (CONNECT first and once, then
// packets until DISCONNECT or a close), keep-alive bookkeeping, and the acknowledgements of what
// the broker sent. CONNECT is handled in connect.ts, client PUBLISH/SUBSCRIBE in inbound.ts.

import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Packet } from 'mqtt-packet';
import type { Identity } from '../../auth/identity.js';
import type { TokenBucket } from '../../limits/token-bucket.js';
import type { StoredMessage, StoredSubscription, StoredWill } from '../../model/mqtt-store.js';
import { type CoalescedTarget, writeCoalesced } from '../coalesce.js';
import type { MqttBroker } from './broker.js';
import { handleConnect } from './connect.js';
import { handlePublish, handlePubrel, handleSubscribe, handleUnsubscribe } from './inbound.js';
import { MqttClose, RC } from './reason-codes.js';
import { Session } from './session.js';
import { encode, Framer, type ProtocolLevel } from './wire.js';

export type ConnState = 'new' | 'connecting' | 'connected' | 'closed';

let connCounter = 0;

export class MqttConnection implements CoalescedTarget {
  lastTick = -1;
  readonly id: string;
  state: ConnState = 'new';
  level: ProtocolLevel = 4;
  clientId = '';
  identity: Identity | undefined;
  readonly openedAt = Date.now();
  /** When the last complete packet arrived. */
  lastSeen = Date.now();
  /** Milliseconds of silence after which the client is gone (1.5 x keep-alive); 0 = none. */
  keepAliveMs = 0;
  /** Session Expiry Interval in seconds (0: the session ends with the connection). */
  expiryInterval = 0;
  /** Set once the session outlives this connection in the store. */
  will: StoredWill | undefined;
  /** v5 will delay (seconds). */
  willDelay = 0;
  /** v5 will message expiry (seconds), counted from when the will is published. */
  willExpiry: number | undefined;
  /** Fan-out bookkeeping: the publication this connection last matched, and how. */
  fanoutMark = 0;
  fanoutQos: 0 | 1 | 2 = 0;
  fanoutRetain = false;
  fanoutIds: number[] | undefined;
  /**
   * While a persistent session's connection is closing (until its session is offline in the
   * store): the QoS 1/2 deliveries it matched, handed back to the session's queue afterwards.
   */
  collected: StoredMessage[] | undefined;
  clientMaxPacket = Number.POSITIVE_INFINITY;
  clientTopicAliasMax = 0;
  clientReceiveMaximum = 65_535;
  /** Raw filter (with any $share/ prefix) -> subscription. */
  subscriptions: Map<string, StoredSubscription> | undefined;
  /** QoS 2 packet ids received and not yet released: never published twice. */
  incomingQos2: Set<number> | undefined;
  /** Client-to-server topic aliases (v5). */
  inboundAliases: Map<number, string> | undefined;
  /** QoS 1/2 PUBLISH packets received and not yet acknowledged (v5 Receive Maximum). */
  inboundInflight = 0;
  /** Per topic, the last of this client's publications still on its way into the hub. */
  publishChains: Map<string, Promise<unknown>> | undefined;
  publishBucket: TokenBucket | undefined;
  session: Session | undefined;
  /** Packets that arrived while CONNECT was being decided. */
  backlog: Packet[] | undefined;
  /** How the connection ended, for the will and the store. */
  closing: { graceful: boolean; reasonCode: number } | undefined;
  private closedPromise: Promise<void> | undefined;
  private resolveClosed: (() => void) | undefined;
  private finished = false;
  private readonly framer: Framer;

  constructor(
    readonly broker: MqttBroker,
    readonly stream: Duplex,
    readonly transport: string,
  ) {
    this.id = `${broker.node}:${(++connCounter).toString(36)}:${Date.now().toString(36)}`;
    this.framer = new Framer(broker.options.maxRemainingLength, this);
    // Shared listeners (the connection hangs off the stream): no closures per idle connection.
    (stream as Owned)[CONN] = this;
    stream.on('data', onData);
    stream.on('error', onError);
    stream.on('close', onClose);
    stream.on('end', onEnd);
  }

  /** Resolves once the connection is closed and its session is back in the store. */
  get closed(): Promise<void> {
    if (this.finished) return Promise.resolve();
    this.closedPromise ??= new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    return this.closedPromise;
  }

  received(chunk: Buffer): void {
    this.framer.feed(chunk);
  }

  get isAdmin(): boolean {
    return this.identity?.admin === true;
  }

  /** The session on first use: a connection that never receives QoS 1/2 never makes one. */
  outbox(): Session {
    this.session ??= new Session(
      this,
      Math.min(this.broker.options.maxInflight, this.clientReceiveMaximum),
      this.broker.options.sessionQueue,
    );
    return this.session;
  }

  write(bytes: Buffer): void {
    if (this.state === 'closed' || this.stream.destroyed) return;
    this.broker.counters.bytesOut += bytes.length;
    writeCoalesced(this, this.stream as Socket, bytes);
    if (this.stream.writableLength > this.broker.options.maxBufferedBytes && !this.closing) {
      // A client that does not read: cut off rather than buffered without end.
      this.broker.counters.slowConsumers++;
      this.fail(new MqttClose(RC.QUOTA_EXCEEDED, 'slow consumer: more than maxBufferedBytes unsent'));
    }
  }

  send(packet: Packet): void {
    this.write(encode(packet, this.level));
  }

  dropped(why: 'too-large' | 'queue-full', topic: string): void {
    this.broker.log.debug({ client: this.clientId, topic, why }, 'MQTT message not sent');
    if (why === 'queue-full') this.broker.counters.queueDrops++;
  }

  // ---- frames -----------------------------------------------------------------------------------

  onFrameError(reason: string, tooLarge: boolean): void {
    if (this.state === 'new' && reason.includes('Invalid protocol version')) {
      // A level we do not speak: CONNACK 0x84 in the MQTT 5 form (3.1.2.2), then closed.
      this.write(Buffer.from([0x20, 0x03, 0x00, RC.UNSUPPORTED_VERSION, 0x00]));
    }
    this.fail(new MqttClose(tooLarge ? RC.PACKET_TOO_LARGE : RC.MALFORMED, reason));
  }

  onPacket(packet: Packet): void {
    if (this.state === 'closed') return;
    // Keep-alive counts whole packets (MQTT-3.1.2-24): bytes of one trickled a few at a time do not
    // keep a client alive.
    this.lastSeen = Date.now();
    if (this.state === 'connecting') {
      this.backlog ??= [];
      this.backlog.push(packet);
      return;
    }
    try {
      this.dispatch(packet);
    } catch (err) {
      this.fail(err instanceof MqttClose ? err : new MqttClose(RC.UNSPECIFIED, (err as Error).message));
    }
  }

  private dispatch(packet: Packet): void {
    if (this.state === 'new') {
      if (packet.cmd !== 'connect') throw new MqttClose(RC.PROTOCOL_ERROR, `${packet.cmd} before CONNECT`);
      this.state = 'connecting';
      // Nothing more is read until CONNECT is decided (auth, the store's claim): what the client
      // sends meanwhile waits in the socket, not in memory here. Only the rest of the current chunk
      // can reach the backlog.
      this.stream.pause();
      handleConnect(this, packet).then(
        () => this.drainBacklog(),
        (err) => this.fail(err instanceof MqttClose ? err : new MqttClose(RC.UNSPECIFIED, String(err))),
      );
      return;
    }
    switch (packet.cmd) {
      case 'publish':
        handlePublish(this, packet);
        return;
      case 'puback':
      case 'pubcomp':
        if (!this.session?.acknowledged(packet.messageId ?? 0, packet.cmd)) this.unknownId(packet.cmd);
        return;
      case 'pubrec': {
        const id = packet.messageId ?? 0;
        if ((packet.reasonCode ?? 0) >= 0x80) {
          this.session?.refused(id);
          return;
        }
        const known = this.session?.received(id) === true;
        if (!known) this.unknownId('pubrec');
        // Answered either way (4.3.3): a PUBREL for an id we do not know ends the client's state too.
        this.send({ cmd: 'pubrel', messageId: id, reasonCode: known ? 0 : RC.PACKET_ID_NOT_FOUND });
        return;
      }
      case 'pubrel':
        handlePubrel(this, packet);
        return;
      case 'subscribe':
        handleSubscribe(this, packet);
        return;
      case 'unsubscribe':
        handleUnsubscribe(this, packet);
        return;
      case 'pingreq':
        this.send({ cmd: 'pingresp' });
        return;
      case 'disconnect':
        this.onDisconnect(packet.reasonCode ?? 0, packet.properties?.sessionExpiryInterval);
        return;
      case 'connect':
        throw new MqttClose(RC.PROTOCOL_ERROR, 'a second CONNECT');
      case 'auth':
        // No Authentication Method was accepted at CONNECT, so AUTH is a protocol error (4.12).
        throw new MqttClose(RC.PROTOCOL_ERROR, 'AUTH without an authentication method');
      default:
        throw new MqttClose(RC.PROTOCOL_ERROR, `unexpected ${packet.cmd}`);
    }
  }

  private unknownId(cmd: string): void {
    // An acknowledgement of an id we never sent (or already completed): harmless, logged.
    this.broker.log.debug({ client: this.clientId, cmd }, 'MQTT acknowledgement for an unknown packet id');
  }

  /** Packets sent right behind CONNECT, handled in their order once CONNACK is out. */
  drainBacklog(): void {
    const backlog = this.backlog;
    this.backlog = undefined;
    for (const p of backlog ?? []) this.onPacket(p);
    if (this.state === 'connected' && this.stream.isPaused()) this.stream.resume();
  }

  private onDisconnect(reasonCode: number, expiry: number | undefined): void {
    if (expiry !== undefined) {
      // MQTT-3.14.2-2: a session that was to end with the connection may not be extended now.
      if (this.expiryInterval === 0 && expiry !== 0)
        throw new MqttClose(RC.PROTOCOL_ERROR, 'session expiry set on DISCONNECT after 0 at CONNECT');
      this.expiryInterval = expiry;
    }
    this.closing = { graceful: reasonCode !== RC.DISCONNECT_WITH_WILL, reasonCode };
    this.stream.end();
    this.lost('DISCONNECT');
  }

  // ---- closing ----------------------------------------------------------------------------------

  /** The broker closes the connection: v5 hears why in a DISCONNECT, 3.1.1 is just closed. */
  fail(reason: MqttClose): void {
    if (this.state === 'closed') return;
    this.broker.log.warn(
      { client: this.clientId || undefined, transport: this.transport, reason: reason.message },
      'MQTT client closed',
    );
    if (this.level === 5 && this.state === 'connected') {
      this.send({
        cmd: 'disconnect',
        reasonCode: reason.reasonCode,
        properties: { reasonString: reason.message.slice(0, 200) },
      });
    }
    this.closing ??= { graceful: false, reasonCode: reason.reasonCode };
    this.endStream();
    this.lost(reason.message);
  }

  /** Ends the stream after what was written, and makes sure it goes even if the peer is stuck. */
  endStream(): void {
    const s = this.stream;
    if (s.destroyed) return;
    s.end();
    setTimeout(() => s.destroy(), 1000).unref();
  }

  /** The connection is gone, however it went: once. */
  private lost(why: string): void {
    if (this.state === 'closed') return;
    const was = this.state;
    this.state = 'closed';
    if (!this.stream.destroyed && why.startsWith('socket')) this.stream.destroy();
    this.broker.connectionClosed(this, was === 'connected').finally(() => {
      this.finished = true;
      this.resolveClosed?.();
    });
  }

  /** Stream events, for the shared listeners below. */
  streamEvent(what: string): void {
    this.lost(what);
  }
}

const CONN = Symbol('mqtt connection');
type Owned = Duplex & { [CONN]: MqttConnection };

function onData(this: Owned, chunk: Buffer): void {
  this[CONN].received(chunk);
}
function onError(this: Owned): void {
  this[CONN].streamEvent('socket error');
}
function onClose(this: Owned): void {
  this[CONN].streamEvent('socket closed');
}
function onEnd(this: Owned): void {
  this[CONN].streamEvent('socket ended');
}
