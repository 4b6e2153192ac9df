-- Take one batch for consumer ARGV[2] of group ARGV[1]: first a batch whose holder let its
-- lease lapse (pending and idle for ARGV[3] ms or more), moved to the dead-letter stream
-- instead when it has been delivered more than ARGV[4] times; else a batch never delivered.
-- ARGV[5]: where in the pending entries the last call's look for lapsed batches stopped.
-- KEYS: 1 the stream, 2 the counts (a hash), 3 the dead-letter stream, 4 the prefix of the
-- done-sets (one bitmap per batch, by entry id).
-- Returns {id, input, urls, n, done bitmap, deliveries, cursor}, or {cursor} when there is
-- nothing to take (cursor: where the next call goes on looking).
local stream, counts, dead, done = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local group, me, lease, most = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local cursor = ARGV[5]

local function field(entry, name)
  local f = entry[2]
  for i = 1, #f, 2 do
    if f[i] == name then return f[i + 1] end
  end
  return ''
end

-- XAUTOCLAIM looks at ten pending entries a call (COUNT 1): a call here looks at forty from
-- where the last stopped, so that a lapsed batch behind many held ones is found too, in a
-- few calls, without scanning every pending entry each time.
for _ = 1, 4 do
  local claimed = redis.call('XAUTOCLAIM', stream, group, me, lease, cursor, 'COUNT', 1)
  cursor = claimed[1]
  local entry = claimed[2][1]
  if entry then
    local id = entry[1]
    local pending = redis.call('XPENDING', stream, group, id, id, 1)
    local deliveries = (pending[1] and pending[1][4]) or 1
    local n = tonumber(field(entry, 'n')) or 0
    if deliveries <= most then
      return {id, field(entry, 'input'), field(entry, 'urls'), n,
              redis.call('GET', done .. id) or '', deliveries, cursor}
    end
    local undone = n - redis.call('BITCOUNT', done .. id)
    redis.call('XADD', dead, '*', 'id', id, 'input', field(entry, 'input'),
               'urls', field(entry, 'urls'), 'n', n, 'undone', undone,
               'why', 'delivered ' .. deliveries .. ' times (at most ' .. most .. ')')
    redis.call('HINCRBY', counts, 'dead', undone)
    redis.call('XACK', stream, group, id)
    redis.call('XDEL', stream, id)
    redis.call('DEL', done .. id)
  elseif cursor == '0-0' then
    break
  end
end

local fresh = redis.call('XREADGROUP', 'GROUP', group, me, 'COUNT', 1, 'STREAMS', stream, '>')
if fresh and fresh[1] and fresh[1][2][1] then
  local entry = fresh[1][2][1]
  return {entry[1], field(entry, 'input'), field(entry, 'urls'),
          tonumber(field(entry, 'n')) or 0, '', 1, cursor}
end
return {cursor}
