package bigbuy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// stockServer answers POST /rest/catalog/productsstockbyreference.json as
// BigBuy clients observe it (PyBigBuy get_products_stock_by_reference and
// public integrations): a JSON list of {sku, stocks:[{quantity, …}]}, one
// stock entry per handling-time band, unknown SKUs left out.
func stockServer(t *testing.T, stock map[string][]int) (*httptest.Server, *[]int) {
	var mu sync.Mutex
	var sizes []int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != stockPath || r.Header.Get("Authorization") != "Bearer key-123" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"code":404,"message":"Not found"}`))
			return
		}
		var req struct {
			R struct {
				Products []struct {
					SKU string `json:"sku"`
				} `json:"products"`
			} `json:"product_stock_request"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.R.Products) == 0 {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"code":400,"message":"Validation Failed"}`))
			return
		}
		mu.Lock()
		sizes = append(sizes, len(req.R.Products))
		mu.Unlock()
		var out []map[string]any
		for _, p := range req.R.Products {
			bands, ok := stock[p.SKU]
			if !ok {
				continue
			}
			var st []map[string]any
			for i, q := range bands {
				st = append(st, map[string]any{"quantity": q, "minHandlingDays": i + 1, "maxHandlingDays": i + 2})
			}
			out = append(out, map[string]any{"id": 1000 + len(out), "sku": p.SKU, "stocks": st})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv, &sizes
}

func TestStockByReference(t *testing.T) {
	catalog := map[string]string{}
	stock := map[string][]int{}
	var eans []string
	for i := range 1500 {
		ean := fmt.Sprintf("84%011d", i) // digits only; the catalogue keys by digits
		eans = append(eans, ean)
		if i%100 == 1 {
			continue // not sold by BigBuy
		}
		sku := fmt.Sprintf("S%07d", i)
		catalog[ean] = sku
		if i%100 != 2 { // i%100 == 2: in the catalogue, absent from the stock answer
			stock[sku] = []int{i % 7, 1}
		}
	}
	srv, sizes := stockServer(t, stock)
	c, err := New(Config{BaseURL: srv.URL, APIKey: "key-123", HTTPClient: srv.Client(), Catalog: StaticCatalog(catalog)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Stock(context.Background(), eans)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(*sizes) != fmt.Sprint([]int{StockBatch, 1485 - StockBatch}) {
		t.Errorf("batches %v", *sizes)
	}
	for i, lv := range got {
		switch {
		case i%100 == 1:
			if lv.Found {
				t.Errorf("%d: unknown EAN found", i)
			}
		case i%100 == 2:
			if !lv.Found || lv.Quantity != 0 {
				t.Errorf("%d: %+v, want found with 0", i, lv)
			}
		default:
			if !lv.Found || lv.Quantity != i%7+1 || lv.Cost != nil {
				t.Errorf("%d: %+v, want %d (bands summed)", i, lv, i%7+1)
			}
		}
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
