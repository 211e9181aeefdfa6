// The life of persistent MQTT sessions on this node, behind the engine's MqttStore: claiming a
// client id (and closing its holder here or elsewhere), resuming after CONNACK, writing the state
// to the store as it changes, and giving it back when the connection goes. The live in-flight
// state of one connection's session is session.ts; the broker (broker.ts) owns the connections.
import type { Identity } from '../../auth/identity.js';
import type { Hub } from '../../hub/hub.js';
import type { Logger } from '../../model/index.js';
import type { ClaimResult, MqttStore, StoredMessage, StoredSubscription } from '../../model/mqtt-store.js';
import type { MqttConnection } from './connection.js';
import { MqttClose, RC } from './reason-codes.js';
import type { WillTimers } from './wills.js';

const TAKEOVER = 'mqtt-takeover';

/** Parked in-flight state is only useful for a quick resume. */
const PARKED_FOR = 10 * 60_000;

export interface SessionsDeps {
  hub: Hub;
  node: string;
  store: MqttStore;
  log: Logger;
  wills: WillTimers;
  /** A connection of this node by its id. */
  connection: (id: string) => MqttConnection | undefined;
  /** Takes one of a connection's subscriptions off the live index. */
  unindex: (conn: MqttConnection, raw: string, sub: StoredSubscription) => void;
  /** A queued message to a resumed connection, checked like a live delivery. */
  deliverQueued: (conn: MqttConnection, m: StoredMessage) => void;
}

export class MqttSessions {
  private readonly hub: Hub;
  private readonly node: string;
  private readonly store: MqttStore;
  private readonly log: Logger;
  private readonly d: SessionsDeps;
  /** The connection holding each client id on this node. */
  private readonly clients = new Map<string, MqttConnection>();
  /** Sessions with messages in flight whose connection closed: a resume here retransmits them. */
  private readonly parked = new Map<string, { conn: MqttConnection; at: number }>();
  private readonly saving = new WeakMap<MqttConnection, SaveJob>();

  constructor(d: SessionsDeps) {
    this.d = d;
    this.hub = d.hub;
    this.node = d.node;
    this.store = d.store;
    this.log = d.log;
  }

  start(): void {
    this.hub.nodeMessages.on(TAKEOVER, (body) => this.takenOverElsewhere(body));
  }

  /** Takes the client id for this connection; a holder elsewhere is closed (takeover). */
  async claim(conn: MqttConnection, cleanStart: boolean): Promise<ClaimResult> {
    const identity = conn.identity as Identity;
    const result = await this.store.claim(
      conn.clientId,
      identity.user,
      identity.admin === true,
      this.node,
      conn.id,
      cleanStart,
    );
    if (!result.ok) return result;
    const local = this.clients.get(conn.clientId);
    const previous = result.previous;
    if (previous && previous.node !== this.node) {
      const body = Buffer.from(JSON.stringify({ conn: previous.conn }));
      this.hub.nodeMessages
        .send(previous.node, TAKEOVER, body)
        .catch((err) => this.log.warn({ err, node: previous.node }, 'MQTT takeover message failed'));
    }
    const old = (previous && this.d.connection(previous.conn)) || (local !== conn ? local : undefined);
    if (old && old !== conn) {
      old.fail(new MqttClose(RC.SESSION_TAKEN_OVER, 'session taken over'));
      // Its unacknowledged messages go back to the session before this one reads them.
      await old.closed;
    }
    this.clients.set(conn.clientId, conn);
    return result;
  }

  private takenOverElsewhere(body: Buffer): void {
    const { conn } = JSON.parse(body.toString('utf8')) as { conn: string };
    this.d.connection(conn)?.fail(new MqttClose(RC.SESSION_TAKEN_OVER, 'session taken over on another node'));
  }

  /** After CONNACK: what was in flight first (DUP), then what was queued while away. */
  async resume(conn: MqttConnection, sessionPresent: boolean): Promise<void> {
    const parked = this.parked.get(conn.clientId);
    this.parked.delete(conn.clientId);
    if (!sessionPresent) return;
    const queue = oncePerPublication(await this.store.takeQueue(conn.clientId, conn.id));
    if (conn.state !== 'connected') return;
    if (parked?.conn.session) {
      const old = parked.conn.session;
      const unacked = old.unacknowledged();
      // The same messages were put back at the head of the stored queue; resent from here instead,
      // with their packet ids, unless another node served the session meanwhile.
      if (unacked.every((m, i) => sameMessage(m, queue[i]))) {
        queue.splice(0, unacked.length);
        const session = conn.outbox();
        session.adopt(old);
        session.retransmit((id) => conn.send({ cmd: 'pubrel', messageId: id }));
      }
    }
    for (const m of queue) this.d.deliverQueued(conn, m);
  }

  /**
   * Writes the session's state to the store. One write at a time per connection, and changes made
   * while one is on its way are folded into a single next write of the state as it is then: a flood
   * of SUBSCRIBE/UNSUBSCRIBE/QoS 2 packets costs one write per store round trip, not one per packet.
   * Resolves once a write that began after this call is done (or failed: logged), so a caller can
   * hold an acknowledgement until the store has what it promises (a QoS 2 id before PUBREC).
   */
  saveSession(conn: MqttConnection): Promise<void> {
    if (conn.expiryInterval === 0 || conn.state === 'closed') return Promise.resolve();
    const running = this.saving.get(conn);
    if (running) {
      running.again = true;
      return new Promise((resolve) => running.next.push(resolve));
    }
    const job: SaveJob = { again: false, next: [], done: Promise.resolve() };
    this.saving.set(conn, job);
    const first = new Promise<void>((resolve) => job.next.push(resolve));
    job.done = (async () => {
      do {
        job.again = false;
        const waiting = job.next;
        job.next = [];
        try {
          await this.store.saveSession(conn.clientId, conn.id, sessionState(conn));
        } catch (err) {
          this.log.warn({ err, client: conn.clientId }, 'MQTT session save failed');
        }
        for (const resolve of waiting) resolve();
        // Once closed, release() writes the final state.
      } while (job.again && conn.state !== 'closed');
      for (const resolve of job.next) resolve();
      this.saving.delete(conn);
    })();
    return first;
  }

  /** The connection no longer holds its client id here. */
  forget(conn: MqttConnection): void {
    if (this.clients.get(conn.clientId) === conn) this.clients.delete(conn.clientId);
  }

  /**
   * A connection that was connected is gone: subscriptions off the index, the will, the session
   * back to the store. A persistent session's own subscriptions stay indexed until the store has it
   * offline, and what they match meanwhile is collected (fanout.ts) and queued after: between
   * leaving the live index and the store queueing for it, a publication would otherwise reach the
   * session neither way.
   */
  async ended(conn: MqttConnection): Promise<void> {
    // Taken over: the new holder has the subscriptions live already.
    const collect = conn.expiryInterval > 0 && conn.closing?.reasonCode !== RC.SESSION_TAKEN_OVER;
    if (collect) conn.collected = [];
    // Shared subscriptions are never queued offline: nothing to collect for them.
    for (const [raw, sub] of conn.subscriptions ?? [])
      if (!collect || sub.group !== undefined) this.d.unindex(conn, raw, sub);
    try {
      if (conn.will) await this.d.wills.connectionEnded(conn, conn.closing?.graceful === true);
      await this.release(conn);
    } catch (err) {
      this.log.warn({ err, client: conn.clientId }, 'MQTT session release failed');
    }
    if (collect) await this.requeueCollected(conn);
  }

  /** Keeps a closed persistent session's in-flight messages for a resume on this node. */
  park(conn: MqttConnection): void {
    if (conn.expiryInterval > 0 && conn.session && conn.session.inflightCount > 0)
      this.parked.set(conn.clientId, { conn, at: Date.now() });
  }

  /**
   * The session is offline in the store (its queue fills from now): the collecting subscriptions
   * leave the index, and what they matched goes to the head of the queue, behind the unacknowledged
   * messages again so the order holds. Those are then in the queue twice, as may be a publication
   * the store queued itself too: resume() sends each publication once (StoredMessage.key).
   */
  private async requeueCollected(conn: MqttConnection): Promise<void> {
    for (const [raw, sub] of conn.subscriptions ?? [])
      if (sub.group === undefined) this.d.unindex(conn, raw, sub);
    const collected = conn.collected ?? [];
    conn.collected = undefined;
    if (collected.length === 0) return;
    const requeue = [...(conn.session?.unacknowledged() ?? []), ...collected];
    try {
      await this.store.release(conn.clientId, conn.id, sessionState(conn), requeue);
    } catch (err) {
      this.log.warn({ err, client: conn.clientId }, 'MQTT session requeue failed');
    }
  }

  /** A connection closed between claiming its session and CONNACK: will and session go back. */
  async abandon(conn: MqttConnection): Promise<void> {
    this.forget(conn);
    try {
      if (conn.will) await this.store.takeWill(conn.clientId, conn.id);
      await this.release(conn);
    } catch (err) {
      this.log.warn({ err, client: conn.clientId }, 'MQTT session release failed');
    }
  }

  private async release(conn: MqttConnection): Promise<void> {
    await this.saving.get(conn)?.done;
    await this.store.release(
      conn.clientId,
      conn.id,
      sessionState(conn),
      conn.session?.unacknowledged() ?? [],
    );
  }

  /** Drops parked in-flight state too old to be worth a resume. */
  expireParked(): void {
    const old = Date.now() - PARKED_FOR;
    for (const [id, p] of this.parked) if (p.at < old) this.parked.delete(id);
  }
}

/** A connection's session write on its way to the store, and whether another must follow it. */
interface SaveJob {
  again: boolean;
  /** Callers waiting for the next write to finish. */
  next: (() => void)[];
  done: Promise<void>;
}

function sessionState(conn: MqttConnection) {
  return {
    subscriptions: [...(conn.subscriptions?.values() ?? [])],
    expiryInterval: conn.expiryInterval,
    incomingQos2: [...(conn.incomingQos2 ?? [])],
  };
}

function sameMessage(a: StoredMessage, b: StoredMessage | undefined): boolean {
  return (
    b !== undefined && a.topic === b.topic && a.qos === b.qos && Buffer.compare(a.payload, b.payload) === 0
  );
}

/** The queue with a publication that is in it twice (see requeueCollected) kept at its first place. */
function oncePerPublication(queue: StoredMessage[]): StoredMessage[] {
  const seen = new Set<string>();
  return queue.filter((m) => {
    if (m.key === undefined) return true;
    const id = `${m.topic}\n${m.key}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
