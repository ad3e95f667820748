// Package memstore is the in-process store.Store: one mutex, maps, and an
// injectable clock. It forgets everything when the process stops and is
// not shared between processes, so it only suits a single instance; the
// Shopify order metafield (PlaceInput.Recorded) and supplier lookup by
// reference cover a restart.
package memstore

import (
	"context"
	"slices"
	"sync"
	"time"

	store "github.com/flowbridge/flowbridge/store/storeapi"
)

// Store is an in-process store.Store. The zero value is not usable; call New.
type Store struct {
	now func() time.Time

	mu      sync.Mutex
	writes  int // since the last sweep
	records map[store.Key]*entry
	cache   map[string]cached
	track   map[string]tracked
}

type entry struct {
	rec     store.Record
	expires time.Time
	// kind and prev repeat a won claim's answer to the same owner.
	kind store.ClaimStatus
	prev store.State
}

type cached struct {
	value   []byte
	expires time.Time
}

type tracked struct {
	rank       int
	value      []byte
	freshUntil time.Time
	expires    time.Time
}

// New returns an empty store. now is its clock (time.Now when nil); tests
// may pass a virtual clock.
func New(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{now: now, records: map[store.Key]*entry{}, cache: map[string]cached{}, track: map[string]tracked{}}
}

var _ store.Store = (*Store)(nil)

// Name implements store.Store.
func (s *Store) Name() string { return "memory" }

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error { return ctx.Err() }

// Close implements store.Store.
func (s *Store) Close() error { return nil }

// sweepEvery is how many writes pass between sweeps of expired entries;
// reads drop expired entries too, but an order never read again would
// otherwise stay in memory.
const sweepEvery = 4096

// wrote counts a write and sweeps now and then. Callers hold mu.
func (s *Store) wrote(now time.Time) {
	s.writes++
	if s.writes < sweepEvery {
		return
	}
	s.writes = 0
	for k, e := range s.records {
		if !now.Before(e.expires) {
			delete(s.records, k)
		}
	}
	for k, c := range s.cache {
		if !now.Before(c.expires) {
			delete(s.cache, k)
		}
	}
	for k, t := range s.track {
		if !now.Before(t.expires) {
			delete(s.track, k)
		}
	}
}

// Len reports how many records, cache and tracking entries are held
// (expired ones included until swept).
func (s *Store) Len() (records, cache, tracking int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records), len(s.cache), len(s.track)
}

// get returns the live entry for k, dropping it when its TTL has passed.
// Callers hold mu.
func (s *Store) get(k store.Key, now time.Time) *entry {
	e, ok := s.records[k]
	if !ok {
		return nil
	}
	if !now.Before(e.expires) {
		delete(s.records, k)
		return nil
	}
	return e
}

func (s *Store) view(e *entry, now time.Time) store.Record {
	r := e.rec
	r.Result = slices.Clone(r.Result)
	r.LeaseExpired = r.State == store.StateInFlight && !now.Before(r.LeaseUntil)
	return r
}

// Claim implements store.Idempotency.
func (s *Store) Claim(ctx context.Context, k store.Key, req store.ClaimRequest) (store.ClaimResult, error) {
	if err := ctx.Err(); err != nil {
		return store.ClaimResult{}, err
	}
	if req.Journal != nil {
		// The in-process timeline writes its own events; entries meant for
		// Redis keys have no place here.
		return store.ClaimResult{}, store.ErrNoJournal
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if !req.Deadline.IsZero() && !now.Before(req.Deadline) {
		return store.ClaimResult{}, store.ErrDeadline
	}
	s.wrote(now)
	e := s.get(k, now)
	if e == nil {
		e = &entry{rec: store.Record{State: store.StateInFlight, Owner: req.Owner, LeaseUntil: now.Add(req.Lease),
			Fingerprint: req.Fingerprint, Attempts: 1, CreatedAt: now, ClaimedAt: now, UpdatedAt: now, Deadline: req.Deadline},
			expires: now.Add(req.TTL), kind: store.ClaimFresh}
		s.records[k] = e
		return store.ClaimResult{Status: store.ClaimFresh, Record: s.view(e, now), Now: now}, nil
	}
	switch e.rec.State {
	case store.StateInFlight:
		if e.rec.Owner == req.Owner {
			return store.ClaimResult{Status: e.kind, Previous: e.prev, Record: s.view(e, now), Now: now}, nil
		}
		unsent := e.rec.SentAt.IsZero()
		switch {
		case unsent && !e.rec.Deadline.IsZero() && !now.Before(e.rec.Deadline):
			// The holder's deadline passed before it sent anything.
			return s.takeover(e, store.StateUnsent, req, now), nil
		case now.Before(e.rec.LeaseUntil):
			return store.ClaimResult{Status: store.ClaimBusy, Record: s.view(e, now), RetryAfter: e.rec.LeaseUntil.Sub(now), Now: now}, nil
		case unsent:
			return s.takeover(e, store.StateUnsent, req, now), nil
		}
		return s.takeover(e, store.StateExpired, req, now), nil
	case store.StateUnknown:
		return s.takeover(e, store.StateUnknown, req, now), nil
	case store.StateRejected:
		if e.rec.Fingerprint != req.Fingerprint {
			e.rec.Fingerprint = req.Fingerprint
			return s.takeover(e, store.StateRejected, req, now), nil
		}
		return store.ClaimResult{Status: store.ClaimDone, Record: s.view(e, now), Now: now}, nil
	default:
		return store.ClaimResult{Status: store.ClaimDone, Record: s.view(e, now), Now: now}, nil
	}
}

func (s *Store) takeover(e *entry, prev store.State, req store.ClaimRequest, now time.Time) store.ClaimResult {
	e.rec.State = store.StateInFlight
	e.rec.Owner = req.Owner
	e.rec.LeaseUntil = now.Add(req.Lease)
	e.rec.Attempts++
	e.rec.PreviousClaimAt = e.rec.ClaimedAt
	e.rec.ClaimedAt = now
	e.rec.UpdatedAt = now
	e.rec.Deadline = req.Deadline
	e.rec.SentAt = time.Time{}
	e.expires = now.Add(req.TTL)
	e.kind = store.ClaimTakeover
	e.prev = prev
	return store.ClaimResult{Status: store.ClaimTakeover, Previous: prev, Record: s.view(e, now), Now: now}
}

// MarkSent implements store.Idempotency.
func (s *Store) MarkSent(ctx context.Context, k store.Key, owner string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	e := s.get(k, now)
	if e == nil || e.rec.State != store.StateInFlight || e.rec.Owner != owner {
		return store.ErrNotOwner
	}
	if !e.rec.SentAt.IsZero() {
		return nil
	}
	if !now.Before(e.rec.LeaseUntil) {
		return store.ErrNotOwner
	}
	if !e.rec.Deadline.IsZero() && !now.Before(e.rec.Deadline) {
		return store.ErrDeadline
	}
	e.rec.SentAt = now
	e.rec.UpdatedAt = now
	return nil
}

// Renew implements store.Idempotency.
func (s *Store) Renew(ctx context.Context, k store.Key, owner string, lease time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	e := s.get(k, now)
	if e == nil || e.rec.State != store.StateInFlight || e.rec.Owner != owner {
		return store.ErrNotOwner
	}
	e.rec.LeaseUntil = now.Add(lease)
	e.rec.UpdatedAt = now
	return nil
}

// Complete implements store.Idempotency.
func (s *Store) Complete(ctx context.Context, k store.Key, c store.Change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.Journal != nil {
		return store.ErrNoJournal
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	e := s.get(k, now)
	if e == nil {
		e = &entry{rec: store.Record{Owner: c.Owner, Attempts: 1, CreatedAt: now, ClaimedAt: now}}
		s.records[k] = e
	} else if e.rec.Owner != c.Owner || (e.rec.State != store.StateInFlight && e.rec.State != c.To) {
		return store.ErrNotOwner
	}
	e.rec.State = c.To
	e.rec.LeaseUntil = time.Time{}
	e.rec.Result = slices.Clone(c.Result)
	e.rec.Reason = c.Reason
	e.rec.UpdatedAt = now
	e.expires = now.Add(c.TTL)
	return nil
}

// Release implements store.Idempotency.
func (s *Store) Release(ctx context.Context, k store.Key, owner string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.get(k, s.now())
	if e == nil {
		return nil
	}
	if e.rec.State != store.StateInFlight || e.rec.Owner != owner {
		return store.ErrNotOwner
	}
	delete(s.records, k)
	return nil
}

// Transition implements store.Idempotency.
func (s *Store) Transition(ctx context.Context, k store.Key, t store.Transition) (store.Record, error) {
	if err := ctx.Err(); err != nil {
		return store.Record{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	e := s.get(k, now)
	prev := store.Record{State: store.StateAbsent}
	if e != nil {
		prev = s.view(e, now)
		// A re-sent transition that already happened.
		if t.Token != "" && prev.Owner == t.Token && prev.State == t.To {
			return prev, nil
		}
	}
	if !t.Allows(prev.State, prev.LeaseExpired) {
		return prev, store.ErrConflict
	}
	if t.To == store.StateAbsent {
		delete(s.records, k)
		return prev, nil
	}
	if e == nil {
		e = &entry{rec: store.Record{CreatedAt: now, ClaimedAt: now}}
		s.records[k] = e
	}
	e.rec.State = t.To
	e.rec.Owner = t.Token
	e.rec.LeaseUntil = time.Time{}
	e.rec.Result = slices.Clone(t.Result)
	e.rec.Reason = t.Reason
	e.rec.UpdatedAt = now
	e.expires = now.Add(t.TTL)
	return prev, nil
}

// Get implements store.Idempotency.
func (s *Store) Get(ctx context.Context, k store.Key) (store.Record, bool, error) {
	if err := ctx.Err(); err != nil {
		return store.Record{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	e := s.get(k, now)
	if e == nil {
		return store.Record{}, false, nil
	}
	return s.view(e, now), true, nil
}

// CacheGet implements store.Cache.
func (s *Store) CacheGet(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cache[key]
	if !ok || !s.now().Before(c.expires) {
		delete(s.cache, key)
		return nil, false, nil
	}
	return slices.Clone(c.value), true, nil
}

// CacheSet implements store.Cache.
func (s *Store) CacheSet(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wrote(s.now())
	s.cache[key] = cached{value: slices.Clone(value), expires: s.now().Add(ttl)}
	return nil
}

// TrackingGet implements store.Cache.
func (s *Store) TrackingGet(ctx context.Context, key string) (store.Tracked, bool, error) {
	if err := ctx.Err(); err != nil {
		return store.Tracked{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	t, ok := s.track[key]
	if !ok || !now.Before(t.expires) {
		delete(s.track, key)
		return store.Tracked{}, false, nil
	}
	return store.Tracked{Rank: t.rank, Value: slices.Clone(t.value), Fresh: now.Before(t.freshUntil)}, true, nil
}

// TrackingGetReserve implements store.Cache. The in-process store has no
// shared limiter: it never asks for the slot (the supplier's own limiter
// takes it).
func (s *Store) TrackingGetReserve(ctx context.Context, key string, _ store.SlotRequest) (store.Tracked, bool, store.Slot, error) {
	t, ok, err := s.TrackingGet(ctx, key)
	return t, ok, store.Slot{}, err
}

// TrackingDelete implements store.Cache.
func (s *Store) TrackingDelete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.track, key)
	return nil
}

// TrackingPut implements store.Cache.
func (s *Store) TrackingPut(ctx context.Context, key string, rank int, value []byte, fresh, keep time.Duration) (store.Tracked, error) {
	if err := ctx.Err(); err != nil {
		return store.Tracked{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.wrote(now)
	t, ok := s.track[key]
	// rank >= t.rank: equal progress may carry new parcels; unknown (0)
	// only ever replaces unknown.
	if !ok || !now.Before(t.expires) || rank >= t.rank {
		t = tracked{rank: rank, value: slices.Clone(value)}
	}
	t.freshUntil = now.Add(fresh)
	t.expires = now.Add(keep)
	s.track[key] = t
	return store.Tracked{Rank: t.rank, Value: slices.Clone(t.value), Fresh: true}, nil
}
