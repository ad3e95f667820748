package resilient_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier/resilient"
)

// rateLimitedSupplier is a fake order API that, like BigBuy, answers 429
// with a plain-text body and X-RateLimit-* headers when more than limit
// requests arrive within any one-second window (a sliding window over the
// arrival times), and otherwise creates the order named in the body.
type rateLimitedSupplier struct {
	srv      *httptest.Server
	limit    int
	mu       sync.Mutex
	window   []time.Time // arrivals in the last second
	maxSeen  int         // most arrivals seen in one window
	rejected int
	created  map[string]int
}

func newRateLimitedSupplier(t *testing.T, limit int) *rateLimitedSupplier {
	t.Helper()
	s := &rateLimitedSupplier{limit: limit, created: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *rateLimitedSupplier) serve(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Order struct {
			InternalReference string `json:"internalReference"`
		} `json:"order"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Order.InternalReference == "" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	now := time.Now()
	s.mu.Lock()
	keep := s.window[:0]
	for _, at := range s.window {
		if now.Sub(at) < time.Second {
			keep = append(keep, at)
		}
	}
	s.window = append(keep, now)
	s.maxSeen = max(s.maxSeen, len(s.window))
	over := len(s.window) > s.limit
	if over {
		s.rejected++
	} else {
		s.created[body.Order.InternalReference]++
	}
	remaining := max(s.limit-len(s.window), 0)
	s.mu.Unlock()

	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(s.limit))
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(now.Add(time.Second).Unix(), 10))
	if over {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, "You exceeded the rate limit")
		return
	}
	w.Header().Set("Location", "/rest/order/"+body.Order.InternalReference)
	w.WriteHeader(http.StatusCreated)
}

type burstResult struct {
	statuses map[int]int
	errs     []error
	took     time.Duration
}

// burst sends orders create-style (unmarked POSTs) spread round-robin over
// the replicas, all at once, each with its own deadline.
func burst(t *testing.T, replicas []*http.Client, url string, orders int, deadline time.Duration) burstResult {
	t.Helper()
	var mu sync.Mutex
	res := burstResult{statuses: map[int]int{}}
	var wg sync.WaitGroup
	start := time.Now()
	for i := range orders {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			ctx = resilient.WithOperation(ctx, "create_order")
			body := `{"order":{"internalReference":"order-` + strconv.Itoa(i) + `"}}`
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/rest/order/create.json", strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			resp, err := replicas[i%len(replicas)].Do(req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.errs = append(res.errs, err)
				return
			}
			_ = resp.Body.Close()
			res.statuses[resp.StatusCode]++
		})
	}
	wg.Wait()
	res.took = time.Since(start)
	return res
}

// replicaConfig is one replica's client for the rate-limit tests.
func replicaConfig(rdb redis.UniversalClient, prefix string, perSecond float64) resilient.Config {
	return resilient.Config{
		Name:           "bigbuy",
		Redis:          rdb,
		KeyPrefix:      prefix,
		RatePerSecond:  perSecond,
		Burst:          1,
		AttemptTimeout: 5 * time.Second,
		MinAttemptTime: 50 * time.Millisecond,
	}
}

// TestSharedRateLimitAcrossReplicas is the test: 3 replicas, each
// with its own Redis connection to one real Redis, place a burst of 500
// orders against a supplier that refuses more than 100 requests in any
// second. The shared budget (50/s, burst 1: at most 51 sends in any second,
// leaving room for scheduling jitter) must keep the supplier from ever
// answering 429, and every order must be created exactly once.
func TestSharedRateLimitAcrossReplicas(t *testing.T) {
	const (
		orders    = 500
		limit     = 100
		perSecond = 50 // half the supplier's limit: CI runs this beside other packages under -race
	)
	fake := newRateLimitedSupplier(t, limit)
	url := redistest.URL(t)
	prefix := redistest.Prefix(t)
	var replicas []*http.Client
	for range 3 {
		c, err := resilient.New(replicaConfig(redistest.ClientFor(t, url), prefix, perSecond))
		if err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, c.HTTPClient())
	}

	res := burst(t, replicas, fake.srv.URL, orders, 30*time.Second)

	fake.mu.Lock()
	defer fake.mu.Unlock()
	t.Logf("%d orders over 3 replicas in %v: statuses %v, transport errors %d, supplier saw at most %d requests in one second, served %d 429s, created %d distinct orders",
		orders, res.took.Round(time.Millisecond), res.statuses, len(res.errs), fake.maxSeen, fake.rejected, len(fake.created))
	for _, err := range res.errs {
		t.Errorf("order failed: %v", err)
	}
	if fake.rejected != 0 {
		t.Errorf("supplier served %d 429s, want 0", fake.rejected)
	}
	if res.statuses[http.StatusCreated] != orders || len(fake.created) != orders {
		t.Errorf("%d created responses, %d distinct orders; want %d", res.statuses[http.StatusCreated], len(fake.created), orders)
	}
	for ref, n := range fake.created {
		if n != 1 {
			t.Errorf("order %s created %d times", ref, n)
		}
	}
	// 500 sends at 50/s cannot take less than 499/50 s: proves they were paced.
	if minTook := (orders - 1) * time.Second / perSecond; res.took < minTook-100*time.Millisecond {
		t.Errorf("burst took %v, faster than the budget allows (%v)", res.took, minTook)
	}
}

// TestLocalLimitsDoNotProtectReplicas is the control for the test above: the
// same replicas, each limited only locally, overrun the supplier. It shows
// the fake does refuse bursts, so a zero above means something.
func TestLocalLimitsDoNotProtectReplicas(t *testing.T) {
	fake := newRateLimitedSupplier(t, 100)
	var replicas []*http.Client
	for range 3 {
		c, err := resilient.New(replicaConfig(nil, "", 90))
		if err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, c.HTTPClient())
	}
	res := burst(t, replicas, fake.srv.URL, 300, 10*time.Second)
	fake.mu.Lock()
	defer fake.mu.Unlock()
	t.Logf("local limits: statuses %v in %v, supplier saw at most %d requests in one second", res.statuses, res.took.Round(time.Millisecond), fake.maxSeen)
	if fake.rejected == 0 || res.statuses[http.StatusTooManyRequests] != fake.rejected {
		t.Fatalf("supplier served %d 429s (client saw %d); three unshared 90/s limits should overrun a 100/s supplier",
			fake.rejected, res.statuses[http.StatusTooManyRequests])
	}
}

// TestLocalLimiterPaces: without Redis the x/time/rate limiter paces one
// process the same way.
func TestLocalLimiterPaces(t *testing.T) {
	fake := newRateLimitedSupplier(t, 20)
	c, err := resilient.New(replicaConfig(nil, "", 15))
	if err != nil {
		t.Fatal(err)
	}
	res := burst(t, []*http.Client{c.HTTPClient()}, fake.srv.URL, 30, 10*time.Second)
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if res.statuses[http.StatusCreated] != 30 || fake.rejected != 0 || len(res.errs) != 0 {
		t.Fatalf("statuses %v, errors %v, 429s %d", res.statuses, res.errs, fake.rejected)
	}
	if minTook := 29 * time.Second / 15; res.took < minTook-100*time.Millisecond {
		t.Fatalf("30 requests at 15/s took %v, want at least %v", res.took, minTook)
	}
}

// TestLimiterWaitPastDeadline: when the next slot lies beyond the deadline
// the call fails at once with supplier_rate_limited and sends nothing.
func TestLimiterWaitPastDeadline(t *testing.T) {
	backends := []struct {
		name  string
		redis func(t *testing.T) redis.UniversalClient
	}{
		{"local", func(*testing.T) redis.UniversalClient { return nil }},
		{"redis", func(t *testing.T) redis.UniversalClient { return redistest.Client(t) }},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			fake := newRateLimitedSupplier(t, 100)
			c, err := resilient.New(replicaConfig(b.redis(t), redistest.Prefix(t), 0.5)) // one slot per 2 s
			if err != nil {
				t.Fatal(err)
			}
			hc := c.HTTPClient()
			first := burst(t, []*http.Client{hc}, fake.srv.URL, 1, 5*time.Second)
			if first.statuses[http.StatusCreated] != 1 {
				t.Fatalf("first request: %v %v", first.statuses, first.errs)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fake.srv.URL, strings.NewReader(`{"order":{"internalReference":"late"}}`))
			start := time.Now()
			_, err = hc.Do(req)
			took := time.Since(start)
			var pe *problem.Error
			if !errors.As(err, &pe) || pe.Code != problem.CodeSupplierRateLimited || pe.Kind != problem.Unavailable ||
				pe.RetryAfter != 2*time.Second || !resilient.NotSent(err) {
				t.Fatalf("err = %v (%+v), want not-sent supplier_rate_limited with RetryAfter 2s", err, pe)
			}
			if took > 200*time.Millisecond {
				t.Fatalf("refusal took %v; it should not wait for a slot it cannot use", took)
			}
			fake.mu.Lock()
			defer fake.mu.Unlock()
			if len(fake.created) != 1 {
				t.Fatalf("%d orders reached the supplier, want 1", len(fake.created))
			}
		})
	}
}

// TestRedisDownFailsClosed: without the shared budget nothing is sent.
func TestRedisDownFailsClosed(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redistest.ClientFor(t, srv.URL())
	fake := newRateLimitedSupplier(t, 100)
	c, err := resilient.New(replicaConfig(rdb, redistest.Prefix(t), 10))
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	res := burst(t, []*http.Client{c.HTTPClient()}, fake.srv.URL, 1, 3*time.Second)
	if len(res.errs) != 1 {
		t.Fatalf("statuses %v errors %v, want one error", res.statuses, res.errs)
	}
	err = res.errs[0]
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Code != problem.CodeStoreUnavailable || pe.Kind != problem.Unavailable ||
		pe.RetryAfter <= 0 || !resilient.NotSent(err) {
		t.Fatalf("err = %v, want not-sent store_unavailable", err)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.window) != 0 {
		t.Fatalf("supplier received %d requests while the limiter was down", len(fake.window))
	}
}

// TestBurstThenRefuse: Burst requests go at once, the next one must wait
// an emission interval (1 s), which a 300 ms deadline cannot afford.
func TestBurstThenRefuse(t *testing.T) {
	for _, backend := range []string{"local", "redis"} {
		t.Run(backend, func(t *testing.T) {
			var rdb redis.UniversalClient
			if backend == "redis" {
				rdb = redistest.Client(t)
			}
			cfg := replicaConfig(rdb, redistest.Prefix(t), 1)
			cfg.Burst = 3
			c, err := resilient.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			fake := newRateLimitedSupplier(t, 100)
			res := burst(t, []*http.Client{c.HTTPClient(), c.HTTPClient(), c.HTTPClient(), c.HTTPClient()}, fake.srv.URL, 4, 300*time.Millisecond)
			if res.statuses[http.StatusCreated] != 3 || len(res.errs) != 1 || !problem.Is(res.errs[0], problem.CodeSupplierRateLimited) {
				t.Fatalf("statuses %v errors %v, want 3 created and 1 supplier_rate_limited", res.statuses, res.errs)
			}
			if res.took > 250*time.Millisecond {
				t.Fatalf("took %v: the burst should go at once and the refusal be immediate", res.took)
			}
		})
	}
}

// TestPerOperationBudgets: with PerOperation, each endpoint has its own
// budget (BigBuy limits each endpoint to about 1/s, not the account), and
// each endpoint's budget is still shared by the replicas through Redis.
func TestPerOperationBudgets(t *testing.T) {
	for _, backend := range []string{"local", "redis"} {
		t.Run(backend, func(t *testing.T) {
			var rdbA, rdbB redis.UniversalClient
			url := ""
			if backend == "redis" {
				url = redistest.URL(t)
				rdbA, rdbB = redistest.ClientFor(t, url), redistest.ClientFor(t, url)
			}
			prefix := redistest.Prefix(t)
			newReplica := func(rdb redis.UniversalClient) *http.Client {
				cfg := replicaConfig(rdb, prefix, 1)
				cfg.PerOperation = true
				c, err := resilient.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				return c.HTTPClient()
			}
			a := newReplica(rdbA)
			b := a
			if backend == "redis" {
				b = newReplica(rdbB)
			}
			fake := newRateLimitedSupplier(t, 100)
			send := func(hc *http.Client, op, ref string) error {
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				ctx = resilient.WithOperation(ctx, op)
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, fake.srv.URL+"/rest/"+op+".json",
					strings.NewReader(`{"order":{"internalReference":"`+ref+`"}}`))
				if err != nil {
					t.Fatal(err)
				}
				resp, err := hc.Do(req)
				if err == nil {
					_ = resp.Body.Close()
				}
				return err
			}
			if err := send(a, "order/create", "1"); err != nil {
				t.Fatalf("first create: %v", err)
			}
			// The same endpoint from the other replica waits ~1 s: refused.
			if err := send(b, "order/create", "2"); !problem.Is(err, problem.CodeSupplierRateLimited) {
				t.Fatalf("second create within the second: %v, want supplier_rate_limited", err)
			}
			// Another endpoint has its own budget: sent at once.
			if err := send(b, "shipping/orders", "3"); err != nil {
				t.Fatalf("quote on another endpoint: %v", err)
			}
			fake.mu.Lock()
			defer fake.mu.Unlock()
			if fake.created["1"] != 1 || fake.created["2"] != 0 || fake.created["3"] != 1 {
				t.Fatalf("supplier saw %v", fake.created)
			}
		})
	}
}
