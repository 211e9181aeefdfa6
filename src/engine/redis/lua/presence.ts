// Presence: a hash client -> ClientInfo JSON beside a sorted set client -> expiry (server ms). An
// entry not refreshed in time is dropped on the next read, so a crashed node's clients disappear.
import { NOW_MS } from './common.js';

/** KEYS[1] hash, KEYS[2] expiry zset. ARGV[1] client, ARGV[2] info JSON, ARGV[3] ttl (ms). */
export const PRESENCE_ADD_LUA = `${NOW_MS}
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now_ms() + ttl, ARGV[1])
-- The keys live as long as their longest-lived entry.
for _, k in ipairs(KEYS) do
  if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
end
return 1
`;

/** KEYS[1] hash, KEYS[2] expiry zset. Drops expired entries, returns HGETALL of the rest. */
export const PRESENCE_GET_LUA = `${NOW_MS}
local now = now_ms()
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, client in ipairs(expired) do redis.call('HDEL', KEYS[1], client) end
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
return redis.call('HGETALL', KEYS[1])
`;

/**
 * KEYS[1] node set (zset name -> expiry), KEYS[2] this node's info key.
 * ARGV[1] name, ARGV[2] info JSON, ARGV[3] ttl (ms), ARGV[4] prefix of node info keys.
 * Returns the info JSON of every node alive.
 */
export const NODE_REPORT_LUA = `${NOW_MS}
local now = now_ms()
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl)
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local out = {}
for _, name in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local info = redis.call('GET', ARGV[4] .. name)
  if info then out[#out + 1] = info end
end
return out
`;

/**
 * KEYS[1] node set (zset name -> expiry). ARGV[1] prefix of the per-node channel count hashes,
 * ARGV[2..] channels. Returns, per channel, its subscriptions summed over the nodes alive (a node
 * that stopped reporting, e.g. killed, stops counting when its report expires).
 */
export const CHANNEL_COUNTS_LUA = `${NOW_MS}
local nodes = redis.call('ZRANGEBYSCORE', KEYS[1], now_ms(), '+inf')
local fields = {}
local out = {}
for i = 2, #ARGV do
  fields[#fields + 1] = ARGV[i]
  out[#out + 1] = 0
end
if #fields == 0 then return out end
for _, name in ipairs(nodes) do
  local counts = redis.call('HMGET', ARGV[1] .. name, unpack(fields))
  for i, c in ipairs(counts) do
    if c then out[i] = out[i] + tonumber(c) end
  end
end
return out
`;
