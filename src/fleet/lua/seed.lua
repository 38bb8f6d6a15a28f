-- Seeds empty spend counters from one replica's usage log, once: the marker is set
-- only if absent, and each counter only if absent, so spend already counted wins.
-- KEYS: marker, then spend keys. ARGV: marker_ttl_secs, then per spend key (value, ttl_secs).
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local seeded = 0
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], ARGV[2 * i - 2], 'NX', 'EX', ARGV[2 * i - 1]) then seeded = seeded + 1 end
end
return seeded
