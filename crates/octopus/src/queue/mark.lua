-- Mark URLs done. ARGV: the group, then triples (entry id, index in the batch, batch size).
-- KEYS: 1 the stream, 2 the counts (a hash), 3 the prefix of the done-sets.
-- A URL marked for the first time counts as done; a batch whose every URL is done is
-- acknowledged and deleted with its done-set. A mark for a batch no longer in the stream
-- (finished, or sent to the dead letters) is ignored: nothing is counted twice.
-- Returns how many batches this finished.
local stream, counts, done = KEYS[1], KEYS[2], KEYS[3]
local group = ARGV[1]
local finished = 0
for i = 2, #ARGV, 3 do
  local id, index, n = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local key = done .. id
  if #redis.call('XRANGE', stream, id, id) > 0
     and redis.call('SETBIT', key, index, 1) == 0 then
    redis.call('HINCRBY', counts, 'done', 1)
    if redis.call('BITCOUNT', key) >= n then
      redis.call('XACK', stream, group, id)
      redis.call('XDEL', stream, id)
      redis.call('DEL', key)
      finished = finished + 1
    end
  end
end
return finished
