package bigbuy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/bigbuy/bigbuyfake"
)

// fakeBigBuy runs the independent BigBuy simulator (package bigbuyfake,
// which knows nothing of this adapter) behind an httptest server, and
// records on the client side which requests the adapter marked retryable.
type fakeBigBuy struct {
	*bigbuyfake.Server
	t   *testing.T
	srv *httptest.Server
	key string

	mu        sync.Mutex
	retryable map[string]bool
}

func newFake(t *testing.T, mods ...func(*bigbuyfake.Config)) *fakeBigBuy {
	t.Helper()
	cfg := bigbuyfake.DefaultConfig()
	for _, m := range mods {
		m(&cfg)
	}
	f := &fakeBigBuy{t: t, Server: bigbuyfake.New(cfg), key: cfg.Key, retryable: map[string]bool{}}
	f.srv = httptest.NewServer(f.Server)
	t.Cleanup(f.srv.Close)
	return f
}

// recorder is the client side of the fake: it notes which requests the
// adapter marked retryable (the mark lives in the client's context).
type recorder struct {
	f    *fakeBigBuy
	next http.RoundTripper
}

func (rt recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	route := r.Method + " " + r.URL.Path
	rt.f.mu.Lock()
	rt.f.retryable[route] = rt.f.retryable[route] || supplier.IsRetryable(r.Context())
	rt.f.mu.Unlock()
	return rt.next.RoundTrip(r)
}

func (f *fakeBigBuy) client() *http.Client {
	return &http.Client{Transport: recorder{f: f, next: f.srv.Client().Transport}}
}

func (f *fakeBigBuy) on(route string, h http.HandlerFunc) { f.On(route, h) }
func (f *fakeBigBuy) count(route string) int              { return f.Count(route) }
func (f *fakeBigBuy) seed(ref, status string, parcels ...bigbuyfake.Parcel) string {
	return f.Seed(ref, status, parcels...)
}

// sentProducts reads order.products of the last body sent to route by
// JSON path, as "SKU×qty" strings.
func (f *fakeBigBuy) sentProducts(route string) []string {
	var out []string
	order, _ := f.Body(route)["order"].(map[string]any)
	list, _ := order["products"].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		ref, _ := m["reference"].(string)
		q, _ := m["quantity"].(float64)
		out = append(out, ref+"×"+strconv.Itoa(int(q)))
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) { bigbuyfake.WriteJSON(w, status, v) }

func erBody(code, info string, data any) map[string]any { return bigbuyfake.ERBody(code, info, data) }

func rateLimited(reset time.Time) http.HandlerFunc { return bigbuyfake.RateLimited(reset) }

func status(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if strings.HasPrefix(body, "{") || strings.HasPrefix(body, "[") || strings.HasPrefix(body, `"`) {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

func jsonStatus(code int, v any) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, code, v) }
}

// truncated promises more bytes than it sends, so the body read fails.
func truncated(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)+100))
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// hangUp drops the connection without an answer, after run (which may
// create the order: accept-then-drop).
func hangUp(t *testing.T, run func()) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if run != nil {
			run()
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			t.Error("no hijacker")
			return
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		_ = conn.Close()
	}
}

// stall blocks until the client gives up or the test ends.
func stall(release <-chan struct{}) http.HandlerFunc {
	return func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
}
