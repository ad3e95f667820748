package resilient_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/resilient"
)

// fake is an httptest supplier that numbers the requests it receives and
// records their bodies and arrival times.
type fake struct {
	srv    *httptest.Server
	n      atomic.Int64
	mu     sync.Mutex
	bodies []string
	times  []time.Time
}

func newFake(t *testing.T, h func(n int, w http.ResponseWriter, r *http.Request)) *fake {
	t.Helper()
	f := &fake{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, string(b))
		f.times = append(f.times, time.Now())
		f.mu.Unlock()
		h(int(f.n.Add(1)), w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) count() int { return int(f.n.Load()) }

func (f *fake) arrivals() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.times...)
}

// fastConfig keeps tests quick: tiny backoff, a generous local budget.
func fastConfig() resilient.Config {
	return resilient.Config{
		Name:           "test",
		RatePerSecond:  1000,
		Burst:          1000,
		AttemptTimeout: 2 * time.Second,
		MinAttemptTime: 50 * time.Millisecond,
		BackoffInitial: 5 * time.Millisecond,
		BackoffMax:     20 * time.Millisecond,
		MaxAttempts:    3,
	}
}

func newClient(t *testing.T, cfg resilient.Config) *resilient.Client {
	t.Helper()
	c, err := resilient.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// do sends a POST with a JSON body (BigBuy's rates endpoint is a POST, so
// the marker, not the method, decides about retries).
func do(t *testing.T, ctx context.Context, hc *http.Client, url string) (*http.Response, string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"order":1}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, string(b), nil
}

// failOnce answers the first request with fail, later ones with 200 "ok".
func failOnce(fail func(w http.ResponseWriter)) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			fail(w)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}
}

func status(code int) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "failure")
	}
}

// drop closes the connection without answering, after the request was read.
func drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func TestRetriesOnlyForMarkedRequests(t *testing.T) {
	cases := []struct {
		name     string
		fail     func(http.ResponseWriter)
		retried  bool // a marked read is re-sent
		dropConn bool
		status   int // status an unmarked create sees
	}{
		{"503", status(503), true, false, 503},
		{"502", status(502), true, false, 502},
		{"504", status(504), true, false, 504},
		{"429", status(429), true, false, 429},
		{"dropped connection", drop, true, true, 0},
		{"500 is not retried", status(500), false, false, 500},
		{"400 is not retried", status(400), false, false, 400},
		{"404 is not retried", status(404), false, false, 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("marked read", func(t *testing.T) {
				f := newFake(t, failOnce(tc.fail))
				hc := newClient(t, fastConfig()).HTTPClient()
				resp, body, err := do(t, supplier.Retryable(context.Background()), hc, f.srv.URL)
				want := 1
				if tc.retried {
					want = 2
				}
				if got := f.count(); got != want {
					t.Fatalf("supplier received %d requests, want %d", got, want)
				}
				if tc.retried {
					if err != nil || resp.StatusCode != 200 || body != "ok" {
						t.Fatalf("got %v %v %q, want 200 ok", resp, err, body)
					}
					for i, b := range f.bodies {
						if b != `{"order":1}` {
							t.Fatalf("attempt %d body %q: body not replayed", i+1, b)
						}
					}
				} else if err != nil || resp.StatusCode != tc.status {
					t.Fatalf("got %v %v, want the %d response unchanged", resp, err, tc.status)
				}
			})
			t.Run("unmarked create is sent once", func(t *testing.T) {
				f := newFake(t, failOnce(tc.fail))
				hc := newClient(t, fastConfig()).HTTPClient()
				resp, body, err := do(t, context.Background(), hc, f.srv.URL)
				if got := f.count(); got != 1 {
					t.Fatalf("create sent %d times, want exactly 1", got)
				}
				if tc.dropConn {
					if err == nil {
						t.Fatalf("dropped connection gave %v, want an error", resp.Status)
					}
					if resilient.NotSent(err) {
						t.Fatalf("NotSent(%v) = true for a request the supplier received", err)
					}
					return
				}
				if err != nil || resp.StatusCode != tc.status || body != "failure" {
					t.Fatalf("got %v %v %q, want the %d response unchanged", resp, err, body, tc.status)
				}
			})
		})
	}
}

func TestRetriesStopAtMaxAttempts(t *testing.T) {
	f := newFake(t, func(int, http.ResponseWriter, *http.Request) {})
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.n.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	var retries atomic.Int64
	cfg := fastConfig()
	cfg.BreakerFailures = 100
	cfg.Observer.Retry = func(_ context.Context, _, op string, _ int, _ time.Duration, reason string) {
		if op != "rates" || reason != "status_503" {
			t.Errorf("retry observed op %q reason %q", op, reason)
		}
		retries.Add(1)
	}
	hc := newClient(t, cfg).HTTPClient()
	ctx := resilient.WithOperation(supplier.Retryable(context.Background()), "rates")
	resp, _, err := do(t, ctx, hc, f.srv.URL)
	if err != nil || resp.StatusCode != 503 {
		t.Fatalf("got %v %v, want the last 503", resp, err)
	}
	if f.count() != 3 || retries.Load() != 2 {
		t.Fatalf("requests %d retries %d, want 3 and 2", f.count(), retries.Load())
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	epoch := func(after int64) string { return strconv.FormatInt(now.Unix()+after, 10) }
	cases := []struct {
		name   string
		header map[string]string
		want   time.Duration
		ok     bool
	}{
		{"seconds", map[string]string{"Retry-After": "7"}, 7 * time.Second, true},
		{"http date", map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second, true},
		{"date in the past", map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, 0, true},
		{"bigbuy reset epoch", map[string]string{"X-RateLimit-Reset": epoch(3)}, 3 * time.Second, true},
		{"retry-after wins over reset", map[string]string{"Retry-After": "2", "X-RateLimit-Reset": epoch(100)}, 2 * time.Second, true},
		{"reset as a delta", map[string]string{"X-RateLimit-Reset": "4"}, 4 * time.Second, true},
		{"garbage falls through to reset", map[string]string{"Retry-After": "soon", "X-RateLimit-Reset": epoch(1)}, time.Second, true},
		{"negative seconds", map[string]string{"Retry-After": "-3"}, 0, false},
		{"nothing", map[string]string{}, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.header {
				h.Set(k, v)
			}
			got, ok := resilient.ParseRetryAfter(h, now)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("got %v %v, want %v %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestSupplier429IsHonoured checks that a marked read waits what the
// supplier's 429 asks before re-sending, whichever header says it.
func TestSupplier429IsHonoured(t *testing.T) {
	cases := []struct {
		name    string
		headers func() map[string]string
		min     time.Duration
	}{
		{"Retry-After seconds", func() map[string]string { return map[string]string{"Retry-After": "1"} }, time.Second},
		{"Retry-After HTTP-date", func() map[string]string {
			// HTTP-dates have whole seconds: 2 s ahead is at least 1 s away.
			return map[string]string{"Retry-After": time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat)}
		}, time.Second},
		{"X-RateLimit-Reset epoch", func() map[string]string {
			return map[string]string{"X-RateLimit-Reset": strconv.FormatInt(time.Now().Unix()+2, 10)}
		}, time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, failOnce(func(w http.ResponseWriter) {
				for k, v := range tc.headers() {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = io.WriteString(w, "You exceeded the rate limit")
			}))
			hc := newClient(t, fastConfig()).HTTPClient()
			ctx, cancel := context.WithTimeout(supplier.Retryable(context.Background()), 10*time.Second)
			defer cancel()
			resp, body, err := do(t, ctx, hc, f.srv.URL)
			if err != nil || resp.StatusCode != 200 || body != "ok" {
				t.Fatalf("got %v %v %q, want 200 after waiting", resp, err, body)
			}
			at := f.arrivals()
			if len(at) != 2 {
				t.Fatalf("%d requests, want 2", len(at))
			}
			if gap := at[1].Sub(at[0]); gap < tc.min-20*time.Millisecond || gap > tc.min+2*time.Second {
				t.Fatalf("re-sent after %v, want about %v or a little more", gap, tc.min)
			}
		})
	}
}

// TestDeadlineCutsWaits: waits that would end past the request deadline are
// never started; the caller gets the supplier's 429 back at once.
func TestDeadlineCutsWaits(t *testing.T) {
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "10")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, "You exceeded the rate limit")
	})
	hc := newClient(t, fastConfig()).HTTPClient()
	ctx, cancel := context.WithTimeout(supplier.Retryable(context.Background()), 2*time.Second)
	defer cancel()
	start := time.Now()
	resp, body, err := do(t, ctx, hc, f.srv.URL)
	took := time.Since(start)
	if err != nil || resp.StatusCode != 429 || body != "You exceeded the rate limit" {
		t.Fatalf("got %v %v %q, want the 429 unchanged", resp, err, body)
	}
	if took > time.Second {
		t.Fatalf("returned after %v; it should not wait for a Retry-After past the deadline", took)
	}
	if f.count() != 1 {
		t.Fatalf("%d requests, want 1", f.count())
	}
	pe := resilient.RateLimited(resp, 5*time.Second)
	if pe.Kind != problem.Unavailable || pe.Code != problem.CodeSupplierRateLimited || pe.RetryAfter != 10*time.Second {
		t.Fatalf("RateLimited = %+v", pe)
	}
}

func TestNoTimeLeftSendsNothing(t *testing.T) {
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {})
	hc := newClient(t, fastConfig()).HTTPClient()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond) // < MinAttemptTime
	defer cancel()
	_, _, err := do(t, ctx, hc, f.srv.URL)
	if !problem.Is(err, problem.CodeDeadline) || !resilient.NotSent(err) {
		t.Fatalf("err = %v, want a not-sent deadline_exceeded", err)
	}
	if f.count() != 0 {
		t.Fatalf("%d requests sent", f.count())
	}
}

// TestAttemptTimeout: a slow supplier is cut at AttemptTimeout; a marked
// read is tried again, a create is not.
func TestAttemptTimeout(t *testing.T) {
	slowFirst := func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			<-r.Context().Done() // hangs until the client gives up
			return
		}
		_, _ = io.WriteString(w, "ok")
	}
	cfg := fastConfig()
	cfg.AttemptTimeout = 150 * time.Millisecond

	t.Run("marked read retries", func(t *testing.T) {
		f := newFake(t, slowFirst)
		hc := newClient(t, cfg).HTTPClient()
		resp, body, err := do(t, supplier.Retryable(context.Background()), hc, f.srv.URL)
		if err != nil || resp.StatusCode != 200 || body != "ok" || f.count() != 2 {
			t.Fatalf("got %v %v %q after %d requests", resp, err, body, f.count())
		}
	})
	t.Run("create times out once", func(t *testing.T) {
		f := newFake(t, slowFirst)
		hc := newClient(t, cfg).HTTPClient()
		start := time.Now()
		_, _, err := do(t, context.Background(), hc, f.srv.URL)
		took := time.Since(start)
		if err == nil || resilient.NotSent(err) {
			t.Fatalf("err = %v, want a timeout that may have reached the supplier", err)
		}
		if took > time.Second || f.count() != 1 {
			t.Fatalf("took %v with %d requests, want ~150ms and 1", took, f.count())
		}
	})
	t.Run("body readable until the attempt deadline", func(t *testing.T) {
		f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, strings.Repeat("x", 1<<20))
		})
		hc := newClient(t, cfg).HTTPClient()
		_, body, err := do(t, context.Background(), hc, f.srv.URL)
		if err != nil || len(body) != 1<<20 {
			t.Fatalf("got %d bytes, err %v", len(body), err)
		}
	})
}

func TestCircuitBreaker(t *testing.T) {
	var healthy atomic.Bool
	f := newFake(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/missing":
			w.WriteHeader(http.StatusNotFound)
		case healthy.Load():
			_, _ = io.WriteString(w, "ok")
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	const openFor = 300 * time.Millisecond
	var mu sync.Mutex
	var changes []string
	cfg := fastConfig()
	cfg.BreakerFailures = 3
	cfg.BreakerOpenFor = openFor
	cfg.Observer.BreakerChange = func(name, from, to string) {
		mu.Lock()
		changes = append(changes, name+":"+from+"->"+to)
		mu.Unlock()
	}
	c := newClient(t, cfg)
	hc := c.HTTPClient()
	ctx := context.Background()

	// 4xx answers are the supplier working: they never open the breaker.
	for range 10 {
		if resp, _, err := do(t, ctx, hc, f.srv.URL+"/missing"); err != nil || resp.StatusCode != 404 {
			t.Fatalf("got %v %v", resp, err)
		}
	}
	if c.BreakerState() != "closed" {
		t.Fatalf("breaker %s after 404s", c.BreakerState())
	}
	for range 3 {
		if resp, _, err := do(t, ctx, hc, f.srv.URL); err != nil || resp.StatusCode != 503 {
			t.Fatalf("got %v %v", resp, err)
		}
	}
	if c.BreakerState() != "open" {
		t.Fatalf("breaker %s after 3 failures, want open", c.BreakerState())
	}
	sent := f.count()
	start := time.Now()
	_, _, err := do(t, ctx, hc, f.srv.URL)
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Kind != problem.Unavailable || pe.Code != problem.CodeSupplierUnavailable ||
		pe.RetryAfter != time.Second || !resilient.IsBreakerOpen(err) || !resilient.NotSent(err) {
		t.Fatalf("open breaker gave %v, want a not-sent supplier_unavailable with RetryAfter 1s", err)
	}
	if f.count() != sent || time.Since(start) > 100*time.Millisecond {
		t.Fatalf("open breaker did not fail fast (%d sent, %v)", f.count()-sent, time.Since(start))
	}

	// gobreaker reads the real clock: let the open period pass.
	<-time.After(openFor)
	if c.BreakerState() != "half-open" {
		t.Fatalf("breaker %s after the open period, want half-open", c.BreakerState())
	}
	healthy.Store(true)
	if resp, body, err := do(t, ctx, hc, f.srv.URL); err != nil || resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("probe got %v %v", resp, err)
	}
	if c.BreakerState() != "closed" {
		t.Fatalf("breaker %s after a good probe, want closed", c.BreakerState())
	}
	mu.Lock()
	got := strings.Join(changes, " ")
	mu.Unlock()
	if want := "test:closed->open test:open->half-open test:half-open->closed"; got != want {
		t.Fatalf("breaker changes %q, want %q", got, want)
	}
}

func TestTimeoutsOpenTheBreaker(t *testing.T) {
	f := newFake(t, func(_ int, _ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	cfg := fastConfig()
	cfg.AttemptTimeout = 50 * time.Millisecond
	cfg.BreakerFailures = 2
	cfg.BreakerOpenFor = time.Minute
	c := newClient(t, cfg)
	for range 2 {
		if _, _, err := do(t, context.Background(), c.HTTPClient(), f.srv.URL); err == nil {
			t.Fatal("slow supplier answered")
		}
	}
	_, _, err := do(t, context.Background(), c.HTTPClient(), f.srv.URL)
	var pe *problem.Error
	if !resilient.IsBreakerOpen(err) || !errors.As(err, &pe) || pe.RetryAfter < 59*time.Second {
		t.Fatalf("err = %v, want breaker open for about a minute", err)
	}
	if f.count() != 2 {
		t.Fatalf("%d requests, want 2", f.count())
	}
}

// TestConnectionRefused: a supplier that cannot even be dialled never got
// the request, so NotSent is true (a create placed nothing) and a marked
// read is tried again.
func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	var attempts atomic.Int64
	cfg := fastConfig()
	cfg.Observer.Attempt = func(context.Context, string, string, int, int, error, time.Duration) { attempts.Add(1) }
	hc := newClient(t, cfg).HTTPClient()

	_, _, err := do(t, context.Background(), hc, url)
	if err == nil || !resilient.NotSent(err) || attempts.Load() != 1 {
		t.Fatalf("create: err %v NotSent %v after %d attempts, want a not-sent error after 1", err, resilient.NotSent(err), attempts.Load())
	}
	attempts.Store(0)
	_, _, err = do(t, supplier.Retryable(context.Background()), hc, url)
	if err == nil || attempts.Load() != 3 {
		t.Fatalf("read: err %v after %d attempts, want an error after 3", err, attempts.Load())
	}
}

// TestRefusalsAreUnsent: adapters that look for an `Unsent() bool` method
// in the error chain (instead of calling NotSent) see refusals too.
func TestRefusalsAreUnsent(t *testing.T) {
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {})
	hc := newClient(t, fastConfig()).HTTPClient()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, _, err := do(t, ctx, hc, f.srv.URL)
	u, ok := errors.AsType[interface {
		error
		Unsent() bool
	}](err)
	if !ok || !u.Unsent() {
		t.Fatalf("err %v has no Unsent() in its chain", err)
	}
}

// TestRefusalIsThePlainProblem: the error a transport refusal yields is the
// *problem.Error itself (under http.Client's *url.Error), with no wrapper
// from the retry library in between.
func TestRefusalIsThePlainProblem(t *testing.T) {
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {})
	hc := newClient(t, fastConfig()).HTTPClient()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, _, err := do(t, ctx, hc, f.srv.URL)
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Fatalf("err %T %v is not a *url.Error", err, err)
	}
	if _, ok := ue.Err.(*problem.Error); !ok {
		t.Fatalf("url.Error wraps %T, want *problem.Error", ue.Err)
	}
}
