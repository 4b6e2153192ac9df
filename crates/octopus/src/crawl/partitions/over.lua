-- Whether a shared crawl is over: seeded, and no URL waiting or in flight in any of its
-- ARGV[2] partitions. Returns {over (0/1), URLs waiting}.
local prefix, parts = ARGV[1], tonumber(ARGV[2])
local waiting, flying = 0, 0
for p = 0, parts - 1 do
  waiting = waiting + redis.call('LLEN', prefix .. 'front:' .. p)
  flying = flying + redis.call('HLEN', prefix .. 'fly:' .. p)
end
local seeded = redis.call('HGET', prefix .. 'counts', 'seeded') == '1'
if seeded and waiting == 0 and flying == 0 then return {1, 0} end
return {0, waiting}
