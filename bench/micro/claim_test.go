package micro

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/store/redisstore"
	store "github.com/flowbridge/flowbridge/store/storeapi"
)

// BenchmarkClaim is the idempotency claim on a real Redis (a private
// redis-server, or REDIS_URL): a first claim, and the claim a replay makes.
func BenchmarkClaim(b *testing.B) {
	s := redisstore.New(redistest.Client(b), redisstore.Options{Prefix: redistest.Prefix(b)})
	ctx := context.Background()
	req := store.ClaimRequest{Owner: "a", Fingerprint: "fp", Lease: time.Minute, TTL: time.Hour}
	b.Run("first", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := s.Claim(ctx, store.Key{Shop: "s", OrderID: "n" + strconv.Itoa(i), Purpose: "place"}, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("replay", func(b *testing.B) {
		k := store.Key{Shop: "s", OrderID: "placed", Purpose: "place"}
		if _, err := s.Claim(ctx, k, req); err != nil {
			b.Fatal(err)
		}
		if err := s.Complete(ctx, k, store.Change{Owner: "a", To: store.StatePlaced, Result: []byte(`{"supplier_order_id":"700000000001"}`), TTL: time.Hour}); err != nil {
			b.Fatal(err)
		}
		other := req
		other.Owner = "b"
		for b.Loop() {
			r, err := s.Claim(ctx, k, other)
			if err != nil || r.Status != store.ClaimDone {
				b.Fatal(r.Status, err)
			}
		}
	})
}

// TestClaimOnce: a second owner never wins a claim the first holds.
func TestClaimOnce(t *testing.T) {
	s := redisstore.New(redistest.Client(t), redisstore.Options{Prefix: redistest.Prefix(t)})
	ctx := context.Background()
	k := store.Key{Shop: "s", OrderID: "1", Purpose: "place"}
	first, err := s.Claim(ctx, k, store.ClaimRequest{Owner: "a", Fingerprint: "fp", Lease: time.Minute, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Claim(ctx, k, store.ClaimRequest{Owner: "b", Fingerprint: "fp", Lease: time.Minute, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != store.ClaimFresh || second.Status != store.ClaimBusy {
		t.Fatalf("claims answered %v then %v, want fresh then busy", first.Status, second.Status)
	}
}
