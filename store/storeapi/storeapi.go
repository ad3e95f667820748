// Package storeapi defines flowbridge's store: the types and interfaces
// that package store re-exports and that store/redisstore and
// store/memstore implement. It is separate from package store only so that
// store.Open can import both implementations; use package store.
//
// The store holds flowbridge's shared state: idempotency records for
// supplier orders and short-lived caches for rates and tracking.
//
// Two implementations satisfy the same interface and pass the same
// conformance suite (store/storetest): store/redisstore (go-redis v9, a
// single server, Sentinel or Cluster) for any number of instances, and
// store/memstore (in-process) for a single instance.
//
// Every state change is one atomic operation (a Lua script in Redis, a
// mutex in memory). Lease deadlines come from the store's own clock (Redis
// TIME), never from the calling instance's clock, so instances whose clocks
// disagree still agree on whether a lease has expired.
//
// Each operation that writes carries a caller token and is written so that
// running it twice has the same effect as running it once: go-redis
// re-sends a command whose reply was lost, and a re-sent claim must not
// turn into a "someone else holds it" answer.
package storeapi

import (
	"context"
	"errors"
	"strings"
	"time"
)

// State is the state of an idempotency record.
type State string

const (
	// StateAbsent is not stored: it names "no record" in transitions.
	StateAbsent State = "absent"
	// StateInFlight: a caller holds a lease and may be talking to the
	// supplier right now.
	StateInFlight State = "in_flight"
	// StatePlaced: the supplier order exists; Result holds the answer.
	StatePlaced State = "placed"
	// StateRejected: the supplier refused permanently; Result holds the problem.
	StateRejected State = "rejected"
	// StateUnknown: the create may or may not have happened; the next claim
	// must reconcile before creating.
	StateUnknown State = "unknown"
	// StateNeedsReview: the outcome is unknown and the supplier cannot be
	// asked; only an operator can move the record on.
	StateNeedsReview State = "needs_review"
	// StateExpired is not stored: in a transition's From list it names an
	// in_flight record whose lease has expired.
	StateExpired State = "in_flight_expired"
	// StateUnsent is not stored: as ClaimResult.Previous it names an
	// in_flight record whose holder never sent the create (no MarkSent)
	// and can no longer send it: its lease expired, or the deadline it
	// claimed with has passed. Nothing reached the supplier, so the new
	// holder places the order as if the claim were fresh.
	StateUnsent State = "in_flight_unsent"
)

// Key names one idempotency record: one purpose (e.g. "place") of one
// Shopify order of one shop.
type Key struct {
	Shop    string
	OrderID string
	Purpose string
}

// Tag is the part of the Redis key that decides the Cluster slot, so every
// key of one order lands in the same slot.
func (k Key) Tag() string { return k.Shop + ":" + k.OrderID }

func (k Key) String() string { return k.Tag() + ":" + k.Purpose }

// Record is an idempotency record as the store holds it. All times come
// from the store's clock.
type Record struct {
	State State
	// Owner is the token of the caller that made the last change (the lease
	// holder while in_flight).
	Owner string
	// LeaseUntil is when an in_flight lease expires.
	LeaseUntil time.Time
	// LeaseExpired is true when the record is in_flight and LeaseUntil has
	// passed by the store's clock at the time of the read.
	LeaseExpired bool
	// Fingerprint of the payload of the first claim.
	Fingerprint string
	// Result is the stored answer (placed) or problem (rejected), opaque to
	// the store.
	Result []byte
	// Reason says why a record needs review.
	Reason string
	// Attempts counts claims won (fresh claim and takeovers).
	Attempts int
	// CreatedAt is the first claim; ClaimedAt the latest won claim;
	// UpdatedAt the latest change.
	CreatedAt time.Time
	ClaimedAt time.Time
	UpdatedAt time.Time
	// PreviousClaimAt is the claim before the latest takeover: when the
	// attempt whose outcome is unknown started.
	PreviousClaimAt time.Time
	// Deadline is the deadline the current lease holder claimed with
	// (zero: none). After it the holder can no longer mark the create sent.
	Deadline time.Time
	// SentAt is when the current lease holder's create left for the
	// supplier (MarkSent); zero while it has not.
	SentAt time.Time
}

// ClaimStatus is what a claim attempt found.
type ClaimStatus int

const (
	// ClaimFresh: there was no record; the caller now holds the lease.
	ClaimFresh ClaimStatus = iota + 1
	// ClaimTakeover: the record was unknown or its lease had expired (the
	// caller must reconcile before creating), or it was rejected and the
	// payload's fingerprint has changed (a refusal created nothing, so the
	// corrected order may be placed). ClaimResult.Previous says which; the
	// caller now holds the lease.
	ClaimTakeover
	// ClaimBusy: another caller holds a live lease.
	ClaimBusy
	// ClaimDone: the record is final (placed, rejected or needs_review); the
	// caller did not get a lease.
	ClaimDone
)

func (s ClaimStatus) String() string {
	switch s {
	case ClaimFresh:
		return "fresh"
	case ClaimTakeover:
		return "takeover"
	case ClaimBusy:
		return "busy"
	case ClaimDone:
		return "done"
	default:
		return "invalid"
	}
}

// Won reports whether the caller holds the lease.
func (s ClaimStatus) Won() bool { return s == ClaimFresh || s == ClaimTakeover }

// ClaimRequest asks for the lease of one record.
type ClaimRequest struct {
	// Owner is a random token unique to this attempt.
	Owner       string
	Fingerprint string
	Lease       time.Duration
	// TTL is how long the record lives after its latest change.
	TTL time.Duration
	// Deadline is when the caller gives up (zero: never). The store
	// refuses the claim with ErrDeadline when it runs at or after it, by
	// the store's clock: a claim queued in a hung Redis and run after its
	// caller answered 503 must not hold the order. The holder cannot
	// MarkSent after it either, so a lease whose deadline has passed
	// without a sent mark is taken over at once (Previous StateUnsent).
	Deadline time.Time
	// Journal (optional) is appended in the same step when the claim is
	// won (ClaimResult.Journaled); ErrNoJournal from a store that cannot.
	Journal *ClaimJournal
}

// ClaimResult is the outcome of a claim.
type ClaimResult struct {
	Status ClaimStatus
	// Previous is the state the record had before a takeover (unknown,
	// in_flight_expired or rejected).
	Previous State
	// Record is the record after the claim.
	Record Record
	// RetryAfter is the remaining lease when Busy.
	RetryAfter time.Duration
	// Now is the store's clock when the claim ran.
	Now time.Time
	// StoreLostAt is when the store last found that it had lost its data
	// (its epoch marker was gone: FLUSHALL, a restart without
	// persistence); zero when it never has. A fresh claim soon after it
	// may be for an order whose record was lost.
	StoreLostAt time.Time
	// Journaled: the request's journal entry was written with the claim.
	Journaled bool
}

// Change moves a record the caller holds (in_flight with Owner) to a new
// state. To may be StateInFlight only in Renew.
type Change struct {
	Owner  string
	To     State
	Result []byte
	Reason string
	TTL    time.Duration
	// Journal (optional) is appended in the same step as the change, and
	// only if the change is made; ErrNoJournal from a store that cannot.
	Journal *Entry
}

// Transition moves a record from any of the From states to To without a
// lease (operator resolution, a supplier number recorded on the order).
// To == StateAbsent deletes the record.
type Transition struct {
	// Token identifies this transition, so a re-sent one is recognised.
	Token  string
	From   []State
	To     State
	Result []byte
	Reason string
	TTL    time.Duration
}

// Allows reports whether a record in state cur (with the lease expired or
// not) may take this transition.
func (t Transition) Allows(cur State, expired bool) bool {
	for _, f := range t.From {
		if f == cur || (f == StateExpired && cur == StateInFlight && expired) {
			return true
		}
	}
	return false
}

// Errors the stores return. Any other error means the store could not be
// reached or failed; callers must then fail closed.
var (
	// ErrNotOwner: the record is not held by this owner any more (taken
	// over, resolved, or lost).
	ErrNotOwner = errors.New("store: lease not held by this owner")
	// ErrConflict: a transition's From does not include the current state.
	ErrConflict = errors.New("store: record is not in an allowed state")
	// ErrDeadline: the operation ran at or after the caller's deadline
	// (by the store's clock) and did nothing.
	ErrDeadline = errors.New("store: the caller's deadline had passed; nothing was changed")
)

// Idempotency holds the exactly-once records.
type Idempotency interface {
	// Claim takes the lease of a record that is absent, unknown, whose
	// lease expired, whose holder's deadline passed before it sent
	// anything, or rejected for a different payload fingerprint. Claiming
	// again with the same Owner while the caller still holds the lease
	// returns the original result (so a re-sent claim is not mistaken for
	// someone else's). ErrDeadline when it runs after req.Deadline.
	Claim(ctx context.Context, k Key, req ClaimRequest) (ClaimResult, error)
	// MarkSent records that the caller's create is leaving for the
	// supplier now. It is called at the last moment before the request is
	// written (after any rate-limit wait), so a takeover of a claim without
	// the mark knows that nothing was sent. ErrNotOwner when the caller no
	// longer holds the lease, ErrDeadline when the claim's deadline has
	// passed: in both cases the create must not be sent. Re-sending it is
	// safe.
	MarkSent(ctx context.Context, k Key, owner string) error
	// Renew extends the caller's lease (Change.To is ignored).
	Renew(ctx context.Context, k Key, owner string, lease time.Duration) error
	// Complete moves the caller's in_flight record to Change.To (placed,
	// rejected, unknown or needs_review). A missing record is written
	// anyway (the store forgot it; the outcome is still known). Returns
	// ErrNotOwner if someone else holds or changed it.
	Complete(ctx context.Context, k Key, c Change) error
	// Release deletes the caller's in_flight record so that a later claim
	// starts fresh. A missing record is not an error.
	Release(ctx context.Context, k Key, owner string) error
	// Transition applies t atomically and returns the record as it was
	// before (State StateAbsent when there was none). ErrConflict (with the
	// current record) when t.From does not allow the current state.
	Transition(ctx context.Context, k Key, t Transition) (Record, error)
	// Get reads a record.
	Get(ctx context.Context, k Key) (Record, bool, error)
}

// Tracked is a cached tracking answer with its progress rank.
type Tracked struct {
	Rank  int
	Value []byte
	// Fresh is true while the entry is younger than its fresh TTL.
	Fresh bool
}

// SlotRequest asks for one slot of a rate-limiter budget shared through
// the store (GCRA on the store's clock, see internal/gcra): the limiter's
// key, its emission interval and burst tolerance (interval × (burst-1)),
// and the longest wait worth reserving.
type SlotRequest struct {
	Key                 string
	Interval, Tolerance time.Duration
	MaxWait             time.Duration
}

// Slot is what TrackingGetReserve did about a SlotRequest. Asked false:
// nothing (the entry was fresh, or the store cannot). Otherwise Reserved
// with Wait to wait before sending, or not reserved because Wait is longer
// than MaxWait.
type Slot struct {
	Asked, Reserved bool
	Wait            time.Duration
}

// Cache holds short-lived answers.
type Cache interface {
	// CacheGet returns a cached value.
	CacheGet(ctx context.Context, key string) ([]byte, bool, error)
	// CacheSet stores value for ttl.
	CacheSet(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// TrackingGet returns the cached tracking entry of an order.
	TrackingGet(ctx context.Context, key string) (Tracked, bool, error)
	// TrackingGetReserve is TrackingGet that, when the entry is missing or
	// stale (the supplier will be asked), also reserves the shared
	// rate-limiter slot of slot in the same atomic step: one round trip
	// instead of two. A fresh entry never takes a slot. A store that
	// cannot do both in one step (the in-process store has no shared
	// limiter; in Redis Cluster the two keys live in different slots)
	// answers as TrackingGet with Slot.Asked false, and the supplier's
	// limiter then takes its slot itself.
	TrackingGetReserve(ctx context.Context, key string, slot SlotRequest) (Tracked, bool, Slot, error)
	// TrackingPut stores value unless the stored entry has a higher rank
	// (the order would go back, e.g. shipped → processing), in one atomic
	// step. Either way the entry is fresh for fresh and kept for keep, and
	// the entry now held is returned. Rank 0 (unknown) never replaces a
	// stored entry.
	TrackingPut(ctx context.Context, key string, rank int, value []byte, fresh, keep time.Duration) (Tracked, error)
	// TrackingDelete forgets an order's cached tracking entry, rank
	// included (an operator's "release": the next check asks the supplier
	// and takes its answer as it is).
	TrackingDelete(ctx context.Context, key string) error
}

// Store is everything flowbridge keeps outside the process.
type Store interface {
	Idempotency
	Cache
	// Ping checks that the store answers (readiness).
	Ping(ctx context.Context) error
	// Name is "redis" or "memory".
	Name() string
	Close() error
}

// CacheKey joins parts into a cache key (the implementation adds its own
// prefix).
func CacheKey(parts ...string) string { return strings.Join(parts, ":") }
