// Package storetest is the conformance suite every store implementation
// passes: Run(t, factory) from the implementation's own tests.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	store "github.com/flowbridge/flowbridge/store/storeapi"
)

// Factory returns an empty store for one subtest (or one whose keys no
// other subtest sees).
type Factory func(t *testing.T) store.Store

const (
	long = time.Minute
	ttl  = time.Hour
)

// Eventually polls cond every few milliseconds until it holds or timeout
// passes. Polling a condition (a lease that expires by the store's clock)
// is the synchronisation; nothing waits a fixed time.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

func key(purpose string) store.Key {
	return store.Key{Shop: "shop.example", OrderID: "1001", Purpose: purpose}
}

func claim(owner string) store.ClaimRequest {
	return store.ClaimRequest{Owner: owner, Fingerprint: "fp-" + owner, Lease: long, TTL: ttl}
}

// Run runs the suite.
func Run(t *testing.T, newStore Factory) {
	ctx := context.Background()
	k := key("place")

	t.Run("fresh claim, then busy for others, same answer for a re-sent claim", func(t *testing.T) {
		s := newStore(t)
		r, err := s.Claim(ctx, k, claim("a"))
		if err != nil || r.Status != store.ClaimFresh {
			t.Fatalf("first claim = %v, %v; want fresh", r.Status, err)
		}
		if r.Record.State != store.StateInFlight || r.Record.Owner != "a" || r.Record.Fingerprint != "fp-a" || r.Record.Attempts != 1 {
			t.Fatalf("record after claim = %+v", r.Record)
		}
		b, err := s.Claim(ctx, k, claim("b"))
		if err != nil || b.Status != store.ClaimBusy {
			t.Fatalf("second owner = %v, %v; want busy", b.Status, err)
		}
		if b.RetryAfter <= 0 || b.RetryAfter > long {
			t.Fatalf("RetryAfter = %v, want in (0, %v]", b.RetryAfter, long)
		}
		// go-redis re-sends a script whose reply was lost: the same owner
		// must still hear "fresh", not "busy".
		again, err := s.Claim(ctx, k, claim("a"))
		if err != nil || again.Status != store.ClaimFresh {
			t.Fatalf("re-sent claim = %v, %v; want fresh", again.Status, err)
		}
	})

	t.Run("only one of many concurrent claimants wins", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, busy := 0, 0
		for i := range 64 {
			wg.Go(func() {
				r, err := s.Claim(ctx, k, claim(fmt.Sprint("o", i)))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Errorf("claim: %v", err)
				case r.Status.Won():
					won++
				case r.Status == store.ClaimBusy:
					busy++
				}
			})
		}
		wg.Wait()
		if won != 1 || busy != 63 {
			t.Fatalf("won=%d busy=%d, want 1 and 63", won, busy)
		}
	})

	t.Run("complete compares the owner and is safe to re-send", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Claim(ctx, k, claim("a")); err != nil {
			t.Fatal(err)
		}
		res := []byte(`{"supplier_order_id":"S1"}`)
		if err := s.Complete(ctx, k, store.Change{Owner: "b", To: store.StatePlaced, Result: res, TTL: ttl}); !errors.Is(err, store.ErrNotOwner) {
			t.Fatalf("complete by stranger = %v, want ErrNotOwner", err)
		}
		for range 2 {
			if err := s.Complete(ctx, k, store.Change{Owner: "a", To: store.StatePlaced, Result: res, TTL: ttl}); err != nil {
				t.Fatalf("complete by owner = %v", err)
			}
		}
		if err := s.Complete(ctx, k, store.Change{Owner: "a", To: store.StateRejected, TTL: ttl}); !errors.Is(err, store.ErrNotOwner) {
			t.Fatalf("changing a final record = %v, want ErrNotOwner", err)
		}
		d, err := s.Claim(ctx, k, claim("c"))
		if err != nil || d.Status != store.ClaimDone {
			t.Fatalf("claim after complete = %v, %v; want done", d.Status, err)
		}
		if d.Record.State != store.StatePlaced || !bytes.Equal(d.Record.Result, res) || d.Record.Fingerprint != "fp-a" {
			t.Fatalf("done record = %+v", d.Record)
		}
	})

	t.Run("final states are done for every claimant", func(t *testing.T) {
		for _, st := range []store.State{store.StatePlaced, store.StateRejected, store.StateNeedsReview} {
			s := newStore(t)
			kk := key("final-" + string(st))
			if _, err := s.Claim(ctx, kk, claim("a")); err != nil {
				t.Fatal(err)
			}
			if err := s.Complete(ctx, kk, store.Change{Owner: "a", To: st, Reason: "why", TTL: ttl}); err != nil {
				t.Fatal(err)
			}
			for _, owner := range []string{"a", "b"} {
				req := claim(owner)
				req.Fingerprint = "fp-a" // the same payload
				r, err := s.Claim(ctx, kk, req)
				if err != nil || r.Status != store.ClaimDone || r.Record.State != st || r.Record.Reason != "why" {
					t.Fatalf("%s: claim by %s = %v %+v, %v", st, owner, r.Status, r.Record, err)
				}
			}
		}
	})

	t.Run("a rejection is final for its payload, not for a corrected one", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Claim(ctx, k, claim("a")); err != nil {
			t.Fatal(err)
		}
		if err := s.Complete(ctx, k, store.Change{Owner: "a", To: store.StateRejected, Result: []byte("no_stock"), TTL: ttl}); err != nil {
			t.Fatal(err)
		}
		same := claim("b")
		same.Fingerprint = "fp-a"
		if r, err := s.Claim(ctx, k, same); err != nil || r.Status != store.ClaimDone || string(r.Record.Result) != "no_stock" {
			t.Fatalf("same payload = %v %+v, %v; want done", r.Status, r.Record, err)
		}
		r, err := s.Claim(ctx, k, claim("c"))
		if err != nil || r.Status != store.ClaimTakeover || r.Previous != store.StateRejected || r.Record.Fingerprint != "fp-c" {
			t.Fatalf("changed payload = %v prev=%v %+v, %v; want takeover", r.Status, r.Previous, r.Record, err)
		}
		again, err := s.Claim(ctx, k, claim("c"))
		if err != nil || again.Status != store.ClaimTakeover || again.Previous != store.StateRejected {
			t.Fatalf("re-sent = %v prev=%v, %v", again.Status, again.Previous, err)
		}
	})

	t.Run("release frees the record; only the owner may release", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Claim(ctx, k, claim("a")); err != nil {
			t.Fatal(err)
		}
		if err := s.Release(ctx, k, "b"); !errors.Is(err, store.ErrNotOwner) {
			t.Fatalf("release by stranger = %v", err)
		}
		for range 2 { // a re-sent release finds nothing and is fine
			if err := s.Release(ctx, k, "a"); err != nil {
				t.Fatalf("release = %v", err)
			}
		}
		if _, ok, err := s.Get(ctx, k); ok || err != nil {
			t.Fatalf("record after release: found=%v err=%v", ok, err)
		}
		r, err := s.Claim(ctx, k, claim("b"))
		if err != nil || r.Status != store.ClaimFresh {
			t.Fatalf("claim after release = %v, %v", r.Status, err)
		}
	})

	t.Run("unknown is taken over at once and must be reconciled", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Claim(ctx, k, claim("a")); err != nil {
			t.Fatal(err)
		}
		if err := s.Complete(ctx, k, store.Change{Owner: "a", To: store.StateUnknown, TTL: ttl}); err != nil {
			t.Fatal(err)
		}
		r, err := s.Claim(ctx, k, claim("b"))
		if err != nil || r.Status != store.ClaimTakeover || r.Previous != store.StateUnknown {
			t.Fatalf("claim over unknown = %v prev=%v, %v", r.Status, r.Previous, err)
		}
		if r.Record.Attempts != 2 || r.Record.Owner != "b" || r.Record.Fingerprint != "fp-a" || r.Record.PreviousClaimAt.IsZero() || r.Record.PreviousClaimAt.After(r.Record.ClaimedAt) {
			t.Fatalf("record after takeover = %+v", r.Record)
		}
		again, err := s.Claim(ctx, k, claim("b"))
		if err != nil || again.Status != store.ClaimTakeover || again.Previous != store.StateUnknown {
			t.Fatalf("re-sent takeover = %v prev=%v, %v", again.Status, again.Previous, err)
		}
		if err := s.Complete(ctx, k, store.Change{Owner: "a", To: store.StatePlaced, TTL: ttl}); !errors.Is(err, store.ErrNotOwner) {
			t.Fatalf("old owner completing = %v, want ErrNotOwner", err)
		}
	})

	t.Run("expired lease by the store clock is taken over; the old owner is fenced", func(t *testing.T) {
		s := newStore(t)
		req := claim("a")
		req.Lease = 40 * time.Millisecond
		if _, err := s.Claim(ctx, k, req); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkSent(ctx, k, "a"); err != nil {
			t.Fatalf("mark sent = %v", err)
		}
		Eventually(t, 5*time.Second, "the lease to expire", func() bool {
			r, ok, err := s.Get(ctx, k)
			return err == nil && ok && r.LeaseExpired
		})
		r, err := s.Claim(ctx, k, claim("b"))
		if err != nil || r.Status != store.ClaimTakeover || r.Previous != store.StateExpired {
			t.Fatalf("claim over expired lease = %v prev=%v, %v", r.Status, r.Previous, err)
		}
		if !r.Record.SentAt.IsZero() {
			t.Fatalf("the new holder inherited the sent mark: %+v", r.Record)
		}
		if err := s.Renew(ctx, k, "a", long); !errors.Is(err, store.ErrNotOwner) {
			t.Fatalf("old owner renewing = %v", err)
		}
		if err := s.Release(ctx, k, "a"); !errors.Is(err, store.ErrNotOwner) {
			t.Fatalf("old owner releasing = %v", err)
		}
		if a, err := s.Claim(ctx, k, claim("a")); err != nil || a.Status != store.ClaimBusy {
			t.Fatalf("old owner claiming again = %v, %v; want busy", a.Status, err)
		}
	})

	t.Run("an expired lease that never sent is taken over as unsent", func(t *testing.T) {
		s := newStore(t)
		req := claim("a")
		req.Lease = 40 * time.Millisecond
		if _, err := s.Claim(ctx, k, req); err != nil {
			t.Fatal(err)
		}
		Eventually(t, 5*time.Second, "the lease to expire", func() bool {
			r, ok, err := s.Get(ctx, k)
			return err == nil && ok && r.LeaseExpired
		})
		if err := s.MarkSent(ctx, k, "a"); !errors.Is(err, store.ErrNotOwner) {
			t.Fatalf("mark sent after the lease expired = %v, want ErrNotOwner", err)
		}
		r, err := s.Claim(ctx, k, claim("b"))
		if err != nil || r.Status != store.ClaimTakeover || r.Previous != store.StateUnsent {
			t.Fatalf("claim over an unsent expired lease = %v prev=%v, %v", r.Status, r.Previous, err)
		}
	})

	t.Run("mark sent: only the holder, once, safe to re-send", func(t *testing.T) {
		s := newStore(t)
		req := claim("a")
		req.Deadline = time.Now().Add(long)
		if _, err := s.Claim(ctx, k, req); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkSent(ctx, k, "b"); !errors.Is(err, store.ErrNotOwner) {
			t.Fatalf("mark sent by a stranger = %v, want ErrNotOwner", err)
		}
		for i := range 2 {
			if err := s.MarkSent(ctx, k, "a"); err != nil {
				t.Fatalf("mark sent #%d = %v", i+1, err)
			}
		}
		r, _, err := s.Get(ctx, k)
		if err != nil || r.SentAt.IsZero() || r.Deadline.IsZero() {
			t.Fatalf("record after mark sent = %+v, %v", r, err)
		}
		// Sent, lease live: busy for everyone else, deadline or not.
		if b, err := s.Claim(ctx, k, claim("b")); err != nil || b.Status != store.ClaimBusy {
			t.Fatalf("claim over a sent lease = %v, %v; want busy", b.Status, err)
		}
	})

	t.Run("a claim that runs after its caller's deadline holds nothing", func(t *testing.T) {
		s := newStore(t)
		req := claim("a")
		req.Deadline = time.Now().Add(-time.Second)
		if _, err := s.Claim(ctx, k, req); !errors.Is(err, store.ErrDeadline) {
			t.Fatalf("late claim = %v, want ErrDeadline", err)
		}
		if _, ok, err := s.Get(ctx, k); err != nil || ok {
			t.Fatalf("a late claim left a record (found=%v, %v)", ok, err)
		}
		if r, err := s.Claim(ctx, k, claim("b")); err != nil || r.Status != store.ClaimFresh {
			t.Fatalf("next claim = %v, %v; want fresh", r.Status, err)
		}
	})

	t.Run("an unsent claim is free once its holder's deadline passed", func(t *testing.T) {
		s := newStore(t)
		req := claim("a")
		dl := time.Now().Add(50 * time.Millisecond)
		req.Deadline = dl
		if _, err := s.Claim(ctx, k, req); err != nil {
			t.Fatal(err)
		}
		if b, err := s.Claim(ctx, k, claim("b")); err != nil || b.Status != store.ClaimBusy {
			t.Fatalf("claim before the holder's deadline = %v, %v; want busy", b.Status, err)
		}
		var r store.ClaimResult
		Eventually(t, 5*time.Second, "the holder's deadline to pass", func() bool {
			var err error
			r, err = s.Claim(ctx, k, claim("b"))
			return err == nil && r.Status != store.ClaimBusy
		})
		if r.Status != store.ClaimTakeover || r.Previous != store.StateUnsent {
			t.Fatalf("claim after the holder's deadline = %v prev=%v; want takeover of unsent", r.Status, r.Previous)
		}
		if err := s.MarkSent(ctx, k, "a"); !errors.Is(err, store.ErrNotOwner) {
			t.Fatalf("old holder marking sent = %v, want ErrNotOwner", err)
		}
	})

	t.Run("the holder cannot mark sent after its deadline", func(t *testing.T) {
		s := newStore(t)
		req := claim("a")
		dl := time.Now().Add(30 * time.Millisecond)
		req.Deadline = dl
		if _, err := s.Claim(ctx, k, req); err != nil {
			t.Fatal(err)
		}
		Eventually(t, 5*time.Second, "the deadline to pass", func() bool { return time.Now().After(dl.Add(20 * time.Millisecond)) })
		if err := s.MarkSent(ctx, k, "a"); !errors.Is(err, store.ErrDeadline) {
			t.Fatalf("mark sent after the deadline = %v, want ErrDeadline", err)
		}
	})

	t.Run("renew extends the owner's lease", func(t *testing.T) {
		s := newStore(t)
		req := claim("a")
		req.Lease = 40 * time.Millisecond
		first, err := s.Claim(ctx, k, req)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Renew(ctx, k, "a", long); err != nil {
			t.Fatalf("renew = %v", err)
		}
		r, _, err := s.Get(ctx, k)
		if err != nil || !r.LeaseUntil.After(first.Record.LeaseUntil.Add(30*time.Second)) {
			t.Fatalf("lease after renew = %v (was %v), %v", r.LeaseUntil, first.Record.LeaseUntil, err)
		}
		if err := s.Renew(ctx, k, "b", long); !errors.Is(err, store.ErrNotOwner) {
			t.Fatalf("renew by stranger = %v", err)
		}
	})

	t.Run("complete writes a record the store lost", func(t *testing.T) {
		s := newStore(t)
		if err := s.Complete(ctx, k, store.Change{Owner: "a", To: store.StatePlaced, Result: []byte("x"), TTL: ttl}); err != nil {
			t.Fatalf("complete on missing = %v", err)
		}
		r, ok, err := s.Get(ctx, k)
		if err != nil || !ok || r.State != store.StatePlaced || string(r.Result) != "x" {
			t.Fatalf("record = %+v found=%v err=%v", r, ok, err)
		}
	})

	t.Run("transitions", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Claim(ctx, k, claim("a")); err != nil {
			t.Fatal(err)
		}
		review := store.Transition{Token: "op1", From: []store.State{store.StateNeedsReview, store.StateUnknown, store.StateExpired}, To: store.StatePlaced, Result: []byte("S9"), TTL: ttl}
		prev, err := s.Transition(ctx, k, review)
		if !errors.Is(err, store.ErrConflict) || prev.State != store.StateInFlight {
			t.Fatalf("transition from a live lease = %v prev=%v; want conflict", err, prev.State)
		}
		if err := s.Complete(ctx, k, store.Change{Owner: "a", To: store.StateNeedsReview, Reason: "check", TTL: ttl}); err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second is a re-send and must succeed too
			prev, err = s.Transition(ctx, k, review)
			if err != nil {
				t.Fatalf("transition = %v", err)
			}
		}
		r, _, _ := s.Get(ctx, k)
		if r.State != store.StatePlaced || string(r.Result) != "S9" {
			t.Fatalf("after transition = %+v", r)
		}
		other := review
		other.Token = "op2"
		if _, err := s.Transition(ctx, k, other); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second operator = %v; want conflict", err)
		}
		del := store.Transition{Token: "op3", From: []store.State{store.StatePlaced, store.StateAbsent}, To: store.StateAbsent}
		for range 2 {
			if _, err := s.Transition(ctx, k, del); err != nil {
				t.Fatalf("delete = %v", err)
			}
		}
		if _, ok, _ := s.Get(ctx, k); ok {
			t.Fatal("record still there after delete")
		}
		ins := store.Transition{Token: "op4", From: []store.State{store.StateAbsent}, To: store.StatePlaced, Result: []byte("S10"), TTL: ttl}
		if prev, err := s.Transition(ctx, k, ins); err != nil || prev.State != store.StateAbsent {
			t.Fatalf("insert = %v prev=%v", err, prev.State)
		}
		d, err := s.Claim(ctx, k, claim("z"))
		if err != nil || d.Status != store.ClaimDone || string(d.Record.Result) != "S10" {
			t.Fatalf("claim after insert = %v %+v %v", d.Status, d.Record, err)
		}
	})

	t.Run("records expire after their TTL", func(t *testing.T) {
		s := newStore(t)
		req := claim("a")
		req.TTL = 40 * time.Millisecond
		if _, err := s.Claim(ctx, k, req); err != nil {
			t.Fatal(err)
		}
		Eventually(t, 5*time.Second, "the record to expire", func() bool {
			_, ok, err := s.Get(ctx, k)
			return err == nil && !ok
		})
	})

	t.Run("keys are separate per shop, order and purpose", func(t *testing.T) {
		s := newStore(t)
		keys := []store.Key{k, {Shop: "other.example", OrderID: "1001", Purpose: "place"}, {Shop: "shop.example", OrderID: "1002", Purpose: "place"}, key("cancel")}
		for _, kk := range keys {
			r, err := s.Claim(ctx, kk, claim("a"))
			if err != nil || r.Status != store.ClaimFresh {
				t.Fatalf("%v: %v %v", kk, r.Status, err)
			}
		}
	})

	t.Run("cache", func(t *testing.T) {
		s := newStore(t)
		if _, ok, err := s.CacheGet(ctx, "rates:x"); ok || err != nil {
			t.Fatalf("empty cache: %v %v", ok, err)
		}
		if err := s.CacheSet(ctx, "rates:x", []byte("v1"), 40*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		v, ok, err := s.CacheGet(ctx, "rates:x")
		if err != nil || !ok || string(v) != "v1" {
			t.Fatalf("get = %q %v %v", v, ok, err)
		}
		Eventually(t, 5*time.Second, "the cache entry to expire", func() bool {
			_, ok, err := s.CacheGet(ctx, "rates:x")
			return err == nil && !ok
		})
	})

	t.Run("tracking never regresses", func(t *testing.T) {
		s := newStore(t)
		const tk = "shop.example:S1"
		put := func(rank int, v string) store.Tracked {
			t.Helper()
			got, err := s.TrackingPut(ctx, tk, rank, []byte(v), long, ttl)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		steps := []struct {
			rank      int
			value     string
			wantRank  int
			wantValue string
		}{
			{0, "unknown-1", 0, "unknown-1"},
			{2, "processing", 2, "processing"},
			{3, "shipped", 3, "shipped"},
			{3, "shipped-2-parcels", 3, "shipped-2-parcels"},
			{2, "processing-again", 3, "shipped-2-parcels"},
			{0, "unknown-2", 3, "shipped-2-parcels"},
			{4, "delivered", 4, "delivered"},
		}
		for _, st := range steps {
			got := put(st.rank, st.value)
			if got.Rank != st.wantRank || string(got.Value) != st.wantValue {
				t.Fatalf("put %d %q → %d %q; want %d %q", st.rank, st.value, got.Rank, got.Value, st.wantRank, st.wantValue)
			}
			read, ok, err := s.TrackingGet(ctx, tk)
			if err != nil || !ok || read.Rank != st.wantRank || string(read.Value) != st.wantValue || !read.Fresh {
				t.Fatalf("get after put %q = %+v %v %v", st.value, read, ok, err)
			}
		}
	})

	t.Run("tracking entries go stale but are kept", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.TrackingPut(ctx, "t2", 3, []byte("shipped"), 40*time.Millisecond, ttl); err != nil {
			t.Fatal(err)
		}
		Eventually(t, 5*time.Second, "the entry to go stale", func() bool {
			r, ok, err := s.TrackingGet(ctx, "t2")
			return err == nil && ok && !r.Fresh && string(r.Value) == "shipped"
		})
		if _, ok, err := s.TrackingGet(ctx, "missing"); ok || err != nil {
			t.Fatalf("missing entry: %v %v", ok, err)
		}
	})

	t.Run("a released tracking entry is forgotten, rank included", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.TrackingPut(ctx, "t3", 3, []byte("shipped"), time.Hour, ttl); err != nil {
			t.Fatal(err)
		}
		if err := s.TrackingDelete(ctx, "t3"); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.TrackingGet(ctx, "t3"); ok || err != nil {
			t.Fatalf("after delete: found=%v err=%v", ok, err)
		}
		// With the rank gone, a lower status is stored as it is.
		held, err := s.TrackingPut(ctx, "t3", 2, []byte("processing"), time.Hour, ttl)
		if err != nil || held.Rank != 2 || string(held.Value) != "processing" {
			t.Fatalf("put after delete: %+v %v", held, err)
		}
		if err := s.TrackingDelete(ctx, "never-stored"); err != nil {
			t.Fatalf("deleting a missing entry: %v", err)
		}
	})

	t.Run("ping", func(t *testing.T) {
		if err := newStore(t).Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
