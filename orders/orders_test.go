package orders

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/store"
	"github.com/flowbridge/flowbridge/store/memstore"
	"github.com/flowbridge/flowbridge/store/redisstore"
	"github.com/flowbridge/flowbridge/store/storetest"
	"github.com/flowbridge/flowbridge/supplier"
)

const shop = "shop.example"

// backend opens stores for one test: every store returned by instance
// shares data with the others (one Redis with one key prefix, or one
// in-process store), each with its own connection where there is one.
type backend struct {
	name     string
	instance func() store.Store
	// kill makes an instance's store unreachable (a killed process).
	kill func(store.Store)
}

func backends(t *testing.T) []func(t *testing.T) backend {
	return []func(t *testing.T) backend{
		func(t *testing.T) backend {
			url := redistest.URL(t)
			prefix := redistest.Prefix(t)
			return backend{name: "redis", instance: func() store.Store {
				return redisstore.New(redistest.ClientFor(t, url), redisstore.Options{Prefix: prefix})
			}, kill: func(s store.Store) { _ = s.Close() }}
		},
		func(t *testing.T) backend {
			m := memstore.New(nil)
			return backend{name: "memory", instance: func() store.Store { return m }}
		},
	}
}

// eachBackend runs f against Redis and the in-process store.
func eachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for i, open := range backends(t) {
		name := []string{"redis", "memory"}[i]
		t.Run(name, func(t *testing.T) { f(t, open(t)) })
	}
}

func newService(st store.Store, sup supplier.Supplier, mod func(*Config)) *Service {
	cfg := Config{Supplier: sup, Store: st, Shop: shop}
	if mod != nil {
		mod(&cfg)
	}
	return New(cfg)
}

func input(orderID, trigger string) PlaceInput {
	return PlaceInput{Shop: shop, OrderID: orderID, Order: supplier.Order{
		Name:   "#" + orderID,
		ShipTo: supplier.Address{FirstName: "Ana", LastName: "G", Address1: "Calle 1", Address2: trigger, City: "Valencia", PostalCode: "46005", CountryCode: "ES"},
		Lines:  []supplier.Line{{EAN: "8400000000017", Quantity: 2}}, ShippingRateID: "r1",
	}}
}

func code(err error) string {
	if pe := problem.From(err); pe != nil {
		return pe.Code
	}
	return ""
}

func record(t *testing.T, st store.Store, orderID string) (store.Record, bool) {
	t.Helper()
	r, ok, err := st.Get(context.Background(), store.Key{Shop: shop, OrderID: orderID, Purpose: PurposePlace})
	if err != nil {
		t.Fatal(err)
	}
	return r, ok
}

// Three instances, 50 orders, 100 identical concurrent calls per order:
// exactly one create per order, one supplier number per order, every
// other answer in_flight (429) or a replay.
func TestPlaceConcurrentInstances(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		sup := newStandIn(false)
		var svcs []*Service
		for range 3 {
			svcs = append(svcs, newService(b.instance(), sup, nil))
		}
		const orders, calls = 50, 100
		type answer struct {
			number string
			err    error
		}
		answers := make([][]answer, orders)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for o := range orders {
			answers[o] = make([]answer, calls)
			for c := range calls {
				wg.Go(func() {
					<-start
					res, err := svcs[c%3].Place(context.Background(), input(fmt.Sprint(9000+o), ""))
					answers[o][c] = answer{res.SupplierOrderID, err}
				})
			}
		}
		close(start)
		wg.Wait()
		if got := sup.creates.Load(); got != orders {
			t.Fatalf("supplier creates = %d, want %d", got, orders)
		}
		for o := range orders {
			numbers := map[string]int{}
			for _, a := range answers[o] {
				switch {
				case a.err == nil:
					numbers[a.number]++
				case code(a.err) != problem.CodeInFlight || problem.From(a.err).RetryAfter < time.Second:
					t.Fatalf("order %d: unexpected error %v", o, a.err)
				}
			}
			if len(numbers) != 1 {
				t.Fatalf("order %d: successful answers carry %d different numbers: %v", o, len(numbers), numbers)
			}
			for n := range numbers {
				if p, _ := sup.placedFor(fmt.Sprint(9000 + o)); p.SupplierOrderID != n || n == "" {
					t.Fatalf("order %d: answered %q, supplier has %q", o, n, p.SupplierOrderID)
				}
			}
		}
		if d := sup.duplicates(); d != 0 {
			t.Fatalf("%d orders created twice", d)
		}
	})
}

func TestPlaceReplaysAndPayloadChange(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		sup := newStandIn(false)
		svc := newService(b.instance(), sup, nil)
		ctx := context.Background()
		first, err := svc.Place(ctx, input("1", ""))
		if err != nil || first.Outcome != OutcomePlaced || first.Replay || first.SupplierOrderID == "" {
			t.Fatalf("first = %+v, %v", first, err)
		}
		gid := input("1", "")
		gid.OrderID = "gid://shopify/Order/1"
		again, err := svc.Place(ctx, gid)
		if err != nil || !again.Replay || again.Outcome != OutcomeReplayed || again.SupplierOrderID != first.SupplierOrderID || again.PayloadChanged || again.FirstOutcome != OutcomePlaced {
			t.Fatalf("replay = %+v, %v", again, err)
		}
		changed := input("1", "")
		changed.Order.Lines[0].Quantity = 3
		ch, err := svc.Place(ctx, changed)
		if err != nil || !ch.Replay || !ch.PayloadChanged || ch.SupplierOrderID != first.SupplierOrderID {
			t.Fatalf("changed payload = %+v, %v", ch, err)
		}
		if sup.creates.Load() != 1 {
			t.Fatalf("creates = %d", sup.creates.Load())
		}
	})
}

func TestPlaceRejectedIsStoredAndSafeFailureReleased(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		sup := newStandIn(false)
		st := b.instance()
		svc := newService(st, sup, nil)
		ctx := context.Background()
		for range 2 {
			_, err := svc.Place(ctx, input("2", "sandbox:no-stock"))
			if pe := problem.From(err); pe == nil || pe.Kind != problem.Rejected || pe.Code != problem.CodeNoStock {
				t.Fatalf("rejected = %v", err)
			}
		}
		if r, _ := record(t, st, "2"); r.State != store.StateRejected {
			t.Fatalf("state = %v", r.State)
		}
		// The stored rejection is returned even when the payload would now succeed.
		if _, err := svc.Place(ctx, input("2", "")); code(err) != problem.CodeNoStock {
			t.Fatalf("replayed rejection = %v", err)
		}

		_, err := svc.Place(ctx, input("3", "sandbox:fail-before-create"))
		if code(err) != problem.CodeSupplierUnavailable {
			t.Fatalf("safe failure = %v", err)
		}
		if _, ok := record(t, st, "3"); ok {
			t.Fatal("record kept after a safe failure")
		}
		res, err := svc.Place(ctx, input("3", ""))
		if err != nil || res.Outcome != OutcomePlaced {
			t.Fatalf("retry after safe failure = %+v, %v", res, err)
		}
		if sup.creates.Load() != 1 || sup.duplicates() != 0 {
			t.Fatalf("creates = %d", sup.creates.Load())
		}
	})
}

// The supplier creates the order and the answer is lost. With lookup the
// next call adopts it; without, the order waits for a person.
func TestPlaceUnknownOutcome(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		t.Run("with lookup: the next call reconciles", func(t *testing.T) {
			sup := newStandIn(false)
			svc := newService(b.instance(), sup, nil)
			_, err := svc.Place(ctx, input("10", "sandbox:drop-after-create"))
			pe := problem.From(err)
			if pe == nil || pe.Kind != problem.Unavailable || pe.Code != problem.CodeSupplierUnavailable || pe.RetryAfter <= 0 {
				t.Fatalf("first call = %v", err)
			}
			want, _ := sup.placedFor("10")
			for i := range 3 {
				res, err := svc.Place(ctx, input("10", ""))
				if err != nil || res.SupplierOrderID != want.SupplierOrderID {
					t.Fatalf("call %d = %+v, %v; want %s", i, res, err, want.SupplierOrderID)
				}
				if i == 0 && res.Outcome != OutcomeReconciled {
					t.Fatalf("second call outcome = %s, want reconciled", res.Outcome)
				}
			}
			if sup.creates.Load() != 1 || sup.duplicates() != 0 {
				t.Fatalf("creates = %d", sup.creates.Load())
			}
		})
		t.Run("without lookup: needs review, then resolved by an operator", func(t *testing.T) {
			sup := newStandIn(true)
			svc := newService(b.instance(), sup, nil)
			res, err := svc.Place(ctx, input("11", "sandbox:drop-after-create"))
			if err != nil || !res.NeedsReview || res.Outcome != OutcomeNeedsReview {
				t.Fatalf("first call = %+v, %v", res, err)
			}
			for _, want := range []string{"#11", "standin portal", "--adopt", "--release", "/admin/orders/11/resolve", "UTC"} {
				if !strings.Contains(res.ReviewReason, want) {
					t.Fatalf("review reason lacks %q: %s", want, res.ReviewReason)
				}
			}
			if strings.Contains(res.ReviewReason, "Ana") || strings.Contains(res.ReviewReason, "Calle") {
				t.Fatalf("review reason leaks customer data: %s", res.ReviewReason)
			}
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					r, err := svc.Place(ctx, input("11", ""))
					if err != nil || !r.NeedsReview {
						t.Errorf("retry = %+v, %v", r, err)
					}
				})
			}
			wg.Wait()
			if sup.creates.Load() != 1 {
				t.Fatalf("creates = %d after retries", sup.creates.Load())
			}
			found, _ := sup.placedFor("11")
			rec, err := svc.Resolve(ctx, shop, "11", Resolution{Action: ResolveAdopt, SupplierOrderID: found.SupplierOrderID})
			if err != nil || rec.State != store.StatePlaced || rec.SupplierOrderID != found.SupplierOrderID {
				t.Fatalf("resolve = %+v, %v", rec, err)
			}
			after, err := svc.Place(ctx, input("11", ""))
			if err != nil || !after.Replay || after.SupplierOrderID != found.SupplierOrderID || after.FirstOutcome != OutcomeResolved {
				t.Fatalf("after resolve = %+v, %v", after, err)
			}
			if _, err := svc.Resolve(ctx, shop, "11", Resolution{Action: ResolveRelease}); code(err) != CodeResolveConflict {
				t.Fatalf("release of a placed order = %v", err)
			}
			if sup.creates.Load() != 1 || sup.duplicates() != 0 {
				t.Fatalf("creates = %d", sup.creates.Load())
			}
		})
		t.Run("without lookup: release lets the next call place afresh", func(t *testing.T) {
			sup := newStandIn(true)
			svc := newService(b.instance(), sup, nil)
			if res, err := svc.Place(ctx, input("12", "sandbox:drop-after-create")); err != nil || !res.NeedsReview {
				t.Fatalf("first = %+v, %v", res, err)
			}
			if rec, err := svc.Resolve(ctx, shop, "12", Resolution{Action: ResolveRelease}); err != nil || rec.State != store.StateAbsent {
				t.Fatalf("release = %+v, %v", rec, err)
			}
			res, err := svc.Place(ctx, input("12", ""))
			if err != nil || res.Outcome != OutcomePlaced {
				t.Fatalf("after release = %+v, %v", res, err)
			}
		})
	})
}

// The lease holder dies mid-call (its context is cancelled and, with
// Redis, its connection goes away so it cannot write anything). Once the
// lease has expired by the store's clock the next call reconciles.
func TestPlaceLeaseHolderKilled(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		sup := newStandIn(false)
		short := func(c *Config) { c.Lease = 300 * time.Millisecond }
		stA, stB := b.instance(), b.instance()
		a, bsvc := newService(stA, sup, short), newService(stB, sup, short)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := a.Place(ctx, input("20", "sandbox:delay=1m"))
			done <- err
		}()
		if ref := <-sup.started; ref != "20" {
			t.Fatalf("started %q", ref)
		}
		if b.kill != nil {
			b.kill(stA)
		}
		cancel()
		if err := <-done; err == nil {
			t.Fatal("the killed call succeeded")
		}
		// Meanwhile another call is turned away while the lease lives (or
		// reconciles at once if the holder managed to record "unknown").
		storetest.Eventually(t, 10*time.Second, "the lease to expire or the outcome to be unknown", func() bool {
			r, ok := record(t, stB, "20")
			return ok && (r.LeaseExpired || r.State == store.StateUnknown)
		})
		res, err := bsvc.Place(context.Background(), input("20", ""))
		want, _ := sup.placedFor("20")
		if err != nil || res.Outcome != OutcomeReconciled || res.SupplierOrderID != want.SupplierOrderID {
			t.Fatalf("after expiry = %+v, %v; want reconciled %s", res, err, want.SupplierOrderID)
		}
		if sup.creates.Load() != 1 || sup.duplicates() != 0 {
			t.Fatalf("creates = %d", sup.creates.Load())
		}
	})
}

// Redis goes away: 503 and no supplier call. It comes back empty: the
// order metafield and the supplier lookup keep orders from being created
// twice.
func TestPlaceRedisStoppedAndRestartedEmpty(t *testing.T) {
	for _, lookup := range []bool{true, false} {
		t.Run(fmt.Sprintf("lookup=%v", lookup), func(t *testing.T) {
			srv := redistest.Start(t)
			sup := newStandIn(!lookup)
			st := redisstore.New(redistest.ClientFor(t, srv.URL()), redisstore.Options{})
			svc := newService(st, sup, nil)
			ctx := context.Background()
			placed := map[string]string{}
			for _, id := range []string{"30", "31"} {
				res, err := svc.Place(ctx, input(id, ""))
				if err != nil {
					t.Fatal(err)
				}
				placed[id] = res.SupplierOrderID
			}
			creates, lookups := sup.creates.Load(), sup.lookups.Load()

			srv.Stop()
			for _, id := range []string{"30", "31", "32"} {
				_, err := svc.Place(ctx, input(id, ""))
				pe := problem.From(err)
				if pe == nil || pe.Kind != problem.Unavailable || pe.Code != problem.CodeStoreUnavailable || pe.RetryAfter <= 0 {
					t.Fatalf("order %s with Redis down = %v", id, err)
				}
			}
			if sup.creates.Load() != creates || sup.lookups.Load() != lookups {
				t.Fatalf("supplier called while Redis was down: creates %d→%d lookups %d→%d", creates, sup.creates.Load(), lookups, sup.lookups.Load())
			}
			if err := svc.Store().Ping(ctx); err == nil {
				t.Fatal("ping succeeded with Redis down")
			}

			srv.Restart(t)
			rec := input("30", "")
			rec.Recorded = placed["30"]
			res, err := svc.Place(ctx, rec)
			if err != nil || res.Outcome != OutcomeRecorded || res.SupplierOrderID != placed["30"] {
				t.Fatalf("recorded after restart = %+v, %v", res, err)
			}
			if again, err := svc.Place(ctx, input("30", "")); err != nil || again.SupplierOrderID != placed["30"] || !again.Replay {
				t.Fatalf("replay after recorded = %+v, %v", again, err)
			}
			if lookup {
				res, err := svc.Place(ctx, input("31", ""))
				if err != nil || res.Outcome != OutcomeReconciled || res.SupplierOrderID != placed["31"] {
					t.Fatalf("found by reference after restart = %+v, %v", res, err)
				}
			}
			if sup.creates.Load() != creates || sup.duplicates() != 0 {
				t.Fatalf("created again after restart: %d → %d", creates, sup.creates.Load())
			}
			if res, err := svc.Place(ctx, input("32", "")); err != nil || res.Outcome != OutcomePlaced {
				t.Fatalf("new order after restart = %+v, %v", res, err)
			}
		})
	}
}

func TestPlaceRecordedNeverCreates(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		sup := newStandIn(false)
		svc := newService(b.instance(), sup, nil)
		ctx := context.Background()
		in := input("40", "")
		in.Recorded = "EXISTING-1"
		for range 2 {
			res, err := svc.Place(ctx, in)
			if err != nil || res.SupplierOrderID != "EXISTING-1" || !res.Replay {
				t.Fatalf("recorded = %+v, %v", res, err)
			}
		}
		res, err := svc.Place(ctx, input("40", ""))
		if err != nil || res.SupplierOrderID != "EXISTING-1" || res.FirstOutcome != OutcomeRecorded {
			t.Fatalf("after recorded = %+v, %v", res, err)
		}
		if sup.creates.Load() != 0 || sup.lookups.Load() != 0 {
			t.Fatalf("supplier called: creates %d lookups %d", sup.creates.Load(), sup.lookups.Load())
		}
	})
}

func TestResolveRules(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		sup := newStandIn(true)
		st := b.instance()
		svc := newService(st, sup, nil)
		ctx := context.Background()
		tests := []struct {
			name     string
			setup    func(id string)
			res      Resolution
			wantCode string
		}{
			{"adopt without number", nil, Resolution{Action: ResolveAdopt}, problem.CodeValidation},
			{"unknown action", nil, Resolution{Action: "delete"}, problem.CodeValidation},
			{"adopt with no record", nil, Resolution{Action: ResolveAdopt, SupplierOrderID: "S-1"}, ""},
			{"release with no record", nil, Resolution{Action: ResolveRelease}, ""},
			{"adopt over a live lease", func(id string) {
				if _, err := st.Claim(ctx, store.Key{Shop: shop, OrderID: id, Purpose: PurposePlace}, store.ClaimRequest{Owner: "x", Lease: time.Minute, TTL: time.Hour}); err != nil {
					t.Fatal(err)
				}
			}, Resolution{Action: ResolveAdopt, SupplierOrderID: "S-2"}, CodeResolveConflict},
			{"adopt over a rejection", func(id string) {
				_, _ = svc.Place(ctx, input(id, "sandbox:no-stock"))
			}, Resolution{Action: ResolveAdopt, SupplierOrderID: "S-3"}, ""},
			{"adopt over placed", func(id string) {
				if _, err := svc.Place(ctx, input(id, "")); err != nil {
					t.Fatal(err)
				}
			}, Resolution{Action: ResolveAdopt, SupplierOrderID: "S-4"}, CodeResolveConflict},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				id := fmt.Sprint(500 + i)
				if tt.setup != nil {
					tt.setup(id)
				}
				_, err := svc.Resolve(ctx, shop, id, tt.res)
				if code(err) != tt.wantCode {
					t.Fatalf("err = %v, want code %q", err, tt.wantCode)
				}
				if tt.wantCode == CodeResolveConflict && problem.From(err).Status != 409 {
					t.Fatalf("status = %d", problem.From(err).Status)
				}
			})
		}
	})
}

func TestTrackCacheNeverRegresses(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		sup := newStandIn(false)
		st := b.instance()
		svc := newService(st, sup, func(c *Config) { c.TrackingTTL = time.Millisecond })
		ctx := context.Background()
		placed, err := svc.Place(ctx, input("50", ""))
		if err != nil {
			t.Fatal(err)
		}
		id := placed.SupplierOrderID
		sup.setStatus(id, supplier.StatusShipped)
		got, err := svc.Track(ctx, TrackInput{Shop: shop, ShopifyOrderID: "50"})
		if err != nil || got.Status != supplier.StatusShipped || got.SupplierOrderID != id || got.Cached {
			t.Fatalf("first track = %+v, %v", got, err)
		}
		// The supplier regresses (a stale replica, say). Wait until the
		// cache entry is stale so the supplier is asked again.
		sup.setStatus(id, supplier.StatusProcessing)
		storetest.Eventually(t, 5*time.Second, "the tracking entry to go stale", func() bool {
			e, ok, err := st.TrackingGet(ctx, store.CacheKey(shop, sup.Name(), id))
			return err == nil && ok && !e.Fresh
		})
		calls := sup.trackings.Load()
		got, err = svc.Track(ctx, TrackInput{Shop: shop, SupplierOrderID: id})
		if err != nil || got.Status != supplier.StatusShipped || len(got.Parcels) != 1 {
			t.Fatalf("after regression = %+v, %v; want shipped", got, err)
		}
		if sup.trackings.Load() != calls+1 {
			t.Fatal("the supplier was not asked again")
		}
		if _, err := svc.Track(ctx, TrackInput{Shop: shop, ShopifyOrderID: "404"}); code(err) != problem.CodeOrderNotFound {
			t.Fatalf("unknown shopify order = %v", err)
		}
	})
}

func TestTrackServesFreshCache(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		sup := newStandIn(false)
		svc := newService(b.instance(), sup, nil)
		ctx := context.Background()
		sup.setStatus("S-7", supplier.StatusPending)
		for i := range 7 {
			got, err := svc.Track(ctx, TrackInput{Shop: shop, SupplierOrderID: "S-7"})
			if err != nil || got.Cached != (i > 0) {
				t.Fatalf("track %d = %+v, %v", i, got, err)
			}
		}
		if sup.trackings.Load() != 1 {
			t.Fatalf("supplier asked %d times", sup.trackings.Load())
		}
	})
}

func TestRatesCache(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		sup := newStandIn(false)
		svc := newService(b.instance(), sup, nil)
		ctx := context.Background()
		req := func(lines ...supplier.Line) RatesInput {
			return RatesInput{Shop: shop, Request: supplier.RateRequest{CountryCode: "es", PostalCode: "46 005", Lines: lines}}
		}
		l1, l2 := supplier.Line{EAN: "1", Quantity: 1}, supplier.Line{EAN: "2", Quantity: 3}
		first, err := svc.Rates(ctx, req(l1, l2))
		if err != nil || first.Cached || first.Chosen.Carrier != "GLS" {
			t.Fatalf("first = %+v, %v", first, err)
		}
		second, err := svc.Rates(ctx, req(l2, l1)) // same cart, other order
		if err != nil || !second.Cached || second.Chosen.ID != first.Chosen.ID {
			t.Fatalf("second = %+v, %v", second, err)
		}
		if _, err := svc.Rates(ctx, req(l1)); err != nil {
			t.Fatal(err)
		}
		if sup.rates.Load() != 2 {
			t.Fatalf("supplier rates calls = %d, want 2", sup.rates.Load())
		}
	})
}

func TestNormalizeOrderID(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"123", "123", true},
		{" 123 ", "123", true},
		{"gid://shopify/Order/456", "456", true},
		{"gid://shopify/Order/456?x=1", "456", true},
		{"gid://shopify/Customer/456", "", false},
		{"", "", false},
		{"12a", "", false},
		{"{1}", "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeOrderID(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeOrderID(%q) = %q, %v", tt.in, got, ok)
		}
	}
}

func TestFingerprintIsCanonical(t *testing.T) {
	a := input("1", "").Order
	b := a
	b.Lines = []supplier.Line{{EAN: "2", Quantity: 1}, a.Lines[0]}
	c := a
	c.Lines = []supplier.Line{a.Lines[0], {EAN: "2", Quantity: 1}}
	c.ShipTo.CountryCode = " es"
	c.Reference, c.TestMode = "999", true
	if Fingerprint(b) != Fingerprint(c) {
		t.Fatal("line order, case or reference changed the fingerprint")
	}
	d := b
	d.ShipTo.Address1 = "Calle 2"
	if Fingerprint(b) == Fingerprint(d) {
		t.Fatal("a different address has the same fingerprint")
	}
}

func TestObserverAndStoreErrors(t *testing.T) {
	srv := redistest.Start(t)
	var mu sync.Mutex
	seen := map[Event]int{}
	obs := ObserverFunc(func(_ context.Context, o Observation) {
		mu.Lock()
		defer mu.Unlock()
		seen[o.Event]++
	})
	sup := newStandIn(false)
	svc := newService(redisstore.New(redistest.ClientFor(t, srv.URL()), redisstore.Options{}), sup, func(c *Config) { c.Observer = obs })
	ctx := context.Background()
	if _, err := svc.Place(ctx, input("60", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Place(ctx, input("60", "")); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	_, err := svc.Place(ctx, input("61", ""))
	if !errors.Is(err, err) || code(err) != problem.CodeStoreUnavailable {
		t.Fatal(err)
	}
	for _, e := range []Event{EventClaimWon, EventCreated, EventReplay, EventStoreError} {
		if seen[e] == 0 {
			t.Errorf("no %s event (saw %v)", e, seen)
		}
	}
}
