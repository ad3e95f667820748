package timeline_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/store"
	"github.com/flowbridge/flowbridge/store/redisstore"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/timeline"
)

// A hung Redis never holds a caller: Record returns at once, events that
// do not fit the queue are dropped and counted, and once Redis answers
// again the queued ones are written (issue 16, defect 1).
func TestAsyncRecorderNeverWaitsForAHungRedis(t *testing.T) {
	srv := redistest.Start(t)
	c, err := redisstore.NewClient(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	st := timeline.NewRedisStore(c, timeline.Options{})
	rec := timeline.NewRecorder(st, "shop", nil)
	rec.WriteTimeout = 5 * time.Second // longer than the test: only the queue bounds the caller
	var mu sync.Mutex
	dropped := map[string]int{}
	rec.Dropped = func(_ context.Context, reason string) { mu.Lock(); dropped[reason]++; mu.Unlock() }
	rec.Async(1, 2)
	t.Cleanup(rec.Close)

	srv.Pause(t)
	start := time.Now()
	for range 10 {
		rec.Record(context.Background(), "shop", "77", timeline.Event{Kind: timeline.KindPlacementClaimed, Op: "place"})
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("10 records with Redis stopped took %v; a record must not wait for the store", took)
	}
	mu.Lock()
	full := dropped["queue_full"]
	mu.Unlock()
	// The writer holds one batch (its first event and at most what was
	// queued when it took it: two), two more wait in the queue.
	if full < 5 {
		t.Fatalf("dropped for a full queue = %d, want at least 5 of 10", full)
	}
	srv.Resume(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec.Flush(ctx)
	o, err := st.Get(ctx, "shop", "77")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(o.Events) + full; got != 10 {
		t.Fatalf("written %d + dropped %d != 10 recorded", len(o.Events), full)
	}
}

// gatedStore holds every placement write until open is closed and counts
// the supplier-number lookups.
type gatedStore struct {
	timeline.Store
	open    chan struct{}
	lookups atomic.Int32
}

func (g *gatedStore) Append(ctx context.Context, shop, orderID string, ev timeline.Event) error {
	if ev.Kind == timeline.KindOrderCreated {
		select {
		case <-g.open:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g.Store.Append(ctx, shop, orderID, ev)
}

func (g *gatedStore) OrderFor(ctx context.Context, shop, number string) (string, bool, error) {
	g.lookups.Add(1)
	return g.Store.OrderFor(ctx, shop, number)
}

// A tracking call by supplier number, answered while the placement event
// that links the number is still queued, lands on the order's timeline
// after the placement: it is resolved from the queue, not looked up in
// the store by another shard's writer that could run first and miss the
// link (the cause of the e2e "attention" list coming back empty).
func TestTrackingByNumberFollowsAQueuedPlacement(t *testing.T) {
	g := &gatedStore{Store: timeline.NewMemoryStore(timeline.Options{}), open: make(chan struct{})}
	rec := timeline.NewRecorder(g, "shop", nil)
	rec.WriteTimeout = time.Minute // only the gate decides when the placement is written
	rec.Async(8, 16)
	t.Cleanup(rec.Close)
	ctx := context.Background()

	rec.Observe(ctx, orders.Observation{Event: orders.EventPlaceAnswered, Place: &orders.PlaceCall{
		In:  orders.PlaceInput{Shop: "shop", OrderID: "gid://shopify/Order/5103"},
		Out: orders.PlaceResult{SupplierOrderID: "900001", Status: "processing", Outcome: orders.OutcomePlaced}}})
	rec.Observe(ctx, orders.Observation{Event: orders.EventTrackAnswered, Track: &orders.TrackCall{
		In:  orders.TrackInput{Shop: "shop", SupplierOrderID: "900001"},
		Out: orders.TrackResult{Tracking: supplier.Tracking{SupplierOrderID: "900001", Status: "cancelled"}}}})
	close(g.open)
	rec.Flush(ctx)

	o, err := g.Get(ctx, "shop", "5103")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range o.Events {
		kinds = append(kinds, e.Kind)
	}
	if want := []string{timeline.KindOrderCreated, timeline.KindTrackingChecked}; !slices.Equal(kinds, want) {
		t.Fatalf("events = %v, want %v", kinds, want)
	}
	if o.LastStatus != "cancelled" || o.Attention(0) != timeline.FilterCancelled {
		t.Fatalf("summary = %+v, want last status cancelled (attention)", o.Summary)
	}
	if n := g.lookups.Load(); n != 0 {
		t.Fatalf("store lookups = %d, want 0 (the number was known from the queue)", n)
	}

	// Once the placement is written the number is found in the link
	// cache, learnt when the placement was queued: still no lookup.
	rec.Observe(ctx, orders.Observation{Event: orders.EventTrackAnswered, Track: &orders.TrackCall{
		In:  orders.TrackInput{Shop: "shop", SupplierOrderID: "900001"},
		Out: orders.TrackResult{Tracking: supplier.Tracking{SupplierOrderID: "900001", Status: "cancelled"}}}})
	rec.Flush(ctx)
	if o, err = g.Get(ctx, "shop", "5103"); err != nil || o.Checks != 2 || g.lookups.Load() != 0 {
		t.Fatalf("after a second check: checks=%d lookups=%d err=%v", o.Checks, g.lookups.Load(), err)
	}
}

// Drain writes what is queued on a normal stop; past its deadline it
// drops the rest (counted) instead of waiting for a hung store.
func TestDrainWritesQueuedEventsAndIsBounded(t *testing.T) {
	ctx := context.Background()
	t.Run("normal stop", func(t *testing.T) {
		st := timeline.NewMemoryStore(timeline.Options{})
		rec := timeline.NewRecorder(st, "shop", nil)
		rec.Async(2, 64)
		for range 20 {
			rec.Record(ctx, "shop", "1", timeline.Event{Kind: timeline.KindRatesQuoted, Op: "rates"})
		}
		rec.Drain(ctx) // no Flush: Drain alone must leave nothing behind
		if o, err := st.Get(ctx, "shop", "1"); err != nil || len(o.Events) != 20 {
			t.Fatalf("after drain: %d events, err %v; want 20", len(o.Events), err)
		}
	})
	t.Run("hung store", func(t *testing.T) {
		g := &gatedStore{Store: timeline.NewMemoryStore(timeline.Options{}), open: make(chan struct{})} // never opened
		rec := timeline.NewRecorder(g, "shop", nil)
		rec.WriteTimeout = time.Hour
		var mu sync.Mutex
		dropped := map[string]int{}
		rec.Dropped = func(_ context.Context, reason string) { mu.Lock(); dropped[reason]++; mu.Unlock() }
		rec.Async(1, 8)
		for range 5 {
			rec.Record(ctx, "shop", "2", timeline.Event{Kind: timeline.KindOrderCreated, Op: "place"})
		}
		dctx, cancel := context.WithCancel(ctx)
		cancel() // the deadline has passed
		rec.Drain(dctx)
		mu.Lock()
		defer mu.Unlock()
		if dropped["shutdown"]+dropped["failed"] != 5 || dropped["shutdown"] < 4 {
			t.Fatalf("dropped = %v, want the 5 queued events dropped (at most one as a cancelled write)", dropped)
		}
	})
}

// The queue is bounded in bytes as well as in events: with the store
// hung, events with a large note fill MaxQueuedBytes long before the
// per-shard count, the rest are dropped as queue_full, the estimate never
// passes the bound, and it returns to zero once everything is written.
func TestAsyncQueueIsBoundedInBytes(t *testing.T) {
	ctx := context.Background()
	g := &gatedStore{Store: timeline.NewMemoryStore(timeline.Options{}), open: make(chan struct{})}
	rec := timeline.NewRecorder(g, "shop", nil)
	rec.WriteTimeout = time.Minute // only the gate decides when writes happen
	const limit, note, sent = 8 << 10, 512, 200
	rec.MaxQueuedBytes = limit
	var mu sync.Mutex
	dropped := map[string]int{}
	rec.Dropped = func(_ context.Context, reason string) { mu.Lock(); dropped[reason]++; mu.Unlock() }
	rec.Async(1, 10_000) // the count bound alone would keep all of them
	t.Cleanup(rec.Close)

	big := string(make([]byte, note))
	for range sent {
		rec.Record(ctx, "shop", "3", timeline.Event{Kind: timeline.KindOrderCreated, Op: "place", Note: big})
		if q := rec.QueuedBytes(); q > limit {
			t.Fatalf("queued bytes = %d, over the bound %d", q, limit)
		}
	}
	mu.Lock()
	full := dropped["queue_full"]
	mu.Unlock()
	// At most limit/note events fit the queue, plus one with the writer.
	if maxKept := limit/note + 1; sent-full > maxKept {
		t.Fatalf("kept %d of %d events of %d bytes under a %d-byte bound, want at most %d", sent-full, sent, note, limit, maxKept)
	}
	if full == sent {
		t.Fatal("every event was dropped; the bound must still let some through")
	}
	close(g.open)
	rec.Flush(ctx)
	o, err := g.Get(ctx, "shop", "3")
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Events)+full != sent {
		t.Fatalf("written %d + dropped %d != %d recorded", len(o.Events), full, sent)
	}
	if q := rec.QueuedBytes(); q != 0 {
		t.Fatalf("queued bytes after the queue emptied = %d, want 0", q)
	}
}

// Operator calls reach the timeline only as the orders service's
// observations: each maps to exactly the event the operator API used to
// write itself, filed under the observed record, and a refusal for an
// unknown order (or a failed cache release) writes nothing.
func TestRecorderOperatorEvents(t *testing.T) {
	ana := orders.Operator{Actor: "Ana (key 1a2b3c4d)", Via: "console"}
	api := orders.Operator{Actor: "key 1a2b3c4d", Via: "api"}
	key := func(id string) store.Key {
		return store.Key{Shop: "shop.example", OrderID: id, Purpose: orders.PurposePlace}
	}
	resolve := func(id string, r orders.Resolution, err error) orders.Observation {
		// As asked (a GID), while Key is the record it names.
		return orders.Observation{Event: orders.EventResolveAnswered, Key: key(id), Op: r.Action, Err: err,
			Resolve: &orders.ResolveCall{Shop: "shop.example", OrderID: "gid://shopify/Order/" + id, In: r}}
	}
	tests := []struct {
		name string
		obs  orders.Observation
		want []timeline.Event // nil: no timeline at all
	}{
		{"adopt", resolve("801", orders.Resolution{Action: orders.ResolveAdopt, SupplierOrderID: "S-801", By: ana}, nil),
			[]timeline.Event{{Kind: timeline.KindResolved, Op: "resolve", Action: "adopt", SupplierOrderID: "S-801", Actor: ana.Actor, Via: "console"}}},
		{"adopt a new order", resolve("802", orders.Resolution{Action: orders.ResolveAdopt, SupplierOrderID: "S-802", NewOrder: true, By: api}, nil),
			[]timeline.Event{{Kind: timeline.KindResolved, Op: "resolve", Action: "adopt", SupplierOrderID: "S-802", Actor: api.Actor, Via: "api"}}},
		{"release", resolve("803", orders.Resolution{Action: orders.ResolveRelease, By: api}, nil),
			[]timeline.Event{{Kind: timeline.KindResolved, Op: "resolve", Action: "release", Actor: api.Actor, Via: "api"}}},
		{"refused: conflict", resolve("804", orders.Resolution{Action: orders.ResolveAdopt, SupplierOrderID: "S-804", By: ana},
			problem.New(problem.Conflict, orders.CodeResolveConflict, "the order is placed")),
			[]timeline.Event{{Kind: timeline.KindError, Op: "resolve", Action: "adopt", Code: orders.CodeResolveConflict, Actor: ana.Actor, Via: "console"}}},
		{"refused: store down", resolve("805", orders.Resolution{Action: orders.ResolveRelease, By: api},
			problem.New(problem.Unavailable, problem.CodeStoreUnavailable, "down")),
			[]timeline.Event{{Kind: timeline.KindError, Op: "resolve", Action: "release", Code: problem.CodeStoreUnavailable, Actor: api.Actor, Via: "api"}}},
		{"refused: unknown order", resolve("806", orders.Resolution{Action: orders.ResolveAdopt, SupplierOrderID: "S-806", By: ana},
			problem.New(problem.NotFound, problem.CodeOrderNotFound, "no record")), nil},
		{"cache released", orders.Observation{Event: orders.EventTrackingReleased, Key: key("807"), Op: "tracking",
			Release: &orders.ReleaseCall{Shop: "shop.example", OrderID: "807", By: ana}},
			[]timeline.Event{{Kind: timeline.KindCacheReleased, Op: "release_cache", Actor: ana.Actor, Via: "console"}}},
		{"cache release failed", orders.Observation{Event: orders.EventTrackingReleased, Key: key("808"), Op: "tracking",
			Err: problem.New(problem.Unavailable, problem.CodeStoreUnavailable, "down"), Release: &orders.ReleaseCall{Shop: "shop.example", OrderID: "808", By: ana}}, nil},
		{"applied resolution alone", orders.Observation{Event: orders.EventResolved, Key: key("809"), Op: "adopt"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			st := timeline.NewMemoryStore(timeline.Options{})
			rec := timeline.NewRecorder(st, "default", nil)
			rec.Observe(ctx, tt.obs)
			o, err := st.Get(ctx, tt.obs.Key.Shop, tt.obs.Key.OrderID)
			if tt.want == nil {
				if problem.From(err).Kind != problem.NotFound {
					t.Fatalf("want no timeline, got %+v (%v)", o.Events, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range o.Events {
				o.Events[i].At = time.Time{}
			}
			if !slices.Equal(o.Events, tt.want) {
				t.Fatalf("events\n got %+v\nwant %+v", o.Events, tt.want)
			}
		})
	}
}
