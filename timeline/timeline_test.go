package timeline_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/timeline"
	"github.com/flowbridge/flowbridge/timeline/timelinetest"
)

func TestMemoryStore(t *testing.T) {
	timelinetest.Run(t, func(t *testing.T, opt timeline.Options) timeline.Store {
		return timeline.NewMemoryStore(opt)
	})
}

func TestRedisStore(t *testing.T) {
	url := redistest.URL(t)
	timelinetest.Run(t, func(t *testing.T, opt timeline.Options) timeline.Store {
		opt.Prefix = redistest.Prefix(t)
		return timeline.NewRedisStore(redistest.ClientFor(t, url), opt)
	})
}

// TestRedisKeys checks what the suite cannot see: the keys expire with the
// retention, one order's keys share a Cluster hash tag, and the list is
// trimmed by the script.
func TestRedisKeys(t *testing.T) {
	ctx := context.Background()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t)
	st := timeline.NewRedisStore(c, timeline.Options{Prefix: prefix, Retention: 2 * time.Hour, MaxEvents: 3})
	for range 5 {
		if err := st.Append(ctx, "s.myshopify.com", "42", timeline.Event{Kind: timeline.KindOrderCreated, SupplierOrderID: "N-42"}); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		prefix + "{s.myshopify.com:42}:ev":    true,
		prefix + "{s.myshopify.com:42}:sum":   true,
		prefix + "sup:{s.myshopify.com:N-42}": true,
		prefix + "index":                      true,
	}
	if len(keys) != len(want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	for _, k := range keys {
		if !want[k] {
			t.Fatalf("unexpected key %q", k)
		}
		if k == prefix+"index" {
			continue
		}
		ttl, err := c.PTTL(ctx, k).Result()
		if err != nil || ttl <= time.Hour || ttl > 2*time.Hour {
			t.Errorf("%s: ttl %v (%v), want within the 2h retention", k, ttl, err)
		}
	}
	if n, _ := c.LLen(ctx, prefix+"{s.myshopify.com:42}:ev").Result(); n != 3 {
		t.Errorf("events list holds %d, want 3 (MaxEvents)", n)
	}
	// The two keys of an order carry the same hash tag (one Cluster slot).
	tag := func(k string) string { return k[strings.Index(k, "{"):strings.Index(k, "}")] }
	if tag(prefix+"{s.myshopify.com:42}:ev") != tag(prefix+"{s.myshopify.com:42}:sum") {
		t.Error("order keys do not share a hash tag")
	}
}

// TestRedisDown: a store that cannot reach Redis answers 503
// store_unavailable, which the Recorder swallows.
func TestRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	opt, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1 // fail at once: go-redis would otherwise back off and retry
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	st := timeline.NewRedisStore(c, timeline.Options{})
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = st.Append(ctx, "s", "1", timeline.Event{Kind: timeline.KindError})
	if err == nil || !strings.Contains(err.Error(), "store_unavailable") {
		t.Fatalf("append with Redis down: %v", err)
	}
	if _, err := st.List(ctx, timeline.Filter{}); err == nil {
		t.Fatal("list with Redis down succeeded")
	}
	timeline.NewRecorder(st, "", nil).Record(ctx, "s", "1", timeline.Event{Kind: timeline.KindError})
}

func TestMaskAddress(t *testing.T) {
	for _, c := range []struct{ cc, pc, want string }{
		{"es", "46005", "ES 46***"},
		{"GB", "SW1A 1AA", "GB SW***"},
		{"IE", "", "IE"},
		{"PT", "12", "PT 1***"},
		{"XX", "9", "XX ***"},
		{"", "", ""},
	} {
		if got := timeline.MaskAddress(c.cc, c.pc); got != c.want {
			t.Errorf("MaskAddress(%q, %q) = %q, want %q", c.cc, c.pc, got, c.want)
		}
	}
}

// A nil Recorder is a valid "timeline off".
func TestNilRecorder(t *testing.T) {
	var r *timeline.Recorder
	ctx := context.Background()
	r.Record(ctx, "s", "1", timeline.Event{Kind: timeline.KindError})
	r.Observe(ctx, orders.Observation{Event: orders.EventRatesAnswered, Rates: &orders.RatesCall{In: orders.RatesInput{OrderID: "1"}}})
	r.Observe(ctx, orders.Observation{Event: orders.EventPlaceAnswered, Place: &orders.PlaceCall{In: orders.PlaceInput{OrderID: "1"}}})
	r.Observe(ctx, orders.Observation{Event: orders.EventTrackAnswered, Track: &orders.TrackCall{In: orders.TrackInput{ShopifyOrderID: "1"}}})
	r.Observe(ctx, orders.Observation{Event: orders.EventClaimWon})
}

// BenchmarkRedisAppend measures the cost an event adds to a request: one
// pipelined round trip (script + index + link) on a local Redis.
func BenchmarkRedisAppend(b *testing.B) {
	st := timeline.NewRedisStore(redistest.Client(b), timeline.Options{Prefix: redistest.Prefix(b)})
	ctx := context.Background()
	ev := timeline.Event{Kind: timeline.KindOrderCreated, SupplierOrderID: "690005604133", Status: "pending", Address: "ES 46***"}
	i := 0
	for b.Loop() {
		i++
		if err := st.Append(ctx, "bench.myshopify.com", strconv.Itoa(i%1000), ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryAppend(b *testing.B) {
	st := timeline.NewMemoryStore(timeline.Options{})
	ctx := context.Background()
	ev := timeline.Event{Kind: timeline.KindTrackingChecked, Status: "processing"}
	i := 0
	for b.Loop() {
		i++
		if err := st.Append(ctx, "bench.myshopify.com", strconv.Itoa(i%1000), ev); err != nil {
			b.Fatal(err)
		}
	}
}

// The append script is sent by its hash; a Redis that lost its script
// cache (restart, failover) answers NOSCRIPT and the event must still land.
func TestRedisAppendAfterScriptFlush(t *testing.T) {
	c := redistest.ClientFor(t, redistest.Start(t).URL())
	st := timeline.NewRedisStore(c, timeline.Options{Prefix: redistest.Prefix(t)})
	ctx := context.Background()
	for i := range 3 {
		if i == 1 {
			if err := c.ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Append(ctx, "shop", "42", timeline.Event{Kind: timeline.KindTrackingChecked}); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	o, err := st.Get(ctx, "shop", "42")
	if err != nil || len(o.Events) != 3 {
		t.Fatalf("events = %d, err %v; want 3", len(o.Events), err)
	}
}
