package resilient

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/flowbridge/flowbridge/internal/gcra"
	"github.com/flowbridge/flowbridge/supplier"
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

// redisLimiter shares one supplier's budget between all replicas, with
// the GCRA script of package internal/gcra (its doc says why it reserves).
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

// request is the GCRA request for one slot that is worth at most maxWait.
func (l *redisLimiter) request(maxWait time.Duration) gcra.Request {
	return gcra.Request{Key: l.key, Interval: l.interval, Tolerance: l.tolerance, MaxWait: max(maxWait, 0)}
}

func (l *redisLimiter) take(ctx context.Context, maxWait time.Duration) (time.Duration, error) {
	req := l.request(maxWait)
	res, err := gcra.Script.Run(ctx, l.rdb, []string{req.Key}, req.Args()...).Slice()
	if err != nil {
		if ctx.Err() != nil {
			return 0, context.Cause(ctx)
		}
		return 0, &limiterStoreError{err: err}
	}
	ok, wait, err := gcra.ParseReply(res)
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

// reserved spends a slot the caller took ahead (supplier.WithReservation):
// it waits what is left of the reservation's wait and asks Redis nothing.
// A reservation refused for a too-long wait is refused here the same way
// take refuses it.
func reserved(ctx context.Context, r *supplier.Reservation) (time.Duration, error) {
	if !r.Reserved {
		return 0, &tooLongError{wait: r.Wait}
	}
	// Like take, a reserved slot that is not used stays spent.
	if err := sleepCtx(ctx, r.Wait-time.Since(r.At)); err != nil {
		return 0, err
	}
	return r.Wait, nil
}
