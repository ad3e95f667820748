// Package gcra is the shared supplier rate limiter's algorithm in Redis
// Lua: GCRA with reservations, timed by the Redis server clock so every
// replica shares one notion of "now" and one budget.
//
// It has one owner so that the limiter's own script (supplier/resilient)
// and the script that reads the tracking cache and reserves a slot in the
// same round trip (store/redisstore) run the same code: neither package
// may import the other (the store knows nothing of suppliers), so the Lua
// lives here, below both.
//
// The key holds the theoretical arrival time (TAT, microseconds since the
// Unix epoch). A caller may send at max(TAT, now) - tolerance; if that is no
// more than max_wait away it reserves the slot by advancing TAT by one
// emission interval and learns how long to wait. Reserving (rather than
// answering allow/deny as github.com/go-redis/redis_rate does) means waiting
// callers do not poll Redis and wake in a herd, they queue in arrival order,
// and a caller learns at once when its slot lies past its deadline.
package gcra

import (
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lua defines gcra_reserve(key, interval_us, tolerance_us, max_wait_us),
// which returns {1, wait_us} when it reserved a slot and {0, wait_us} when
// the wait is longer than max_wait (nothing reserved). It reads TIME and
// then writes, so a script embedding it on Redis 3.2-4.x must switch on
// effects replication before it runs (from 5.0 that is the default).
const Lua = `
local function gcra_reserve(key, interval, tolerance, max_wait)
  interval = tonumber(interval)
  tolerance = tonumber(tolerance)
  max_wait = tonumber(max_wait)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local tat = tonumber(redis.call('GET', key))
  if tat == nil or tat < now then
    tat = now
  end
  local wait = tat - tolerance - now
  if wait < 0 then
    wait = 0
  end
  if wait > max_wait then
    return {0, string.format('%.0f', wait)}
  end
  local new_tat = tat + interval
  local ttl_ms = math.ceil((new_tat - now) / 1000) + 1000
  redis.call('SET', key, string.format('%.0f', new_tat), 'PX', ttl_ms)
  return {1, string.format('%.0f', wait)}
end
`

// Script is the limiter alone. KEYS[1] TAT key; ARGV as Request.Args.
var Script = redis.NewScript(Lua + `
return gcra_reserve(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
`)

// Request asks for one slot of the budget kept under Key.
type Request struct {
	// Key is the limiter's Redis key (it holds the TAT).
	Key string
	// Interval is the emission interval (1/rate); Tolerance is
	// Interval × (burst-1).
	Interval, Tolerance time.Duration
	// MaxWait is the longest wait worth a reservation; a slot further
	// away is not reserved (so it is not wasted).
	MaxWait time.Duration
}

// Args are the script arguments for r, in gcra_reserve's order.
func (r Request) Args() []any {
	return []any{r.Interval.Microseconds(), r.Tolerance.Microseconds(), max(r.MaxWait, 0).Microseconds()}
}

// ParseReply reads gcra_reserve's {flag, wait_us}.
func ParseReply(res []any) (reserved bool, wait time.Duration, err error) {
	if len(res) != 2 {
		return false, 0, fmt.Errorf("unexpected limiter reply %v", res)
	}
	flag, _ := res[0].(int64)
	s, _ := res[1].(string)
	var us int64
	if _, err := fmt.Sscan(s, &us); err != nil {
		return false, 0, fmt.Errorf("unexpected limiter wait %q", s)
	}
	return flag == 1, time.Duration(us) * time.Microsecond, nil
}
