-- Settles one request: releases its hold (if it has not expired already), adds the
-- actual cost to each budget's spend for the period the request started in, and moves
-- the token limits' arrival times by the difference between actual and admitted tokens.
-- KEYS: per budget its reservations hash and spend key, then per token limit its TAT key.
-- ARGV: id, actual, token_delta, spend_ttl_secs, n_budgets, n_token_limits, then per
--       token limit its per_minute.
-- Returns, per budget, {before, after} flattened.
local WINDOW = 60000000
local id, actual, delta, spend_ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local n_budgets, n_tokens = tonumber(ARGV[5]), tonumber(ARGV[6])
local out = {}
for j = 1, n_budgets do
  local res_key, spend_key = KEYS[2 * j - 1], KEYS[2 * j]
  redis.call('HDEL', res_key, id)
  local before = tonumber(redis.call('GET', spend_key) or '0')
  local after = redis.call('INCRBY', spend_key, ARGV[2])
  redis.call('EXPIRE', spend_key, spend_ttl)
  out[#out + 1] = string.format('%.0f', before)
  out[#out + 1] = tostring(after)
end
if delta ~= 0 and n_tokens > 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  for i = 1, n_tokens do
    local key = KEYS[2 * n_budgets + i]
    local per_minute = tonumber(ARGV[6 + i])
    local interval = math.max(math.floor(WINDOW / per_minute), 1)
    local tat = tonumber(redis.call('GET', key) or '0')
    local moved = math.max(tat + delta * interval, math.min(now, tat))
    local ttl = math.min(math.max(math.ceil((moved - now) / 1000), 1) + 1000, 604800000)
    redis.call('SET', key, string.format('%.0f', moved), 'PX', ttl)
  end
end
return out
