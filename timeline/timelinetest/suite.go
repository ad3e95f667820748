// Package timelinetest is the conformance suite every timeline.Store must
// pass. Each implementation's tests call Run with a constructor; the suite
// drives the store with a virtual clock passed in Options.Now.
package timelinetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/store"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/timeline"
)

// NewStore returns an empty store using opt (its Now is the suite's clock).
type NewStore func(t *testing.T, opt timeline.Options) timeline.Store

// Clock is a virtual clock safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts a clock at a fixed instant.
func NewClock() *Clock {
	return &Clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
}

// Now returns the current virtual time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

const shop = "example.myshopify.com"

// Run runs every conformance test against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, newStore NewStore)
	}{
		{"AppendGet", testAppendGet},
		{"NotFoundAndValidation", testNotFoundAndValidation},
		{"Bounded", testBounded},
		{"Retention", testRetention},
		{"ShopsApart", testShopsApart},
		{"ListOrderAndPaging", testListOrderAndPaging},
		{"Filters", testFilters},
		{"BadFilter", testBadFilter},
		{"OrderFor", testOrderFor},
		{"ConcurrentAppends", testConcurrentAppends},
		{"States", testStates},
		{"DrivenSequence", testDrivenSequence},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore) })
	}
}

func setup(t *testing.T, newStore NewStore, opt timeline.Options) (timeline.Store, *Clock) {
	t.Helper()
	c := NewClock()
	opt.Now = c.Now
	return newStore(t, opt), c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testAppendGet(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st, clock := setup(t, newStore, timeline.Options{})
	t0 := clock.Now()
	must(t, st.Append(ctx, shop, "1001", timeline.Event{Kind: timeline.KindRatesQuoted, Carrier: "GLS", Reason: "preferred: GLS is first", Address: "ES 46***"}))
	clock.Advance(time.Second)
	explicit := t0.Add(500 * time.Millisecond)
	must(t, st.Append(ctx, shop, "1001", timeline.Event{At: explicit, Kind: timeline.KindPlacementClaimed}))
	clock.Advance(time.Second)
	must(t, st.Append(ctx, shop, "1001", timeline.Event{Kind: timeline.KindOrderCreated, SupplierOrderID: "S-1", Status: "pending", RawStatus: "Pending payment", TestMode: true}))

	o, err := st.Get(ctx, shop, "1001")
	must(t, err)
	want := []timeline.Event{
		{At: t0, Kind: timeline.KindRatesQuoted, Carrier: "GLS", Reason: "preferred: GLS is first", Address: "ES 46***"},
		{At: explicit, Kind: timeline.KindPlacementClaimed},
		{At: t0.Add(2 * time.Second), Kind: timeline.KindOrderCreated, SupplierOrderID: "S-1", Status: "pending", RawStatus: "Pending payment", TestMode: true},
	}
	if !sameEvents(o.Events, want) {
		t.Fatalf("events:\n got %+v\nwant %+v", o.Events, want)
	}
	s := o.Summary
	wantSum := timeline.Summary{Shop: shop, OrderID: "1001", State: timeline.StatePlaced, SupplierOrderID: "S-1",
		LastStatus: "pending", RawStatus: "Pending payment", TestMode: true, LastKind: timeline.KindOrderCreated,
		Events: 3, CreatedAt: t0, UpdatedAt: t0.Add(2 * time.Second)}
	if !sameSummary(s, wantSum) {
		t.Fatalf("summary:\n got %+v\nwant %+v", s, wantSum)
	}
}

// testStates checks the summary state each sequence of events leaves.
func testStates(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st, clock := setup(t, newStore, timeline.Options{})
	ev := func(kind string, f ...func(*timeline.Event)) timeline.Event {
		e := timeline.Event{Kind: kind}
		for _, fn := range f {
			fn(&e)
		}
		return e
	}
	place := func(code string) func(*timeline.Event) {
		return func(e *timeline.Event) { e.Op, e.Code = "place", code }
	}
	quoted, claimed := ev(timeline.KindRatesQuoted), ev(timeline.KindPlacementClaimed)
	created := ev(timeline.KindOrderCreated, func(e *timeline.Event) { e.SupplierOrderID = "S" })
	cases := []struct {
		name      string
		events    []timeline.Event
		state     string
		lastError string
	}{
		{"quoted", []timeline.Event{quoted}, timeline.StateQuoted, ""},
		{"quoted twice after placing", []timeline.Event{quoted, claimed, created, quoted}, timeline.StatePlaced, ""},
		{"placing", []timeline.Event{quoted, claimed}, timeline.StateInFlight, ""},
		{"duplicate while placing", []timeline.Event{claimed, ev(timeline.KindError, place("in_flight"))}, timeline.StateInFlight, "in_flight"},
		{"failed attempt", []timeline.Event{claimed, ev(timeline.KindError, place("supplier_unavailable"))}, timeline.StateFailed, "supplier_unavailable"},
		{"failed then placed", []timeline.Event{claimed, ev(timeline.KindError, place("supplier_unavailable")), claimed, created}, timeline.StatePlaced, ""},
		{"tracking error keeps placed", []timeline.Event{claimed, created, ev(timeline.KindError, func(e *timeline.Event) { e.Op, e.Code = "tracking", "order_not_found" })}, timeline.StatePlaced, "order_not_found"},
		{"rejected", []timeline.Event{claimed, ev(timeline.KindOrderRejected, place("no_stock"))}, timeline.StateRejected, "no_stock"},
		{"held", []timeline.Event{claimed, ev(timeline.KindError, place("outcome_unknown")), ev(timeline.KindHeldForReview)}, timeline.StateNeedsReview, "outcome_unknown"},
		{"released", []timeline.Event{ev(timeline.KindHeldForReview), ev(timeline.KindResolved, func(e *timeline.Event) { e.Action = "release" })}, timeline.StateReleased, ""},
		{"adopted", []timeline.Event{ev(timeline.KindHeldForReview), ev(timeline.KindResolved, func(e *timeline.Event) { e.Action, e.SupplierOrderID = "adopt", "A" })}, timeline.StatePlaced, ""},
	}
	for i, c := range cases {
		id := fmt.Sprintf("st%d", i)
		for _, e := range c.events {
			clock.Advance(time.Second)
			must(t, st.Append(ctx, shop, id, e))
		}
		o, err := st.Get(ctx, shop, id)
		must(t, err)
		if o.State != c.state || o.LastError != c.lastError {
			t.Errorf("%s: state %q, last error %q; want %q, %q", c.name, o.State, o.LastError, c.state, c.lastError)
		}
	}
}

func testNotFoundAndValidation(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st, _ := setup(t, newStore, timeline.Options{})
	if _, err := st.Get(ctx, shop, "404"); problem.From(err).Kind != problem.NotFound {
		t.Fatalf("unknown order: %v, want NotFound", err)
	}
	for _, bad := range []struct{ shop, id string }{{"", "1"}, {shop, ""}, {shop, "1 2"}, {shop, "1\n2"}, {"a{b", "1"}, {shop, "1}"}} {
		if err := st.Append(ctx, bad.shop, bad.id, timeline.Event{Kind: timeline.KindError}); problem.From(err).Kind != problem.Invalid {
			t.Errorf("Append(%q, %q) = %v, want Invalid", bad.shop, bad.id, err)
		}
		if _, err := st.Get(ctx, bad.shop, bad.id); problem.From(err).Kind != problem.Invalid {
			t.Errorf("Get(%q, %q) = %v, want Invalid", bad.shop, bad.id, err)
		}
	}
	if err := st.Append(ctx, shop, "1", timeline.Event{}); problem.From(err).Kind != problem.Invalid {
		t.Errorf("event without kind: %v, want Invalid", err)
	}
}

func testBounded(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st, clock := setup(t, newStore, timeline.Options{MaxEvents: 5})
	for i := range 8 {
		clock.Advance(time.Second)
		must(t, st.Append(ctx, shop, "7", timeline.Event{Kind: timeline.KindTrackingChecked, Status: "processing", Note: fmt.Sprint(i)}))
	}
	o, err := st.Get(ctx, shop, "7")
	must(t, err)
	if len(o.Events) != 5 || o.Events[0].Note != "3" || o.Events[4].Note != "7" {
		t.Fatalf("kept %d events %v, want the last 5 (3..7)", len(o.Events), notes(o.Events))
	}
	if o.Events != nil && (o.Checks != 8 || o.Summary.Events != 8) {
		t.Fatalf("checks %d, events %d: the summary counts every event, want 8 and 8", o.Checks, o.Summary.Events)
	}
}

func testRetention(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st, clock := setup(t, newStore, timeline.Options{Retention: time.Hour})
	must(t, st.Append(ctx, shop, "old", timeline.Event{Kind: timeline.KindOrderCreated, SupplierOrderID: "S-old"}))
	clock.Advance(30 * time.Minute)
	must(t, st.Append(ctx, shop, "kept", timeline.Event{Kind: timeline.KindOrderCreated}))
	clock.Advance(31 * time.Minute)
	// "old" is 61 minutes old, "kept" 31.
	if _, err := st.Get(ctx, shop, "old"); problem.From(err).Kind != problem.NotFound {
		t.Fatalf("order past retention: %v, want NotFound", err)
	}
	if _, err := st.Get(ctx, shop, "kept"); err != nil {
		t.Fatalf("order within retention: %v", err)
	}
	must(t, st.Append(ctx, shop, "new", timeline.Event{Kind: timeline.KindError, Code: "x"}))
	p, err := st.List(ctx, timeline.Filter{})
	must(t, err)
	if got := ids(p.Orders); fmt.Sprint(got) != "[new kept]" {
		t.Fatalf("listed %v, want [new kept]", got)
	}
	// Retention slides: an event keeps an order.
	clock.Advance(50 * time.Minute)
	must(t, st.Append(ctx, shop, "kept", timeline.Event{Kind: timeline.KindTrackingChecked}))
	clock.Advance(50 * time.Minute)
	if _, err := st.Get(ctx, shop, "kept"); err != nil {
		t.Fatalf("an order with a recent event was forgotten: %v", err)
	}
}

func testShopsApart(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st, _ := setup(t, newStore, timeline.Options{})
	must(t, st.Append(ctx, "a.myshopify.com", "1", timeline.Event{Kind: timeline.KindHeldForReview}))
	must(t, st.Append(ctx, "b.myshopify.com", "1", timeline.Event{Kind: timeline.KindOrderCreated}))
	a, err := st.Get(ctx, "a.myshopify.com", "1")
	must(t, err)
	b, err := st.Get(ctx, "b.myshopify.com", "1")
	must(t, err)
	if a.State != timeline.StateNeedsReview || b.State != timeline.StatePlaced || len(a.Events) != 1 || len(b.Events) != 1 {
		t.Fatalf("shops mixed: a=%+v b=%+v", a.Summary, b.Summary)
	}
}

func testListOrderAndPaging(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st, clock := setup(t, newStore, timeline.Options{})
	p, err := st.List(ctx, timeline.Filter{})
	must(t, err)
	if len(p.Orders) != 0 || p.Next != "" || p.Orders == nil {
		t.Fatalf("empty store listed %+v, want an empty non-nil page", p)
	}
	// 12 orders; 4 of them share one millisecond so paging must break ties.
	var want []string
	for i := range 12 {
		if i < 8 || i == 11 {
			clock.Advance(time.Second)
		}
		id := fmt.Sprintf("%d", 100+i)
		must(t, st.Append(ctx, shop, id, timeline.Event{Kind: timeline.KindRatesQuoted}))
		want = append(want, id)
	}
	// Re-touching an order moves it to the front.
	clock.Advance(time.Second)
	must(t, st.Append(ctx, shop, "100", timeline.Event{Kind: timeline.KindPlacementClaimed}))

	var got []string
	cur := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		p, err := st.List(ctx, timeline.Filter{Limit: 5, Cursor: cur})
		must(t, err)
		if len(p.Orders) > 5 {
			t.Fatalf("page of %d, limit 5", len(p.Orders))
		}
		got = append(got, ids(p.Orders)...)
		if p.Next == "" {
			break
		}
		cur = p.Next
	}
	if len(got) != 12 {
		t.Fatalf("paged through %d orders %v, want 12 each once", len(got), got)
	}
	if got[0] != "100" || got[1] != "111" {
		t.Fatalf("order %v: want the re-touched 100 first, then 111", got)
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("%s listed twice: %v", id, got)
		}
		seen[id] = true
	}
	sorted := append([]string(nil), want...)
	sort.Strings(sorted)
	all := append([]string(nil), got...)
	sort.Strings(all)
	if fmt.Sprint(all) != fmt.Sprint(sorted) {
		t.Fatalf("listed %v, want %v", all, sorted)
	}
}

func testFilters(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st, clock := setup(t, newStore, timeline.Options{})
	add := func(id string, evs ...timeline.Event) {
		for _, ev := range evs {
			clock.Advance(time.Second)
			must(t, st.Append(ctx, shop, id, ev))
		}
	}
	created := timeline.Event{Kind: timeline.KindOrderCreated, SupplierOrderID: "S"}
	noTrack := timeline.Event{Kind: timeline.KindTrackingChecked, Status: "processing"}
	add("review", timeline.Event{Kind: timeline.KindPlacementClaimed}, timeline.Event{Kind: timeline.KindHeldForReview, Reason: "check the portal"})
	add("cancel", created, timeline.Event{Kind: timeline.KindTrackingChecked, Status: "cancelled", RawStatus: "Cancelled"})
	add("notrack", created, noTrack, noTrack, noTrack)
	add("shipped", created, noTrack, noTrack, timeline.Event{Kind: timeline.KindTrackingChecked, Status: "shipped", TrackingNumbers: 1})
	add("test", timeline.Event{Kind: timeline.KindOrderCreated, SupplierOrderID: "T", TestMode: true})
	add("quoted", timeline.Event{Kind: timeline.KindRatesQuoted})

	cases := []struct {
		filter    string
		minChecks int
		want      string
	}{
		{"", 0, "[quoted test shipped notrack cancel review]"},
		{"all", 0, "[quoted test shipped notrack cancel review]"},
		{timeline.FilterNeedsReview, 0, "[review]"},
		{timeline.FilterCancelled, 0, "[cancel]"},
		{timeline.FilterNoTracking, 3, "[notrack]"},
		{timeline.FilterNoTracking, 4, "[]"},
		{timeline.FilterNoTracking, 0, "[]"}, // default 5 checks
		{timeline.FilterTestMode, 0, "[test]"},
		{timeline.FilterAttention, 3, "[notrack cancel review]"},
	}
	for _, c := range cases {
		p, err := st.List(ctx, timeline.Filter{State: c.filter, MinChecks: c.minChecks})
		must(t, err)
		if got := fmt.Sprint(ids(p.Orders)); got != c.want {
			t.Errorf("filter %q (min %d): %s, want %s", c.filter, c.minChecks, got, c.want)
		}
	}
	// A selective filter pages by what it scanned.
	p, err := st.List(ctx, timeline.Filter{State: timeline.FilterAttention, MinChecks: 3, Limit: 1})
	must(t, err)
	p2, err := st.List(ctx, timeline.Filter{State: timeline.FilterAttention, MinChecks: 3, Limit: 5, Cursor: p.Next})
	must(t, err)
	if fmt.Sprint(ids(p.Orders), ids(p2.Orders)) != "[notrack] [cancel review]" {
		t.Fatalf("paged attention: %v then %v", ids(p.Orders), ids(p2.Orders))
	}
}

func testBadFilter(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st, _ := setup(t, newStore, timeline.Options{})
	if _, err := st.List(ctx, timeline.Filter{State: "shipped!"}); !problem.Is(err, timeline.CodeInvalidFilter) {
		t.Errorf("unknown filter: %v", err)
	}
	for _, c := range []string{"%%%", "bm9uZQ"} {
		if _, err := st.List(ctx, timeline.Filter{Cursor: c}); !problem.Is(err, timeline.CodeInvalidFilter) {
			t.Errorf("cursor %q: %v", c, err)
		}
	}
}

func testOrderFor(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st, _ := setup(t, newStore, timeline.Options{})
	must(t, st.Append(ctx, shop, "1001", timeline.Event{Kind: timeline.KindOrderCreated, SupplierOrderID: "690005604133"}))
	id, ok, err := st.OrderFor(ctx, shop, "690005604133")
	if err != nil || !ok || id != "1001" {
		t.Fatalf("OrderFor = %q %v %v, want 1001", id, ok, err)
	}
	if _, ok, err := st.OrderFor(ctx, "other.myshopify.com", "690005604133"); ok || err != nil {
		t.Fatalf("another shop's number resolved: %v %v", ok, err)
	}
	if _, ok, err := st.OrderFor(ctx, shop, "nope"); ok || err != nil {
		t.Fatalf("unknown number: %v %v", ok, err)
	}
	// A split order's value names every part: each finds the order.
	must(t, st.Append(ctx, shop, "1002", timeline.Event{Kind: timeline.KindOrderCreated, SupplierOrderID: "690005604201,690005604202"}))
	for _, n := range []string{"690005604201,690005604202", "690005604201", "690005604202"} {
		if id, ok, err := st.OrderFor(ctx, shop, n); err != nil || !ok || id != "1002" {
			t.Fatalf("OrderFor(%s) = %q %v %v, want 1002", n, id, ok, err)
		}
	}
}

func testConcurrentAppends(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st, _ := setup(t, newStore, timeline.Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- st.Append(ctx, shop, "busy", timeline.Event{Kind: timeline.KindTrackingChecked, Note: fmt.Sprint(i)})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	o, err := st.Get(ctx, shop, "busy")
	must(t, err)
	if len(o.Events) != 40 || o.Checks != 40 || o.Summary.Events != 40 {
		t.Fatalf("after 40 concurrent appends: %d events, %d checks, count %d", len(o.Events), o.Checks, o.Summary.Events)
	}
}

// testDrivenSequence drives the Recorder with what the orders service
// answers over an order's life (placed, replayed, a duplicate in flight,
// another order held for review and resolved, both shipped) and checks the
// exact timelines and the list filters.
func testDrivenSequence(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	st, clock := setup(t, newStore, timeline.Options{})
	rec := timeline.NewRecorder(st, "", nil)
	tick := func() time.Time { clock.Advance(time.Second); return clock.Now() }
	shipTo := supplier.Address{FirstName: "Ana", LastName: "García", Address1: "Calle Mayor 1", City: "Valencia", PostalCode: "46005", CountryCode: "ES", Phone: "+34600000000"}
	order := supplier.Order{Reference: "1001", Name: "#1001", Email: "ana@example.com", Phone: "+34600000000", ShipTo: shipTo}

	// Order 1001: quoted, claimed, created, replayed (payload changed), shipped.
	t1 := tick()
	rec.Observe(ctx, orders.Observation{Event: orders.EventRatesAnswered, Rates: &orders.RatesCall{In: orders.RatesInput{Shop: shop, OrderID: "gid://shopify/Order/1001", Request: supplier.RateRequest{CountryCode: "es", PostalCode: "46005"}}, Out: orders.RatesResult{Chosen: supplier.Rate{Carrier: "GLS"}, Choice: "preferred", Reason: "GLS is the first preferred carrier offered"}}, Err: nil})
	t2 := tick()
	rec.Observe(ctx, orders.Observation{Event: orders.EventClaimWon, Key: store.Key{Shop: shop, OrderID: "1001"}})
	t3 := tick()
	rec.Observe(ctx, orders.Observation{Event: orders.EventPlaceAnswered, Place: &orders.PlaceCall{In: orders.PlaceInput{Shop: shop, OrderID: "1001", Order: order}, Out: orders.PlaceResult{Outcome: orders.OutcomePlaced, SupplierOrderID: "S-1001", Status: supplier.StatusPending, RawStatus: "Pending"}}, Err: nil})
	t4 := tick()
	rec.Observe(ctx, orders.Observation{Event: orders.EventPlaceAnswered, Place: &orders.PlaceCall{In: orders.PlaceInput{Shop: shop, OrderID: "1001", Order: order}, Out: orders.PlaceResult{Outcome: orders.OutcomeReplayed, Replay: true, PayloadChanged: true, SupplierOrderID: "S-1001", Status: supplier.StatusPending, RawStatus: "Pending"}}, Err: nil})

	// Order 1002: claimed, a duplicate while in flight, held for review.
	t5 := tick()
	rec.Observe(ctx, orders.Observation{Event: orders.EventClaimWon, Key: store.Key{Shop: shop, OrderID: "1002"}})
	t6 := tick()
	rec.Observe(ctx, orders.Observation{Event: orders.EventPlaceAnswered, Place: &orders.PlaceCall{In: orders.PlaceInput{Shop: shop, OrderID: "1002", Order: order}, Out: orders.PlaceResult{}}, Err: problem.New(problem.Busy, problem.CodeInFlight, "placing")})
	t7 := tick()
	rec.Observe(ctx, orders.Observation{Event: orders.EventOutcomeUnknown, Key: store.Key{Shop: shop, OrderID: "1002"}, Err: errors.New("connection reset")})
	t8 := tick()
	rec.Observe(ctx, orders.Observation{Event: orders.EventPlaceAnswered, Place: &orders.PlaceCall{In: orders.PlaceInput{Shop: shop, OrderID: "1002", Order: order}, Out: orders.PlaceResult{Outcome: orders.OutcomeNeedsReview, NeedsReview: true, ReviewReason: "look for order 1002 in the BTS portal"}}, Err: nil})

	mid, err := st.List(ctx, timeline.Filter{State: timeline.FilterNeedsReview})
	must(t, err)
	if fmt.Sprint(ids(mid.Orders)) != "[1002]" {
		t.Fatalf("needs_review before resolving: %v", ids(mid.Orders))
	}

	// An operator adopts the number found; then both orders ship. The
	// resolved event is written by the operator API, directly.
	t9 := tick()
	must(t, st.Append(ctx, shop, "1002", timeline.Event{Kind: timeline.KindResolved, Op: "resolve", Action: "adopt", SupplierOrderID: "S-1002", Actor: "ops key 1a2b3c4d", Via: "console"}))
	t10 := tick()
	rec.Observe(ctx, orders.Observation{Event: orders.EventTrackAnswered, Track: &orders.TrackCall{In: orders.TrackInput{Shop: shop, SupplierOrderID: "S-1001"}, Out: orders.TrackResult{Tracking: supplier.Tracking{SupplierOrderID: "S-1001", Status: supplier.StatusShipped, RawStatus: "Shipped", Parcels: []supplier.Parcel{{Carrier: "GLS", Number: "GLS123"}}}}}, Err: nil})
	t11 := tick()
	rec.Observe(ctx, orders.Observation{Event: orders.EventTrackAnswered, Track: &orders.TrackCall{In: orders.TrackInput{Shop: shop, ShopifyOrderID: "1002"}, Out: orders.TrackResult{Tracking: supplier.Tracking{SupplierOrderID: "S-1002", Status: supplier.StatusShipped, RawStatus: "Sent", Parcels: []supplier.Parcel{{Carrier: "SEUR", Number: "SE9"}}}}}, Err: nil})
	// A number flowbridge never placed has no timeline.
	rec.Observe(ctx, orders.Observation{Event: orders.EventTrackAnswered, Track: &orders.TrackCall{In: orders.TrackInput{Shop: shop, SupplierOrderID: "S-unknown"}, Out: orders.TrackResult{}}, Err: nil})

	o1, err := st.Get(ctx, shop, "1001")
	must(t, err)
	want1 := []timeline.Event{
		{At: t1, Kind: timeline.KindRatesQuoted, Op: "rates", Carrier: "GLS", Reason: "preferred: GLS is the first preferred carrier offered", Address: "ES 46***"},
		{At: t2, Kind: timeline.KindPlacementClaimed, Op: "place"},
		{At: t3, Kind: timeline.KindOrderCreated, Op: "place", SupplierOrderID: "S-1001", Status: "pending", RawStatus: "Pending", Address: "ES 46***"},
		{At: t4, Kind: timeline.KindOrderReplayed, Op: "place", SupplierOrderID: "S-1001", Status: "pending", RawStatus: "Pending", Address: "ES 46***",
			Note: "the payload differs from the first call; the stored placement was answered and nothing was created"},
		{At: t10, Kind: timeline.KindTrackingChecked, Op: "tracking", SupplierOrderID: "S-1001", Status: "shipped", RawStatus: "Shipped", TrackingNumbers: 1},
	}
	if !sameEvents(o1.Events, want1) {
		t.Errorf("1001 timeline:\n got %+v\nwant %+v", o1.Events, want1)
	}
	o2, err := st.Get(ctx, shop, "1002")
	must(t, err)
	want2 := []timeline.Event{
		{At: t5, Kind: timeline.KindPlacementClaimed, Op: "place"},
		{At: t6, Kind: timeline.KindError, Op: "place", Code: "in_flight", Address: "ES 46***",
			Note: "a duplicate call arrived while another was placing the order; answered 429 with Retry-After"},
		{At: t7, Kind: timeline.KindError, Op: "place", Code: "outcome_unknown", Note: "the supplier may or may not have created the order"},
		{At: t8, Kind: timeline.KindHeldForReview, Op: "place", Reason: "look for order 1002 in the BTS portal", Address: "ES 46***"},
		{At: t9, Kind: timeline.KindResolved, Op: "resolve", Action: "adopt", SupplierOrderID: "S-1002", Actor: "ops key 1a2b3c4d", Via: "console"},
		{At: t11, Kind: timeline.KindTrackingChecked, Op: "tracking", SupplierOrderID: "S-1002", Status: "shipped", RawStatus: "Sent", TrackingNumbers: 1},
	}
	if !sameEvents(o2.Events, want2) {
		t.Errorf("1002 timeline:\n got %+v\nwant %+v", o2.Events, want2)
	}
	for _, o := range []timeline.Order{o1, o2} {
		if o.State != timeline.StatePlaced || o.LastStatus != "shipped" || !o.Tracked || o.Checks != 1 || o.LastError != "" {
			t.Errorf("%s summary %+v: want placed, shipped, tracked, 1 check, no error", o.OrderID, o.Summary)
		}
	}
	if o2.SupplierOrderID != "S-1002" {
		t.Errorf("1002 supplier number %q, want the adopted S-1002", o2.SupplierOrderID)
	}
	// No customer data reached the store.
	for _, o := range []timeline.Order{o1, o2} {
		for _, ev := range o.Events {
			s := fmt.Sprintf("%+v", ev)
			for _, pii := range []string{"Ana", "García", "Calle", "Valencia", "46005", "600000000", "ana@example.com"} {
				if containsFold(s, pii) {
					t.Errorf("event %s holds customer data %q", ev.Kind, pii)
				}
			}
		}
	}
	for _, c := range []struct{ filter, want string }{
		{timeline.FilterAll, "[1002 1001]"},
		{timeline.FilterNeedsReview, "[]"},
		{timeline.FilterAttention, "[]"},
		{timeline.FilterCancelled, "[]"},
		{timeline.FilterTestMode, "[]"},
	} {
		p, err := st.List(ctx, timeline.Filter{State: c.filter})
		must(t, err)
		if got := fmt.Sprint(ids(p.Orders)); got != c.want {
			t.Errorf("after shipping, filter %q: %s, want %s", c.filter, got, c.want)
		}
	}
}
