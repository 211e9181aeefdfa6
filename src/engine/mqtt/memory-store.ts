// The MQTT store of the memory engine: sessions, queues, retained messages and wills of one process.
// Every store the engine hands out shares one MemoryMqttData, so they behave as the nodes of a
// cluster sharing one Redis would (the broker normally asks for one).
//
// Expiry: an offline session past its expiry counts as none the moment it is looked at (claim,
// enqueue), and sweep() - run by the engine's unref'd sweep timer and by reap() - deletes it, so
// no timer of this file keeps the process alive. Queue bound: past sessionQueue the OLDEST queued
// messages are dropped (the newest state of a topic is the one worth keeping), counted in
// `dropped` and told to onQueueDrop.
import type {
  ClaimResult,
  MqttStore,
  MqttStoreOptions,
  StoredMessage,
  StoredSession,
  StoredWill,
} from '../../model/index.js';
import { matchesFilter } from '../../model/index.js';
import { FilterTrie } from './filter-trie.js';
import { copyMessage, expired, offlineCopy, queues } from './offline-match.js';

/** 0xFFFFFFFF seconds: the session never expires (MQTT 3.1.1 persistent sessions). */
export const NEVER_EXPIRES = 0xffffffff;

type SessionState = Pick<StoredSession, 'subscriptions' | 'expiryInterval' | 'incomingQos2'>;

interface Session extends StoredSession {
  holder?: { node: string; conn: string };
  /** Offline only: ms when it expires (Infinity: never). */
  expiresAt?: number;
  queue: StoredMessage[];
  /** Offline only: the filters it is indexed under in offlineFilters. */
  indexed?: string[];
}

interface Will {
  node: string;
  conn: string;
  will: StoredWill;
}

/** The state shared by every store of one memory engine. */
export class MemoryMqttData {
  readonly sessions = new Map<string, Session>();
  /** Filters of offline sessions that can queue -> client ids: the only ones enqueue looks at. */
  readonly offlineFilters = new FilterTrie<string>();
  readonly retained = new Map<string, StoredMessage>();
  readonly wills = new Map<string, Will>();
  /** `<group>\n<filter>` -> nodes with members. */
  readonly shared = new Map<string, Set<string>>();
  /** Queued messages dropped by the sessionQueue bound, over the life of the engine. */
  dropped = 0;

  constructor(readonly now: () => number) {}

  /** The session, unless it is offline past its expiry (then it is deleted). */
  live(clientId: string): Session | undefined {
    const s = this.sessions.get(clientId);
    if (s && !s.holder && s.expiresAt !== undefined && s.expiresAt <= this.now()) {
      this.remove(clientId);
      return undefined;
    }
    return s;
  }

  remove(clientId: string): void {
    const s = this.sessions.get(clientId);
    if (s) this.unindex(s);
    this.sessions.delete(clientId);
  }

  /** The session no longer queues (it is held again, or gone). */
  unindex(s: Session): void {
    for (const f of s.indexed ?? []) this.offlineFilters.delete(f, s.clientId);
    s.indexed = undefined;
  }

  /** The session's connection is gone: it stays offline for its expiry interval, or goes now. */
  goOffline(clientId: string, s: Session): void {
    s.holder = undefined;
    if (s.expiryInterval === 0) {
      this.remove(clientId);
      return;
    }
    s.expiresAt = s.expiryInterval >= NEVER_EXPIRES ? Infinity : this.now() + s.expiryInterval * 1000;
    this.unindex(s);
    s.indexed = [...new Set(s.subscriptions.filter(queues).map((sub) => sub.filter))];
    for (const f of s.indexed) this.offlineFilters.add(f, clientId);
  }

  /** Deletes expired sessions and retained messages. */
  sweep(): void {
    const now = this.now();
    for (const [clientId, s] of this.sessions) {
      if (!s.holder && s.expiresAt !== undefined && s.expiresAt <= now) this.remove(clientId);
    }
    for (const [topic, m] of this.retained) if (expired(m, now)) this.retained.delete(topic);
  }
}

export class MemoryMqttStore implements MqttStore {
  constructor(
    private readonly data: MemoryMqttData,
    private readonly options: MqttStoreOptions,
  ) {}

  /** Queued messages dropped by the sessionQueue bound (every store of the engine). */
  get dropped(): number {
    return this.data.dropped;
  }

  async claim(
    clientId: string,
    owner: string,
    admin: boolean,
    node: string,
    conn: string,
    cleanStart: boolean,
  ): Promise<ClaimResult> {
    const d = this.data;
    const old = d.live(clientId);
    if (old && old.owner !== owner && !admin) return { ok: false, reason: 'owner' };
    const previous = old?.holder ? { ...old.holder } : undefined;
    d.wills.delete(clientId); // the session resumed (or restarted): an earlier will is void
    if (old) d.unindex(old);
    if (!old || cleanStart) {
      d.sessions.set(clientId, {
        clientId,
        owner,
        subscriptions: [],
        expiryInterval: 0,
        incomingQos2: [],
        holder: { node, conn },
        queue: [],
      });
      return previous ? { ok: true, previous } : { ok: true };
    }
    old.holder = { node, conn };
    old.expiresAt = undefined;
    const session: StoredSession = {
      clientId,
      owner: old.owner,
      subscriptions: structuredClone(old.subscriptions),
      expiryInterval: old.expiryInterval,
      incomingQos2: [...old.incomingQos2],
    };
    return previous ? { ok: true, session, previous } : { ok: true, session };
  }

  /** The session if `conn` holds it. */
  private held(clientId: string, conn: string): Session | undefined {
    const s = this.data.sessions.get(clientId);
    return s?.holder?.conn === conn ? s : undefined;
  }

  async saveSession(clientId: string, conn: string, state: SessionState): Promise<void> {
    const s = this.held(clientId, conn);
    if (s) setState(s, state);
  }

  async release(
    clientId: string,
    conn: string,
    state: SessionState,
    requeue: StoredMessage[],
  ): Promise<void> {
    const d = this.data;
    const s = this.held(clientId, conn);
    if (s) {
      setState(s, state);
      d.goOffline(clientId, s);
    }
    // Unacknowledged messages belong at the head of the queue, whoever holds the session now.
    const target = d.live(clientId);
    if (target && requeue.length > 0) {
      target.queue.unshift(...requeue.map(copyMessage));
      this.bound(clientId, target);
    }
  }

  async takeQueue(clientId: string, conn: string): Promise<StoredMessage[]> {
    const s = this.held(clientId, conn);
    if (!s) return [];
    const now = this.data.now();
    const queue = s.queue;
    s.queue = [];
    // Copies: the queued entries of several sessions share one payload.
    return queue.filter((m) => !expired(m, now)).map(copyMessage);
  }

  mayQueue(_topic: string): boolean {
    return this.data.offlineFilters.size > 0;
  }

  async enqueue(message: StoredMessage): Promise<void> {
    const d = this.data;
    if (message.qos === 0 || d.offlineFilters.size === 0) return;
    const matched = d.offlineFilters.match(message.topic);
    if (matched.size === 0) return;
    // One copy of the caller's message; the sessions' entries share its payload and properties.
    const own = copyMessage(message);
    for (const clientId of matched) {
      const s = d.live(clientId);
      const copy = s && offlineCopy(clientId, s.subscriptions, own);
      if (!s || !copy) continue;
      s.queue.push(copy);
      this.bound(clientId, s);
    }
  }

  /** Drops the oldest messages past sessionQueue. */
  private bound(clientId: string, s: Session): void {
    const over = s.queue.length - Math.max(0, this.options.sessionQueue);
    if (over <= 0) return;
    s.queue.splice(0, over);
    this.data.dropped += over;
    this.options.onQueueDrop?.(clientId, over);
  }

  async setRetained(message: StoredMessage): Promise<void> {
    if (message.payload.length === 0) this.data.retained.delete(message.topic);
    else this.data.retained.set(message.topic, copyMessage(message));
  }

  async retained(filter: string): Promise<StoredMessage[]> {
    const d = this.data;
    const now = d.now();
    // An exact filter is one lookup; a wildcard one scans every retained message (O(retained)).
    const candidates =
      filter.includes('+') || filter.includes('#')
        ? [...d.retained.values()].filter((m) => matchesFilter(filter, m.topic))
        : [d.retained.get(filter)].filter((m) => m !== undefined);
    const found: StoredMessage[] = [];
    for (const m of candidates) {
      if (expired(m, now)) d.retained.delete(m.topic);
      else found.push(copyMessage(m));
    }
    return found;
  }

  async setWill(clientId: string, conn: string, will: StoredWill): Promise<void> {
    const s = this.held(clientId, conn);
    if (s?.holder) this.data.wills.set(clientId, { node: s.holder.node, conn, will: copyMessage(will) });
  }

  async takeWill(clientId: string, conn: string): Promise<StoredWill | undefined> {
    const w = this.data.wills.get(clientId);
    if (!w || w.conn !== conn) return undefined;
    this.data.wills.delete(clientId);
    return w.will;
  }

  async reap(aliveNodes: string[]): Promise<(StoredWill & { clientId: string })[]> {
    const d = this.data;
    const alive = new Set(aliveNodes);
    for (const [clientId, s] of d.sessions) {
      if (s.holder && !alive.has(s.holder.node)) d.goOffline(clientId, s);
    }
    d.sweep();
    const now = d.now();
    const due: (StoredWill & { clientId: string })[] = [];
    for (const [clientId, w] of d.wills) {
      if (alive.has(w.node) || (w.will.publishAt ?? 0) > now) continue;
      d.wills.delete(clientId);
      due.push({ ...w.will, clientId });
    }
    return due;
  }

  async setSharedMembership(group: string, filter: string, node: string, present: boolean): Promise<void> {
    const key = `${group}\n${filter}`;
    const nodes = this.data.shared.get(key);
    if (present) {
      if (nodes) nodes.add(node);
      else this.data.shared.set(key, new Set([node]));
    } else if (nodes) {
      nodes.delete(node);
      if (nodes.size === 0) this.data.shared.delete(key);
    }
  }

  async sharedMembership(aliveNodes: string[]): Promise<Map<string, string[]>> {
    const alive = new Set(aliveNodes);
    const result = new Map<string, string[]>();
    for (const [key, nodes] of this.data.shared) {
      const present = [...nodes].filter((n) => alive.has(n)).sort();
      if (present.length > 0) result.set(key, present);
    }
    return result;
  }

  async close(): Promise<void> {}
}

function setState(s: Session, state: SessionState): void {
  s.subscriptions = structuredClone(state.subscriptions);
  s.expiryInterval = state.expiryInterval;
  s.incomingQos2 = [...state.incomingQos2];
}
