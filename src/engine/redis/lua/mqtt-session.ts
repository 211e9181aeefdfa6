// The session scripts of the MQTT store: each is atomic, and every write a stale connection could
// make is conditional on the session's holder still being that connection (field c).
//
// Session hash `s:<client id>`: o owner, n node and c connection holding it ('' while offline),
// st the state JSON the broker saved, e its expiry interval (s), x its compact subscriptions. No
// TTL while held; offline, it and its queue (list `q:<client id>`) expire after the interval.
import { MQTT_COMMON } from './mqtt-common.js';

/**
 * ARGV[1] prefix, [2] client id, [3] owner, [4] admin '1'/'0', [5] node, [6] conn, [7] clean start.
 * Returns {'owner'} when refused, else {'ok', state ('' when none), previous node, previous conn,
 * filters changed 0/1, the session's owner (an admin taking it over does not become its owner)}.
 */
export const MQTT_CLAIM_LUA = `${MQTT_COMMON}
local cid, owner, admin, node, conn, clean = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local s = skey(cid)
local h = redis.call('HMGET', s, 'o', 'n', 'c', 'st')
local exists = h[1] ~= false
if exists and h[1] ~= owner and admin ~= '1' then return {'owner'} end
local pnode, pconn = '', ''
if exists and h[2] and h[2] ~= '' then
  pnode, pconn = h[2], h[3] or ''
  unhold(cid, pnode)
end
drop_will(cid)
off_remove(cid)
local state = ''
if exists and clean ~= '1' then
  state = h[4] or ''
  redis.call('HSET', s, 'n', node, 'c', conn)
  redis.call('PERSIST', s)
  redis.call('PERSIST', qkey(cid))
else
  redis.call('DEL', s, qkey(cid))
  redis.call('HSET', s, 'o', owner, 'n', node, 'c', conn, 'st', '', 'e', 0, 'x', '[]')
end
redis.call('SADD', P .. 'held:' .. node, cid)
redis.call('SADD', P .. 'nodes', node)
return {'ok', state, pnode, pconn, announce(), redis.call('HGET', s, 'o')}
`;

/** ARGV[1] prefix, [2] client id, [3] conn, [4] state JSON, [5] expiry (s), [6] compact subs. */
export const MQTT_SAVE_LUA = `${MQTT_COMMON}
local s = skey(ARGV[2])
if redis.call('HGET', s, 'c') ~= ARGV[3] then return 0 end
redis.call('HSET', s, 'st', ARGV[4], 'e', ARGV[5], 'x', ARGV[6])
return 1
`;

/**
 * ARGV[1] prefix, [2] client id, [3] conn, [4] state JSON, [5] expiry (s), [6] compact subs,
 * [7] queue bound, [8..] messages to put back at the head of the queue, oldest first.
 * Returns {dropped, filters changed 0/1}.
 */
export const MQTT_RELEASE_LUA = `${MQTT_COMMON}
local cid, conn = ARGV[2], ARGV[3]
local s = skey(cid)
local h = redis.call('HMGET', s, 'n', 'c')
if h[2] == conn then
  unhold(cid, h[1])
  redis.call('HSET', s, 'st', ARGV[4], 'e', ARGV[5], 'x', ARGV[6])
  go_offline(cid, now_ms())
end
local dropped = 0
if #ARGV >= 8 and redis.call('EXISTS', s) == 1 then
  local len = 0
  for i = #ARGV, 8, -1 do len = redis.call('LPUSH', qkey(cid), ARGV[i]) end
  queue_ttl_like_session(cid)
  -- Over the bound, the oldest go: here, the ones just put back.
  dropped = bound_queue(cid, len, tonumber(ARGV[7]))
end
return {dropped, announce()}
`;

/** ARGV[1] prefix, [2] client id, [3] conn. Returns the queue (empty unless conn holds it). */
export const MQTT_TAKE_QUEUE_LUA = `${MQTT_COMMON}
local cid = ARGV[2]
if redis.call('HGET', skey(cid), 'c') ~= ARGV[3] then return {} end
local q = redis.call('LRANGE', qkey(cid), 0, -1)
redis.call('DEL', qkey(cid))
return q
`;

/**
 * Will hash `w:<client id>`: n node, c conn, p publish time (ms, 0: at once), b the message; its
 * client id is in the set `wills:<node>`, for reap.
 * ARGV[1] prefix, [2] client id, [3] conn, [4] publish at, [5] message. Returns 1 if stored.
 */
export const MQTT_SET_WILL_LUA = `${MQTT_COMMON}
local cid = ARGV[2]
local h = redis.call('HMGET', skey(cid), 'n', 'c')
if h[2] ~= ARGV[3] then return 0 end
drop_will(cid)
redis.call('HSET', wkey(cid), 'n', h[1], 'c', ARGV[3], 'p', ARGV[4], 'b', ARGV[5])
redis.call('SADD', P .. 'wills:' .. h[1], cid)
redis.call('SADD', P .. 'nodes', h[1])
return 1
`;

/** ARGV[1] prefix, [2] client id, [3] conn. Returns the will's message, or nil. */
export const MQTT_TAKE_WILL_LUA = `${MQTT_COMMON}
local cid = ARGV[2]
local h = redis.call('HMGET', wkey(cid), 'c', 'b')
if h[1] ~= ARGV[3] then return false end
drop_will(cid)
return h[2]
`;
