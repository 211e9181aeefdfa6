// Lua shared by the MQTT store's scripts. Every script gets the key prefix (`<prefix>:mqtt:`) as
// ARGV[1] and builds its keys from it, as the node scripts do (keys named by client id and node).
//
// The offline index: `offline` (hash client id -> compact subscriptions, see mqtt-codec.ts) lists
// the offline sessions that can queue, `offline-exp` (zset client id -> expiry ms, +inf: never)
// when each goes, and `filters` (hash filter -> number of offline sessions with it) is what the
// nodes cache to skip Redis on a publication nobody offline can want. A change in the set of
// filters is PUBLISHed on `filters-changed` so the caches reload.
import { NOW_MS } from './common.js';

export const MQTT_COMMON = `${NOW_MS}
local P = ARGV[1]
local function skey(cid) return P .. 's:' .. cid end
local function qkey(cid) return P .. 'q:' .. cid end
local function wkey(cid) return P .. 'w:' .. cid end
local filters_changed = false

-- Compact subscriptions, or nil when the stored value is not readable (it is then skipped).
local function subs_of(x)
  local ok, t = pcall(cjson.decode, x)
  if ok and type(t) == 'table' then return t end
  return nil
end

-- Distinct filters of the subscriptions that can queue (QoS > 0).
local function filters_of(x)
  local out, seen = {}, {}
  for _, s in ipairs(subs_of(x) or {}) do
    if type(s) == 'table' and type(s[1]) == 'string' and (tonumber(s[2]) or 0) > 0 and not seen[s[1]] then
      seen[s[1]] = true
      out[#out + 1] = s[1]
    end
  end
  return out
end

-- Adds \`by\` to a filter's count. A count that is not a number (not written by this code) starts
-- again from \`by\`, rather than failing every script that touches the filter.
local function bump(f, by)
  local n = redis.pcall('HINCRBY', P .. 'filters', f, by)
  if type(n) ~= 'number' then
    n = by
    if by > 0 then redis.call('HSET', P .. 'filters', f, by) else redis.call('HDEL', P .. 'filters', f) end
  end
  return n
end

local function off_remove(cid)
  local x = redis.call('HGET', P .. 'offline', cid)
  redis.call('ZREM', P .. 'offline-exp', cid)
  if not x then return end
  redis.call('HDEL', P .. 'offline', cid)
  for _, f in ipairs(filters_of(x)) do
    if bump(f, -1) <= 0 then
      redis.call('HDEL', P .. 'filters', f)
      filters_changed = true
    end
  end
end

local function off_add(cid, x, expires_at)
  off_remove(cid)
  local fs = filters_of(x)
  if #fs == 0 then return end
  redis.call('HSET', P .. 'offline', cid, x)
  redis.call('ZADD', P .. 'offline-exp', expires_at, cid)
  for _, f in ipairs(fs) do
    if bump(f, 1) == 1 then filters_changed = true end
  end
end

-- ms < 0: forever.
local function set_ttl(key, ms)
  if ms < 0 then redis.call('PERSIST', key) else redis.call('PEXPIRE', key, string.format('%.0f', ms)) end
end

-- The queue lives exactly as long as its session.
local function queue_ttl_like_session(cid)
  local pttl = redis.call('PTTL', skey(cid))
  if pttl > 0 then redis.call('PEXPIRE', qkey(cid), pttl)
  elseif pttl == -1 then redis.call('PERSIST', qkey(cid)) end
end

-- The session's connection is gone (released, or its node died): deleted with expiry 0, else
-- offline until its expiry, in the offline index so publications queue for it.
local function go_offline(cid, now)
  local s = skey(cid)
  local e = tonumber(redis.call('HGET', s, 'e')) or 0
  if e <= 0 then
    redis.call('DEL', s, qkey(cid))
    off_remove(cid)
    return
  end
  redis.call('HSET', s, 'n', '', 'c', '')
  local ms, at = -1, '+inf'
  if e < 4294967295 then
    ms = e * 1000
    at = string.format('%.0f', now + ms)
  end
  set_ttl(s, ms)
  if redis.call('EXISTS', qkey(cid)) == 1 then set_ttl(qkey(cid), ms) end
  off_add(cid, redis.call('HGET', s, 'x') or '[]', at)
end

-- The node no longer holds the session (released or taken over).
local function unhold(cid, node)
  if node and node ~= '' then redis.call('SREM', P .. 'held:' .. node, cid) end
end

local function drop_will(cid)
  local n = redis.call('HGET', wkey(cid), 'n')
  if n then redis.call('SREM', P .. 'wills:' .. n, cid) end
  redis.call('DEL', wkey(cid))
end

-- Drops the oldest entries past the bound; returns how many went.
local function bound_queue(cid, len, limit)
  if len <= limit then return 0 end
  redis.call('LTRIM', qkey(cid), len - limit, -1)
  return len - limit
end

local function announce()
  if filters_changed then redis.call('PUBLISH', P .. 'filters-changed', '1') end
  if filters_changed then return 1 end
  return 0
end
`;
