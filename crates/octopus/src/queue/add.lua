-- Add a batch of URLs. KEYS: 1 the stream, 2 the counts (a hash).
-- ARGV: the input's name, the URLs ("line url" a line), how many, and how many of the
-- input's requests the feeder has handed over with this batch (0: not the feeder).
redis.call('XADD', KEYS[1], '*', 'input', ARGV[1], 'urls', ARGV[2], 'n', ARGV[3])
redis.call('HINCRBY', KEYS[2], 'added', ARGV[3])
if tonumber(ARGV[4]) > 0 then
  redis.call('HINCRBY', KEYS[2], 'fed', ARGV[4])
end
return 1
