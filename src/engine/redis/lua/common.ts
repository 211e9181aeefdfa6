// Lua shared by the stream scripts. Offsets are stream entry ids "<offset>-0"; field t is the time.

/** Redis server time in ms, so every node trims and stamps by the same clock. */
export const NOW_MS = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/**
 * Trims a history stream to \`size\` entries (0 = none) and drops entries not newer than
 * now - ttl_ms. Entries are in offset order and stamped by the server clock, so expired ones form a
 * prefix; it is found a batch at a time, so the work is bounded by what actually expires.
 */
export const TRIM = `
local function trim(stream, size, ttl_ms, now)
  if size <= 0 then
    redis.call('DEL', stream)
    return
  end
  redis.call('XTRIM', stream, 'MAXLEN', size)
  if ttl_ms <= 0 then return end
  local cutoff = now - ttl_ms
  -- The common case, nothing expired, costs a look at the oldest entry only.
  local n = 1
  local trimmed = false
  while true do
    local batch = redis.call('XRANGE', stream, '-', '+', 'COUNT', n)
    if #batch == 0 then return end
    for _, e in ipairs(batch) do
      local f = e[2]
      local ts = 0
      for i = 1, #f, 2 do
        if f[i] == 't' then ts = tonumber(f[i + 1]) break end
      end
      if ts > cutoff then
        if trimmed or _ > 1 then redis.call('XTRIM', stream, 'MINID', e[1]) end
        return
      end
    end
    local last = batch[#batch][1]
    local top = tonumber(string.match(last, '^(%d+)'))
    redis.call('XTRIM', stream, 'MINID', string.format('%.0f', top + 1) .. '-0')
    trimmed = true
    if #batch < n then return end
    n = 64
  end
end
`;

/**
 * The channel's epoch. A channel without a meta hash (never published, idle past the meta TTL, or
 * lost with Redis's data) is at offset 0 of the cluster's current epoch: one key for the whole
 * cluster, made from \`candidate\` when missing, so it changes when Redis loses its data. A read
 * (\`create\` false) answers that epoch and writes nothing per channel, so reading unknown channels
 * cannot grow Redis; a publish creates the meta hash in it. History without meta belongs to a lost
 * epoch and is dropped.
 *
 * The cluster's epoch lives meta_ttl and is never refreshed: a meta hash outlives the epoch it was
 * born in, since it lives meta_ttl past its last use. So a channel idle long enough to lose its meta
 * comes back in a newer epoch, and a position from its earlier life cannot pass for a new one.
 */
export const EPOCH = `
local function epoch_of(meta, stream, cluster_key, candidate, meta_ttl, create)
  local epoch = redis.call('HGET', meta, 'e')
  if not epoch then
    epoch = redis.call('GET', cluster_key)
    if not epoch then
      epoch = candidate
      redis.call('SET', cluster_key, epoch, 'EX', meta_ttl)
    end
    if not create then return epoch, false end
    redis.call('HSET', meta, 'e', epoch, 'o', 0)
    redis.call('DEL', stream)
  end
  redis.call('EXPIRE', meta, meta_ttl)
  return epoch, true
end
`;
