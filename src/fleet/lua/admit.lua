-- Admits one request across the fleet, all or nothing, in one round trip:
-- a tier-2 cache hit answers first (no limit, no budget touched); else every GCRA
-- limit is checked, then every budget; only when all pass are the arrival times
-- advanced and the worst case held.
-- KEYS: [cache key or ""], then per limit its TAT key, then per budget its
--       reservations hash and its current period's spend key.
-- ARGV: id, amount, hold_ms, n_limits, n_budgets, then per limit (per_minute, units),
--       then per budget its limit in nano-USD.
-- Returns {"hit", value} | {"throttled", limit_index, wait_us} |
--         {"denied", budget_index, spent, held} | {"ok", headroom}.
local WINDOW = 60000000
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local now_ms = math.floor(now / 1000)
if KEYS[1] ~= '' then
  local hit = redis.call('GET', KEYS[1])
  if hit and hit ~= '' then return {'hit', hit} end
end
local id, amount, hold_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local n_limits, n_budgets = tonumber(ARGV[4]), tonumber(ARGV[5])
local tats = {}
for i = 1, n_limits do
  local per_minute, units = tonumber(ARGV[4 + 2 * i]), tonumber(ARGV[5 + 2 * i])
  local tat = tonumber(redis.call('GET', KEYS[1 + i]) or '0')
  local interval = math.max(math.floor(WINDOW / per_minute), 1)
  local new_tat = math.max(tat, now) + units * interval
  if new_tat - now <= WINDOW or tat <= now then
    tats[i] = new_tat
  else
    local wait = math.min(math.max(new_tat - WINDOW - now, 1), tat - now)
    return {'throttled', i, string.format('%.0f', wait)}
  end
end
local base = 5 + 2 * n_limits
local headroom = -1
for j = 1, n_budgets do
  local res_key, spend_key = KEYS[2 * j + n_limits], KEYS[2 * j + n_limits + 1]
  local limit = tonumber(ARGV[base + j])
  local held = 0
  local entries = redis.call('HGETALL', res_key)
  for e = 1, #entries, 2 do
    local held_amount, expires = string.match(entries[e + 1], '^(%d+)|(%d+)$')
    if tonumber(expires) <= now_ms then
      redis.call('HDEL', res_key, entries[e])
    else
      held = held + tonumber(held_amount)
    end
  end
  local spent = tonumber(redis.call('GET', spend_key) or '0')
  if spent + held + amount > limit then
    return {'denied', j, string.format('%.0f', spent), string.format('%.0f', held)}
  end
  local left = limit - spent - held - amount
  if headroom < 0 or left < headroom then headroom = left end
end
for i = 1, n_limits do
  local ttl = math.min(math.max(math.ceil((tats[i] - now) / 1000), 1) + 1000, 604800000)
  redis.call('SET', KEYS[1 + i], string.format('%.0f', tats[i]), 'PX', ttl)
end
for j = 1, n_budgets do
  local res_key = KEYS[2 * j + n_limits]
  redis.call('HSET', res_key, id, string.format('%.0f|%.0f', amount, now_ms + hold_ms))
  if redis.call('PTTL', res_key) < hold_ms then redis.call('PEXPIRE', res_key, hold_ms) end
end
return {'ok', string.format('%.0f', math.max(headroom, 0))}
