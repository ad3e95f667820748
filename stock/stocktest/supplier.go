package stocktest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BTS answers getProductStock as BTS Wholesaler documents it (API v2.1
// §3.5: at most 100 SKUs per call, products keyed by the SKU/EAN asked, stock
// as a string, availability not_found for an unknown code) and enforces a
// request rate on the virtual clock: a request sooner than 1/Rate after the
// previous one is answered 429, as BTS does when called too fast.
type BTS struct {
	*httptest.Server
	Token string
	Rate  float64
	Clock *Clock

	mu       sync.Mutex
	stock    map[string]int
	last     time.Time
	calls    int
	tooFast  int
	maxBatch int
}

// NewBTS starts the fake with stock (EAN → quantity; absent = unknown).
func NewBTS(t testing.TB, c *Clock, rate float64, stock map[string]int) *BTS {
	b := &BTS{Token: "bts-bench-token", Rate: rate, Clock: c, stock: stock}
	b.Server = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.Close)
	return b
}

// Calls reports requests answered, requests refused as too fast, and the
// largest batch asked.
func (b *BTS) Calls() (calls, tooFast, maxBatch int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls, b.tooFast, b.maxBatch
}

func (b *BTS) serve(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+b.Token {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"unauthorized"}`))
		return
	}
	now := b.Clock.Now()
	if !b.last.IsZero() && now.Sub(b.last) < time.Duration(float64(time.Second)/b.Rate) {
		b.tooFast++
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":"Too Many Requests"}`))
		return
	}
	b.last = now
	if !strings.HasSuffix(r.URL.Path, "/getProductStock") {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	products := map[string]any{}
	n := 0
	for k, vs := range r.URL.Query() {
		if !strings.HasPrefix(k, "product_sku[") {
			continue
		}
		for _, sku := range vs {
			n++
			q, ok := b.stock[sku]
			switch {
			case !ok:
				products[sku] = map[string]any{"stock": 0, "price": nil, "availability": "not_found"}
			case q == 0:
				products[sku] = map[string]any{"stock": "0", "price": "7.10€", "availability": "out_of_stock"}
			default:
				products[sku] = map[string]any{"stock": strconv.Itoa(q), "price": "7.10", "availability": "in_stock"}
			}
		}
	}
	if n > 100 {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"too many products"}`))
		return
	}
	b.calls++
	b.maxBatch = max(b.maxBatch, n)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"requested_skus": n, "found_skus": len(products), "products": products})
}

// Pacer is an http.RoundTripper that spaces requests 1/Rate apart on the
// virtual clock, standing in for the shared supplier rate limiter
// (supplier/resilient) without waiting in real time.
type Pacer struct {
	Clock *Clock
	Rate  float64
	Next  http.RoundTripper

	mu   sync.Mutex
	last time.Time
}

func (p *Pacer) RoundTrip(r *http.Request) (*http.Response, error) {
	p.mu.Lock()
	gap := time.Duration(float64(time.Second) / p.Rate)
	now := p.Clock.Now()
	if !p.last.IsZero() && now.Sub(p.last) < gap {
		p.Clock.Advance(p.last.Add(gap).Sub(now))
	}
	p.last = p.Clock.Now()
	p.mu.Unlock()
	next := p.Next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}
