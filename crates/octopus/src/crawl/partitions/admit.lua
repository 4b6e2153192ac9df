-- Admit URLs to a shared crawl's frontier, each at most once: URLs listed (ARGV[5]
-- 'listed': seeds, at depth ARGV[6], or a sitemap's pages, their parent ARGV[8]), or the
-- links of a page handled by this process ('page'), with the page marked done in the same
-- step. A URL is new if and only if its 10-byte key is not in the seen-set (a hash per
-- 2-byte bucket, `seen:XXXX`, field the 8 bytes after, value depth * 8 + state), and a
-- new URL is queued (its entry pushed on its partition's list `front:N`) in the same step
-- as it is marked seen. An entry is KEY (10 bytes), a flag (bit 0: external, bit 1:
-- fetched again for its links only), the parent's URL, a newline, the URL.
-- ARGV: 1 the job's prefix, 2 this process, 3 the depth at most, 4 the pages at most (-1:
-- no limit), 5 mode, 6 the page's partition, 7 its key, 8 its URL, 9 where its redirects
-- ended (a key, or ''), 10 that URL's partition, 11 how the page failed ('STATUS|KIND', or
-- '' if it did not: kept in `failed` for the broken-link report), 12 '1' if the page was
-- fetched again for its links only (not counted again), then four a URL: key, partition,
-- kind ('f' followed, 'e' external to check, 'o' out of scope, counted once), URL.
-- Returns {queued, too deep, over the limit, no longer too deep, no longer too deep but
-- over, out of scope (new), lost}: lost = 1 when the page's partition is no longer this
-- process's (nothing was written).
local prefix, me = ARGV[1], ARGV[2]
local max_depth, max_pages = tonumber(ARGV[3]), tonumber(ARGV[4])
local mode, page_p, page_key, page_url = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local QUEUED, DONE, DEEP, OTHER, OVER = 0, 1, 2, 3, 4
local counts = prefix .. 'counts'

local function bucket(key)
  return prefix .. 'seen:' .. string.format('%02x%02x', string.byte(key, 1, 2))
end
local function field(key) return string.sub(key, 3, 10) end

local depth = 0
if mode == 'page' then
  if redis.call('GET', prefix .. 'owner:' .. page_p) ~= me then
    return {0, 0, 0, 0, 0, 0, 1}
  end
  -- The page's depth as it is now: it may have been found closer while in flight.
  local v = tonumber(redis.call('HGET', bucket(page_key), field(page_key)) or '0')
  depth = math.floor(v / 8)
  redis.call('HSET', bucket(page_key), field(page_key), depth * 8 + DONE)
  redis.call('HDEL', prefix .. 'fly:' .. page_p, page_key)
  -- A page fetched again for its links only is not a page more.
  if ARGV[12] ~= '1' then redis.call('HINCRBY', counts, 'pages', 1) end
  if ARGV[11] ~= '' then redis.call('HSET', prefix .. 'failed', page_url, ARGV[11]) end
  depth = depth + 1
  local reached = ARGV[9]
  if reached ~= '' then
    local seen = redis.call('HGET', bucket(reached), field(reached))
    local in_flight = redis.call('HEXISTS', prefix .. 'fly:' .. ARGV[10], reached) == 1
    if not seen then
      redis.call('HSET', bucket(reached), field(reached), (depth - 1) * 8 + OTHER)
    elseif tonumber(seen) % 8 == QUEUED and not in_flight then
      -- Waiting in the frontier: handled with this page (its entry is dropped when taken).
      redis.call('HSET', bucket(reached), field(reached), math.floor(tonumber(seen) / 8) * 8 + OTHER)
    end
  end
else
  depth = tonumber(ARGV[6])
  redis.call('HSET', counts, 'seeded', 1)
end

local tally = {0, 0, 0, 0, 0, 0, 0}
local admitted = tonumber(redis.call('HGET', counts, 'admitted') or '0')
local function over() return max_pages >= 0 and admitted >= max_pages end
local function queue(key, p, flag, url, d, seen)
  local entry = key .. flag .. page_url .. '\n' .. url
  if over() then
    redis.call('HSET', bucket(key), field(key), d * 8 + OVER)
    redis.call('RPUSH', prefix .. 'over', p .. ':' .. entry)
    return false
  end
  redis.call('HSET', bucket(key), field(key), d * 8 + QUEUED)
  redis.call('RPUSH', prefix .. 'front:' .. p, entry)
  admitted = admitted + 1
  return true
end

for i = 13, #ARGV, 4 do
  local key, p, kind, url = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local b, f = bucket(key), field(key)
  local seen = redis.call('HGET', b, f)
  if kind == 'o' then
    if not seen then
      redis.call('HSET', b, f, OTHER)
      tally[6] = tally[6] + 1
    end
  elseif not seen then
    local flag = (kind == 'e') and '1' or '0'
    if depth > max_depth then
      redis.call('HSET', b, f, depth * 8 + DEEP)
      tally[2] = tally[2] + 1
    elseif queue(key, p, flag, url, depth) then
      tally[1] = tally[1] + 1
    else
      tally[3] = tally[3] + 1
    end
  else
    local v = tonumber(seen)
    local was, state = math.floor(v / 8), v % 8
    if depth < was then
      if state == DEEP then
        if depth > max_depth then
          redis.call('HSET', b, f, depth * 8 + DEEP)
        elseif queue(key, p, (kind == 'e') and '1' or '0', url, depth) then
          tally[4] = tally[4] + 1
        else
          tally[5] = tally[5] + 1
        end
      elseif state == QUEUED or state == OVER then
        redis.call('HSET', b, f, depth * 8 + state)
      elseif state == DONE then
        -- Fetched already: again for its links, if the depth leaves room below it.
        if depth < max_depth and kind ~= 'e' then
          redis.call('HSET', b, f, depth * 8 + QUEUED)
          redis.call('RPUSH', prefix .. 'front:' .. p, key .. '2' .. page_url .. '\n' .. url)
        else
          redis.call('HSET', b, f, depth * 8 + DONE)
        end
      end
    end
  end
end
redis.call('HSET', counts, 'admitted', admitted)
return tally
