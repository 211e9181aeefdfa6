// MQTT state shared by every node of a cluster: persistent sessions (their subscriptions and queues
// of QoS 1/2 messages) and retained messages live in Redis, through aedes-persistence-redis, so a
// client finds them again on whichever node it reconnects to.
//
// Every node's bridge injects every hub publication into its own broker, so aedes' publish path
// (store retained, queue for persistent sessions, deliver live) runs once per node. Two changes make
// that safe on shared storage:
// - a publication has the same identity on every node (see packetIdentity): its stored packet and
//   queue entry are the same keys wherever they were written, so the node a client is on can
//   acknowledge an entry another node queued;
// - queueing is claimed per session and publication in one script: each session's queue gets a
//   publication once, however many nodes know that session's subscriptions.
// aedes 1.x wants Node streams where the package returns async iterables: wrapped here.
// Wills stay in each node's memory: aedes hands a crashed broker's wills to the others by its
// heartbeats on its own message bus, which Herald does not run between nodes.
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { Redis } from 'ioredis';
import { createRedisConnection } from '../../engine/redis/index.js';
import type { Logger } from '../../model/index.js';

const require = createRequire(import.meta.url);
// CommonJS packages without types for these entry points.
const AsyncRedisPersistence = require('aedes-persistence-redis/asyncPersistence.js') as new (
  opts: object,
) => AsyncPersistence;
const msgpack = require('msgpack-lite') as { encode(v: unknown): Buffer };
const AedesPacket = require('aedes-packet') as new (p: object) => object;

interface Sub {
  clientId: string;
  topic: string;
}
interface StoredPacket {
  brokerId: string;
  brokerCounter: number;
}
interface AsyncPersistence {
  setup(broker: unknown): Promise<void>;
  destroy(): Promise<void>;
  outgoingEnqueueCombi(subs: Sub[], packet: StoredPacket): Promise<void>;
  putWill(client: { id: string }, packet: object): Promise<void>;
  getWill(client: { id: string }): Promise<object | null>;
  delWill(client: { id: string }): Promise<object | null>;
  streamWill(brokers: object): AsyncIterable<object> | Readable;
  createRetainedStream(pattern: string): AsyncIterable<object> | Readable;
  createRetainedStreamCombi(patterns: string[]): AsyncIterable<object> | Readable;
  outgoingStream(client: { id: string }): AsyncIterable<object> | Readable;
}

/** How long a claim to have queued a publication for a session is remembered (ms). */
const CLAIM_TTL_MS = 120_000;

/**
 * KEYS[1] claim set, KEYS[2] stored packet, KEYS[3] its reference count. ARGV[1] encoded packet,
 * ARGV[2] claim ttl (ms), ARGV[3] queue limit, ARGV[4] the packet key as listed in queues (without
 * the key prefix), then per session: its queue key, its subscriptions hash key, the filter that
 * matched. A session whose stored subscriptions no longer hold that filter (it unsubscribed or was
 * cleaned on another node, whose index this node has not seen) is skipped. Returns the queues
 * that were full.
 */
const ENQUEUE_LUA = `
local added = 0
local full = {}
local limit = tonumber(ARGV[3])
for i = 5, #ARGV, 3 do
  local queue = ARGV[i]
  if redis.call('HEXISTS', ARGV[i + 1], ARGV[i + 2]) == 1 and redis.call('SADD', KEYS[1], queue) == 1 then
    if redis.call('LLEN', queue) < limit then
      redis.call('RPUSH', queue, ARGV[4])
      added = added + 1
    else
      full[#full + 1] = queue
    end
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if added > 0 then
  redis.call('SET', KEYS[2], ARGV[1], 'NX')
  redis.call('INCRBY', KEYS[3], added)
end
return full
`;

/**
 * The identity of a publication's MQTT packet, equal on every node: one "broker" per channel and
 * epoch whose counter is the offset. aedes drops a packet whose counter is not above the last one
 * it delivered to that client from that broker id, which offsets (increasing per channel and
 * epoch) respect.
 */
export function packetIdentity(channel: string, epoch: string, offset: number): StoredPacket {
  // ':' separates the parts of the persistence's keys; encodeURIComponent escapes it.
  return { brokerId: `${encodeURIComponent(channel)}~${epoch}`, brokerCounter: offset };
}

export interface RedisPersistenceOptions {
  url: string;
  /** Key prefix (the Redis engine's prefix): keys are `<prefix>:mqtt:...`. */
  prefix: string;
  /** Messages held per persistent session. */
  sessionQueue: number;
  onFull(clientId: string): void;
  log?: Logger;
}

/** aedes persistence on Redis, safe to share between nodes that each inject every publication. */
export function sharedRedisPersistence(o: RedisPersistenceOptions): unknown {
  const keyPrefix = `${o.prefix}:mqtt:`;
  // Connections come from the one factory (the URL as given: TLS and credentials intact; errors
  // logged once per outage). A command waits through a short outage, not forever.
  const conn = createRedisConnection({
    url: o.url,
    name: `${o.prefix}:mqtt`,
    log: o.log,
    redis: { keyPrefix, maxRetriesPerRequest: 3 },
  });
  const persistence = new AsyncRedisPersistence({ conn });
  const scripts = createRedisConnection({
    url: o.url,
    name: `${o.prefix}:mqtt-scripts`,
    log: o.log,
    redis: { maxRetriesPerRequest: 3 },
  }) as Redis & {
    heraldMqttEnqueue(...args: (string | number | Buffer)[]): Promise<string[]>;
  };
  scripts.defineCommand('heraldMqttEnqueue', { numberOfKeys: 3, lua: ENQUEUE_LUA });

  persistence.outgoingEnqueueCombi = async (subs, packet) => {
    if (!subs || subs.length === 0) return;
    const pktKey = `packet:${packet.brokerId}:${packet.brokerCounter}`;
    const sessions: string[] = [];
    for (const s of subs) {
      const id = encodeURIComponent(s.clientId);
      sessions.push(`${keyPrefix}outgoing:${id}`, `${keyPrefix}client:${id}`, s.topic);
    }
    const full = await scripts.heraldMqttEnqueue(
      `${keyPrefix}enqueued:${pktKey}`,
      keyPrefix + pktKey,
      `${keyPrefix + pktKey}:offlineCount`,
      msgpack.encode(new AedesPacket(packet)),
      CLAIM_TTL_MS,
      o.sessionQueue,
      pktKey,
      ...sessions,
    );
    for (const queue of full) {
      o.onFull(decodeURIComponent(queue.slice(`${keyPrefix}outgoing:`.length)));
    }
  };

  const wills = new Map<string, object>();
  persistence.putWill = async (client, packet) => {
    wills.set(client.id, packet);
  };
  persistence.getWill = async (client) => wills.get(client.id) ?? null;
  persistence.delWill = async (client) => {
    const will = wills.get(client.id) ?? null;
    wills.delete(client.id);
    return will;
  };
  persistence.streamWill = () => Readable.from([]);

  // aedes 1.x pipes these; the package returns async iterables.
  const retained = persistence.createRetainedStream.bind(persistence);
  const retainedCombi = persistence.createRetainedStreamCombi.bind(persistence);
  const outgoing = persistence.outgoingStream.bind(persistence);
  persistence.createRetainedStream = (pattern) => Readable.from(retained(pattern));
  persistence.createRetainedStreamCombi = (patterns) => Readable.from(retainedCombi(patterns));
  persistence.outgoingStream = (client) => Readable.from(outgoing(client));

  const destroy = persistence.destroy.bind(persistence);
  persistence.destroy = async () => {
    scripts.disconnect();
    await destroy();
  };
  return persistence;
}
