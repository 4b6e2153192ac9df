-- Keep process ARGV[2]'s partitions (ARGV[4..]) its own for another lease (ARGV[3] ms),
-- and the process among those alive. Returns the partitions that are no longer its own.
local prefix, me, lease = ARGV[1], ARGV[2], tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', prefix .. 'members', now + lease, me)
local lost = {}
for i = 4, #ARGV do
  local owner = prefix .. 'owner:' .. ARGV[i]
  if redis.call('GET', owner) == me then
    redis.call('PEXPIRE', owner, lease)
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost
