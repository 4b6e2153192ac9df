-- Keep the leases of the batches a consumer holds fresh. KEYS[1]: the stream.
-- ARGV: the group, the consumer, then the entry ids it holds.
-- A batch still the consumer's is claimed again by it (its idle time back to 0, its
-- deliveries unchanged: JUSTID); returns the ids it no longer holds (finished, or taken by
-- another after this consumer stalled past the lease).
local stream, group, me = KEYS[1], ARGV[1], ARGV[2]
local gone = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local pending = redis.call('XPENDING', stream, group, id, id, 1)
  if pending[1] and pending[1][2] == me then
    redis.call('XCLAIM', stream, group, me, 0, id, 'JUSTID')
  else
    gone[#gone + 1] = id
  end
end
return gone
