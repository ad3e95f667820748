package redisstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/store/redisstore"
	store "github.com/flowbridge/flowbridge/store/storeapi"
)

// go test -run '^$' -bench . -benchtime 5000x ./store/redisstore
func BenchmarkClaim(b *testing.B) {
	c := redistest.Client(b)
	s := redisstore.New(c, redisstore.Options{Prefix: redistest.Prefix(b)})
	ctx := context.Background()
	req := store.ClaimRequest{Owner: "o", Fingerprint: "fp", Lease: time.Minute, TTL: time.Hour}
	b.Run("fresh", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := s.Claim(ctx, store.Key{Shop: "s", OrderID: "f" + strconv.Itoa(i), Purpose: "place"}, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fresh+complete", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			k := store.Key{Shop: "s", OrderID: "c" + strconv.Itoa(i), Purpose: "place"}
			if _, err := s.Claim(ctx, k, req); err != nil {
				b.Fatal(err)
			}
			if err := s.Complete(ctx, k, store.Change{Owner: "o", To: store.StatePlaced, Result: []byte(`{"supplier_order_id":"700000000001"}`), TTL: time.Hour}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("replay", func(b *testing.B) {
		k := store.Key{Shop: "s", OrderID: "done", Purpose: "place"}
		if _, err := s.Claim(ctx, k, req); err != nil {
			b.Fatal(err)
		}
		if err := s.Complete(ctx, k, store.Change{Owner: "o", To: store.StatePlaced, Result: []byte(`{"supplier_order_id":"700000000001"}`), TTL: time.Hour}); err != nil {
			b.Fatal(err)
		}
		other := req
		other.Owner = "p"
		for b.Loop() {
			r, err := s.Claim(ctx, k, other)
			if err != nil || r.Status != store.ClaimDone {
				b.Fatal(r.Status, err)
			}
		}
	})
}
