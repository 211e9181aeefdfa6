// Publish, atomically: assign the next offset, append to history, trim it by size and age, and
// PUBLISH the publication on the bus. Two nodes can never hand out the same offset, and the bus
// carries publications of one channel in offset order. The engine sends publications in batches
// (see ../publish-batch.ts); a batch of one is the single-publication case.
import { EPOCH, NOW_MS, TRIM } from './common.js';

/** One publication; `now` is the server time of the script run. Returns offset, epoch, time. */
const PUBLISH_ONE = `
local function publish_one(meta, stream, cluster_key, candidate, meta_ttl, size, ttl_ms, body, bus, now)
  local epoch = epoch_of(meta, stream, cluster_key, candidate, meta_ttl, true)
  local offset = redis.call('HINCRBY', meta, 'o', 1)
  local time = string.format('%.0f', now)
  if size > 0 then
    redis.call('XADD', stream, string.format('%.0f', offset) .. '-0', 't', time, 'd', body)
    trim(stream, size, ttl_ms, now)
    -- An idle stream whose entries have all aged out is dropped as a whole.
    if ttl_ms > 0 then redis.call('PEXPIRE', stream, ttl_ms) else redis.call('EXPIRE', stream, meta_ttl) end
  else
    redis.call('DEL', stream)
  end
  redis.call('PUBLISH', bus, 'p' .. string.format('%.0f', offset) .. ':' .. epoch .. ':' .. time .. ':' .. body)
  return offset, epoch, time
end
`;

/**
 * Several publications in one run, in the order given (the engine gathers what arrives within one
 * event-loop turn): one script call, one reply and one TIME instead of one each per publication.
 * Each publication runs under pcall, so one that fails (out of memory, a wrong key type) fails
 * alone and the others keep their answers, exactly as if each had been its own script.
 *
 * KEYS[1] the cluster's epoch, then per publication i: KEYS[2i] meta hash, KEYS[2i+1] stream.
 * ARGV[1] epoch candidate, ARGV[2] meta ttl (s), then per publication 4 values: history size,
 * history ttl (ms), body, bus channel.
 * Returns per publication {offset, epoch, time}, or {-1, error text, ''} for one that failed.
 */
export const PUBLISH_BATCH_LUA = `${NOW_MS}${TRIM}${EPOCH}${PUBLISH_ONE}
local now = now_ms()
local out = {}
local n = (#KEYS - 1) / 2
for i = 1, n do
  local a = 2 + (i - 1) * 4
  local ok, offset, epoch, time = pcall(publish_one, KEYS[2 * i], KEYS[2 * i + 1], KEYS[1], ARGV[1],
    ARGV[2], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), ARGV[a + 3], ARGV[a + 4], now)
  if ok then
    out[#out + 1] = offset
    out[#out + 1] = epoch
    out[#out + 1] = time
  else
    -- redis.call raises a table {err = text}; a Lua error is a string.
    out[#out + 1] = -1
    out[#out + 1] = type(offset) == 'table' and tostring(offset.err) or tostring(offset)
    out[#out + 1] = ''
  end
end
return out
`;
