-- Where a shared crawl stands, read at once: {seeded (0/1), URLs waiting in its ARGV[2]
-- partitions, URLs in flight (taken, not yet handled), URLs admitted (counted against the
-- page limit), pages done}. It is over when seeded and nothing waits or is in flight.
local prefix, parts = ARGV[1], tonumber(ARGV[2])
local waiting, flying = 0, 0
for p = 0, parts - 1 do
  waiting = waiting + redis.call('LLEN', prefix .. 'front:' .. p)
  flying = flying + redis.call('HLEN', prefix .. 'fly:' .. p)
end
local counts = redis.call('HMGET', prefix .. 'counts', 'seeded', 'admitted', 'pages')
return {tonumber(counts[1] or '0'), waiting, flying, tonumber(counts[2] or '0'),
        tonumber(counts[3] or '0')}
