-- A URL of partition ARGV[3] (key ARGV[4]) that process ARGV[2] took and will not handle
-- (its lease looked lapsed when the page came back): put back first in its list if the
-- partition is still this process's (else its new holder took it back when it claimed it).
local prefix, me, p, key = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('GET', prefix .. 'owner:' .. p) ~= me then return 0 end
local fly = prefix .. 'fly:' .. p
local entry = redis.call('HGET', fly, key)
if not entry then return 0 end
redis.call('LPUSH', prefix .. 'front:' .. p, entry)
redis.call('HDEL', fly, key)
return 1
