package redisstore

import (
	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/internal/gcra"
)

// The scripts share a preamble that reads the server clock in
// milliseconds. Redis replicates a script's effects (not the script), so a
// script may read TIME and then write.
const clock = `
-- Redis 3.2-4.x need effects replication switched on before a write that
-- follows TIME; from 5.0 it is the default (and this is a no-op).
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function ms(x) return string.format('%.0f', x) end
`

// Record hash fields: st state, ow owner, lu lease until (ms), fp
// fingerprint, res result, rsn reason, att attempts, ca/cl/pcl/up created,
// claimed, previous claim, updated (ms), kind and prev (a won claim's answer, repeated to
// the same owner).

// claim: KEYS[1] record, KEYS[2] the epoch marker when ARGV[6] is "1",
// then the journal entry's keys; ARGV owner, fingerprint, lease ms, ttl
// ms, deadline ms on the server clock (0: none), "1" with an epoch
// marker, the journal's first key index (0: no journal), the ARGV index
// of the entry a fresh claim appends, that of the entry a takeover
// appends, then both entries (journalFn). Returns {status, now, fields, lost}: lost is when the epoch
// marker was found missing ("0": never). A won claim appends its entry; a
// re-sent one (same owner) does not append again.
//
// Extra record fields: dl the holder's deadline, sm "1" when the holder
// marks its create sent (records written before that protocol have no sm
// and an expired lease of theirs is treated as possibly sent), sent when
// the create left.
var claimScript = redis.NewScript(clock + journalFn + `
local key = KEYS[1]
local owner = ARGV[1]
local lease = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local dl = tonumber(ARGV[5])
local jk = tonumber(ARGV[7])
local lost = '0'
if ARGV[6] == '1' then
  -- The epoch marker is written when flowbridge first opens the store.
  -- Gone means the data was lost (FLUSHALL, a restart without
  -- persistence); remember when that was noticed.
  local since = redis.call('HGET', KEYS[2], 'since')
  if not since then
    redis.call('HSET', KEYS[2], 'since', ms(now), 'lost', '1')
    lost = ms(now)
  elseif redis.call('HGET', KEYS[2], 'lost') == '1' then
    lost = since
  end
end
-- A claim that runs after its caller gave up (it sat in a hung server's
-- queue) must not hold the order.
if dl > 0 and now >= dl then
  return {'late', ms(now), {}, lost}
end
local st = redis.call('HGET', key, 'st')
if not st then
  redis.call('HSET', key, 'st', 'in_flight', 'ow', owner, 'lu', ms(now + lease), 'fp', ARGV[2],
    'att', 1, 'ca', ms(now), 'cl', ms(now), 'up', ms(now), 'kind', 'fresh', 'prev', '', 'dl', ms(dl), 'sm', '1')
  redis.call('PEXPIRE', key, ttl)
  if jk > 0 then journal(jk, tonumber(ARGV[8])) end
  return {'fresh', ms(now), redis.call('HGETALL', key), lost}
end
local prev
if st == 'in_flight' then
  if redis.call('HGET', key, 'ow') == owner then
    -- A re-sent claim (go-redis retried after a lost reply): same answer.
    return {redis.call('HGET', key, 'kind'), ms(now), redis.call('HGETALL', key), lost}
  end
  local unsent = (not redis.call('HGET', key, 'sent')) and redis.call('HGET', key, 'sm') == '1'
  local odl = tonumber(redis.call('HGET', key, 'dl') or '0')
  if unsent and odl > 0 and now >= odl then
    -- The holder's deadline passed before it sent anything, and it can
    -- no longer mark a send: nothing reached the supplier.
    prev = 'in_flight_unsent'
  elseif now < tonumber(redis.call('HGET', key, 'lu') or '0') then
    return {'busy', ms(now), redis.call('HGETALL', key), lost}
  elseif unsent then
    prev = 'in_flight_unsent'
  else
    prev = 'in_flight_expired'
  end
elseif st == 'unknown' then
  prev = 'unknown'
elseif st == 'rejected' and redis.call('HGET', key, 'fp') ~= ARGV[2] then
  -- A refusal created nothing; a changed payload (the merchant fixed
  -- the order) may be tried again.
  prev = 'rejected'
  redis.call('HSET', key, 'fp', ARGV[2])
else
  return {'done', ms(now), redis.call('HGETALL', key), lost}
end
redis.call('HSET', key, 'st', 'in_flight', 'ow', owner, 'lu', ms(now + lease), 'pcl', redis.call('HGET', key, 'cl') or '0',
  'cl', ms(now), 'up', ms(now), 'kind', 'takeover', 'prev', prev, 'dl', ms(dl), 'sm', '1')
redis.call('HDEL', key, 'sent')
redis.call('HINCRBY', key, 'att', 1)
redis.call('PEXPIRE', key, ttl)
if jk > 0 then journal(jk, tonumber(ARGV[9])) end
return {'takeover', ms(now), redis.call('HGETALL', key), lost}
`)

// epoch: KEYS[1] the epoch marker; ARGV "1" when the database already
// holds flowbridge data. Written once when flowbridge opens the store:
// a missing marker over existing data means data was lost while no
// instance was running. Returns {since, lost}.
var epochScript = redis.NewScript(clock + `
local since = redis.call('HGET', KEYS[1], 'since')
if not since then
  since = ms(now)
  redis.call('HSET', KEYS[1], 'since', since, 'lost', ARGV[1])
end
return {since, redis.call('HGET', KEYS[1], 'lost') or '0'}
`)

// failover: KEYS[1] the epoch marker. A failover was seen: the data
// written just before it may be lost, as after a restart without
// persistence. Returns the loss time (ms, now).
var failoverScript = redis.NewScript(clock + `
redis.call('HSET', KEYS[1], 'since', ms(now), 'lost', '1')
return ms(now)
`)

// epochCheck: KEYS[1] the epoch marker (Cluster: it cannot share a script
// with a record in another slot). Returns lost ms or "0".
var epochCheckScript = redis.NewScript(clock + `
local since = redis.call('HGET', KEYS[1], 'since')
if not since then
  redis.call('HSET', KEYS[1], 'since', ms(now), 'lost', '1')
  return ms(now)
end
if redis.call('HGET', KEYS[1], 'lost') == '1' then return since end
return '0'
`)

// sent: KEYS[1] record; ARGV owner. Returns 1 (marked, or already), 0 (not
// the holder, or its lease expired) or -1 (its deadline has passed).
var sentScript = redis.NewScript(clock + `
local key = KEYS[1]
if redis.call('HGET', key, 'st') ~= 'in_flight' or redis.call('HGET', key, 'ow') ~= ARGV[1] then
  return 0
end
if redis.call('HGET', key, 'sent') then return 1 end
if now >= tonumber(redis.call('HGET', key, 'lu') or '0') then return 0 end
local dl = tonumber(redis.call('HGET', key, 'dl') or '0')
if dl > 0 and now >= dl then return -1 end
redis.call('HSET', key, 'sent', ms(now), 'up', ms(now))
return 1
`)

// renew: KEYS[1] record; ARGV owner, lease ms. Returns 1 or 0.
var renewScript = redis.NewScript(clock + `
local key = KEYS[1]
if redis.call('HGET', key, 'st') ~= 'in_flight' or redis.call('HGET', key, 'ow') ~= ARGV[1] then
  return 0
end
redis.call('HSET', key, 'lu', ms(now + tonumber(ARGV[2])), 'up', ms(now))
return 1
`)

// complete: KEYS[1] record, then the journal entry's keys; ARGV owner,
// to, result, reason, ttl ms, the journal's first key index (0: none),
// the entry's first ARGV index. Returns 1 or 0 (not the owner). The entry
// is appended only by the call that makes the change: a re-sent
// completion (the record already holds it) appends nothing.
var completeScript = redis.NewScript(clock + journalFn + `
local key = KEYS[1]
local owner = ARGV[1]
local to = ARGV[2]
local jk = tonumber(ARGV[6])
local st = redis.call('HGET', key, 'st')
if st then
  if redis.call('HGET', key, 'ow') ~= owner or (st ~= 'in_flight' and st ~= to) then
    return 0
  end
  if st == to and st ~= 'in_flight' then
    -- A re-sent completion that already happened.
    return 1
  end
else
  -- The store lost the record (restart without persistence, eviction);
  -- the outcome is known, so write it.
  redis.call('HSET', key, 'ow', owner, 'att', 1, 'ca', ms(now), 'cl', ms(now))
end
redis.call('HSET', key, 'st', to, 'res', ARGV[3], 'rsn', ARGV[4], 'up', ms(now))
redis.call('HDEL', key, 'lu')
redis.call('PEXPIRE', key, tonumber(ARGV[5]))
if jk > 0 then journal(jk, tonumber(ARGV[7])) end
return 1
`)

// release: KEYS[1] record; ARGV owner. Returns 1 (gone) or 0 (not owner).
var releaseScript = redis.NewScript(`
local key = KEYS[1]
local st = redis.call('HGET', key, 'st')
if not st then return 1 end
if st ~= 'in_flight' or redis.call('HGET', key, 'ow') ~= ARGV[1] then return 0 end
redis.call('DEL', key)
return 1
`)

// transition: KEYS[1] record; ARGV token, to, result, reason, ttl ms,
// from... Returns {status, now, fields before}.
var transitionScript = redis.NewScript(clock + `
local key = KEYS[1]
local token = ARGV[1]
local to = ARGV[2]
local before = redis.call('HGETALL', key)
local st = redis.call('HGET', key, 'st')
local expired = false
if st then
  if token ~= '' and st == to and redis.call('HGET', key, 'ow') == token then
    return {'ok', ms(now), before}
  end
  expired = st == 'in_flight' and now >= tonumber(redis.call('HGET', key, 'lu') or '0')
else
  st = 'absent'
end
local allowed = false
for i = 6, #ARGV do
  if ARGV[i] == st or (ARGV[i] == 'in_flight_expired' and expired) then allowed = true end
end
if not allowed then return {'conflict', ms(now), before} end
if to == 'absent' then
  redis.call('DEL', key)
  return {'ok', ms(now), before}
end
if st == 'absent' then
  redis.call('HSET', key, 'att', 0, 'ca', ms(now), 'cl', ms(now))
end
redis.call('HSET', key, 'st', to, 'ow', token, 'res', ARGV[3], 'rsn', ARGV[4], 'up', ms(now))
redis.call('HDEL', key, 'lu')
redis.call('PEXPIRE', key, tonumber(ARGV[5]))
return {'ok', ms(now), before}
`)

// get: KEYS[1] record. Returns {now, fields}; the server clock decides
// whether a lease has expired.
var getScript = redis.NewScript(clock + `
return {ms(now), redis.call('HGETALL', KEYS[1])}
`)

// trackGet: KEYS[1] tracking hash. Returns {rank, value, fresh 0/1} or nil.
var trackGetScript = redis.NewScript(clock + `
local v = redis.call('HMGET', KEYS[1], 'rank', 'val', 'fu')
if not v[1] then return false end
local fresh = 0
if now < tonumber(v[3] or '0') then fresh = 1 end
return {v[1], v[2], fresh}
`)

// trackGetReserve: trackGet plus, when the entry is missing or stale, the
// shared rate-limiter slot (gcra.Lua, the limiter's own code) in the same
// round trip: a stale or missing entry means the caller asks the supplier
// next, and that request needs the slot. A fresh entry returns before the
// limiter key is read, so a cache hit never spends the supplier's budget.
// KEYS[1] tracking hash, KEYS[2] limiter key; ARGV as gcra.Request.Args.
// Returns {found 0/1, rank, value, fresh 0/1, slot, wait_us}: slot -1 not
// asked (fresh), 1 reserved, 0 refused (wait longer than the max).
var trackGetReserveScript = redis.NewScript(clock + gcra.Lua + `
local v = redis.call('HMGET', KEYS[1], 'rank', 'val', 'fu')
local found = 0
if v[1] then found = 1 end
if found == 1 and now < tonumber(v[3] or '0') then
  return {1, v[1], v[2], 1, -1, '0'}
end
local r = gcra_reserve(KEYS[2], ARGV[1], ARGV[2], ARGV[3])
return {found, v[1] or '', v[2] or '', 0, r[1], r[2]}
`)

// trackPut: KEYS[1] tracking hash; ARGV rank, value, fresh ms, keep ms.
// Keeps the stored entry when its rank is higher (no regression).
// Returns {rank, value}.
var trackPutScript = redis.NewScript(clock + `
local key = KEYS[1]
local rank = tonumber(ARGV[1])
local cur = redis.call('HGET', key, 'rank')
if (not cur) or rank >= tonumber(cur) then
  redis.call('HSET', key, 'rank', ARGV[1], 'val', ARGV[2])
end
redis.call('HSET', key, 'fu', ms(now + tonumber(ARGV[3])))
redis.call('PEXPIRE', key, tonumber(ARGV[4]))
local v = redis.call('HMGET', key, 'rank', 'val')
return {v[1], v[2]}
`)
