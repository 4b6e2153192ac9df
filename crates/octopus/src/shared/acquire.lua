-- Take every limit a request needs, or none: run by Redis atomically, so two processes can
-- never both see a free slot and both take it. Times are Redis's (TIME), so the clocks of
-- the machines do not matter.
--
-- KEYS: the slot sets (sorted sets of lease ids scored by expiry, ms), then the rate key,
--       then the delay key.
-- ARGV: lease id, lease ms, number of slot sets n, each set's max (n values),
--       rate interval ms (0: none), delay ms (0: none), poll ms.
-- Returns {1, 0, 0} when taken, or {0, wait ms, i}: the i-th key held it.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local interval = tonumber(ARGV[4 + n])
local delay = tonumber(ARGV[5 + n])
local poll = tonumber(ARGV[6 + n])
for i = 1, n do
  -- Leases of processes that died expire.
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  if redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[3 + i]) then
    return {0, poll, i}
  end
end
local tat = now
if interval > 0 then
  tat = math.max(tonumber(redis.call('GET', KEYS[n + 1]) or '0'), now)
  if tat > now then
    return {0, tat - now, n + 1}
  end
end
if delay > 0 then
  local last = redis.call('GET', KEYS[n + 2])
  if last and tonumber(last) + delay > now then
    return {0, tonumber(last) + delay - now, n + 2}
  end
end
for i = 1, n do
  redis.call('ZADD', KEYS[i], now + lease, ARGV[1])
  redis.call('PEXPIRE', KEYS[i], lease * 2)
end
if interval > 0 then
  redis.call('SET', KEYS[n + 1], tat + interval, 'PX', interval + 60000)
end
if delay > 0 then
  redis.call('SET', KEYS[n + 2], now, 'PX', delay + 60000)
end
return {1, 0, 0}
