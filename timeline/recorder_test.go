package timeline_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/store/redisstore"
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
	// One event is with the writer, two wait in the queue.
	if full < 7 {
		t.Fatalf("dropped for a full queue = %d, want at least 7 of 10", full)
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
