package telemetry

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/supplier/resilient"
	"github.com/labstack/echo/v4"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape fetches the exposition through h and parses it.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape status %d", rec.Code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	return fams
}

// sample returns the value of the series name{labels} (a histogram's
// sample count), and whether it exists. Labels not given must not matter:
// the series must be the only one matching.
func sample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	base := name
	isCount := strings.HasSuffix(name, "_count")
	if isCount {
		base = strings.TrimSuffix(name, "_count")
	}
	f, ok := fams[base]
	if !ok {
		return 0, false
	}
	var sum float64
	found := false
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if got[k] != v {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil && isCount:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum, found
}

func TestMetricsScriptedSequence(t *testing.T) {
	tel, _ := setup(t)
	m := tel.Metrics
	ctx := context.Background()

	// A stand-in for POST /orders whose answers follow a script, the way
	// the real handler answers a duplicate storm: one placement, replays,
	// in-flight duplicates, one order held for review.
	type step struct {
		outcome string
		status  int
	}
	script := []step{
		{"won", 200}, {"in_flight", 429}, {"in_flight", 429}, {"replayed", 200},
		{"in_flight", 429}, {"replayed", 200}, {"needs_review", 202},
	}
	var next atomic.Int64
	var reviewing atomic.Int64
	m.ObserveNeedsReview(func(context.Context) (int64, error) { return reviewing.Load(), nil })

	e := echo.New()
	e.Use(func(n echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			SetRoute(c.Request().Context(), c.Path())
			return n(c)
		}
	})
	e.POST("/orders", func(c echo.Context) error {
		s := script[next.Add(1)-1]
		m.Idempotency(c.Request().Context(), s.outcome)
		if s.outcome == "needs_review" {
			reviewing.Add(1)
		}
		return c.NoContent(s.status)
	})
	e.GET("/tracking/:id", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	srv := httptest.NewServer(tel.HTTPMiddleware(e))
	t.Cleanup(srv.Close)
	do := func(method, path string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	for range script {
		do(http.MethodPost, "/orders")
	}
	do(http.MethodGet, "/tracking/690005604133")
	do(http.MethodGet, "/tracking/690005604134")
	do(http.MethodGet, "/wp-login.php")
	do(http.MethodGet, "/.env")

	// Supplier attempts as supplier/resilient reports them.
	m.SupplierAttempt(ctx, "bts", "create_order", 1, 200, nil, 300*time.Millisecond)
	m.SupplierAttempt(ctx, "bts", "tracking", 1, 503, nil, 50*time.Millisecond)
	m.SupplierAttempt(ctx, "bts", "tracking", 2, 0, context.DeadlineExceeded, 5*time.Second)
	m.SupplierAttempt(ctx, "bts", "tracking", 3, 0, &net.OpError{Op: "dial", Err: errors.New("connection refused")}, time.Millisecond)
	m.SupplierAttempt(ctx, "bts", "create_order", 1, 422, nil, 80*time.Millisecond)
	m.SupplierRetry(ctx, "bts", "tracking", 1, time.Second, "status_503")
	m.SupplierLimiterWait(ctx, "bts", 200*time.Millisecond)
	m.SupplierBreakerChange("bts", "closed", "open")
	m.SupplierBreakerChange("bts", "open", "half-open")
	m.SupplierBreakerChange("bts", "half-open", "open")
	m.StoreError(ctx, "claim")
	m.TimelineFolded(ctx, "order_replayed")
	m.TimelineFolded(ctx, "order_replayed")

	// Real Redis: a failing command counts, a missing key does not.
	rdb := redistest.ClientFor(t, redistest.Start(t).URL())
	if err := tel.InstrumentRedis(rdb); err != nil {
		t.Fatal(err)
	}
	_ = rdb.Set(ctx, "k", "not a number", 0).Err()
	if err := rdb.Incr(ctx, "k").Err(); err == nil {
		t.Fatal("INCR of a string succeeded")
	}
	if err := rdb.Get(ctx, "missing").Err(); err == nil {
		t.Fatal("GET of a missing key found something")
	}

	fams := scrape(t, tel.MetricsHandler())
	type want struct {
		name   string
		labels map[string]string
		value  float64
	}
	L := func(kv ...string) map[string]string {
		out := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	for _, w := range []want{
		{"flowbridge_idempotency_outcomes_total", L("outcome", "won"), 1},
		{"flowbridge_idempotency_outcomes_total", L("outcome", "replayed"), 2},
		{"flowbridge_idempotency_outcomes_total", L("outcome", "in_flight"), 3},
		{"flowbridge_idempotency_outcomes_total", L("outcome", "needs_review"), 1},
		{"flowbridge_orders_needs_review", nil, 1},
		{"flowbridge_http_server_duration_seconds_count", L("method", "POST", "route", "/orders", "status", "200"), 3},
		{"flowbridge_http_server_duration_seconds_count", L("method", "POST", "route", "/orders", "status", "429"), 3},
		{"flowbridge_http_server_duration_seconds_count", L("method", "POST", "route", "/orders", "status", "202"), 1},
		{"flowbridge_http_server_duration_seconds_count", L("method", "GET", "route", "/tracking/:id", "status", "200"), 2},
		{"flowbridge_http_server_duration_seconds_count", L("route", UnmatchedRoute, "status", "404"), 2},
		{"flowbridge_supplier_call_duration_seconds_count", L("supplier", "bts", "outcome", "ok"), 1},
		{"flowbridge_supplier_call_duration_seconds_count", L("supplier", "bts", "outcome", "error"), 3},
		{"flowbridge_supplier_call_duration_seconds_count", L("supplier", "bts", "outcome", "rejected"), 1},
		{"flowbridge_supplier_errors_total", L("supplier", "bts", "code", "status_503"), 1},
		{"flowbridge_supplier_errors_total", L("supplier", "bts", "code", "timeout"), 1},
		{"flowbridge_supplier_errors_total", L("supplier", "bts", "code", "transport"), 1},
		{"flowbridge_supplier_errors_total", L("supplier", "bts"), 3},
		{"flowbridge_supplier_retries_total", L("supplier", "bts"), 1},
		{"flowbridge_supplier_ratelimit_wait_seconds_count", L("supplier", "bts"), 1},
		{"flowbridge_supplier_breaker_state", L("supplier", "bts"), 2},
		{"flowbridge_supplier_breaker_transitions_total", L("supplier", "bts", "state", "open"), 2},
		{"flowbridge_supplier_breaker_transitions_total", L("supplier", "bts", "state", "half-open"), 1},
		{"flowbridge_store_errors_total", L("operation", "claim"), 1},
		{"flowbridge_timeline_folded_total", L("kind", "order_replayed"), 2},
		{"flowbridge_redis_command_errors_total", L("command", "incr", "kind", "server"), 1},
		{"flowbridge_redis_command_errors_total", nil, 1},
	} {
		got, ok := sample(fams, w.name, w.labels)
		if !ok || got != w.value {
			t.Errorf("%s%v = %v (present %v), want %v", w.name, w.labels, got, ok, w.value)
		}
	}
	// Scanners' paths never become label values.
	for _, m := range fams["flowbridge_http_server_duration_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			if strings.Contains(l.GetValue(), "wp-login") || strings.Contains(l.GetValue(), ".env") {
				t.Errorf("raw path in a label: %s=%s", l.GetName(), l.GetValue())
			}
		}
	}

	// The gauge is read at scrape time: resolving the order clears it.
	reviewing.Store(0)
	if got, _ := sample(scrape(t, tel.MetricsHandler()), "flowbridge_orders_needs_review", nil); got != 0 {
		t.Errorf("needs_review after resolve = %v, want 0", got)
	}
	if t.Failed() {
		var names []string
		for n := range fams {
			names = append(names, n)
		}
		sort.Strings(names)
		t.Logf("families: %s", strings.Join(names, " "))
	}
}

func TestMetricsEndpointToken(t *testing.T) {
	tel, _ := setup(t)
	tel.Metrics.Idempotency(context.Background(), "won")
	const token = "metrics-token-3b8f"

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := tel.MetricsServer(ln.Addr().String(), token)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Shutdown(context.Background())
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("metrics server: %v", err)
		}
	})
	base := "http://" + ln.Addr().String()

	for _, tc := range []struct {
		name, method, path, auth string
		status                   int
	}{
		{"no token", "GET", "/metrics", "", http.StatusUnauthorized},
		{"wrong token", "GET", "/metrics", "Bearer nope", http.StatusUnauthorized},
		{"token without scheme", "GET", "/metrics", token, http.StatusUnauthorized},
		{"token prefix", "GET", "/metrics", "Bearer " + token[:5], http.StatusUnauthorized},
		{"right token", "GET", "/metrics", "Bearer " + token, http.StatusOK},
		{"other path", "GET", "/orders", "Bearer " + token, http.StatusNotFound},
		{"other method", "POST", "/metrics", "Bearer " + token, http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			has := strings.Contains(string(body), `flowbridge_idempotency_outcomes_total{outcome="won"} 1`)
			if has != (tc.status == http.StatusOK) {
				t.Errorf("exposition served = %v with status %d", has, resp.StatusCode)
			}
		})
	}

	// No token: open (for a private listener only).
	rec := httptest.NewRecorder()
	tel.MetricsEndpoint("").ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("tokenless endpoint status %d", rec.Code)
	}
}

// The supplier adapters plug straight into supplier/resilient's Observer;
// this stops compiling if either side changes its signature.
func TestSupplierAdaptersFitResilientObserver(t *testing.T) {
	tel, _ := setup(t)
	m := tel.Metrics
	obs := resilient.Observer{
		Attempt:       m.SupplierAttempt,
		Retry:         m.SupplierRetry,
		LimiterWait:   m.SupplierLimiterWait,
		BreakerChange: m.SupplierBreakerChange,
	}
	obs.Attempt(context.Background(), "bigbuy", "rates", 1, 502, nil, time.Second)
	obs.BreakerChange("bigbuy", "closed", "open")
	fams := scrape(t, tel.MetricsHandler())
	if v, _ := sample(fams, "flowbridge_supplier_errors_total", map[string]string{"supplier": "bigbuy", "code": "status_502"}); v != 1 {
		t.Errorf("errors via the observer = %v, want 1", v)
	}
	if v, _ := sample(fams, "flowbridge_supplier_breaker_state", map[string]string{"supplier": "bigbuy"}); v != 2 {
		t.Errorf("breaker state via the observer = %v, want 2", v)
	}
}
