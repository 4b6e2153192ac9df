-- Hold the feeder's role of a job: KEYS[1] the role's key, ARGV[1] who asks, ARGV[2] the
-- lease in ms. Taken when free, renewed when held by the asker. Returns 1 if the asker holds
-- it now, 0 if another does.
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
