// Read history and the stream's position in one atomic step, so they always agree. Also applies the
// current limits (they may have shrunk since the last publish). An unknown channel is answered
// without creating anything (see EPOCH): its position is offset 0 of the epoch its first
// publication will have.
import { EPOCH, NOW_MS, TRIM } from './common.js';

/**
 * KEYS[1] meta hash, KEYS[2] history stream, KEYS[3] the cluster's epoch.
 * ARGV[1] epoch candidate, ARGV[2] meta ttl (s), ARGV[3] history size, ARGV[4] history ttl (ms),
 * ARGV[5] since offset or '', ARGV[6] since epoch, ARGV[7] limit (-1 = all), ARGV[8] '1' = reverse.
 * Returns {epoch, top offset, entries}; entries as XRANGE gives them.
 */
export const HISTORY_LUA = `${NOW_MS}${TRIM}${EPOCH}
local meta, stream = KEYS[1], KEYS[2]
local epoch, known = epoch_of(meta, stream, KEYS[3], ARGV[1], ARGV[2], false)
if not known then return {epoch, 0, {}} end
local top = tonumber(redis.call('HGET', meta, 'o') or '0')
trim(stream, tonumber(ARGV[3]), tonumber(ARGV[4]), now_ms())
local limit = tonumber(ARGV[7])
if limit == 0 then return {epoch, top, {}} end
local since = nil
if ARGV[5] ~= '' and ARGV[6] == epoch then since = tonumber(ARGV[5]) end
local entries
if ARGV[8] == '1' then
  local hi = '+'
  if since then
    if since <= 1 then return {epoch, top, {}} end
    hi = string.format('%.0f', since - 1) .. '-0'
  end
  if limit > 0 then
    entries = redis.call('XREVRANGE', stream, hi, '-', 'COUNT', limit)
  else
    entries = redis.call('XREVRANGE', stream, hi, '-')
  end
else
  local lo = '-'
  if since then lo = string.format('%.0f', since + 1) .. '-0' end
  if limit > 0 then
    entries = redis.call('XRANGE', stream, lo, '+', 'COUNT', limit)
  else
    entries = redis.call('XRANGE', stream, lo, '+')
  end
end
return {epoch, top, entries}
`;
