// The MQTT store's publication-side scripts: queueing for offline sessions, and reaping what dead
// nodes left (their sessions, their wills, their shared-subscription membership).
import { MQTT_COMMON } from './mqtt-common.js';

/**
 * MQTT topic matching as matchesFilter (model/channel-name.ts) does it: \`+\` one level, \`#\` the
 * rest, and a filter starting with a wildcard never matches a \`$\` topic.
 */
const MATCH = `
local function levels(s)
  local t = {}
  for part in string.gmatch(s .. '/', '([^/]*)/') do t[#t + 1] = part end
  return t
end
local function matches(filter, tl, dollar)
  local c1 = string.sub(filter, 1, 1)
  if dollar and (c1 == '#' or c1 == '+') then return false end
  if filter == '#' then return true end
  local f = levels(filter)
  for i = 1, #f do
    if f[i] == '#' then return true end
    if i > #tl then return false end
    if f[i] ~= '+' and f[i] ~= tl[i] then return false end
  end
  return #f == #tl
end
`;

/**
 * Queues a publication for every offline session with a matching subscription (the rule of
 * engine/mqtt/offline-match.ts): once per session, at min(publication, best matching subscription)
 * QoS, with the ids of every matching subscription; no-local skips the publisher's own session.
 * Cost: one pass over the offline index (every offline session that can queue), each session's
 * filters matched in Lua; callers skip the script when no cached filter matches.
 *
 * Only sessions in the offline index are queued for. A session whose node died without releasing
 * it joins the index when some node's reap() sees that node gone (the broker reaps on a timer):
 * publications in between are not queued for it.
 *
 * ARGV[1] prefix, [2] topic, [3] QoS, [4] origin client id ('' none), [5] message, [6] queue bound.
 * Returns {client id, dropped, ...} for the queues that lost messages to the bound.
 */
export const MQTT_ENQUEUE_LUA = `${MQTT_COMMON}${MATCH}
local topic, mqos, origin, msg, limit = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], tonumber(ARGV[6])
local dollar = string.sub(topic, 1, 1) == '$'
local tl = levels(topic)
local out = {}
-- Sessions often share filters: each distinct one is matched once per publication.
local memo = {}
local function hit(f)
  local m = memo[f]
  if m == nil then
    m = matches(f, tl, dollar)
    memo[f] = m
  end
  return m
end
local entries = redis.call('HGETALL', P .. 'offline')
for i = 1, #entries, 2 do
  local cid, x = entries[i], entries[i + 1]
  if redis.call('EXISTS', skey(cid)) == 0 then
    off_remove(cid) -- expired since it went offline
  else
    local best, ids, seen = -1, {}, {}
    for _, s in ipairs(subs_of(x) or {}) do
      if type(s) == 'table' and type(s[1]) == 'string' then
        local own = s[3] == 1 and origin ~= '' and origin == cid
        if not own and hit(s[1]) then
          local q = tonumber(s[2]) or 0
          if q > best then best = q end
          local id = tonumber(s[4])
          if id and id >= 0 and not seen[id] then
            seen[id] = true
            ids[#ids + 1] = string.format('%d', id)
          end
        end
      end
    end
    if best >= 1 then
      local q = math.min(best, mqos)
      local len = redis.call('RPUSH', qkey(cid), string.format('%d', q) .. '|' .. table.concat(ids, ',') .. '|' .. msg)
      -- A queue already there has its session's TTL (set when the session went offline).
      if len == 1 then queue_ttl_like_session(cid) end
      local dropped = bound_queue(cid, len, limit)
      if dropped > 0 then
        out[#out + 1] = cid
        out[#out + 1] = dropped
      end
    end
  end
end
announce()
return out
`;

/**
 * Reaps what nodes that are gone left behind. A node counts as gone when it is not in the caller's
 * alive list AND its report key (\`<prefix>:node:<name>\`, cluster-info.ts) has expired: a caller
 * whose list is older than a node that just started cannot take that node's sessions away.
 * Atomic, so each due will goes to exactly one caller however many reap at once.
 *
 * ARGV[1] prefix, [2] prefix of node report keys, [3] max expired sessions to clean per call,
 * [4..] alive nodes. Returns {filters changed 0/1, client id, will message, ...}.
 */
export const MQTT_REAP_LUA = `${MQTT_COMMON}
local now = now_ms()
local alive = {}
for i = 4, #ARGV do alive[ARGV[i]] = true end
local out = {0}
for _, node in ipairs(redis.call('SMEMBERS', P .. 'nodes')) do
  if not alive[node] and redis.call('EXISTS', ARGV[2] .. node) == 0 then
    local held = P .. 'held:' .. node
    for _, cid in ipairs(redis.call('SMEMBERS', held)) do
      if redis.call('HGET', skey(cid), 'n') == node then go_offline(cid, now) end
    end
    redis.call('DEL', held, P .. 'shared:' .. node)
    local wills = P .. 'wills:' .. node
    for _, cid in ipairs(redis.call('SMEMBERS', wills)) do
      local h = redis.call('HMGET', wkey(cid), 'n', 'p', 'b')
      if h[1] ~= node then
        redis.call('SREM', wills, cid)
      elseif (tonumber(h[2]) or 0) <= now then
        drop_will(cid)
        if h[3] then
          out[#out + 1] = cid
          out[#out + 1] = h[3]
        end
      end
    end
    if redis.call('EXISTS', wills) == 0 then redis.call('SREM', P .. 'nodes', node) end
  end
end
-- Sessions past their expiry: their keys expired by TTL; their index entries go here.
for _, cid in ipairs(redis.call('ZRANGEBYSCORE', P .. 'offline-exp', '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))) do
  off_remove(cid)
end
out[1] = announce()
return out
`;
