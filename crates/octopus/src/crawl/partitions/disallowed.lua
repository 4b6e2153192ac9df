-- A URL of partition ARGV[3] (key ARGV[4]) that robots.txt disallows (or whose robots.txt
-- could not be fetched): handled, never fetched; no longer counted against the page limit,
-- so the first URL held back by the limit is queued in its place.
-- ARGV: 1 the job's prefix, 2 this process, 3 partition, 4 key, 5 the pages at most (-1),
-- 6 the kind of failure of its robots.txt ('' if robots.txt disallows it), 7 its URL (a URL
-- whose robots.txt failed is kept in `failed`, for the broken-link report).
-- Returns 1 if a URL held back was queued, 0 if not, -1 if the partition is no longer this
-- process's (nothing written).
local prefix, me, p, key, max_pages = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local OTHER = 3
if redis.call('GET', prefix .. 'owner:' .. p) ~= me then return -1 end
local b = prefix .. 'seen:' .. string.format('%02x%02x', string.byte(key, 1, 2))
local v = tonumber(redis.call('HGET', b, string.sub(key, 3, 10)) or '0')
redis.call('HSET', b, string.sub(key, 3, 10), math.floor(v / 8) * 8 + OTHER)
redis.call('HDEL', prefix .. 'fly:' .. p, key)
if ARGV[6] ~= '' then redis.call('HSET', prefix .. 'failed', ARGV[7], '|' .. ARGV[6]) end
local counts = prefix .. 'counts'
local admitted = redis.call('HINCRBY', counts, 'admitted', -1)
if max_pages < 0 or admitted >= max_pages then return 0 end
local held = redis.call('LPOP', prefix .. 'over')
if not held then return 0 end
local colon = string.find(held, ':', 1, true)
local to, entry = string.sub(held, 1, colon - 1), string.sub(held, colon + 1)
local hkey = string.sub(entry, 1, 10)
local hb = prefix .. 'seen:' .. string.format('%02x%02x', string.byte(hkey, 1, 2))
local hv = tonumber(redis.call('HGET', hb, string.sub(hkey, 3, 10)) or '0')
redis.call('HSET', hb, string.sub(hkey, 3, 10), math.floor(hv / 8) * 8)
redis.call('RPUSH', prefix .. 'front:' .. to, entry)
redis.call('HINCRBY', counts, 'admitted', 1)
return 1
