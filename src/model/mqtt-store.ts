// MQTT state that must outlive a connection and be the same on every node of a cluster: sessions
// (who owns a client id, which node holds it, its subscriptions, its queue while offline), retained
// messages and wills. The broker (transports/mqtt) keeps only live connections; everything here is
// behind the engine, so the memory engine gives one broker per process and Redis one per cluster.
//
// Every mutation that a stale connection could make after a takeover carries the connection id
// (`conn`) that claimed the session: the store ignores it unless that connection still holds the
// session, so a slow old node can never overwrite what the new holder did.
import type { MessageProperties } from './channel.js';
import type { Logger } from './logger.js';

export type Qos = 0 | 1 | 2;

/** One subscription of a session, with its MQTT 5 options (3.1.1 sessions use the defaults). */
export interface StoredSubscription {
  filter: string;
  qos: Qos;
  /** v5 no local: not sent messages this client id published. */
  noLocal?: boolean;
  /** v5 retain as published: keep the retain flag on live deliveries. */
  retainAsPublished?: boolean;
  /** v5 retain handling: 0 send retained on subscribe, 1 only if new, 2 never. */
  retainHandling?: 0 | 1 | 2;
  /** v5 subscription identifier. */
  id?: number;
  /** `$share/<group>/<filter>`: the group name (filter is then the part after it). */
  group?: string;
}

/** A message held for later: in an offline queue, as a retained message, or as a will. */
export interface StoredMessage {
  topic: string;
  payload: Buffer;
  qos: Qos;
  retain: boolean;
  props?: MessageProperties;
  /** For queued messages: the subscription identifiers that matched (v5). */
  subscriptionIds?: number[];
  /** Client id of the publisher (no local). */
  origin?: string;
  /**
   * The publication's `<epoch>:<offset>` in its channel (the topic): with the topic, the same
   * publication queued twice for one session is recognised and sent once.
   */
  key?: string;
}

export interface StoredWill extends StoredMessage {
  /** Milliseconds since the Unix epoch when the will may be published (v5 will delay interval). */
  publishAt?: number;
}

/** What a client's session looks like when it (re)connects. */
export interface StoredSession {
  clientId: string;
  /** The user who made the session; only that user (or an admin) may take the client id. */
  owner: string;
  subscriptions: StoredSubscription[];
  /** Seconds the session outlives its connection; 0xFFFFFFFF = forever (3.1.1 persistent). */
  expiryInterval: number;
  /** Packet ids of QoS 2 publishes received and not yet released (PUBREL): never published twice. */
  incomingQos2: number[];
}

export type ClaimResult =
  | {
      ok: true;
      /** The session as it was left, when one existed and clean start was not asked. */
      session?: StoredSession;
      /** Where the session was live when claimed (its connection must be closed: takeover). */
      previous?: { node: string; conn: string };
    }
  | { ok: false; reason: 'owner' };

export interface MqttStoreOptions {
  /** This node's name (the hub's nodeName). */
  node: string;
  /** QoS 1/2 messages held per offline session; past it the oldest are dropped. */
  sessionQueue: number;
  /** Told how many queued messages a session lost to the sessionQueue bound (oldest first). */
  onQueueDrop?: (clientId: string, dropped: number) => void;
  /** Where a store reports what it skipped (e.g. an unreadable stored entry). */
  logger?: Logger;
}

export interface MqttStore {
  /**
   * A connection takes a client id. Atomically: refuses when the session's owner is another user
   * (unless `admin`), records (node, conn) as the holder, and returns the stored session - or
   * discards it when `cleanStart`. An expired session counts as none. A will an earlier
   * connection of this client id left waiting (v5 will delay) is discarded: the session resumed.
   */
  claim(
    clientId: string,
    owner: string,
    admin: boolean,
    node: string,
    conn: string,
    cleanStart: boolean,
  ): Promise<ClaimResult>;

  /** The holder's current subscriptions and session expiry, written through on every change. */
  saveSession(
    clientId: string,
    conn: string,
    state: Pick<StoredSession, 'subscriptions' | 'expiryInterval' | 'incomingQos2'>,
  ): Promise<void>;

  /**
   * The connection went away. With expiryInterval 0 the session is deleted; otherwise it stays
   * offline for that long (its queue fills from then on), with `requeue` (unacknowledged outgoing
   * messages) put at the head of its queue. No effect on the session if another connection holds it,
   * but `requeue` is still kept.
   */
  release(
    clientId: string,
    conn: string,
    state: Pick<StoredSession, 'subscriptions' | 'expiryInterval' | 'incomingQos2'>,
    requeue: StoredMessage[],
  ): Promise<void>;

  /** Takes (removes and returns) what was queued for the session while it was offline, oldest first. */
  takeQueue(clientId: string, conn: string): Promise<StoredMessage[]>;

  /**
   * A publication was made (called once per publication in the cluster, by the node that made it):
   * queue it for every offline session with a matching subscription - once per session however
   * many of its filters match, at min(publication, subscription) QoS, QoS 0 not queued.
   * Should cost no round trip while no offline session has a subscription.
   */
  enqueue(message: StoredMessage): Promise<void>;

  /**
   * False when enqueue() of a message on this topic would do nothing now (no offline session can
   * match it), so the caller need not build the message at all: every publication of every door
   * reaches enqueue, and most nodes have no offline MQTT session. Absent: assume it may queue.
   */
  mayQueue?(topic: string): boolean;

  /** Stores (or, with an empty payload, clears) the topic's retained message. */
  setRetained(message: StoredMessage): Promise<void>;
  /** Retained messages whose topic matches the filter (`$` topics only for filters naming them). */
  retained(filter: string): Promise<StoredMessage[]>;

  /** The live connection's will, kept so a surviving node can publish it if this node dies. */
  setWill(clientId: string, conn: string, will: StoredWill): Promise<void>;
  /** Removes and returns the connection's will (undefined if another node already took it). */
  takeWill(clientId: string, conn: string): Promise<StoredWill | undefined>;
  /**
   * Called by every node from time to time with the nodes alive. Sessions held by a node not in
   * `aliveNodes` become offline (their queue fills, their expiry runs from now); wills of such
   * connections whose publishAt has come are removed and returned, each to exactly one caller in
   * the cluster; sessions past their expiry are deleted.
   */
  reap(aliveNodes: string[]): Promise<(StoredWill & { clientId: string })[]>;

  /**
   * Shared subscriptions are one delivery per group in the whole cluster: every node sees every
   * publication, and the node that delivers it is chosen from the nodes with members of the group
   * (deterministically, from the publication's channel and offset). This node has (`present`) or no
   * longer has members of `$share/<group>/<filter>`.
   */
  setSharedMembership(group: string, filter: string, node: string, present: boolean): Promise<void>;
  /** For each `<group>\n<filter>`: the nodes in `aliveNodes` with members, sorted by name. */
  sharedMembership(aliveNodes: string[]): Promise<Map<string, string[]>>;

  close(): Promise<void>;
}
