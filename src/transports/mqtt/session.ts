// The live state of one client's session on this node: outgoing QoS 1/2 messages in flight (bounded
// by the client's Receive Maximum and mqttMaxInflight) and those waiting behind them (bounded by
// mqttSessionQueue, oldest dropped), packet ids, and outbound topic aliases. Everything is made on
// first use: an idle subscriber holds none of it.
import type { StoredMessage } from '../../model/mqtt-store.js';
import type { PublishVariants } from './publish-variants.js';
import type { ProtocolLevel, PublishTemplate } from './wire.js';
import { withPacketId } from './wire.js';

/** What the session needs of its connection. */
export interface SessionOwner {
  readonly level: ProtocolLevel;
  /** Largest packet the client accepts (v5 Maximum Packet Size); Infinity when it set none. */
  readonly clientMaxPacket: number;
  /** Aliases the client accepts (v5 Topic Alias Maximum); 0 = none. */
  readonly clientTopicAliasMax: number;
  write(bytes: Buffer): void;
  /** A message was not sent (too large for the client, or dropped from a full queue). */
  dropped(why: 'too-large' | 'queue-full', topic: string): void;
}

/** One message to one receiver, at the receiver's QoS and retain flag. */
export interface Outgoing {
  variants: PublishVariants;
  qos: 0 | 1 | 2;
  retain: boolean;
  subscriptionIds?: number[];
}

interface InFlight {
  out: Outgoing;
  /** Sent PUBLISH awaiting PUBACK/PUBREC, or PUBREL sent awaiting PUBCOMP. */
  stage: 'publish' | 'pubrel';
}

export class Session {
  private inflight: Map<number, InFlight> | undefined;
  private pending: Outgoing[] | undefined;
  private lastId = 0;
  private aliases: Map<string, number> | undefined;

  constructor(
    private readonly owner: SessionOwner,
    /** Most QoS 1/2 messages in flight to the client at once. */
    private readonly window: number,
    /** Most messages waiting behind the window. */
    private readonly queueLimit: number,
  ) {}

  get inflightCount(): number {
    return this.inflight?.size ?? 0;
  }

  send(out: Outgoing): void {
    if (out.qos === 0) {
      this.transmit(out, 0, false);
      return;
    }
    if (this.inflightCount >= this.window) {
      this.pending ??= [];
      if (this.pending.length >= this.queueLimit) {
        const oldest = this.pending.shift();
        if (oldest) this.owner.dropped('queue-full', oldest.variants.msg.topic);
      }
      this.pending.push(out);
      return;
    }
    const id = this.allocateId();
    this.inflight ??= new Map();
    this.inflight.set(id, { out, stage: 'publish' });
    if (!this.transmit(out, id, false)) this.complete(id);
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2): the message is done. False for an id not in flight. */
  acknowledged(id: number, cmd: 'puback' | 'pubcomp'): boolean {
    const entry = this.inflight?.get(id);
    if (!entry) return false;
    const expected = cmd === 'puback' ? entry.out.qos === 1 : entry.stage === 'pubrel';
    if (!expected) return false;
    this.complete(id);
    return true;
  }

  /**
   * PUBREC: the client has the QoS 2 message; answer PUBREL. A repeated PUBREC (the client did not
   * see our PUBREL) is answered again. False for an id that is not a QoS 2 message in flight.
   */
  received(id: number): boolean {
    const entry = this.inflight?.get(id);
    if (entry?.out.qos !== 2) return false;
    entry.stage = 'pubrel';
    return true;
  }

  /** PUBREC with a failure reason (v5): the message ends there. */
  refused(id: number): void {
    if (this.inflight?.get(id)?.out.qos === 2) this.complete(id);
  }

  private complete(id: number): void {
    this.inflight?.delete(id);
    if (this.inflight?.size === 0) this.inflight = undefined;
    while (this.pending && this.pending.length > 0 && this.inflightCount < this.window) {
      const next = this.pending.shift() as Outgoing;
      if (this.pending.length === 0) this.pending = undefined;
      this.send(next);
    }
  }

  /** Resends everything unacknowledged, PUBLISH with DUP and PUBREL again (a resumed session). */
  retransmit(pubrel: (id: number) => void): void {
    if (!this.inflight) return;
    for (const [id, entry] of [...this.inflight]) {
      if (entry.stage === 'pubrel') pubrel(id);
      else if (!this.transmit(entry.out, id, true)) this.complete(id);
    }
  }

  /** Moves the in-flight and waiting messages of another session (same client id) to this one. */
  adopt(other: Session): void {
    if (other.inflight) {
      this.inflight = new Map(other.inflight);
      this.lastId = other.lastId;
    }
    for (const out of other.pending ?? []) this.send(out);
  }

  /** What was not acknowledged, oldest first (PUBREL-stage messages were delivered: not requeued). */
  unacknowledged(): StoredMessage[] {
    const out: StoredMessage[] = [];
    for (const e of this.inflight?.values() ?? []) if (e.stage === 'publish') out.push(asStored(e.out));
    for (const o of this.pending ?? []) out.push(asStored(o));
    return out;
  }

  private allocateId(): number {
    // Skips ids still in use (MQTT-2.2.1-3); the window is far below 65535 so this ends.
    for (;;) {
      this.lastId = this.lastId >= 0xffff ? 1 : this.lastId + 1;
      if (!this.inflight?.has(this.lastId)) return this.lastId;
    }
  }

  /** Writes the PUBLISH; false when it was discarded as too large for the client. */
  private transmit(out: Outgoing, id: number, dup: boolean): boolean {
    const o = this.owner;
    const { variants } = out;
    let alias: { id: number; known: boolean } | undefined;
    if (o.clientTopicAliasMax > 0) alias = this.aliasFor(variants.msg.topic, o.clientTopicAliasMax);
    let t: PublishTemplate;
    if (alias || (out.subscriptionIds && out.subscriptionIds.length > 0 && o.level === 5)) {
      t = variants.build(o.level, out.qos, out.retain, out.subscriptionIds, alias);
    } else {
      t = variants.get(o.level, out.qos, out.retain);
    }
    if (t.bytes.length > o.clientMaxPacket) {
      // MQTT-3.1.2-25: not sent, and handled as if it had been.
      o.dropped('too-large', variants.msg.topic);
      return false;
    }
    o.write(id === 0 ? t.bytes : withPacketId(t, id, dup));
    return true;
  }

  /** First-N outbound aliases: the first topics sent get one, for the life of the connection. */
  private aliasFor(topic: string, max: number): { id: number; known: boolean } | undefined {
    this.aliases ??= new Map();
    const known = this.aliases.get(topic);
    if (known !== undefined) return { id: known, known: true };
    if (this.aliases.size >= max) return undefined;
    const id = this.aliases.size + 1;
    this.aliases.set(topic, id);
    return { id, known: false };
  }

  /** Aliases belong to a connection, not to the session (MQTT-3.3.2-7). */
  resetAliases(): void {
    this.aliases = undefined;
  }
}

function asStored(o: Outgoing): StoredMessage {
  const m = o.variants.msg;
  return { ...m, qos: o.qos, subscriptionIds: o.subscriptionIds };
}
