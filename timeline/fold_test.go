package timeline_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/store/redisstore"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/timeline"
)

// clock is a test clock the writers may read while the test moves it.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time            { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration)   { c.ns.Add(int64(d)) }
func (c *clock) Options() timeline.Options { return timeline.Options{Now: c.Now} }

// folded counts the Folded hook's calls by kind.
type folded struct {
	mu sync.Mutex
	n  map[string]int
}

func (f *folded) hook(_ context.Context, kind string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	f.n[kind]++
}

func (f *folded) get(kind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n[kind]
}

const replayNote = "answered again from the stored review; nothing was sent to the supplier"

var (
	created  = timeline.Event{Kind: timeline.KindOrderCreated, Op: "place", SupplierOrderID: "S-1", Status: "pending"}
	replayed = timeline.Event{Kind: timeline.KindOrderReplayed, Op: "place", SupplierOrderID: "S-1", Status: "pending"}
	held     = timeline.Event{Kind: timeline.KindHeldForReview, Op: "place", Reason: "outcome unknown"}
	heldAgin = timeline.Event{Kind: timeline.KindHeldForReview, Op: "place", Reason: "outcome unknown", Note: replayNote}
	claimed  = timeline.Event{Kind: timeline.KindPlacementClaimed, Op: "place"}
	failed   = timeline.Event{Kind: timeline.KindError, Op: "place", Code: "supplier_unavailable"}
)

func cachedCheck(status string) timeline.Event {
	return timeline.Event{Kind: timeline.KindTrackingChecked, Op: "tracking", SupplierOrderID: "S-1", Status: status, Cached: true}
}

func check(status string) timeline.Event {
	ev := cachedCheck(status)
	ev.Cached = false
	return ev
}

// Repeats of the same answer within FoldWindow of the order's last
// written event are folded and counted; the next written event carries
// the count. Anything else is written, in both the synchronous and the
// queued path.
func TestFoldRepeats(t *testing.T) {
	type step struct {
		after time.Duration // clock advance before the event
		ev    timeline.Event
	}
	type written struct {
		kind, status string
		repeats      int
	}
	tests := []struct {
		name   string
		window time.Duration // 0: the default
		steps  []step
		want   []written
		folded map[string]int
	}{
		{"replays inside the window fold, the next written carries the count",
			0, []step{{0, created}, {time.Second, replayed}, {time.Second, replayed}, {time.Second, replayed}, {8 * time.Second, replayed}},
			[]written{{timeline.KindOrderCreated, "pending", 0}, {timeline.KindOrderReplayed, "pending", 0}, {timeline.KindOrderReplayed, "pending", 2}},
			map[string]int{timeline.KindOrderReplayed: 2}},
		{"a repeat a full window later is written",
			0, []step{{0, replayed}, {10 * time.Second, replayed}, {9 * time.Second, replayed}},
			[]written{{timeline.KindOrderReplayed, "pending", 0}, {timeline.KindOrderReplayed, "pending", 0}},
			map[string]int{timeline.KindOrderReplayed: 1}},
		{"folded repeats do not extend the window",
			0, []step{{0, cachedCheck("shipped")}, {4 * time.Second, cachedCheck("shipped")}, {4 * time.Second, cachedCheck("shipped")}, {4 * time.Second, cachedCheck("shipped")}},
			[]written{{timeline.KindTrackingChecked, "shipped", 0}, {timeline.KindTrackingChecked, "shipped", 2}},
			map[string]int{timeline.KindTrackingChecked: 2}},
		{"a different status is written",
			0, []step{{0, cachedCheck("shipped")}, {time.Second, cachedCheck("shipped")}, {time.Second, cachedCheck("delivered")}, {time.Second, cachedCheck("delivered")}},
			[]written{{timeline.KindTrackingChecked, "shipped", 0}, {timeline.KindTrackingChecked, "delivered", 1}},
			map[string]int{timeline.KindTrackingChecked: 2}},
		{"checks that asked the supplier are each written",
			0, []step{{0, check("shipped")}, {time.Second, check("shipped")}, {time.Second, check("shipped")}},
			[]written{{timeline.KindTrackingChecked, "shipped", 0}, {timeline.KindTrackingChecked, "shipped", 0}, {timeline.KindTrackingChecked, "shipped", 0}},
			nil},
		{"the first cached answer after a fresh one is written",
			0, []step{{0, check("shipped")}, {time.Second, cachedCheck("shipped")}, {time.Second, cachedCheck("shipped")}},
			[]written{{timeline.KindTrackingChecked, "shipped", 0}, {timeline.KindTrackingChecked, "shipped", 0}},
			map[string]int{timeline.KindTrackingChecked: 1}},
		{"a hold answered again folds, the first hold is written, the count goes to the next event",
			0, []step{{0, held}, {time.Second, heldAgin}, {time.Second, heldAgin}, {time.Second, heldAgin}, {time.Second, claimed}},
			[]written{{timeline.KindHeldForReview, "", 0}, {timeline.KindHeldForReview, "", 0}, {timeline.KindPlacementClaimed, "", 2}},
			map[string]int{timeline.KindHeldForReview: 2}},
		{"first-time events are never folded",
			0, []step{{0, claimed}, {0, claimed}, {0, failed}, {0, failed}, {0, created}, {0, created}},
			[]written{{timeline.KindPlacementClaimed, "", 0}, {timeline.KindPlacementClaimed, "", 0}, {timeline.KindError, "", 0},
				{timeline.KindError, "", 0}, {timeline.KindOrderCreated, "pending", 0}, {timeline.KindOrderCreated, "pending", 0}},
			nil},
		{"another event between repeats starts a new run",
			0, []step{{0, replayed}, {time.Second, check("pending")}, {time.Second, replayed}, {time.Second, replayed}},
			[]written{{timeline.KindOrderReplayed, "pending", 0}, {timeline.KindTrackingChecked, "pending", 0}, {timeline.KindOrderReplayed, "pending", 0}},
			map[string]int{timeline.KindOrderReplayed: 1}},
		{"no window folds nothing",
			-1, []step{{0, replayed}, {0, replayed}},
			[]written{{timeline.KindOrderReplayed, "pending", 0}, {timeline.KindOrderReplayed, "pending", 0}},
			nil},
	}
	for _, mode := range []string{"sync", "async"} {
		for _, tt := range tests {
			t.Run(mode+"/"+tt.name, func(t *testing.T) {
				ctx := context.Background()
				clk := newClock()
				st := timeline.NewMemoryStore(clk.Options())
				rec := timeline.NewRecorder(st, "shop", nil)
				rec.Now = clk.Now
				if tt.window != 0 {
					rec.FoldWindow = tt.window
				}
				var f folded
				rec.Folded = f.hook
				if mode == "async" {
					rec.Async(2, 64)
					t.Cleanup(rec.Close)
				}
				for _, s := range tt.steps {
					clk.Advance(s.after)
					rec.Record(ctx, "shop", "1001", s.ev)
				}
				rec.Flush(ctx)
				o, err := st.Get(ctx, "shop", "1001")
				if err != nil {
					t.Fatal(err)
				}
				var got []written
				for _, e := range o.Events {
					got = append(got, written{e.Kind, e.Status, e.Repeats})
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Fatalf("written\n got %v\nwant %v", got, tt.want)
				}
				for _, k := range []string{timeline.KindOrderReplayed, timeline.KindTrackingChecked, timeline.KindHeldForReview,
					timeline.KindPlacementClaimed, timeline.KindError, timeline.KindOrderCreated} {
					if n := f.get(k); n != tt.folded[k] {
						t.Errorf("folded %s = %d, want %d", k, n, tt.folded[k])
					}
				}
			})
		}
	}
}

// Folding keys on the order: the same answer for another order, or
// another shop, is written.
func TestFoldIsPerOrder(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	st := timeline.NewMemoryStore(clk.Options())
	rec := timeline.NewRecorder(st, "shop", nil)
	rec.Now = clk.Now
	for _, k := range [][2]string{{"shop", "1"}, {"shop", "2"}, {"other", "1"}, {"shop", "1"}} {
		rec.Record(ctx, k[0], k[1], replayed)
	}
	for _, k := range [][2]string{{"shop", "1"}, {"shop", "2"}, {"other", "1"}} {
		if o, err := st.Get(ctx, k[0], k[1]); err != nil || len(o.Events) != 1 {
			t.Fatalf("%v: %d events (%v), want 1", k, len(o.Events), err)
		}
	}
}

// The fold state is bounded: at most MaxFoldOrders orders are
// remembered (an order beyond the bound is simply not folded), and
// entries older than the window are swept, so new orders fold again.
func TestFoldStateIsBounded(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	st := timeline.NewMemoryStore(clk.Options())
	rec := timeline.NewRecorder(st, "shop", nil)
	rec.Now = clk.Now
	rec.MaxFoldOrders = 4
	var f folded
	rec.Folded = f.hook
	for i := range 50 {
		id := strconv.Itoa(2000 + i)
		rec.Record(ctx, "shop", id, replayed)
		rec.Record(ctx, "shop", id, replayed)
		if n := timeline.FoldLen(rec); n > 4 {
			t.Fatalf("fold state holds %d orders, bound 4", n)
		}
	}
	if n := f.get(timeline.KindOrderReplayed); n != 4 {
		t.Fatalf("folded %d repeats, want 4 (the orders within the bound)", n)
	}
	if o, _ := st.Get(ctx, "shop", "2049"); len(o.Events) != 2 {
		t.Fatalf("order beyond the bound: %d events, want both written", len(o.Events))
	}
	// A window later the old entries go, also those with a count.
	clk.Advance(timeline.DefaultFoldWindow)
	rec.Record(ctx, "shop", "3000", replayed)
	rec.Record(ctx, "shop", "3000", replayed)
	if n := f.get(timeline.KindOrderReplayed); n != 5 {
		t.Fatalf("folded %d repeats after the sweep, want 5", n)
	}
	if n := timeline.FoldLen(rec); n != 1 {
		t.Fatalf("fold state holds %d orders after the sweep, want 1", n)
	}
	// A first-time event ends its order's run and its entry.
	rec.Record(ctx, "shop", "3000", claimed)
	if n := timeline.FoldLen(rec); n != 0 {
		t.Fatalf("fold state holds %d orders, want 0", n)
	}
	if o, _ := st.Get(ctx, "shop", "3000"); len(o.Events) != 2 || o.Events[1].Repeats != 1 {
		t.Fatalf("order 3000 events = %+v, want a replay and a claim carrying 1 repeat", o.Events)
	}
}

// countingStore counts the supplier-number lookups of a store.
type countingStore struct {
	timeline.Store
	lookups atomic.Int32
}

func (c *countingStore) OrderFor(ctx context.Context, shop, number string) (string, bool, error) {
	c.lookups.Add(1)
	return c.Store.OrderFor(ctx, shop, number)
}

func trackByNumber(number, status string) orders.Observation {
	return orders.Observation{Event: orders.EventTrackAnswered, Track: &orders.TrackCall{
		In:  orders.TrackInput{Shop: "shop", SupplierOrderID: number},
		Out: orders.TrackResult{Tracking: supplier.Tracking{SupplierOrderID: number, Status: supplier.Status(status)}}}}
}

// A supplier number's link is cached: learnt from the events this
// Recorder writes and from lookups, trusted for LinkTTL, never for a
// number not found, and replaced at once when this Recorder writes
// another link for the number (an operator's adopt).
func TestLinkCache(t *testing.T) {
	ctx := context.Background()
	type step struct {
		after   time.Duration
		store   *[3]string // written by another replica: order, kind, number
		rec     *[2]string // recorded here: order, number (a resolution naming it)
		track   string     // a tracking call by this number (not cached: never folded)
		lookups int32      // total lookups after the step
	}
	tests := []struct {
		name  string
		ttl   time.Duration // 0: the default
		steps []step
		want  map[string]int // order → tracking events
	}{
		{"learnt from an event recorded here", 0, []step{
			{rec: &[2]string{"1", "S-1"}},
			{track: "S-1", lookups: 0},
			{track: "S-1", lookups: 0},
		}, map[string]int{"1": 2}},
		{"learnt from a lookup", 0, []step{
			{store: &[3]string{"1", timeline.KindOrderCreated, "S-1"}},
			{track: "S-1", lookups: 1},
			{track: "S-1", lookups: 1},
			{after: 30 * time.Second, track: "S-1", lookups: 1},
		}, map[string]int{"1": 3}},
		{"trusted for LinkTTL", 0, []step{
			{store: &[3]string{"1", timeline.KindOrderCreated, "S-1"}},
			{track: "S-1", lookups: 1},
			{after: timeline.DefaultLinkTTL - time.Second, track: "S-1", lookups: 1},
			{after: time.Second, track: "S-1", lookups: 2},
		}, map[string]int{"1": 3}},
		{"a number not found is asked again", 0, []step{
			{track: "S-1", lookups: 1},
			{store: &[3]string{"1", timeline.KindOrderCreated, "S-1"}},
			{track: "S-1", lookups: 2},
		}, map[string]int{"1": 1}},
		{"a link written here replaces the cached one", 0, []step{
			{rec: &[2]string{"1", "S-1"}},
			{rec: &[2]string{"2", "S-1"}},
			{track: "S-1", lookups: 0},
		}, map[string]int{"2": 1}},
		{"every part of a split order is learnt", 0, []step{
			{rec: &[2]string{"1", "S-1,S-2"}},
			{track: "S-2", lookups: 0},
			{track: "S-1,S-2", lookups: 0},
		}, map[string]int{"1": 2}},
		{"no cache without a LinkTTL", -1, []step{
			{rec: &[2]string{"1", "S-1"}},
			{track: "S-1", lookups: 1},
			{track: "S-1", lookups: 2},
		}, map[string]int{"1": 2}},
	}
	for _, mode := range []string{"sync", "async"} {
		for _, tt := range tests {
			t.Run(mode+"/"+tt.name, func(t *testing.T) {
				clk := newClock()
				mem := timeline.NewMemoryStore(clk.Options())
				cs := &countingStore{Store: mem}
				rec := timeline.NewRecorder(cs, "shop", nil)
				rec.Now = clk.Now
				if tt.ttl != 0 {
					rec.LinkTTL = tt.ttl
				}
				if mode == "async" {
					rec.Async(2, 64)
					t.Cleanup(rec.Close)
				}
				for i, s := range tt.steps {
					clk.Advance(s.after)
					switch {
					case s.store != nil:
						if err := mem.Append(ctx, "shop", s.store[0], timeline.Event{Kind: s.store[1], SupplierOrderID: s.store[2], Action: "adopt"}); err != nil {
							t.Fatal(err)
						}
					case s.rec != nil:
						rec.Record(ctx, "shop", s.rec[0], timeline.Event{Kind: timeline.KindResolved, Op: "resolve", Action: "adopt", SupplierOrderID: s.rec[1]})
						rec.Flush(ctx)
					default:
						rec.Observe(ctx, trackByNumber(s.track, "shipped"))
						// Each call is written before the next one, so the
						// lookups are counted per call.
						rec.Flush(ctx)
						if n := cs.lookups.Load(); n != s.lookups {
							t.Fatalf("step %d: %d lookups, want %d", i, n, s.lookups)
						}
					}
				}
				rec.Flush(ctx)
				for _, id := range []string{"1", "2"} {
					n := 0
					if o, err := mem.Get(ctx, "shop", id); err == nil {
						n = o.Checks
					}
					if n != tt.want[id] {
						t.Errorf("order %s: %d tracking events, want %d", id, n, tt.want[id])
					}
				}
			})
		}
	}
}

// The link cache is bounded in entries.
func TestLinkCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	rec := timeline.NewRecorder(timeline.NewMemoryStore(timeline.Options{}), "shop", nil)
	for i := range timeline.DefaultMaxLinks + 500 {
		n := strconv.Itoa(i)
		rec.Record(ctx, "shop", n, timeline.Event{Kind: timeline.KindOrderCreated, SupplierOrderID: "S-" + n})
		if l := timeline.LinkCacheLen(rec); l > timeline.DefaultMaxLinks {
			t.Fatalf("link cache holds %d entries, bound %d", l, timeline.DefaultMaxLinks)
		}
	}
}

func redisTimeline(t *testing.T) (*redistest.Server, *timeline.RedisStore, *trips) {
	t.Helper()
	srv, st, gets, _ := redisTimelineWith(t, timeline.Options{})
	return srv, st, gets
}

func redisTimelineWith(t *testing.T, opt timeline.Options) (*redistest.Server, *timeline.RedisStore, *trips, redis.UniversalClient) {
	t.Helper()
	srv := redistest.Start(t)
	c, err := redisstore.NewClient(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	gets := &trips{names: []string{"get"}}
	c.AddHook(gets)
	return srv, timeline.NewRedisStore(c, opt), gets, c
}

// OrdersFor answers many numbers in one round trip: known ones with
// their order, unknown ones empty, invalid ones by index.
func TestOrdersForIsOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	_, st, gets := redisTimeline(t)
	var links []timeline.Link
	for i := range 5 {
		n := strconv.Itoa(i)
		if err := st.Append(ctx, "shop", "10"+n, timeline.Event{Kind: timeline.KindOrderCreated, SupplierOrderID: "S-" + n}); err != nil {
			t.Fatal(err)
		}
		links = append(links, timeline.Link{Shop: "shop", Number: "S-" + n})
	}
	links = append(links, timeline.Link{Shop: "shop", Number: "S-404"}, timeline.Link{Shop: "shop", Number: "bad number"},
		timeline.Link{Shop: "other", Number: "S-1"})
	gets.n.Store(0)
	got, bad, err := st.OrdersFor(ctx, links)
	if err != nil {
		t.Fatal(err)
	}
	if n := gets.n.Load(); n != 1 {
		t.Fatalf("%d round trips for %d numbers, want 1", n, len(links))
	}
	want := []string{"100", "101", "102", "103", "104", "", "", ""}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("orders = %q, want %q", got, want)
	}
	if _, ok := bad[6]; !ok || len(bad) != 1 {
		t.Fatalf("bad = %v, want index 6 (a number with a space) only", bad)
	}
	// Nothing valid to ask: no round trip.
	if _, bad, err := st.OrdersFor(ctx, []timeline.Link{{Shop: "shop", Number: ""}}); err != nil || len(bad) != 1 || gets.n.Load() != 1 {
		t.Fatalf("invalid only: bad=%v err=%v trips=%d", bad, err, gets.n.Load())
	}
}

// A writer's batch of tracking events by number costs one lookup round
// trip, not one per event: with the server stopped, the writer waits on
// its first event while twenty calls by number (linked by another
// replica, so not cached here) queue behind it. Once looked up, the
// links are cached: the same calls again cost no lookup.
func TestRecorderLooksUpABatchInOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	srv, st, gets := redisTimeline(t)
	const n = 20
	for i := range n {
		id := strconv.Itoa(500 + i)
		if err := st.Append(ctx, "shop", id, timeline.Event{Kind: timeline.KindOrderCreated, SupplierOrderID: "S-" + id}); err != nil {
			t.Fatal(err)
		}
	}
	rec := timeline.NewRecorder(st, "shop", nil)
	rec.WriteTimeout = 10 * time.Second
	rec.Async(1, 64)
	t.Cleanup(rec.Close)
	gets.n.Store(0)

	srv.Pause(t)
	rec.Record(ctx, "shop", "499", claimed)
	for i := range n {
		rec.Observe(ctx, trackByNumber("S-"+strconv.Itoa(500+i), "shipped"))
	}
	srv.Resume(t)
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rec.Flush(fctx)
	if got := gets.n.Load(); got < 1 || got > 2 {
		t.Fatalf("%d lookup round trips for %d tracking events by number, want 1 or 2", got, n)
	}
	for i := range n {
		rec.Observe(ctx, trackByNumber("S-"+strconv.Itoa(500+i), "delivered"))
	}
	rec.Flush(fctx)
	if got := gets.n.Load(); got > 2 {
		t.Fatalf("%d lookup round trips after the links were cached, want no more", got)
	}
	for i := range n {
		o, err := st.Get(ctx, "shop", strconv.Itoa(500+i))
		if err != nil || o.Checks != 2 || o.LastStatus != "delivered" {
			t.Fatalf("order %d: checks=%d last=%q err=%v, want 2 checks, delivered", 500+i, o.Checks, o.LastStatus, err)
		}
	}
}

// In a batch mixing events of known orders with events that must look
// their order up, every order's events are written in the order they
// were recorded, and all in one append pipeline.
func TestRecorderKeepsOrderInMixedBatches(t *testing.T) {
	ctx := context.Background()
	srv, st, _ := redisTimeline(t)
	for _, l := range [][2]string{{"1", "S-1"}, {"2", "S-2"}} {
		if err := st.Append(ctx, "shop", l[0], timeline.Event{Kind: timeline.KindOrderCreated, SupplierOrderID: l[1]}); err != nil {
			t.Fatal(err)
		}
	}
	rec := timeline.NewRecorder(st, "shop", nil)
	rec.WriteTimeout = 10 * time.Second
	rec.Async(1, 64)
	t.Cleanup(rec.Close)
	note := func(s string) timeline.Event {
		return timeline.Event{Kind: timeline.KindRatesQuoted, Op: "rates", Note: s}
	}

	srv.Pause(t)
	rec.Record(ctx, "shop", "1", note("a"))
	rec.Observe(ctx, trackByNumber("S-1", "pending"))
	rec.Record(ctx, "shop", "1", note("b"))
	rec.Record(ctx, "shop", "2", note("x"))
	rec.Observe(ctx, trackByNumber("S-2", "shipped"))
	rec.Observe(ctx, trackByNumber("S-1", "shipped"))
	rec.Record(ctx, "shop", "1", note("c"))
	rec.Observe(ctx, trackByNumber("S-404", "shipped")) // never placed: no timeline
	rec.Record(ctx, "shop", "2", note("y"))
	srv.Resume(t)
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rec.Flush(fctx)

	want := map[string][]string{
		"1": {"order_created", "rates_quoted a", "tracking_checked pending", "rates_quoted b", "tracking_checked shipped", "rates_quoted c"},
		"2": {"order_created", "rates_quoted x", "tracking_checked shipped", "rates_quoted y"},
	}
	for id, w := range want {
		o, err := st.Get(ctx, "shop", id)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range o.Events {
			got = append(got, strings.TrimSpace(e.Kind+" "+e.Note+e.Status))
		}
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("order %s events\n got %q\nwant %q", id, got, w)
		}
	}
}

// A placement the store journaled teaches the Recorder its link: a
// tracking call by that number then needs no lookup.
func TestJournaledPlacementIsLearnt(t *testing.T) {
	ctx := context.Background()
	_, st, gets := redisTimeline(t)
	if err := st.Append(ctx, "shop", "7001", timeline.Event{Kind: timeline.KindOrderCreated, SupplierOrderID: "S-7001"}); err != nil {
		t.Fatal(err) // as the completion's journal entry would
	}
	rec := timeline.NewRecorder(st, "shop", nil)
	rec.Observe(ctx, orders.Observation{Event: orders.EventPlaceAnswered, Journaled: true, Place: &orders.PlaceCall{
		In:  orders.PlaceInput{Shop: "shop", OrderID: "gid://shopify/Order/7001"},
		Out: orders.PlaceResult{SupplierOrderID: "S-7001", Status: "pending", Outcome: orders.OutcomePlaced}}})
	gets.n.Store(0)
	rec.Observe(ctx, trackByNumber("S-7001", "shipped"))
	if n := gets.n.Load(); n != 0 {
		t.Fatalf("%d lookups after a journaled placement, want 0", n)
	}
	if o, err := st.Get(ctx, "shop", "7001"); err != nil || o.Checks != 1 {
		t.Fatalf("checks = %d (%v), want 1", o.Checks, err)
	}
}

// A link can change (another replica's adopt names the number for
// another order): a cached link goes stale for LinkTTL at most, and the
// events it misfiles meanwhile do not write it back, so the store keeps
// the new link and the next lookup finds it.
func TestStaleLinkIsBoundedAndNeverWrittenBack(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	_, st, gets, _ := redisTimelineWith(t, clk.Options())
	rec := timeline.NewRecorder(st, "shop", nil)
	rec.Now = clk.Now
	if err := st.Append(ctx, "shop", "1", timeline.Event{Kind: timeline.KindOrderCreated, SupplierOrderID: "S-1"}); err != nil {
		t.Fatal(err)
	}
	rec.Observe(ctx, trackByNumber("S-1", "shipped")) // looked up, cached
	// Another replica: an operator adopts S-1 on order 2.
	if err := st.Append(ctx, "shop", "2", timeline.Event{Kind: timeline.KindResolved, Action: "adopt", SupplierOrderID: "S-1"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(timeline.DefaultLinkTTL - time.Second)
	rec.Observe(ctx, trackByNumber("S-1", "shipped")) // stale: still order 1
	if id, ok, err := st.OrderFor(ctx, "shop", "S-1"); err != nil || !ok || id != "2" {
		t.Fatalf("link after a stale check = %q %v %v, want order 2 kept", id, ok, err)
	}
	gets.n.Add(-1) // that lookup was the test's
	clk.Advance(time.Second)
	rec.Observe(ctx, trackByNumber("S-1", "shipped")) // expired: looked up again
	if n := gets.n.Load(); n != 2 {
		t.Fatalf("%d lookups, want 2 (the first call and after LinkTTL)", n)
	}
	for id, want := range map[string]int{"1": 2, "2": 1} {
		if o, err := st.Get(ctx, "shop", id); err != nil || o.Checks != want {
			t.Errorf("order %s: %d checks (%v), want %d", id, o.Checks, err, want)
		}
	}
}

// A lookup that finds a link extends its life to Retention, as the event
// it files extends its order's (that event does not write the link).
func TestOrdersForExtendsTheLink(t *testing.T) {
	ctx := context.Background()
	_, st, _, c := redisTimelineWith(t, timeline.Options{})
	if err := st.Append(ctx, "shop", "1", timeline.Event{Kind: timeline.KindOrderCreated, SupplierOrderID: "S-1"}); err != nil {
		t.Fatal(err)
	}
	key := "fb:tl:sup:{shop:S-1}"
	if err := c.PExpire(ctx, key, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if got, _, err := st.OrdersFor(ctx, []timeline.Link{{Shop: "shop", Number: "S-1"}}); err != nil || got[0] != "1" {
		t.Fatalf("OrdersFor = %v, %v", got, err)
	}
	if ttl := c.PTTL(ctx, key).Val(); ttl < timeline.DefaultRetention-time.Hour {
		t.Fatalf("link TTL after a lookup = %v, want about %v", ttl, timeline.DefaultRetention)
	}
}

// holdStore holds the write of a created event until open is closed and
// says when the writer has reached it.
type holdStore struct {
	timeline.Store
	entered, open chan struct{}
}

func (h *holdStore) Append(ctx context.Context, shop, orderID string, ev timeline.Event) error {
	if ev.Kind == timeline.KindOrderCreated {
		h.entered <- struct{}{}
		<-h.open
	}
	return h.Store.Append(ctx, shop, orderID, ev)
}

// A repeat is folded only into an event that was queued: when the queue
// had no room for the first replay (dropped, counted), the next one is
// written, not folded into an event that never reached the timeline.
func TestNoFoldIntoADroppedEvent(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	hs := &holdStore{Store: timeline.NewMemoryStore(clk.Options()), entered: make(chan struct{}, 1), open: make(chan struct{})}
	rec := timeline.NewRecorder(hs, "shop", nil)
	rec.Now = clk.Now
	var f folded
	rec.Folded = f.hook
	var dropped atomic.Int32
	rec.Dropped = func(context.Context, string) { dropped.Add(1) }
	rec.Async(1, 1)
	t.Cleanup(rec.Close)

	rec.Record(ctx, "shop", "1", created)
	<-hs.entered                                                                              // the writer holds it
	rec.Record(ctx, "shop", "1", timeline.Event{Kind: timeline.KindRatesQuoted, Op: "rates"}) // fills the queue
	rec.Record(ctx, "shop", "1", replayed)                                                    // no room: dropped
	close(hs.open)
	rec.Flush(ctx)
	rec.Record(ctx, "shop", "1", replayed)
	rec.Flush(ctx)
	o, err := hs.Get(ctx, "shop", "1")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range o.Events {
		kinds = append(kinds, e.Kind)
	}
	if want := []string{timeline.KindOrderCreated, timeline.KindRatesQuoted, timeline.KindOrderReplayed}; fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Fatalf("events = %v, want %v", kinds, want)
	}
	if dropped.Load() != 1 || f.get(timeline.KindOrderReplayed) != 0 {
		t.Fatalf("dropped %d, folded %d; want 1 dropped, none folded", dropped.Load(), f.get(timeline.KindOrderReplayed))
	}
}
