package resilient_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/internal/gcra/gcratest"
	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/store/redisstore"
	store "github.com/flowbridge/flowbridge/store/storeapi"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/resilient"
)

// hourly is a budget of one slot an hour with a burst of burst: the first
// burst slots need no wait, and the time a test runs is negligible next
// to the interval, so the slots taken can be counted from the TAT.
func hourly(rdb redis.UniversalClient, prefix string, burst int) resilient.Config {
	return resilient.Config{Name: "bts", Redis: rdb, KeyPrefix: prefix, RatePerSecond: 1.0 / 3600, Burst: burst,
		AttemptTimeout: 5 * time.Second, MinAttemptTime: 50 * time.Millisecond}
}

// countingSupplier answers every GET 200 and counts them.
func countingSupplier(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func get(ctx context.Context, hc *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err == nil {
		_ = resp.Body.Close()
	}
	return err
}

// reserve is what the orders service does for an uncached tracking: the
// store reads the entry and reserves the planned slot in one script; the
// outcome rides in the context to the transport.
func reserve(ctx context.Context, c *resilient.Client, st *redisstore.Store, key string) (context.Context, error) {
	plan, ok := c.PlanSlot(ctx)
	if !ok {
		return nil, errors.New("no slot plan for a shared limiter")
	}
	_, _, slot, err := st.TrackingGetReserve(ctx, key, store.SlotRequest{Key: plan.Key, Interval: plan.Interval, Tolerance: plan.Tolerance, MaxWait: plan.MaxWait})
	if err != nil || !slot.Asked || !slot.Reserved {
		return nil, fmt.Errorf("reserve: %+v %v", slot, err)
	}
	return supplier.WithReservation(ctx, &supplier.Reservation{Key: plan.Key, Reserved: slot.Reserved, Wait: slot.Wait, At: time.Now()}), nil
}

// TestReservedSlotsAcrossReplicas: N concurrent uncached trackings over
// two replicas (each its own limiter, store and Redis connection) take
// exactly N slots of the one shared budget: the slot each reserved with
// its cache read is the one its supplier request spends.
func TestReservedSlotsAcrossReplicas(t *testing.T) {
	const n = 24
	url := redistest.URL(t)
	prefix := redistest.Prefix(t)
	srv, sent := countingSupplier(t)
	type replica struct {
		c  *resilient.Client
		st *redisstore.Store
	}
	var reps []replica
	for range 2 {
		rdb := redistest.ClientFor(t, url)
		c, err := resilient.New(hourly(rdb, prefix, n+8))
		if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, replica{c: c, st: redisstore.New(rdb, redisstore.Options{Prefix: prefix})})
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := reps[i%2]
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			ctx, err := reserve(ctx, r.c, r.st, "order-"+strconv.Itoa(i))
			if err != nil {
				errs <- err
				return
			}
			errs <- get(supplier.Retryable(ctx), r.c.HTTPClient(), srv.URL)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("tracking: %v", err)
		}
	}
	if got := sent.Load(); got != n {
		t.Fatalf("supplier got %d requests; want %d", got, n)
	}
	if got := gcratest.SlotsTaken(t, redistest.ClientFor(t, url), prefix+"bts", time.Hour); got != n {
		t.Fatalf("%d slots taken for %d trackings; want exactly %d", got, n, n)
	}
}

// TestReservationSpentOnce: a supplier call that makes two requests (BTS
// asks getOrder, then getTrackings) spends the reserved slot on the first
// and asks the limiter for the second; a refused reservation is refused
// like the limiter refuses (supplier_rate_limited), with nothing sent and
// the limiter not asked again.
func TestReservationSpentOnce(t *testing.T) {
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t)
	c, err := resilient.New(hourly(rdb, prefix, 4))
	if err != nil {
		t.Fatal(err)
	}
	st := redisstore.New(rdb, redisstore.Options{Prefix: prefix})
	srv, sent := countingSupplier(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	rctx, err := reserve(ctx, c, st, "two-requests")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := get(rctx, c.HTTPClient(), srv.URL); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	if got := gcratest.SlotsTaken(t, rdb, prefix+"bts", time.Hour); got != 2 || sent.Load() != 2 {
		t.Fatalf("%d slots for %d requests; want 2 for 2", got, sent.Load())
	}

	plan, _ := c.PlanSlot(ctx)
	refused := supplier.WithReservation(ctx, &supplier.Reservation{Key: plan.Key, Reserved: false, Wait: time.Hour, At: time.Now()})
	if err := get(refused, c.HTTPClient(), srv.URL); !problem.Is(err, problem.CodeSupplierRateLimited) {
		t.Fatalf("refused reservation: %v; want supplier_rate_limited", err)
	}
	if got := gcratest.SlotsTaken(t, rdb, prefix+"bts", time.Hour); got != 2 || sent.Load() != 2 {
		t.Fatalf("after a refused reservation: %d slots, %d sent; want 2 and 2", got, sent.Load())
	}

	// A reservation for another limiter is not this one's: the limiter
	// takes its own slot.
	other := supplier.WithReservation(ctx, &supplier.Reservation{Key: prefix + "bigbuy", Reserved: true, At: time.Now()})
	if err := get(other, c.HTTPClient(), srv.URL); err != nil {
		t.Fatal(err)
	}
	if got := gcratest.SlotsTaken(t, rdb, prefix+"bts", time.Hour); got != 3 {
		t.Fatalf("%d slots after a foreign reservation; want 3", got)
	}
}

// TestPlanSlot: only a limiter shared through Redis, with one budget for
// every request, can be planned; the longest wait is what send would
// accept (time left minus MinAttemptTime).
func TestPlanSlot(t *testing.T) {
	rdb := redistest.Client(t)
	perOp := hourly(rdb, "p:", 2)
	perOp.PerOperation = true
	tests := []struct {
		name     string
		cfg      resilient.Config
		timeout  time.Duration
		want     bool
		wantWait time.Duration
	}{
		{"shared", hourly(rdb, "p:", 2), 2 * time.Second, true, 2*time.Second - 50*time.Millisecond},
		{"no deadline: MaxElapsed", hourly(rdb, "p:", 2), 0, true, resilient.DefaultMaxElapsed - 50*time.Millisecond},
		{"local limiter", hourly(nil, "p:", 2), 2 * time.Second, false, 0},
		{"per operation", perOp, 2 * time.Second, false, 0},
		{"no time left", hourly(rdb, "p:", 2), 40 * time.Millisecond, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := resilient.New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			plan, ok := c.PlanSlot(ctx)
			if ok != tt.want {
				t.Fatalf("ok = %v", ok)
			}
			if !ok {
				return
			}
			if plan.Key != "p:bts" || plan.Interval != time.Hour || plan.Tolerance != time.Hour {
				t.Fatalf("plan = %+v", plan)
			}
			if plan.MaxWait > tt.wantWait || plan.MaxWait < tt.wantWait-time.Second {
				t.Fatalf("max wait = %s; want about %s", plan.MaxWait, tt.wantWait)
			}
		})
	}
}
