-- Extend the leases still held (a long request keeps its slot): KEYS[i] holds lease ARGV[i+1].
-- A lease that expired meanwhile is not brought back (XX).
-- ARGV: lease ms, then one lease id per key.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', now + lease, ARGV[i + 1])
  redis.call('PEXPIRE', KEYS[i], lease * 2)
end
return #KEYS
