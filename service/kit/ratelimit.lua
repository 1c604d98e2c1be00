-- GCRA (generic cell rate algorithm) for one bucket, decided and answered in one round trip.
-- The bucket is one key holding its "theoretical arrival time" (TAT) in microseconds of the
-- Redis clock, so every worker and instance shares one clock. Each request moves the TAT one
-- emission interval (window / quota) ahead; a request is refused when that would put the TAT
-- more than the whole quota's worth of intervals ahead of now.
--
-- The same call reads whatever else the request needs from Redis, so that it costs no round
-- trip of its own: the caller's cached permissions and their counters
-- (service/kit/principal_cache.py) and the read caches' generations (service/kit/cache.py).
--
-- KEYS[1]  the bucket
-- KEYS[2…] optional: keys read (MGET) and answered as they are, in order; never on a Redis
--          Cluster, where they live in other slots than the bucket (ratelimit.py reads them)
-- ARGV[1]  quota (requests per window)
-- ARGV[2]  window in seconds
-- ARGV[3]  optional: "peek" decides without drawing from the bucket
-- Returns {allowed (1|0), remaining requests, microseconds, values of KEYS[2…]}: when allowed,
-- microseconds until the quota is fully restored; when refused, until the next request would be
-- allowed. A value is nil (false in Lua) when its key is absent.

-- Redis < 7 replicates scripts verbatim and refuses a write after TIME without this.
if redis.replicate_commands then redis.replicate_commands() end

local read = {}
if #KEYS >= 2 then
  read = redis.call('MGET', unpack(KEYS, 2))
end

local quota = tonumber(ARGV[1])
-- Whole microseconds, rounded down, so a burst of exactly `quota` requests always fits.
-- At least 1 (quotas above a million per second are not meant literally).
local interval = math.max(1, math.floor(tonumber(ARGV[2]) * 1000000 / quota))
local capacity = interval * quota

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then
  tat = now
end

local ahead = tat + interval - now
if ahead > capacity then
  return {0, 0, ahead - capacity, unpack(read)}
end
if ARGV[3] ~= 'peek' then
  redis.call('SET', KEYS[1], string.format('%d', tat + interval), 'PX', math.ceil(ahead / 1000))
end
return {1, math.floor((capacity - ahead) / interval), ahead, unpack(read)}
