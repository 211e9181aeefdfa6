// Publish, atomically: assign the next offset, append to history, trim it by size and age, and
// PUBLISH the publication on the bus. Two nodes can never hand out the same offset, and the bus
// carries publications of one channel in offset order.
import { EPOCH, NOW_MS, TRIM } from './common.js';

/**
 * KEYS[1] meta hash, KEYS[2] history stream, KEYS[3] the cluster's epoch.
 * ARGV[1] epoch candidate, ARGV[2] meta ttl (s), ARGV[3] history size, ARGV[4] history ttl (ms),
 * ARGV[5] body, ARGV[6] bus channel. Returns {offset, epoch, time}.
 */
export const PUBLISH_LUA = `${NOW_MS}${TRIM}${EPOCH}
local meta, stream = KEYS[1], KEYS[2]
local size, ttl_ms = tonumber(ARGV[3]), tonumber(ARGV[4])
local epoch = epoch_of(meta, stream, KEYS[3], ARGV[1], ARGV[2], true)
local offset = redis.call('HINCRBY', meta, 'o', 1)
local now = now_ms()
local time = string.format('%.0f', now)
if size > 0 then
  redis.call('XADD', stream, string.format('%.0f', offset) .. '-0', 't', time, 'd', ARGV[5])
  trim(stream, size, ttl_ms, now)
  -- An idle stream whose entries have all aged out is dropped as a whole.
  if ttl_ms > 0 then redis.call('PEXPIRE', stream, ttl_ms) else redis.call('EXPIRE', stream, ARGV[2]) end
else
  redis.call('DEL', stream)
end
redis.call('PUBLISH', ARGV[6], 'p' .. string.format('%.0f', offset) .. ':' .. epoch .. ':' .. time .. ':' .. ARGV[5])
return {offset, epoch, time}
`;
