-- Grows a hold already granted by the replica (a stream running past its reservation):
-- KEYS: per budget its reservations hash. ARGV: id, extra, hold_ms.
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for j = 1, #KEYS do
  local entry = redis.call('HGET', KEYS[j], ARGV[1])
  local amount, expires = 0, now_ms + tonumber(ARGV[3])
  if entry then
    local a, e = string.match(entry, '^(%d+)|(%d+)$')
    amount, expires = tonumber(a), tonumber(e)
  end
  redis.call('HSET', KEYS[j], ARGV[1], string.format('%.0f|%.0f', amount + tonumber(ARGV[2]), expires))
end
return 1
