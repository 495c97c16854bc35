/**
 * The login throttle's Redis scripts (login-throttle.ts has the policy and why). A script runs
 * atomically in Redis, so "is this attempt allowed?" and "count it" are one step for every
 * server instance: two parallel attempts can never both see the last free slot.
 *
 * Keys, both scripts: KEYS[1] pair (account+address), KEYS[2] account, KEYS[3] address (ignored
 * when the last ARGV is '0': the address is unknown), KEYS[4] known-client marker (same pair, set on success).
 * Pair and account counters are hashes { n = attempts counted, until = epoch ms before which
 * the next attempt is refused }, expiring after the idle period. The address counter is a plain
 * fixed-window INCR. Time comes from Redis (TIME), so instances with skewed clocks agree.
 */

/**
 * ARGV: pairFree, pairBase, pairMax, pairIdle, acctFree, acctBase, acctMax, acctIdle,
 * ipLimit, ipWindow, hasIp ('1' / '0'). Returns { 1, 0 } when the attempt is counted and may proceed, or
 * { 0, retryAfterMs } when it is refused (and not counted).
 */
export const ATTEMPT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local hasIp = ARGV[11] == '1'

local function read(key)
  local v = redis.call('HMGET', key, 'n', 'until')
  return tonumber(v[1]) or 0, tonumber(v[2]) or 0
end

local pn, pu = read(KEYS[1])
local an, au = read(KEYS[2])
local known = redis.call('EXISTS', KEYS[4]) == 1
local ipCount, ipTtl = 0, 0
if hasIp then
  ipCount = tonumber(redis.call('GET', KEYS[3])) or 0
  ipTtl = redis.call('PTTL', KEYS[3])
end

local wait = 0
if pu > now then wait = math.max(wait, pu - now) end
-- The account-wide delay does not apply to an address the owner signed in from recently.
if (not known) and au > now then wait = math.max(wait, au - now) end
if hasIp and ipCount >= tonumber(ARGV[9]) and ipTtl > 0 then wait = math.max(wait, ipTtl) end
if wait > 0 then return { 0, wait } end

local function bump(key, n, free, base, max, idle)
  n = n + 1
  local d = 0
  if n >= free then
    d = math.min(max, base * (2 ^ math.min(n - free, 40)))
  end
  local u = 0
  if d > 0 then u = now + d end
  redis.call('HSET', key, 'n', n, 'until', u)
  redis.call('PEXPIRE', key, math.max(idle, d))
end

bump(KEYS[1], pn, tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
bump(KEYS[2], an, tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]))
if hasIp then
  local c = redis.call('INCR', KEYS[3])
  if c == 1 or redis.call('PTTL', KEYS[3]) < 0 then redis.call('PEXPIRE', KEYS[3], ARGV[10]) end
end
return { 1, 0 }
`;

/**
 * ARGV: knownClientMs, hasIp ('1' / '0'). The attempt proved the password: its pair's delays end, its unit of
 * account and address budget is refunded, and the address becomes a known client of the account.
 */
export const SUCCEEDED_SCRIPT = `
redis.call('DEL', KEYS[1])
local n = tonumber(redis.call('HGET', KEYS[2], 'n'))
if n and n > 0 then redis.call('HSET', KEYS[2], 'n', n - 1) end
if ARGV[2] == '1' then
  local c = tonumber(redis.call('GET', KEYS[3]))
  if c and c > 0 then redis.call('DECR', KEYS[3]) end
end
redis.call('SET', KEYS[4], '1', 'PX', ARGV[1])
return 1
`;
