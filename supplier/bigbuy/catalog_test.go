package bigbuy

import (
	"context"
	"maps"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
)

// clock is a virtual clock for TTL tests.
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

func feedClient(t *testing.T, f *fakeBigBuy, clk *clock) *Client {
	t.Helper()
	c, err := New(Config{BaseURL: f.srv.URL, APIKey: f.key, HTTPClient: f.client(), Now: clk.now, CatalogTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c.feed.PageSize = 2
	c.feed.PagesPerLookup = 10
	return c
}

func seedFeed(f *fakeBigBuy) {
	f.SetCatalog([]map[string]any{
		{"id": 1, "sku": "V1300179", "ean13": "8400000000017"},
		{"id": 2, "sku": "F1505138", "ean13": 8400000000024}, // a number, not a string
		{"id": 3, "sku": "S0000003", "ean13": "0012345678905"},
		{"id": 4, "sku": "NOEAN001", "ean13": ""},
		{"id": 5, "sku": "X0000005", "ean13": "4006381333931"},
	}, []map[string]any{{"id": 11, "product": 5, "sku": "X0000005-RED", "ean13": "5901234123457"}})
}

func TestFeedCatalogPagesCachesAndExpires(t *testing.T) {
	f := newFake(t)
	seedFeed(f)
	clk := &clock{t: testNow}
	c := feedClient(t, f, clk)
	ctx := context.Background()

	got, err := c.catalog(ctx, []string{"8400000000024", "5901234123457", "12345678", "012345678905"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"8400000000024": "F1505138", "5901234123457": "X0000005-RED", "012345678905": "S0000003"}
	if !maps.Equal(got, want) {
		t.Fatalf("lookup %v, want %v", got, want)
	}
	// 5 products in pages of 2 → 3 pages; 1 variation → 1 page.
	if p, v := f.count("GET /rest/catalog/products.json"), f.count("GET /rest/catalog/productsvariations.json"); p != 3 || v != 1 {
		t.Fatalf("feed calls products=%d variations=%d, want 3 and 1", p, v)
	}
	if !f.retryable["GET /rest/catalog/products.json"] {
		t.Error("feed reads must be marked retryable")
	}
	if c.feed.Size() != 5 {
		t.Errorf("index size %d, want 5", c.feed.Size())
	}

	// Within the TTL: no feed call.
	clk.add(59 * time.Minute)
	if _, err := c.catalog(ctx, []string{"8400000000017"}); err != nil {
		t.Fatal(err)
	}
	if p := f.count("GET /rest/catalog/products.json"); p != 3 {
		t.Fatalf("cached lookup called the feed (%d calls)", p)
	}

	// Past the TTL: reloaded, picking up a new product.
	seedFeed(f)
	f.SetCatalog(nil, []map[string]any{{"id": 11, "product": 5, "sku": "X0000005-RED", "ean13": "5901234123457"},
		{"id": 12, "sku": "NEW00001", "ean13": "9780201379624"}})
	clk.add(2 * time.Minute)
	got, err = c.catalog(ctx, []string{"9780201379624"})
	if err != nil || got["9780201379624"] != "NEW00001" {
		t.Fatalf("after TTL: %v %v", got, err)
	}
}

func TestFeedCatalogFailures(t *testing.T) {
	t.Run("no index yet: unavailable, never unmatched", func(t *testing.T) {
		f := newFake(t)
		seedFeed(f)
		c := feedClient(t, f, &clock{t: testNow})
		f.on("GET /rest/catalog/products.json", rateLimited(testNow.Add(40*time.Minute)))
		_, err := c.CreateOrder(context.Background(), order("1", line("4006381333931", 1)))
		pe := wantProblem(t, err, problem.Unavailable, problem.CodeSupplierRateLimited)
		if pe.RetryAfter != 40*time.Minute {
			t.Errorf("RetryAfter %v", pe.RetryAfter)
		}
		if supplier.IsOutcomeUnknown(err) {
			t.Error("nothing was sent")
		}
	})
	t.Run("a broken page stops the build; seen EANs answer, unseen ones wait", func(t *testing.T) {
		f := newFake(t)
		seedFeed(f)
		c := feedClient(t, f, &clock{t: testNow})
		f.on("GET /rest/catalog/productsvariations.json", truncated(200, `[{"sku":"A","ean13":"1`))
		// On page 0 of the products: answered although the build failed.
		got, err := c.catalog(context.Background(), []string{"8400000000017"})
		if err != nil || got["8400000000017"] != "V1300179" {
			t.Fatalf("seen EAN: %v %v", got, err)
		}
		// Only in the (unread) variations: not sure, so not unmatched.
		_, err = c.Rates(context.Background(), supplier.RateRequest{CountryCode: "ES", PostalCode: "46005", Lines: []supplier.Line{line("5901234123457", 1)}})
		pe := wantProblem(t, err, problem.Unavailable, problem.CodeSupplierBadResponse)
		if pe.RetryAfter != retryEvery {
			t.Errorf("RetryAfter %v, want %v", pe.RetryAfter, retryEvery)
		}
		if c.feed.Size() != 0 {
			t.Errorf("a partial index was published (%d)", c.feed.Size())
		}
	})
	t.Run("stale index answers known EANs; unknown ones wait for the rebuild", func(t *testing.T) {
		f := newFake(t)
		seedFeed(f)
		clk := &clock{t: testNow}
		c := feedClient(t, f, clk)
		if err := c.WarmCatalog(context.Background()); err != nil {
			t.Fatal(err)
		}
		clk.add(2 * time.Hour)
		f.on("GET /rest/catalog/products.json", jsonStatus(500, map[string]any{"code": 500, "message": "x"}))
		got, err := c.catalog(context.Background(), []string{"8400000000017"})
		if err != nil || got["8400000000017"] != "V1300179" {
			t.Fatalf("stale lookup %v %v", got, err)
		}
		_, err = c.catalog(context.Background(), []string{"4260000000003"})
		wantProblem(t, err, problem.Unavailable, problem.CodeSupplierUnavailable)
		// The next attempt waits retryEvery: no call storm on the feed.
		before := f.count("GET /rest/catalog/products.json")
		clk.add(time.Minute)
		_, err = c.catalog(context.Background(), []string{"4260000000003"})
		wantProblem(t, err, problem.Unavailable, problem.CodeSupplierUnavailable)
		if f.count("GET /rest/catalog/products.json") != before {
			t.Error("feed called again before retryEvery")
		}
		// After the pause the rebuild completes and proves the EAN unmatched.
		clk.add(retryEvery)
		got, err = c.catalog(context.Background(), []string{"4260000000003"})
		if err != nil || len(got) != 0 {
			t.Fatalf("after rebuild: %v %v", got, err)
		}
	})
	t.Run("lookups build incrementally", func(t *testing.T) {
		f := newFake(t)
		seedFeed(f)
		c := feedClient(t, f, &clock{t: testNow})
		c.feed.PagesPerLookup = 1
		// Variation EAN: each lookup reads one page; 4 pages are needed.
		for i := range 3 {
			_, err := c.catalog(context.Background(), []string{"5901234123457"})
			wantProblem(t, err, problem.Unavailable, problem.CodeSupplierUnavailable)
			if n := f.count("GET /rest/catalog/products.json") + f.count("GET /rest/catalog/productsvariations.json"); n != i+1 {
				t.Fatalf("after lookup %d: %d feed calls", i+1, n)
			}
		}
		got, err := c.catalog(context.Background(), []string{"5901234123457"})
		if err != nil || got["5901234123457"] != "X0000005-RED" {
			t.Fatalf("final lookup %v %v", got, err)
		}
	})
	t.Run("SKU fallback does not wait for the index", func(t *testing.T) {
		f := newFake(t)
		seedFeed(f)
		c, err := New(Config{BaseURL: f.srv.URL, APIKey: f.key, HTTPClient: f.client(), Now: func() time.Time { return testNow }, SKUFallback: true})
		if err != nil {
			t.Fatal(err)
		}
		f.on("GET /rest/catalog/products.json", rateLimited(testNow.Add(time.Hour)))
		p, err := c.CreateOrder(context.Background(), order("1", supplier.Line{EAN: "4260000000003", SKU: "F1505138", Quantity: 1}))
		if err != nil || p.SupplierOrderID == "" || f.sentProducts("POST /rest/order/create.json")[0] != "F1505138×1" {
			t.Fatalf("placed %+v err %v", p, err)
		}
	})
	t.Run("complete index proves unmatched", func(t *testing.T) {
		f := newFake(t)
		seedFeed(f)
		c := feedClient(t, f, &clock{t: testNow})
		_, err := c.CreateOrder(context.Background(), order("1", line("8400000000017", 1), line("4260000000003", 1)))
		wantProblem(t, err, problem.Rejected, problem.CodeUnmatchedEAN, "/line_items/1/barcode")
	})
	t.Run("waiting for a load honours the deadline", func(t *testing.T) {
		f := newFake(t)
		seedFeed(f)
		c := feedClient(t, f, &clock{t: testNow})
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		started := make(chan struct{})
		f.on("GET /rest/catalog/products.json", func(w http.ResponseWriter, r *http.Request) {
			close(started)
			stall(release)(w, r)
		})
		go func() { _, _ = c.catalog(context.Background(), []string{"8400000000017"}) }()
		<-started
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.catalog(ctx, []string{"8400000000017"})
		wantProblem(t, err, problem.Unavailable, problem.CodeSupplierUnavailable)
	})
}

func TestRunCatalog(t *testing.T) {
	f := newFake(t)
	seedFeed(f)
	c := feedClient(t, f, &clock{t: testNow})
	c.feed.loaded = make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { c.RunCatalog(ctx); close(stopped) }()
	<-c.feed.loaded
	cancel()
	<-stopped
	if c.feed.Size() != 5 {
		t.Fatalf("index size %d", c.feed.Size())
	}
}

func TestHelpers(t *testing.T) {
	money := map[string]int64{`"14.02"`: 1402, `18.22`: 1822, `"18,2"`: 1820, `"4.95 €"`: 495, `55`: 5500, `"0.005"`: 1, `"10000.00"`: 1000000}
	for in, want := range money {
		if got, ok := parseMoney([]byte(in)); !ok || got != want {
			t.Errorf("parseMoney(%s) = %d %v, want %d", in, got, ok, want)
		}
	}
	for _, bad := range []string{`null`, `"abc"`, `"-1"`, `""`, `{}`} {
		if _, ok := parseMoney([]byte(bad)); ok {
			t.Errorf("parseMoney(%s) accepted", bad)
		}
	}
	delays := map[string][2]int{"1-2 days": {1, 2}, "24/48h": {1, 2}, "3 días": {3, 3}, "6-10 dagen": {6, 10}, "72 hours": {3, 3}, "": {0, 0}, "5-3 days": {3, 5}}
	for in, want := range delays {
		if lo, hi := parseDelay(in); lo != want[0] || hi != want[1] {
			t.Errorf("parseDelay(%q) = %d-%d, want %v", in, lo, hi, want)
		}
	}
	for in, want := range map[string]string{"12345678": "00000012345678", "0012345678905": "00012345678905", "8400000000017": "08400000000017", " 84-000 ": "00000000084000", "": ""} {
		if got := gtinKey(in); got != want {
			t.Errorf("gtinKey(%q) = %q, want %q", in, got, want)
		}
	}
	c := &Client{now: func() time.Time { return testNow }}
	for in, want := range map[string]time.Duration{
		"": time.Second, "x": time.Second, "30": 30 * time.Second,
		itoa(testNow.Add(90 * time.Second).Unix()): 90 * time.Second,
		itoa(testNow.Add(-time.Hour).Unix()):       time.Second,
	} {
		if got := c.retryAfterReset(in); got != want {
			t.Errorf("retryAfterReset(%q) = %v, want %v", in, got, want)
		}
	}
	for raw, want := range map[string]supplier.Status{
		"Pending payment": supplier.StatusPending, "  PAYMENT_ACCEPTED ": supplier.StatusProcessing, "Preparación en curso": supplier.StatusProcessing,
		"shipped": supplier.StatusShipped, "Entregado": supplier.StatusDelivered, "Canceled": supplier.StatusCancelled,
	} {
		if got := statusTable[statusKey(raw)]; got != want {
			t.Errorf("status %q = %q, want %q", raw, got, want)
		}
	}
	for hint, key := range map[bool]string{true: "ZJQWNGQYNDJMYJA1NZHKOTAYM2U2ZMNH", false: "ZjQwNGQyNDJmYjA1NzhkOTAyM2U2ZmNh"} {
		if got := keyHint(key) != ""; got != hint {
			t.Errorf("keyHint(%q) hint=%v, want %v", key, got, hint)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
