-- Take up to ARGV[4] URLs of a shared crawl's frontier for process ARGV[2]: from the
-- partitions it owns, after claiming partitions that have work and no owner (up to its
-- fair share, among the processes alive, of those of the ARGV[6] partitions that have
-- work; over it, a partition is drained and released). A partition claimed from
-- a process that died gets the URLs that process had in flight (`fly:N`) back first. A URL
-- taken moves from `front:N` to `fly:N` (until `admit.lua` marks it done), unless it was
-- handled meanwhile (the end of another page's redirects). A partition with nothing left
-- is released, calm for ARGV[7] ms (no other process starts on its hosts sooner: the
-- politeness delay holds across processes).
-- ARGV: 1 the job's prefix, 2 this process, 3 the lease (ms), 4 how many, 5 where to start
-- looking for partitions to claim, 6 the partitions, 7 calm (ms), 8 URLs a partition may
-- have in flight, at most, 9 whether to look for partitions to claim ('1'; a look reads
-- every partition: a process does it a few times a second) or only take from those it
-- holds ('0'), 10… the partitions it holds ('dN' for one it is giving back).
-- Returns {owned partitions, URLs given back from the dead, partitions being given back
-- (over the fair share: nothing more taken from them until they are released), then per
-- URL: partition, depth, entry}.
local prefix, me, lease, n = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local start, parts, calm = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local QUEUED = 0

local owned, given_back, draining = {}, 0, {}
local most = tonumber(ARGV[8])
if ARGV[9] == '0' then
  -- Between looks for partitions to claim: the ones this process knows it holds, checked
  -- ('dN': partition N, being given back since the last look).
  for i = 10, #ARGV do
    local given = string.sub(ARGV[i], 1, 1) == 'd'
    local p = tonumber(given and string.sub(ARGV[i], 2) or ARGV[i])
    if redis.call('GET', prefix .. 'owner:' .. p) == me then
      owned[#owned + 1] = p
      if given then draining[p] = true end
    end
  end
else
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local members = prefix .. 'members'
  redis.call('ZADD', members, now + lease, me)
  redis.call('ZREMRANGEBYSCORE', members, '-inf', now)
  local alive = math.max(redis.call('ZCARD', members), 1)

  -- The partitions with work (held, or with URLs waiting or in flight), shared fairly among
  -- the processes alive: this one claims up to its share, and gives back what is over it
  -- (it takes nothing more from those, and releases each once its URLs in flight are done).
  local busy = 0
  for p = 0, parts - 1 do
    local owner = redis.call('GET', prefix .. 'owner:' .. p)
    if owner == me then
      owned[#owned + 1] = p
      busy = busy + 1
    elseif owner then
      busy = busy + 1
    elseif redis.call('LLEN', prefix .. 'front:' .. p) > 0
        or redis.call('EXISTS', prefix .. 'fly:' .. p) == 1 then
      busy = busy + 1
    end
  end
  local fair = math.max(1, math.ceil(busy / alive))
  for i = 0, parts - 1 do
    if #owned >= fair then break end
    local p = (start + i) % parts
    local owner = prefix .. 'owner:' .. p
    if redis.call('EXISTS', owner) == 0 and redis.call('EXISTS', prefix .. 'calm:' .. p) == 0 then
      local front, fly = prefix .. 'front:' .. p, prefix .. 'fly:' .. p
      if redis.call('LLEN', front) > 0 or redis.call('EXISTS', fly) == 1 then
        redis.call('SET', owner, me, 'PX', lease)
        local flying = redis.call('HVALS', fly)
        for j = #flying, 1, -1 do redis.call('LPUSH', front, flying[j]) end
        redis.call('DEL', fly)
        given_back = given_back + #flying
        owned[#owned + 1] = p
      end
    end
  end
  for i = fair + 1, #owned do draining[owned[i]] = true end
end

local taken = {}
-- A partition has at most `most` URLs in flight: what its holder can fetch at once, so that
-- a partition passed on (drained, or its holder dead) carries little in flight with it.
local open, room = {}, {}
for _, p in ipairs(owned) do
  room[p] = most - redis.call('HLEN', prefix .. 'fly:' .. p)
  if not draining[p] and room[p] > 0 then open[#open + 1] = p end
end
while #taken < 3 * n and #open > 0 do
  local still = {}
  for _, p in ipairs(open) do
    if #taken >= 3 * n then break end
    local entry = redis.call('LPOP', prefix .. 'front:' .. p)
    if entry then
      if room[p] > 1 then still[#still + 1] = p end
      local key = string.sub(entry, 1, 10)
      local b = prefix .. 'seen:' .. string.format('%02x%02x', string.byte(key, 1, 2))
      local v = tonumber(redis.call('HGET', b, string.sub(key, 3, 10)) or '-1')
      if v >= 0 and v % 8 == QUEUED then
        room[p] = room[p] - 1
        redis.call('HSET', prefix .. 'fly:' .. p, key, entry)
        taken[#taken + 1] = p
        taken[#taken + 1] = math.floor(v / 8)
        taken[#taken + 1] = entry
      end
    end
  end
  open = still
end

local kept, giving = {}, {}
for _, p in ipairs(owned) do
  local front, fly = prefix .. 'front:' .. p, prefix .. 'fly:' .. p
  local idle = redis.call('EXISTS', fly) == 0
  if idle and (draining[p] or redis.call('LLEN', front) == 0) then
    redis.call('DEL', prefix .. 'owner:' .. p)
    if calm > 0 then redis.call('SET', prefix .. 'calm:' .. p, 1, 'PX', calm) end
  else
    redis.call('PEXPIRE', prefix .. 'owner:' .. p, lease)
    kept[#kept + 1] = p
    if draining[p] then giving[#giving + 1] = p end
  end
end

local answer = {kept, given_back, giving}
for _, v in ipairs(taken) do answer[#answer + 1] = v end
return answer
