package supplier

import (
	"context"
	"sync/atomic"
	"time"
)

// A rate-limiter slot can be taken ahead of a supplier call by a caller
// that talks to the limiter's store anyway: the orders service reads the
// tracking cache and, when the entry is missing or stale, reserves the
// slot in the same Redis script (one round trip instead of two). The
// reservation then travels in the context to the transport's limiter,
// which waits out what is left of it instead of asking Redis again.
//
// The seam is the context, in this package, because the two ends must not
// know each other: the store knows nothing of suppliers, the transport
// (supplier/resilient) knows nothing of the store, and the orders service
// sees a Supplier, not its transport. This package is what both ends
// already share (like Retryable and WithSending).

// SlotPlan describes the shared slot the next supplier request would take:
// the limiter's key and GCRA parameters, and how long the call may wait
// for it. The store reserves it with the same GCRA as the limiter.
type SlotPlan struct {
	Key                 string
	Interval, Tolerance time.Duration
	MaxWait             time.Duration
}

// SlotPlanner is implemented by a transport whose limiter is shared
// through a store (supplier/resilient with Redis). Plan reports false
// when there is nothing to plan: a process-local limiter, a budget per
// endpoint (only the adapter knows which endpoint a call uses first), or
// too little time left to call at all.
type SlotPlanner interface {
	PlanSlot(ctx context.Context) (SlotPlan, bool)
}

// Reservation is the outcome of a slot taken ahead for Key: Reserved with
// the Wait to honour from At (when the store's answer arrived), or not
// reserved because the wait was longer than the plan's MaxWait.
type Reservation struct {
	Key      string
	Reserved bool
	Wait     time.Duration
	At       time.Time
	used     atomic.Bool
}

type reservationKey struct{}

// WithReservation attaches r for the next supplier request on r.Key.
func WithReservation(ctx context.Context, r *Reservation) context.Context {
	return context.WithValue(ctx, reservationKey{}, r)
}

// TakeReservation hands the reservation attached for key to the first
// caller only: a supplier call that makes several requests (or retries)
// spends the pre-taken slot once and asks the limiter for the others.
func TakeReservation(ctx context.Context, key string) (*Reservation, bool) {
	r, ok := ctx.Value(reservationKey{}).(*Reservation)
	if !ok || r == nil || r.Key != key || !r.used.CompareAndSwap(false, true) {
		return nil, false
	}
	return r, true
}
