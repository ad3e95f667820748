package btsfake_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/btsfake"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/bts"
)

const token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiZW5jaCIsImV4cCI6NDEwMjQ0NDgwMH0.YmVuY2gtc2lnbmF0dXJl"

// clock is a manual clock shared by the fake and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func start(t *testing.T, cfg btsfake.Config) (*btsfake.Server, *httptest.Server, *bts.Client) {
	t.Helper()
	cfg.Token = token
	f := btsfake.New(cfg)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := bts.New(bts.Config{BaseURL: srv.URL + "/v1/api", Token: token, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return f, srv, c
}

func order(i int) supplier.Order {
	return supplier.Order{
		Reference: "1", Name: "#1001", Phone: "+34600000000",
		ShipTo: supplier.Address{FirstName: "Bench", LastName: "Customer " + string(rune('A'+i)), Address1: "Calle 1",
			City: "Valencia", PostalCode: "46005", CountryCode: "ES"},
		Lines:          []supplier.Line{{EAN: "8400000000017", Quantity: 1}},
		ShippingRateID: "148",
	}
}

// The real BTS adapter must understand every answer the fake gives.
func TestAdapterRoundTrip(t *testing.T) {
	f, _, c := start(t, btsfake.Config{SeedOrders: 10})
	ctx := context.Background()
	if err := c.CheckCredentials(ctx); err != nil {
		t.Fatalf("CheckCredentials: %v", err)
	}
	rates, err := c.Rates(ctx, supplier.RateRequest{CountryCode: "ES", PostalCode: "46005", Lines: order(0).Lines})
	if err != nil || len(rates) != 2 {
		t.Fatalf("Rates: %v %v", rates, err)
	}
	placed, err := c.CreateOrder(ctx, order(0))
	if err != nil || placed.SupplierOrderID == "" {
		t.Fatalf("CreateOrder: %+v %v", placed, err)
	}
	tr, err := c.Tracking(ctx, placed.SupplierOrderID)
	if err != nil || tr.Status != supplier.StatusProcessing {
		t.Fatalf("Tracking created: %+v %v", tr, err)
	}
	tr, err = c.Tracking(ctx, "500000000003")
	if err != nil || tr.Status != supplier.StatusShipped || len(tr.Parcels) != 1 {
		t.Fatalf("Tracking seeded: %+v %v", tr, err)
	}
	if _, err := c.Tracking(ctx, "500000000010"); err == nil {
		t.Fatal("Tracking beyond the seeded range: want order_not_found")
	}
	st := f.Snapshot()
	if st.Created != 1 || st.Duplicates != 0 || st.Requests["getOrder"] != 3 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestDuplicatesByPayload(t *testing.T) {
	f, _, c := start(t, btsfake.Config{})
	ctx := context.Background()
	for _, i := range []int{0, 1, 0, 2, 1} {
		if _, err := c.CreateOrder(ctx, order(i)); err != nil {
			t.Fatal(err)
		}
	}
	st := f.Snapshot()
	if st.Created != 5 || st.Distinct != 3 || st.Duplicates != 2 {
		t.Fatalf("created %d distinct %d duplicates %d; want 5 3 2", st.Created, st.Distinct, st.Duplicates)
	}
}

func TestSlidingWindowRateLimit(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	f, srv, _ := start(t, btsfake.Config{RatePerSecond: 3, Now: clk.now})
	get := func() int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/api/getCountries", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Fatalf("429 content type %q", resp.Header.Get("Content-Type"))
		}
		return resp.StatusCode
	}
	steps := []struct {
		advance time.Duration
		want    int
	}{
		{0, 200}, {300 * time.Millisecond, 200}, {300 * time.Millisecond, 200},
		{100 * time.Millisecond, 429}, // 3 within the last second
		{300 * time.Millisecond, 200}, // t=1.0 s: the first left the window
		{0, 429},
		{600 * time.Millisecond, 200}, // t=1.6: requests at 0.3 and 0.6 left
		{0, 200},
		{0, 429},
	}
	for i, s := range steps {
		clk.add(s.advance)
		if got := get(); got != s.want {
			t.Fatalf("step %d: status %d, want %d", i, got, s.want)
		}
	}
	st := f.Snapshot()
	if st.RateLimited != 3 || st.PeakPerSecond != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAuthAndStatsEndpoint(t *testing.T) {
	_, srv, _ := start(t, btsfake.Config{})
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/api/getOrder?order_number=1", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d", resp.StatusCode)
	}
	resp, err = srv.Client().Get(srv.URL + "/_stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st btsfake.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || st.Unauthorized != 1 {
		t.Fatalf("stats %+v %v", st, err)
	}
}

func TestLatencyDraw(t *testing.T) {
	tests := []struct {
		name   string
		l      btsfake.Latency
		lo, hi time.Duration
	}{
		{"zero", btsfake.Latency{}, 0, 0},
		{"uniform", btsfake.Latency{Median: 20 * time.Millisecond, Jitter: 10 * time.Millisecond}, 10 * time.Millisecond, 30 * time.Millisecond},
		{"lognormal", btsfake.Latency{Median: 20 * time.Millisecond, Dist: "lognormal", Sigma: 0.5}, 0, time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRand()
			below := 0
			for i := 0; i < 2000; i++ {
				d := tc.l.Draw(r)
				if d < tc.lo || d > tc.hi {
					t.Fatalf("draw %v outside [%v, %v]", d, tc.lo, tc.hi)
				}
				if d < tc.l.Median {
					below++
				}
			}
			if tc.l.Median > 0 && (below < 800 || below > 1200) {
				t.Fatalf("%d of 2000 draws below the median", below)
			}
		})
	}
}
