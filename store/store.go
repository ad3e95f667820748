// Package store is flowbridge's shared state: idempotency records for
// supplier orders and short-lived caches for rates and tracking.
//
// The types live in store/storeapi (so that Open can import both
// implementations without an import cycle) and are re-exported here; code
// outside the store packages uses this package only.
//
// Implementations: store/redisstore (any number of instances sharing one
// Redis, Sentinel or Cluster) and store/memstore (one instance, forgets on
// restart). Both pass the conformance suite in store/storetest.
package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/store/memstore"
	"github.com/flowbridge/flowbridge/store/redisstore"
	"github.com/flowbridge/flowbridge/store/storeapi"
)

type (
	Store        = storeapi.Store
	Idempotency  = storeapi.Idempotency
	Cache        = storeapi.Cache
	State        = storeapi.State
	Key          = storeapi.Key
	Record       = storeapi.Record
	ClaimStatus  = storeapi.ClaimStatus
	ClaimRequest = storeapi.ClaimRequest
	ClaimResult  = storeapi.ClaimResult
	Change       = storeapi.Change
	Transition   = storeapi.Transition
	Tracked      = storeapi.Tracked
	Entry        = storeapi.Entry
	ClaimJournal = storeapi.ClaimJournal
	SlotRequest  = storeapi.SlotRequest
	Slot         = storeapi.Slot
)

const (
	StateAbsent      = storeapi.StateAbsent
	StateInFlight    = storeapi.StateInFlight
	StatePlaced      = storeapi.StatePlaced
	StateRejected    = storeapi.StateRejected
	StateUnknown     = storeapi.StateUnknown
	StateNeedsReview = storeapi.StateNeedsReview
	StateExpired     = storeapi.StateExpired
	StateUnsent      = storeapi.StateUnsent

	ClaimFresh    = storeapi.ClaimFresh
	ClaimTakeover = storeapi.ClaimTakeover
	ClaimBusy     = storeapi.ClaimBusy
	ClaimDone     = storeapi.ClaimDone
)

var (
	ErrNotOwner  = storeapi.ErrNotOwner
	ErrConflict  = storeapi.ErrConflict
	ErrDeadline  = storeapi.ErrDeadline
	ErrNoJournal = storeapi.ErrNoJournal
)

// CacheKey joins parts into a cache key.
func CacheKey(parts ...string) string { return storeapi.CacheKey(parts...) }

// Options configures Open.
type Options struct {
	// Logger receives the start-up notes (single-instance store, Redis
	// settings). Nil discards them.
	Logger *slog.Logger
	// Prefix starts every Redis key (default "fb:").
	Prefix string
	// Now is the in-process store's clock (default time.Now).
	Now func() time.Time
	// SkipConfigCheck skips reading the Redis settings at start-up.
	SkipConfigCheck bool
	// MinReplicas makes a won claim wait until that many Redis replicas
	// have it (redisstore.Options.MinReplicas); 0 does not wait.
	MinReplicas int
	// OpTimeout bounds each Redis operation (redisstore.Options.OpTimeout,
	// default 5 s).
	OpTimeout time.Duration
}

// Open returns the store on c: the in-process store when c is nil, else
// the Redis store on that client. The caller opens the client (the server
// opens Redis once and hands the same client to the store, the timeline
// and the rate limiter) and closes it; Close on the Redis store closes it
// too. Open pings Redis once, sets the epoch marker, and warns (it does not
// fail) when persistence is off or maxmemory-policy is not noeviction.
func Open(ctx context.Context, c redis.UniversalClient, opts Options) (Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if c == nil {
		log.Warn("store: REDIS_URL is not set; using the in-process store: run a single instance only, and records are lost on restart (the order metafield and supplier lookup still prevent duplicates)")
		return memstore.New(opts.Now), nil
	}
	s := redisstore.New(c, redisstore.Options{Prefix: opts.Prefix, MinReplicas: opts.MinReplicas, OpTimeout: opts.OpTimeout})
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.Ping(pctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("store: redis ping: %w", err)
	}
	lost, err := s.InitEpoch(pctx)
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("store: redis epoch marker: %w", err)
	}
	if !lost.IsZero() {
		log.Warn("store: Redis lost flowbridge's data at " + lost.UTC().Format(time.RFC3339) + " (epoch marker missing); placements soon after it are checked before any create (docs/exactly-once.md)")
	}
	if !opts.SkipConfigCheck {
		for _, w := range redisstore.CheckConfig(pctx, c) {
			log.Warn("store: " + w)
		}
	}
	log.Info("store: using redis")
	return s, nil
}
