package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/store/memstore"
	store "github.com/flowbridge/flowbridge/store/storeapi"
	"github.com/flowbridge/flowbridge/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return memstore.New(nil) })
}

// Expired entries that are never read again are swept, so a long-running
// single instance does not grow without bound.
func TestSweep(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := memstore.New(func() time.Time { return now })
	ctx := context.Background()
	for i := range 10 {
		k := store.Key{Shop: "s", OrderID: fmt.Sprint(i), Purpose: "place"}
		if _, err := s.Claim(ctx, k, store.ClaimRequest{Owner: "o", Lease: time.Minute, TTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
		if err := s.CacheSet(ctx, fmt.Sprint(i), []byte("v"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(2 * time.Hour)
	for i := range 5000 { // enough writes to trigger a sweep
		if err := s.CacheSet(ctx, "live", []byte(fmt.Sprint(i)), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if r, c, _ := s.Len(); r != 0 || c != 1 {
		t.Fatalf("after sweep: %d records, %d cache entries; want 0 and 1", r, c)
	}
}

// The in-process store cannot write journal entries (they name Redis
// keys); a caller wired to pass them is told so instead of losing them.
func TestRefusesJournalEntries(t *testing.T) {
	s := memstore.New(nil)
	ctx := context.Background()
	k := store.Key{Shop: "s", OrderID: "1", Purpose: "place"}
	e := store.Entry{List: "l", Hash: "h", Item: []byte("x"), MaxItems: 1, TTL: time.Hour}
	if _, err := s.Claim(ctx, k, store.ClaimRequest{Owner: "a", Lease: time.Minute, TTL: time.Hour, Journal: &store.ClaimJournal{Fresh: e, Takeover: e}}); !errors.Is(err, store.ErrNoJournal) {
		t.Fatalf("claim with a journal: %v, want ErrNoJournal", err)
	}
	if _, ok, _ := s.Get(ctx, k); ok {
		t.Fatal("the refused claim wrote a record")
	}
	if err := s.Complete(ctx, k, store.Change{Owner: "a", To: store.StatePlaced, TTL: time.Hour, Journal: &e}); !errors.Is(err, store.ErrNoJournal) {
		t.Fatalf("complete with a journal: %v, want ErrNoJournal", err)
	}
}
