package orders

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/store"
	"github.com/flowbridge/flowbridge/store/redisstore"
	"github.com/flowbridge/flowbridge/store/storetest"
)

func key(orderID string) store.Key {
	return store.Key{Shop: shop, OrderID: orderID, Purpose: PurposePlace}
}

// A replica that claimed an order and died before its create left (it was
// waiting for a supplier rate-limit slot) left no sent mark: the takeover
// places the order instead of holding it for review, on a supplier that
// cannot be searched (BTS) too (issue 16, defect 3). A claim that was
// marked sent still goes to review.
func TestPlaceTakeoverOfUnsentClaimPlaces(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, true, nil) // no lookup, like BTS
		st := b.instance()
		svc := newService(st, f.sup, nil)
		ctx := context.Background()
		for _, sent := range []bool{false, true} {
			id := map[bool]string{false: "40", true: "41"}[sent]
			// The dead replica's claim, as it left it.
			if _, err := st.Claim(ctx, key(id), store.ClaimRequest{Owner: "dead", Fingerprint: Fingerprint(f.input(id, "").Order),
				Lease: 50 * time.Millisecond, TTL: time.Hour, Deadline: time.Now().Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
			if sent {
				if err := st.MarkSent(ctx, key(id), "dead"); err != nil {
					t.Fatal(err)
				}
			}
			storetest.Eventually(t, 5*time.Second, "the dead replica's lease to expire", func() bool {
				r, ok := record(t, st, id)
				return ok && r.LeaseExpired
			})
			before := f.creates()
			res, err := svc.Place(ctx, f.input(id, ""))
			if err != nil {
				t.Fatalf("sent=%v: takeover = %v", sent, err)
			}
			if !sent && (res.NeedsReview || res.Outcome != OutcomePlaced || f.creates() != before+1) {
				t.Fatalf("takeover of a never-sent claim = %+v (creates %d→%d); want placed once, no review", res, before, f.creates())
			}
			if sent && (!res.NeedsReview || f.creates() != before) {
				t.Fatalf("takeover of a sent claim = %+v (creates %d→%d); want needs_review and no create", res, before, f.creates())
			}
		}
	})
}

// A claim whose caller gave up before sending anything (its deadline
// passed) frees the order at once: Flow's re-send places it instead of
// hearing 429 for the whole lease (issue 16, defect 2).
func TestPlaceAfterAbandonedClaimDoesNotWaitForTheLease(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, true, nil)
		st := b.instance()
		svc := newService(st, f.sup, nil) // lease 60 s
		ctx := context.Background()
		if _, err := st.Claim(ctx, key("42"), store.ClaimRequest{Owner: "gone", Fingerprint: Fingerprint(f.input("42", "").Order),
			Lease: time.Minute, TTL: time.Hour, Deadline: time.Now().Add(100 * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
		var res PlaceResult
		storetest.Eventually(t, 10*time.Second, "the re-send to be served", func() bool {
			var err error
			res, err = svc.Place(ctx, f.input("42", ""))
			if err != nil && code(err) != problem.CodeInFlight {
				t.Fatalf("re-send = %v", err)
			}
			return err == nil
		})
		if res.NeedsReview || res.Outcome != OutcomePlaced || f.creates() != 1 {
			t.Fatalf("re-send = %+v, creates %d; want placed once", res, f.creates())
		}
	})
}

// Redis is wiped between two deliveries of one order on a supplier that
// cannot be searched (issue 16, defect 4): the epoch marker tells the
// claim, and the order is checked against its Shopify metafield before
// any create; without a way to ask, it is held for review. Never a second
// create.
func TestPlaceAfterStoreLostItsData(t *testing.T) {
	type metafield struct {
		number string
		err    error
	}
	for _, tc := range []struct {
		name      string
		metafield *metafield // nil: not configured
		want      string     // outcome of the re-send after the wipe
		creates   int
	}{
		{"metafield written by stage 1", &metafield{number: "SUP-1"}, OutcomeRecorded, 1},
		{"no metafield (never placed)", &metafield{}, OutcomePlaced, 2},
		{"no token", nil, OutcomeNeedsReview, 1},
		{"other shop", &metafield{err: ErrCannotAsk}, OutcomeNeedsReview, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			admin := redistest.ClientFor(t, srv.URL())
			c, err := redisstore.NewClient(srv.URL())
			if err != nil {
				t.Fatal(err)
			}
			st := redisstore.New(c, redisstore.Options{})
			t.Cleanup(func() { _ = st.Close() })
			ctx := context.Background()
			if _, err := st.InitEpoch(ctx); err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, true, nil)
			asked := 0
			svc := newService(st, f.sup, func(c *Config) {
				c.Lease = 300 * time.Millisecond
				if tc.metafield != nil {
					c.Metafield = func(_ context.Context, sh, id string) (string, bool, error) {
						asked++
						if sh != shop || id != "50" {
							t.Errorf("metafield asked for %s/%s", sh, id)
						}
						return tc.metafield.number, tc.metafield.number != "", tc.metafield.err
					}
				}
			})
			if _, err := svc.Place(ctx, f.input("50", "")); err != nil {
				t.Fatal(err)
			}
			if asked != 0 {
				t.Fatalf("Shopify asked %d times before any loss", asked)
			}
			if err := admin.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			// Right after the loss a call placing the order before it may
			// still be running: 503 store_recovering, nothing sent.
			_, err = svc.Place(ctx, f.input("50", ""))
			if pe := problem.From(err); pe == nil || pe.Code != CodeStoreRecovering || pe.Kind != problem.Unavailable {
				t.Fatalf("re-send right after the wipe = %v; want 503 %s", err, CodeStoreRecovering)
			}
			var res PlaceResult
			storetest.Eventually(t, 10*time.Second, "the recovery hold to end", func() bool {
				res, err = svc.Place(ctx, f.input("50", ""))
				return code(err) != CodeStoreRecovering
			})
			if err != nil || res.Outcome != tc.want {
				t.Fatalf("re-send after the wipe = %+v, %v; want %s", res, err, tc.want)
			}
			if tc.want == OutcomeRecorded && res.SupplierOrderID != "SUP-1" {
				t.Fatalf("recorded number = %q", res.SupplierOrderID)
			}
			if tc.want == OutcomeNeedsReview && !strings.Contains(res.ReviewReason, "lost its data") {
				t.Fatalf("review reason = %q", res.ReviewReason)
			}
			if f.creates() != tc.creates {
				t.Fatalf("supplier creates = %d, want %d", f.creates(), tc.creates)
			}
		})
	}
}

// Redis stops answering between the supplier's create and the completion
// write (issue 16, defect 7): the write is retried, so the record ends
// placed with the number Flow was told, not in_flight (which the next
// call would turn into a false review).
func TestPlaceCompletionRetriedWhenRedisHangs(t *testing.T) {
	srv := redistest.Start(t)
	c, err := redisstore.NewClient(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	st := redisstore.New(c, redisstore.Options{OpTimeout: 150 * time.Millisecond})
	t.Cleanup(func() { _ = st.Close() })
	f := newFixture(t, true, nil)
	resumed := make(chan struct{})
	svc := newService(st, f.sup, func(c *Config) {
		c.Observer = ObserverFunc(func(_ context.Context, o Observation) {
			if o.Event == EventStoreError && o.Op == "complete" {
				select {
				case <-resumed:
				default:
					srv.Resume(t)
					close(resumed)
				}
			}
		})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	type answer struct {
		res PlaceResult
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := svc.Place(ctx, f.input("60", "sandbox:delay=300ms"))
		done <- answer{res, err}
	}()
	// Once the create has been marked sent, Redis hangs.
	storetest.Eventually(t, 10*time.Second, "the create to be marked sent", func() bool {
		r, ok, err := st.Get(ctx, key("60"))
		return err == nil && ok && !r.SentAt.IsZero()
	})
	srv.Pause(t)
	a := <-done
	if a.err != nil || a.res.Outcome != OutcomePlaced {
		t.Fatalf("place = %+v, %v", a.res, a.err)
	}
	select {
	case <-resumed:
	default:
		t.Fatal("the completion write never failed: Redis was not hung in time")
	}
	r, ok, err := st.Get(ctx, key("60"))
	if err != nil || !ok || r.State != store.StatePlaced || !strings.Contains(string(r.Result), a.res.SupplierOrderID) {
		t.Fatalf("record after the hang = %+v (found=%v, %v); want placed with %s", r, ok, err, a.res.SupplierOrderID)
	}
}

// While Redis hangs, /tracking asks the supplier directly: the cache costs
// one bounded read, then is skipped for a few seconds; by Shopify order
// (which needs the record) it is a quick 503 (issue 16, defect 1).
func TestTrackWhileRedisHangs(t *testing.T) {
	srv := redistest.Start(t)
	c, err := redisstore.NewClient(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	st := redisstore.New(c, redisstore.Options{OpTimeout: 2 * time.Second})
	t.Cleanup(func() { _ = st.Close() })
	f := newFixture(t, false, nil)
	svc := newService(st, f.sup, nil)
	ctx := context.Background()
	res, err := svc.Place(ctx, f.input("70", ""))
	if err != nil {
		t.Fatal(err)
	}
	srv.Pause(t)
	for i := range 3 {
		start := time.Now()
		tr, err := svc.Track(ctx, TrackInput{Shop: shop, SupplierOrderID: res.SupplierOrderID})
		if err != nil || tr.SupplierOrderID != res.SupplierOrderID || tr.Cached {
			t.Fatalf("track #%d with Redis stopped = %+v, %v; want the supplier's answer", i+1, tr, err)
		}
		// The first call pays the cache read bound (500 ms); the next ones skip the cache.
		if took := time.Since(start); took > 1500*time.Millisecond || (i > 0 && took > 300*time.Millisecond) {
			t.Fatalf("track #%d with Redis stopped took %v", i+1, took)
		}
	}
	start := time.Now()
	_, err = svc.Track(ctx, TrackInput{Shop: shop, ShopifyOrderID: "70"})
	if pe := problem.From(err); pe == nil || pe.Kind != problem.Unavailable || time.Since(start) > 3*time.Second {
		t.Fatalf("track by Shopify order with Redis stopped = %v after %v; want a quick 503", err, time.Since(start))
	}
}
