package resilient

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// slotLimiter hands out send slots for one supplier. take reserves the next
// slot and waits for it, but only when that wait is at most maxWait: a slot
// that cannot be reached in time is not reserved (so it is not wasted), and
// the needed wait is returned in a *tooLongError.
type slotLimiter interface {
	take(ctx context.Context, maxWait time.Duration) (waited time.Duration, err error)
}

// perOperation keeps one limiter per operation (see Config.PerOperation);
// the operation comes from the request context (WithOperation).
type perOperation struct {
	name string
	make func(key string) slotLimiter
	mu   sync.Mutex
	byOp map[string]slotLimiter
}

func (p *perOperation) take(ctx context.Context, maxWait time.Duration) (time.Duration, error) {
	op := operation(ctx, "other")
	p.mu.Lock()
	l, ok := p.byOp[op]
	if !ok {
		l = p.make(p.name + ":" + op)
		p.byOp[op] = l
	}
	p.mu.Unlock()
	return l.take(ctx, maxWait)
}

// tooLongError says the next free slot is further away than the caller can wait.
type tooLongError struct{ wait time.Duration }

func (e *tooLongError) Error() string {
	return fmt.Sprintf("next rate-limit slot in %s", e.wait.Round(time.Millisecond))
}

// limiterStoreError says the shared limiter could not be asked (Redis down).
type limiterStoreError struct{ err error }

func (e *limiterStoreError) Error() string { return "shared rate limiter: " + e.err.Error() }
func (e *limiterStoreError) Unwrap() error { return e.err }

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// localLimiter is golang.org/x/time/rate, for a single replica (no Redis).
type localLimiter struct{ lim *rate.Limiter }

func newLocalLimiter(perSecond float64, burst int) *localLimiter {
	return &localLimiter{lim: rate.NewLimiter(rate.Limit(perSecond), burst)}
}

func (l *localLimiter) take(ctx context.Context, maxWait time.Duration) (time.Duration, error) {
	now := time.Now()
	r := l.lim.ReserveN(now, 1)
	if !r.OK() {
		return 0, errors.New("rate limiter burst is below 1")
	}
	d := r.DelayFrom(now)
	if d > maxWait {
		r.CancelAt(now)
		return 0, &tooLongError{wait: d}
	}
	if err := sleepCtx(ctx, d); err != nil {
		// Give the slot back: nobody will use it.
		r.Cancel()
		return time.Since(now), err
	}
	return d, nil
}

// gcraScript is GCRA with reservations, timed by the Redis server clock so
// every replica shares one notion of "now" and one budget.
//
// The key holds the theoretical arrival time (TAT, microseconds since the
// Unix epoch). A caller may send at max(TAT, now) - tolerance; if that is no
// more than max_wait away it reserves the slot by advancing TAT by one
// emission interval and learns how long to wait. Reserving (rather than
// answering allow/deny as github.com/go-redis/redis_rate does) means waiting
// callers do not poll Redis and wake in a herd, they queue in arrival order,
// and a caller learns at once when its slot lies past its deadline.
//
// KEYS[1] TAT key; ARGV[1] emission interval µs; ARGV[2] tolerance µs
// (interval × (burst-1)); ARGV[3] max wait µs.
// Returns {1, wait_us} when reserved, {0, wait_us} when the wait is too long.
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
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
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl_ms)
return {1, string.format('%.0f', wait)}
`)

// redisLimiter shares one supplier's budget between all replicas.
type redisLimiter struct {
	rdb       redis.UniversalClient
	key       string
	interval  time.Duration
	tolerance time.Duration
}

func newRedisLimiter(rdb redis.UniversalClient, key string, perSecond float64, burst int) *redisLimiter {
	interval := time.Duration(float64(time.Second) / perSecond)
	return &redisLimiter{
		rdb:       rdb,
		key:       key,
		interval:  interval,
		tolerance: interval * time.Duration(burst-1),
	}
}

func (l *redisLimiter) take(ctx context.Context, maxWait time.Duration) (time.Duration, error) {
	if maxWait < 0 {
		maxWait = 0
	}
	res, err := gcraScript.Run(ctx, l.rdb, []string{l.key},
		l.interval.Microseconds(), l.tolerance.Microseconds(), maxWait.Microseconds()).Slice()
	if err != nil {
		if ctx.Err() != nil {
			return 0, context.Cause(ctx)
		}
		return 0, &limiterStoreError{err: err}
	}
	ok, wait, err := parseGCRAReply(res)
	if err != nil {
		return 0, &limiterStoreError{err: err}
	}
	if !ok {
		return 0, &tooLongError{wait: wait}
	}
	// A reserved slot that is not used (ctx ends while waiting) stays spent:
	// that errs on the side of sending less, which is what a supplier that
	// bans on overuse needs.
	if err := sleepCtx(ctx, wait); err != nil {
		return 0, err
	}
	return wait, nil
}

func parseGCRAReply(res []any) (ok bool, wait time.Duration, err error) {
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
