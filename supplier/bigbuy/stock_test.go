package bigbuy

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/flowbridge/flowbridge/supplier/bigbuy/bigbuyfake"
)

const (
	productStockRoute   = "GET /rest/catalog/productsstockbyhandlingdays.json"
	variationStockRoute = "GET /rest/catalog/productsvariationsstockbyhandlingdays.json"
)

// stockFake is the wire-level simulator with n product rows P00000… (stock
// i%7, split by the fake over two handling-time bands) and one variation
// V1 with stock 3.
func stockFake(t *testing.T, n int) *fakeBigBuy {
	return newFake(t, func(c *bigbuyfake.Config) {
		c.Products, c.Feed = nil, nil
		for i := range n {
			sku := fmt.Sprintf("P%05d", i)
			c.Products = append(c.Products, bigbuyfake.Product{SKU: sku, EAN: fmt.Sprintf("84%011d", i), Stock: i % 7, Warehouse: 1})
			c.Feed = append(c.Feed, map[string]any{"id": i + 1, "sku": sku, "ean13": fmt.Sprintf("84%011d", i)})
		}
		c.Products = append(c.Products, bigbuyfake.Product{SKU: "V1", Stock: 3, Warehouse: 1})
		c.Variations = []map[string]any{{"id": 900001, "sku": "V1", "ean13": "8499999999990"}}
	})
}

func stockClient(t *testing.T, f *fakeBigBuy, catalog map[string]string) *Client {
	c, err := New(Config{BaseURL: f.srv.URL, APIKey: f.key, HTTPClient: f.client(), Catalog: StaticCatalog(catalog)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStockByHandlingDays(t *testing.T) {
	f := stockFake(t, StockPageSize+3)
	last := StockPageSize + 2
	catalog := map[string]string{
		"8400000000005":              "P00005",                   // page 0, stock 5 (3+2 over two bands)
		fmt.Sprintf("84%011d", last): fmt.Sprintf("P%05d", last), // page 1
		"8499999999990":              "v1",                       // a variation, SKU case differs
		"8477777777777":              "GONE1",                    // in the catalogue, in neither list
	}
	eans := []string{"8400000000005", fmt.Sprintf("84%011d", last), "8499999999990", "8477777777777", "8400000099999"}
	got, err := stockClient(t, f, catalog).Stock(context.Background(), eans)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		found bool
		qty   int
	}{{true, 5}, {true, last % 7}, {true, 3}, {true, 0}, {false, 0}}
	for i, w := range want {
		if got[i].EAN != eans[i] || got[i].Found != w.found || got[i].Quantity != w.qty || got[i].Cost != nil {
			t.Errorf("%s: %+v, want found=%v quantity=%d", eans[i], got[i], w.found, w.qty)
		}
	}
	// Two product pages (the list ends with a short page), then the
	// variation list for the SKUs still unseen.
	if n := f.count(productStockRoute); n != 2 {
		t.Errorf("product stock pages %d, want 2", n)
	}
	if n := f.count(variationStockRoute); n != 1 {
		t.Errorf("variation stock pages %d, want 1", n)
	}
}

// TestStockStopsWhenAllSeen: every wanted SKU on the first page costs one
// call of the 10-an-hour budget, not the whole catalogue.
func TestStockStopsWhenAllSeen(t *testing.T) {
	f := stockFake(t, StockPageSize+3)
	got, err := stockClient(t, f, map[string]string{"8400000000003": "P00003"}).Stock(context.Background(), []string{"8400000000003"})
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].Found || got[0].Quantity != 3 {
		t.Errorf("%+v, want found with 3", got[0])
	}
	if p, v := f.count(productStockRoute), f.count(variationStockRoute); p != 1 || v != 0 {
		t.Errorf("calls: product list %d, variation list %d; want 1 and 0", p, v)
	}
}

// TestStockNothingToAsk: no EAN BigBuy sells, no stock call at all.
func TestStockNothingToAsk(t *testing.T) {
	f := stockFake(t, 3)
	got, err := stockClient(t, f, nil).Stock(context.Background(), []string{"8400000000003"})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Found || f.count(productStockRoute)+f.count(variationStockRoute) != 0 {
		t.Errorf("%+v after %d calls", got[0], f.count(productStockRoute))
	}
}

// TestStockSandboxRefused: BigBuy's sandbox answers catalogue lists 400;
// the read fails (never "all sold out").
func TestStockSandboxRefused(t *testing.T) {
	f := newFake(t, func(c *bigbuyfake.Config) { c.NoCatalogue = true })
	_, err := stockClient(t, f, map[string]string{"8400000000017": "V1300179"}).Stock(context.Background(), []string{"8400000000017"})
	if err == nil {
		t.Fatal("a refused stock list read succeeded")
	}
}

func TestStockRateLimited(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Reset", "4102444800")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte("You exceeded the rate limit"))
	}))
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL, APIKey: "key-123", HTTPClient: srv.Client(), Catalog: StaticCatalog(map[string]string{"8400000000017": "S1"})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stock(context.Background(), []string{"8400000000017"}); err == nil {
		t.Fatal("a rate-limited stock read succeeded: the sync would treat every product as sold out")
	}
}
