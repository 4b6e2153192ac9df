-- Take one batch for consumer ARGV[2] of group ARGV[1]: first a batch whose holder let its
-- lease lapse (pending and idle for ARGV[3] ms or more), moved to the dead-letter stream
-- instead when it has been delivered more than ARGV[4] times; else a batch never delivered.
-- KEYS: 1 the stream, 2 the counts (a hash), 3 the dead-letter stream, 4 the prefix of the
-- done-sets (one bitmap per batch, by entry id).
-- Returns {id, input, urls, n, done bitmap, deliveries}, or {} when there is nothing to take.
local stream, counts, dead, done = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local group, me, lease, most = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])

local function field(entry, name)
  local f = entry[2]
  for i = 1, #f, 2 do
    if f[i] == name then return f[i + 1] end
  end
  return ''
end

for _ = 1, 16 do
  local claimed = redis.call('XAUTOCLAIM', stream, group, me, lease, '0-0', 'COUNT', 1)
  local entry = claimed[2][1]
  if not entry then break end
  local id = entry[1]
  local pending = redis.call('XPENDING', stream, group, id, id, 1)
  local deliveries = (pending[1] and pending[1][4]) or 1
  local n = tonumber(field(entry, 'n')) or 0
  if deliveries <= most then
    return {id, field(entry, 'input'), field(entry, 'urls'), n,
            redis.call('GET', done .. id) or '', deliveries}
  end
  local undone = n - redis.call('BITCOUNT', done .. id)
  redis.call('XADD', dead, '*', 'id', id, 'input', field(entry, 'input'),
             'urls', field(entry, 'urls'), 'n', n, 'undone', undone,
             'why', 'delivered ' .. deliveries .. ' times (at most ' .. most .. ')')
  redis.call('HINCRBY', counts, 'dead', undone)
  redis.call('XACK', stream, group, id)
  redis.call('XDEL', stream, id)
  redis.call('DEL', done .. id)
end

local fresh = redis.call('XREADGROUP', 'GROUP', group, me, 'COUNT', 1, 'STREAMS', stream, '>')
if fresh and fresh[1] and fresh[1][2][1] then
  local entry = fresh[1][2][1]
  return {entry[1], field(entry, 'input'), field(entry, 'urls'),
          tonumber(field(entry, 'n')) or 0, '', 1}
end
return {}
