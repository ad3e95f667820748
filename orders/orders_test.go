package orders

import (
	"context"
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
	"github.com/flowbridge/flowbridge/supplier/sandbox"
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
				// A generous operation bound: these tests burst thousands of
				// concurrent calls through a race-detector build on shared
				// cores, and are about exactly-once, not latency (the bound
				// has tests of its own in store/redisstore and faults_test.go).
				return redisstore.New(redistest.ClientFor(t, url), redisstore.Options{Prefix: prefix, OpTimeout: time.Minute})
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
	svc, err := New(cfg)
	if err != nil {
		panic(err) // a test set-up mistake
	}
	return svc
}

// fixture is a sandbox supplier and a rate id it quoted for the test
// address.
type fixture struct {
	sup  *sandbox.Supplier
	rate string
}

func newFixture(t *testing.T, disableLookup bool, now func() time.Time) *fixture {
	t.Helper()
	sup := sandbox.New(sandbox.Config{DisableLookup: disableLookup, Now: now})
	rates, err := sup.Rates(context.Background(), supplier.RateRequest{CountryCode: "ES", PostalCode: "46005", Lines: []supplier.Line{mug}})
	if err != nil || len(rates) == 0 {
		t.Fatalf("sandbox rates: %v %v", rates, err)
	}
	return &fixture{sup: sup, rate: rates[0].ID}
}

var (
	mug        = supplier.Line{EAN: "8400000000017", Quantity: 2}
	tablecloth = supplier.Line{EAN: "8400000000062", Quantity: 1} // out of stock in the sandbox
)

func (f *fixture) input(orderID, trigger string) PlaceInput {
	o := order(f.rate, trigger)
	o.Name = "#" + orderID
	return PlaceInput{Shop: shop, OrderID: orderID, Order: o}
}

func order(rate, trigger string) supplier.Order {
	return supplier.Order{
		Name:   "#1001",
		ShipTo: supplier.Address{FirstName: "Ana", LastName: "G", Address1: "Calle 1", Address2: trigger, City: "Valencia", PostalCode: "46005", CountryCode: "ES"},
		Lines:  []supplier.Line{mug}, ShippingRateID: rate,
	}
}

func (f *fixture) outOfStock(orderID string) PlaceInput {
	in := f.input(orderID, "")
	in.Order.Lines = []supplier.Line{tablecloth}
	return in
}

func (f *fixture) creates() int { return f.sup.Stats().Creates }
func (f *fixture) finds() int   { return f.sup.Stats().FindCalls }

// found is the sandbox order created for a Shopify order (lookup enabled).
func (f *fixture) found(t *testing.T, ref string) supplier.Placed {
	t.Helper()
	p, ok, err := f.sup.FindOrder(context.Background(), ref)
	if err != nil || !ok {
		t.Fatalf("sandbox has no order for %s: %v", ref, err)
	}
	return p
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
// Without lookup only the store stands between the calls and a second
// order; with lookup the supplier check backs it up.
func TestPlaceConcurrentInstances(t *testing.T) {
	for _, lookup := range []bool{false, true} {
		t.Run(fmt.Sprintf("lookup=%v", lookup), func(t *testing.T) { concurrentInstances(t, lookup) })
	}
}

func concurrentInstances(t *testing.T, lookup bool) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, !lookup, nil)
		var svcs []*Service
		for range 3 {
			svcs = append(svcs, newService(b.instance(), f.sup, nil))
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
					res, err := svcs[c%3].Place(context.Background(), f.input(fmt.Sprint(9000+o), ""))
					if err == nil && (res.NeedsReview || res.SupplierOrderID == "") {
						err = fmt.Errorf("unexpected answer %+v", res)
					}
					answers[o][c] = answer{res.SupplierOrderID, err}
				})
			}
		}
		close(start)
		wg.Wait()
		if got := f.creates(); got != orders {
			t.Fatalf("supplier creates = %d, want %d", got, orders)
		}
		busy := 0
		for o := range orders {
			numbers := map[string]int{}
			for _, a := range answers[o] {
				switch {
				case a.err == nil:
					numbers[a.number]++
				case code(a.err) == problem.CodeInFlight && problem.From(a.err).Kind == problem.Busy && problem.From(a.err).RetryAfter >= time.Second:
					busy++
				default:
					t.Fatalf("order %d: unexpected error %v", o, a.err)
				}
			}
			if len(numbers) != 1 {
				t.Fatalf("order %d: successful answers carry %d different numbers: %v", o, len(numbers), numbers)
			}
			if lookup {
				for n := range numbers {
					if p := f.found(t, fmt.Sprint(9000+o)); p.SupplierOrderID != n {
						t.Fatalf("order %d: answered %q, supplier has %q", o, n, p.SupplierOrderID)
					}
				}
			}
		}
		t.Logf("%d calls: %d creates, %d answered in_flight (429), the rest placed or replayed", orders*calls, f.creates(), busy)
	})
}

func TestPlaceReplaysAndPayloadChange(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, false, nil)
		svc := newService(b.instance(), f.sup, nil)
		ctx := context.Background()
		first, err := svc.Place(ctx, f.input("1", ""))
		if err != nil || first.Outcome != OutcomePlaced || first.Replay || first.SupplierOrderID == "" {
			t.Fatalf("first = %+v, %v", first, err)
		}
		gid := f.input("1", "")
		gid.OrderID = "gid://shopify/Order/1"
		again, err := svc.Place(ctx, gid)
		if err != nil || !again.Replay || again.Outcome != OutcomeReplayed || again.SupplierOrderID != first.SupplierOrderID || again.PayloadChanged || again.FirstOutcome != OutcomePlaced {
			t.Fatalf("replay = %+v, %v", again, err)
		}
		changed := f.input("1", "")
		changed.Order.Lines[0].Quantity = 3
		ch, err := svc.Place(ctx, changed)
		if err != nil || !ch.Replay || !ch.PayloadChanged || ch.SupplierOrderID != first.SupplierOrderID {
			t.Fatalf("changed payload = %+v, %v", ch, err)
		}
		if f.creates() != 1 {
			t.Fatalf("creates = %d", f.creates())
		}
	})
}

func TestPlaceRejectedIsStoredAndSafeFailureReleased(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, false, nil)
		st := b.instance()
		svc := newService(st, f.sup, nil)
		ctx := context.Background()
		for range 2 {
			_, err := svc.Place(ctx, f.outOfStock("2"))
			if pe := problem.From(err); pe == nil || pe.Kind != problem.Rejected || pe.Code != problem.CodeNoStock {
				t.Fatalf("rejected = %v", err)
			}
		}
		if r, _ := record(t, st, "2"); r.State != store.StateRejected {
			t.Fatalf("state = %v", r.State)
		}
		if f.sup.Stats().CreateCalls != 1 {
			t.Fatalf("the same refused payload reached the supplier %d times", f.sup.Stats().CreateCalls)
		}
		// The merchant fixes the order (another product): a refusal
		// created nothing, so the corrected payload is placed.
		fixed, err := svc.Place(ctx, f.input("2", ""))
		if err != nil || fixed.Outcome != OutcomePlaced {
			t.Fatalf("corrected payload = %+v, %v", fixed, err)
		}

		_, err = svc.Place(ctx, f.input("3", "sandbox:fail-before-create"))
		if code(err) != problem.CodeSupplierUnavailable {
			t.Fatalf("safe failure = %v", err)
		}
		if _, ok := record(t, st, "3"); ok {
			t.Fatal("record kept after a safe failure")
		}
		res, err := svc.Place(ctx, f.input("3", ""))
		if err != nil || res.Outcome != OutcomePlaced {
			t.Fatalf("retry after safe failure = %+v, %v", res, err)
		}
		if f.creates() != 2 {
			t.Fatalf("creates = %d", f.creates())
		}
	})
}

// The supplier creates the order and the answer is lost. With lookup the
// next call adopts it; without, the order waits for a person.
func TestPlaceUnknownOutcome(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		t.Run("with lookup: the next call reconciles", func(t *testing.T) {
			f := newFixture(t, false, nil)
			svc := newService(b.instance(), f.sup, nil)
			_, err := svc.Place(ctx, f.input("10", "sandbox:drop-after-create"))
			pe := problem.From(err)
			if pe == nil || pe.Kind != problem.Unavailable || pe.Code != problem.CodeSupplierUnavailable || pe.RetryAfter <= 0 {
				t.Fatalf("first call = %v", err)
			}
			want := f.found(t, "10")
			for i := range 3 {
				res, err := svc.Place(ctx, f.input("10", ""))
				if err != nil || res.SupplierOrderID != want.SupplierOrderID {
					t.Fatalf("call %d = %+v, %v; want %s", i, res, err, want.SupplierOrderID)
				}
				if i == 0 && res.Outcome != OutcomeReconciled {
					t.Fatalf("second call outcome = %s, want reconciled", res.Outcome)
				}
			}
			if f.creates() != 1 {
				t.Fatalf("creates = %d", f.creates())
			}
		})
		t.Run("without lookup: needs review, then resolved by an operator", func(t *testing.T) {
			f := newFixture(t, true, nil)
			svc := newService(b.instance(), f.sup, nil)
			res, err := svc.Place(ctx, f.input("11", "sandbox:drop-after-create"))
			if err != nil || !res.NeedsReview || res.Outcome != OutcomeNeedsReview {
				t.Fatalf("first call = %+v, %v", res, err)
			}
			for _, want := range []string{"#11", "sandbox portal", "--adopt", "--release", "/admin/orders/11/resolve", "UTC"} {
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
					r, err := svc.Place(ctx, f.input("11", ""))
					if err != nil || !r.NeedsReview {
						t.Errorf("retry = %+v, %v", r, err)
					}
				})
			}
			wg.Wait()
			if f.creates() != 1 {
				t.Fatalf("creates = %d after retries", f.creates())
			}
			// Lookup is off, so ask by number: the sandbox numbers orders
			// 700000000001, 700000000002, ... and this is its first.
			found, err := f.sup.Tracking(ctx, "700000000001")
			if err != nil || f.creates() != 1 {
				t.Fatalf("sandbox order: %v", err)
			}
			rec, err := svc.Resolve(ctx, shop, "11", Resolution{Action: ResolveAdopt, SupplierOrderID: found.SupplierOrderID})
			if err != nil || rec.State != store.StatePlaced || rec.SupplierOrderID != found.SupplierOrderID {
				t.Fatalf("resolve = %+v, %v", rec, err)
			}
			after, err := svc.Place(ctx, f.input("11", ""))
			if err != nil || !after.Replay || after.SupplierOrderID != found.SupplierOrderID || after.FirstOutcome != OutcomeResolved {
				t.Fatalf("after resolve = %+v, %v", after, err)
			}
			if _, err := svc.Resolve(ctx, shop, "11", Resolution{Action: ResolveRelease}); code(err) != CodeResolveConflict {
				t.Fatalf("release of a placed order = %v", err)
			}
			if f.creates() != 1 {
				t.Fatalf("creates = %d", f.creates())
			}
		})
		t.Run("supplier slower than our deadline", func(t *testing.T) {
			for _, lookup := range []bool{true, false} {
				f := newFixture(t, !lookup, nil)
				svc := newService(b.instance(), f.sup, func(c *Config) { c.SupplierTimeout = 50 * time.Millisecond })
				id := fmt.Sprint("13", map[bool]int{true: 1, false: 2}[lookup])
				in := f.input(id, "sandbox:delay=1m")
				first, err := svc.Place(ctx, in)
				if lookup {
					if code(err) != problem.CodeSupplierUnavailable {
						t.Fatalf("lookup=%v: first = %+v, %v", lookup, first, err)
					}
					res, err := svc.Place(ctx, in)
					if err != nil || res.Outcome != OutcomeReconciled || res.SupplierOrderID != f.found(t, id).SupplierOrderID {
						t.Fatalf("after deadline = %+v, %v", res, err)
					}
				} else {
					if err != nil || !first.NeedsReview {
						t.Fatalf("lookup=%v: first = %+v, %v", lookup, first, err)
					}
					if res, err := svc.Place(ctx, in); err != nil || !res.NeedsReview {
						t.Fatalf("after deadline = %+v, %v", res, err)
					}
				}
				if f.creates() != 1 {
					t.Fatalf("lookup=%v: creates = %d", lookup, f.creates())
				}
			}
		})
		t.Run("without lookup: release lets the next call place afresh", func(t *testing.T) {
			f := newFixture(t, true, nil)
			svc := newService(b.instance(), f.sup, nil)
			if res, err := svc.Place(ctx, f.input("12", "sandbox:drop-after-create")); err != nil || !res.NeedsReview {
				t.Fatalf("first = %+v, %v", res, err)
			}
			if rec, err := svc.Resolve(ctx, shop, "12", Resolution{Action: ResolveRelease}); err != nil || rec.State != store.StateAbsent {
				t.Fatalf("release = %+v, %v", rec, err)
			}
			res, err := svc.Place(ctx, f.input("12", ""))
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
		f := newFixture(t, false, nil)
		short := func(c *Config) { c.Lease = 300 * time.Millisecond }
		stA, stB := b.instance(), b.instance()
		a, bsvc := newService(stA, f.sup, short), newService(stB, f.sup, short)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := a.Place(ctx, f.input("20", "sandbox:delay=1m"))
			done <- err
		}()
		// The sandbox creates the order, then holds the answer back.
		storetest.Eventually(t, 10*time.Second, "the sandbox to create the order", func() bool { return f.creates() == 1 })
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
		res, err := bsvc.Place(context.Background(), f.input("20", ""))
		want := f.found(t, "20")
		if err != nil || res.Outcome != OutcomeReconciled || res.SupplierOrderID != want.SupplierOrderID {
			t.Fatalf("after expiry = %+v, %v; want reconciled %s", res, err, want.SupplierOrderID)
		}
		if f.creates() != 1 {
			t.Fatalf("creates = %d", f.creates())
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
			f := newFixture(t, !lookup, nil)
			st := redisstore.New(redistest.ClientFor(t, srv.URL()), redisstore.Options{})
			svc := newService(st, f.sup, nil)
			ctx := context.Background()
			placed := map[string]string{}
			for _, id := range []string{"30", "31"} {
				res, err := svc.Place(ctx, f.input(id, ""))
				if err != nil {
					t.Fatal(err)
				}
				placed[id] = res.SupplierOrderID
			}
			creates, lookups := f.creates(), f.finds()

			srv.Stop()
			for _, id := range []string{"30", "31", "32"} {
				_, err := svc.Place(ctx, f.input(id, ""))
				pe := problem.From(err)
				if pe == nil || pe.Kind != problem.Unavailable || pe.Code != problem.CodeStoreUnavailable || pe.RetryAfter <= 0 {
					t.Fatalf("order %s with Redis down = %v", id, err)
				}
			}
			if f.creates() != creates || f.finds() != lookups {
				t.Fatalf("supplier called while Redis was down: creates %d→%d lookups %d→%d", creates, f.creates(), lookups, f.finds())
			}
			if err := svc.Store().Ping(ctx); err == nil {
				t.Fatal("ping succeeded with Redis down")
			}

			srv.Restart(t)
			rec := f.input("30", "")
			rec.Recorded = placed["30"]
			res, err := svc.Place(ctx, rec)
			if err != nil || res.Outcome != OutcomeRecorded || res.SupplierOrderID != placed["30"] {
				t.Fatalf("recorded after restart = %+v, %v", res, err)
			}
			if again, err := svc.Place(ctx, f.input("30", "")); err != nil || again.SupplierOrderID != placed["30"] || !again.Replay {
				t.Fatalf("replay after recorded = %+v, %v", again, err)
			}
			if lookup {
				res, err := svc.Place(ctx, f.input("31", ""))
				if err != nil || res.Outcome != OutcomeReconciled || res.SupplierOrderID != placed["31"] {
					t.Fatalf("found by reference after restart = %+v, %v", res, err)
				}
			}
			if f.creates() != creates {
				t.Fatalf("created again after restart: %d → %d", creates, f.creates())
			}
			if res, err := svc.Place(ctx, f.input("32", "")); err != nil || res.Outcome != OutcomePlaced {
				t.Fatalf("new order after restart = %+v, %v", res, err)
			}
		})
	}
}

func TestPlaceRecordedNeverCreates(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, false, nil)
		svc := newService(b.instance(), f.sup, nil)
		ctx := context.Background()
		in := f.input("40", "")
		in.Recorded = "EXISTING-1"
		for range 2 {
			res, err := svc.Place(ctx, in)
			if err != nil || res.SupplierOrderID != "EXISTING-1" || !res.Replay {
				t.Fatalf("recorded = %+v, %v", res, err)
			}
		}
		res, err := svc.Place(ctx, f.input("40", ""))
		if err != nil || res.SupplierOrderID != "EXISTING-1" || res.FirstOutcome != OutcomeRecorded || res.Outcome != OutcomeReplayed {
			t.Fatalf("after recorded = %+v, %v", res, err)
		}
		// Placed by flowbridge first, then the number comes back from the
		// metafield: recorded, same number, nothing created.
		placed, err := svc.Place(ctx, f.input("41", ""))
		if err != nil {
			t.Fatal(err)
		}
		back := f.input("41", "")
		back.Recorded = placed.SupplierOrderID
		if res, err := svc.Place(ctx, back); err != nil || res.Outcome != OutcomeRecorded || res.SupplierOrderID != placed.SupplierOrderID || !res.Replay {
			t.Fatalf("recorded over placed = %+v, %v", res, err)
		}
		other := f.input("41", "")
		other.Recorded = "OTHER-9"
		if res, err := svc.Place(ctx, other); err != nil || res.Outcome != OutcomeRecorded || res.SupplierOrderID != "OTHER-9" {
			t.Fatalf("recorded mismatch = %+v, %v", res, err)
		}
		if f.creates() != 1 || f.finds() != 1 {
			t.Fatalf("supplier called: creates %d lookups %d (want only order 41's)", f.creates(), f.finds())
		}
	})
}

func TestResolveRules(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, true, nil)
		st := b.instance()
		svc := newService(st, f.sup, nil)
		ctx := context.Background()
		tests := []struct {
			name     string
			setup    func(id string)
			res      Resolution
			wantCode string
		}{
			{"adopt without number", nil, Resolution{Action: ResolveAdopt}, problem.CodeValidation},
			{"unknown action", nil, Resolution{Action: "delete"}, problem.CodeValidation},
			{"adopt with no record", nil, Resolution{Action: ResolveAdopt, SupplierOrderID: "S-1"}, problem.CodeOrderNotFound},
			{"adopt a new order", nil, Resolution{Action: ResolveAdopt, SupplierOrderID: "S-1", NewOrder: true}, ""},
			{"release with no record", nil, Resolution{Action: ResolveRelease}, problem.CodeOrderNotFound},
			{"release with no record, even when new", nil, Resolution{Action: ResolveRelease, NewOrder: true}, problem.CodeOrderNotFound},
			{"adopt over a live lease", func(id string) {
				if _, err := st.Claim(ctx, store.Key{Shop: shop, OrderID: id, Purpose: PurposePlace}, store.ClaimRequest{Owner: "x", Lease: time.Minute, TTL: time.Hour}); err != nil {
					t.Fatal(err)
				}
			}, Resolution{Action: ResolveAdopt, SupplierOrderID: "S-2"}, CodeResolveConflict},
			{"adopt over a rejection", func(id string) {
				_, _ = svc.Place(ctx, f.outOfStock(id))
			}, Resolution{Action: ResolveAdopt, SupplierOrderID: "S-3"}, ""},
			{"adopt over placed", func(id string) {
				if _, err := svc.Place(ctx, f.input(id, "")); err != nil {
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
				// The kind says what happened; the status is the edge's business.
				if tt.wantCode == CodeResolveConflict && (problem.From(err).Kind != problem.Conflict || problem.From(err).Status != 0) {
					t.Fatalf("kind = %v, status = %d; want conflict and no status", problem.From(err).Kind, problem.From(err).Status)
				}
			})
		}
	})
}

// The sandbox follows a virtual clock; moving it back makes the supplier
// report less progress (like a stale replica would). The cache must keep
// the shipped status.
func TestTrackCacheNeverRegresses(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		var mu sync.Mutex
		start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		clock := start
		now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
		set := func(t time.Time) { mu.Lock(); defer mu.Unlock(); clock = t }
		f := newFixture(t, false, now)
		st := b.instance()
		svc := newService(st, f.sup, func(c *Config) { c.TrackingTTL = time.Millisecond })
		ctx := context.Background()
		placed, err := svc.Place(ctx, f.input("50", ""))
		if err != nil {
			t.Fatal(err)
		}
		id := placed.SupplierOrderID
		set(start.Add(4 * time.Minute)) // past ShipAfter (3m)
		got, err := svc.Track(ctx, TrackInput{Shop: shop, ShopifyOrderID: "50"})
		if err != nil || got.Status != supplier.StatusShipped || got.SupplierOrderID != id || got.Cached || len(got.Parcels) != 1 {
			t.Fatalf("first track = %+v, %v", got, err)
		}
		set(start) // the supplier now says pending
		if direct, _ := f.sup.Tracking(ctx, id); direct.Status != supplier.StatusPending {
			t.Fatalf("sandbox status after moving the clock back = %s", direct.Status)
		}
		storetest.Eventually(t, 5*time.Second, "the tracking entry to go stale", func() bool {
			e, ok, err := st.TrackingGet(ctx, store.CacheKey(shop, f.sup.Name(), id))
			return err == nil && ok && !e.Fresh
		})
		calls := f.sup.Stats().TrackingCalls
		got, err = svc.Track(ctx, TrackInput{Shop: shop, SupplierOrderID: id})
		if err != nil || got.Status != supplier.StatusShipped || len(got.Parcels) != 1 {
			t.Fatalf("after regression = %+v, %v; want shipped", got, err)
		}
		if f.sup.Stats().TrackingCalls != calls+1 {
			t.Fatal("the supplier was not asked again")
		}
		if _, err := svc.Track(ctx, TrackInput{Shop: shop, ShopifyOrderID: "404"}); code(err) != problem.CodeOrderNotFound {
			t.Fatalf("unknown shopify order = %v", err)
		}
		if _, err := svc.Track(ctx, TrackInput{Shop: shop, SupplierOrderID: "799999999999"}); code(err) != problem.CodeOrderNotFound {
			t.Fatalf("unknown supplier order = %v", err)
		}
	})
}

func TestTrackServesFreshCache(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, false, nil)
		svc := newService(b.instance(), f.sup, nil)
		ctx := context.Background()
		placed, err := svc.Place(ctx, f.input("51", ""))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 7 {
			got, err := svc.Track(ctx, TrackInput{Shop: shop, SupplierOrderID: placed.SupplierOrderID})
			if err != nil || got.Cached != (i > 0) || got.Status != supplier.StatusPending {
				t.Fatalf("track %d = %+v, %v", i, got, err)
			}
		}
		if n := f.sup.Stats().TrackingCalls; n != 1 {
			t.Fatalf("supplier asked %d times", n)
		}
	})
}

func TestRatesCache(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, false, nil)
		svc := newService(b.instance(), f.sup, nil)
		ctx := context.Background()
		base := f.sup.Stats().RatesCalls
		req := func(lines ...supplier.Line) RatesInput {
			return RatesInput{Shop: shop, Request: supplier.RateRequest{CountryCode: "es", PostalCode: "46 005", Lines: lines}}
		}
		l1, l2 := mug, supplier.Line{EAN: "8400000000024", Quantity: 3}
		first, err := svc.Rates(ctx, req(l1, l2))
		if err != nil || first.Cached || first.Chosen.ID == "" || len(first.Options) == 0 {
			t.Fatalf("first = %+v, %v", first, err)
		}
		second, err := svc.Rates(ctx, req(l2, l1)) // same cart, other order
		if err != nil || !second.Cached || second.Chosen.ID != first.Chosen.ID {
			t.Fatalf("second = %+v, %v", second, err)
		}
		if _, err := svc.Rates(ctx, req(l1)); err != nil {
			t.Fatal(err)
		}
		if n := f.sup.Stats().RatesCalls - base; n != 2 {
			t.Fatalf("supplier rates calls = %d, want 2", n)
		}
	})
}

func TestFingerprintIsCanonical(t *testing.T) {
	a := order("gls-000000000000", "")
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
	f := newFixture(t, false, nil)
	svc := newService(redisstore.New(redistest.ClientFor(t, srv.URL()), redisstore.Options{}), f.sup, func(c *Config) { c.Observer = obs })
	ctx := context.Background()
	if _, err := svc.Place(ctx, f.input("60", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Place(ctx, f.input("60", "")); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	_, err := svc.Place(ctx, f.input("61", ""))
	if code(err) != problem.CodeStoreUnavailable {
		t.Fatal(err)
	}
	for _, e := range []Event{EventClaimWon, EventCreated, EventReplay, EventStoreError} {
		if seen[e] == 0 {
			t.Errorf("no %s event (saw %v)", e, seen)
		}
	}
}
