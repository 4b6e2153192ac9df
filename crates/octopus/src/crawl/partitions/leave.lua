-- Process ARGV[2] leaves a shared crawl (it ended, or was stopped): the partitions it holds
-- are released at once, the URLs it had taken and not handled put back first in their
-- lists, so that the others need not wait for its leases to lapse; it is no longer alive.
-- ARGV: 1 the job's prefix, 2 this process, 3 the partitions.
local prefix, me, parts = ARGV[1], ARGV[2], tonumber(ARGV[3])
for p = 0, parts - 1 do
  local owner = prefix .. 'owner:' .. p
  if redis.call('GET', owner) == me then
    local front, fly = prefix .. 'front:' .. p, prefix .. 'fly:' .. p
    local flying = redis.call('HVALS', fly)
    for j = #flying, 1, -1 do redis.call('LPUSH', front, flying[j]) end
    redis.call('DEL', fly, owner)
  end
end
redis.call('ZREM', prefix .. 'members', me)
return 0
