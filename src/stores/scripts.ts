/**
 * The Redis store's Lua scripts: each decision is one script, so it is atomic
 * (no other client runs between its reads and writes) and one round trip.
 * Time is Redis's own (TIME), so every gateway node shares one clock. The
 * arithmetic mirrors algorithms.ts line for line; the contract suite holds
 * both backends to the same answers. Replies are integer arrays (Redis
 * truncates Lua floats, so every float is rounded on purpose).
 */
import { createHash } from 'node:crypto';

export interface Script {
  readonly source: string;
  readonly sha1: string;
}

function script(source: string): Script {
  return { source, sha1: createHash('sha1').update(source).digest('hex') };
}

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local EPS = 1e-9
`;

/**
 * KEYS[1]: a hash holding, per window length w, fields "w:i" (fixed window
 * index), "w:c" (its count) and "w:p" (the previous window's count).
 * ARGV: sliding (0|1), cost, partial (0|1), then limit and window (ms) pairs.
 * Reply: allowed, granted, retry-after ms, then remaining and reset ms per limit.
 */
export const HIT_WINDOWS = script(`${NOW}
local sliding = ARGV[1] == '1'
local cost = tonumber(ARGV[2])
local partial = ARGV[3] == '1'
local n = (#ARGV - 3) / 2
local limits, windows, idx, cur, prev, used, offs = {}, {}, {}, {}, {}, {}, {}
local grant = cost
local longest = 0
for i = 1, n do
  local limit = tonumber(ARGV[2 + 2 * i])
  local w = tonumber(ARGV[3 + 2 * i])
  limits[i] = limit
  windows[i] = w
  if w > longest then longest = w end
  local index = math.floor(now / w)
  local f = redis.call('HMGET', KEYS[1], w .. ':i', w .. ':c', w .. ':p')
  local si = tonumber(f[1])
  local c = tonumber(f[2]) or 0
  local p = tonumber(f[3]) or 0
  if si ~= index then
    if si == index - 1 then p = c else p = 0 end
    c = 0
  end
  idx[i] = index
  cur[i] = c
  prev[i] = p
  offs[i] = now - index * w
  local weight = 0
  if sliding then weight = (w - offs[i]) / w end
  used[i] = c + p * weight
  local fit = math.floor(limit - used[i] + EPS)
  if fit < grant then grant = fit end
end
local allowed
if partial then allowed = grant >= 1 else allowed = grant >= cost end
if not allowed then grant = 0 end
local need = cost
if partial then need = 1 end
local reply = {0, grant, 0}
if allowed then reply[1] = 1 end
local retry = 0
for i = 1, n do
  local limit, w = limits[i], windows[i]
  if allowed then
    cur[i] = cur[i] + grant
    redis.call('HSET', KEYS[1], w .. ':i', string.format('%d', idx[i]), w .. ':c', cur[i], w .. ':p', prev[i])
  end
  reply[2 + 2 * i] = math.max(0, math.floor(limit - used[i] - grant + EPS))
  reply[3 + 2 * i] = math.ceil(w - offs[i])
  if not allowed and math.floor(limit - used[i] + EPS) < need then
    local wait
    local toNext = w - offs[i]
    if need > limit then
      wait = w
    elseif not sliding then
      wait = toNext
    else
      local room = limit - cur[i] - need
      if room >= 0 and prev[i] > 0 then
        wait = math.max(0, toNext - room * w / prev[i])
      else
        local into = 0
        if cur[i] > 0 then into = w * (1 - (limit - need) / cur[i]) end
        wait = toNext + math.max(0, into)
      end
    end
    if wait > retry then retry = wait end
  end
end
if allowed then
  local keep = longest
  if sliding then keep = 2 * longest end
  redis.call('PEXPIRE', KEYS[1], math.ceil(keep))
else
  reply[3] = math.max(1, math.ceil(retry))
end
return reply
`);

/**
 * GCRA. KEYS[1]: the theoretical arrival time (ms, string).
 * ARGV: interval ms, burst, cost. Reply: allowed, remaining, reset ms, retry-after ms.
 */
export const TAKE_TOKENS = script(`${NOW}
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local capacity = interval * burst
local nxt = tat + interval * cost
local allowAt = nxt - capacity
if now < allowAt then
  local retry = allowAt - now
  if cost > burst then retry = capacity end
  return {0, math.max(0, math.floor((capacity - (tat - now)) / interval + EPS)), math.ceil(tat - now), math.max(1, math.ceil(retry))}
end
redis.call('SET', KEYS[1], string.format('%.3f', nxt), 'PX', math.max(1, math.ceil(nxt - now)))
return {1, math.max(0, math.floor((capacity - (nxt - now)) / interval + EPS)), math.ceil(nxt - now), 0}
`);

/**
 * A bounded counter. KEYS[1]: the count. ARGV: limit, cost, ttl ms (set when created).
 * Reply: allowed, count, ttl ms.
 */
export const ADD_WITHIN = script(`
local c = tonumber(redis.call('GET', KEYS[1])) or 0
local ttl = redis.call('PTTL', KEYS[1])
local cost = tonumber(ARGV[2])
if c + cost > tonumber(ARGV[1]) then return {0, c, math.max(ttl, 0)} end
c = redis.call('INCRBY', KEYS[1], cost)
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  ttl = tonumber(ARGV[3])
end
return {1, c, ttl}
`);

/**
 * An exact sliding-window count (automatic defense): a sorted set of event
 * times. KEYS[1]: the set. ARGV: window ms, cap, a member unique to this
 * event. Drops what left the window, adds this event, keeps at most `cap`
 * (the newest): the count is exact up to the cap, which is the threshold
 * the caller asks about. Reply: the count.
 */
export const COUNT_IN_WINDOW = script(`${NOW}
local w = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.3f', now - w))
redis.call('ZADD', KEYS[1], string.format('%.3f', now), ARGV[3])
local n = redis.call('ZCARD', KEYS[1])
if n > cap then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - cap - 1)
  n = cap
end
redis.call('PEXPIRE', KEYS[1], math.ceil(w))
return n
`);

/**
 * A distinct count over a window, as HyperLogLogs (standard error 0.81%) in
 * five slices of a fifth of the window each: KEYS[1] names the slices
 * (KEYS[1]:<slice index>; the caller puts a hash tag in it so a cluster keeps
 * them in one slot). ARGV: window ms, member. Adds the member to the current
 * slice and counts the union of the last five: the window reaches back
 * between 4/5 of it and all of it. Reply: the estimate.
 */
export const COUNT_DISTINCT = script(`${NOW}
local w = tonumber(ARGV[1])
local slice = math.ceil(w / 5)
local idx = math.floor(now / slice)
local cur = KEYS[1] .. ':' .. idx
redis.call('PFADD', cur, ARGV[2])
redis.call('PEXPIRE', cur, w + slice)
local keys = {}
for i = 0, 4 do keys[#keys + 1] = KEYS[1] .. ':' .. (idx - i) end
return redis.call('PFCOUNT', unpack(keys))
`);
