package bts

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/flowbridge/flowbridge/supplier/gtin"
)

// stockServer answers getProductStock the way BTS documents it (v2.1
// §3.5: products keyed by the requested SKU/EAN, at most 100 per call) with
// the value shapes seen live: stock as a string, price with a euro sign or
// as a number, availability not_found for unknown codes.
func stockServer(t *testing.T, stock map[string]int) (*httptest.Server, *[]int) {
	var mu sync.Mutex
	var sizes []int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/getProductStock") || r.Header.Get("Authorization") != "Bearer tok-123456789" {
			http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
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
				q, ok := stock[sku]
				switch {
				case !ok:
					products[sku] = map[string]any{"stock": 0, "price": nil, "availability": "not_found"}
				case q == 0:
					products[sku] = map[string]any{"stock": "0", "price": "29.99€", "availability": "out_of_stock"}
				default:
					products[sku] = map[string]any{"stock": fmt.Sprint(q), "price": json.Number("12.50"), "availability": "in_stock"}
				}
			}
		}
		mu.Lock()
		sizes = append(sizes, n)
		mu.Unlock()
		if n > 100 {
			http.Error(w, `{"error":"too many products"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"requested_skus": n, "found_skus": len(products), "products": products})
	}))
	t.Cleanup(srv.Close)
	return srv, &sizes
}

func TestStockBatchesOf100(t *testing.T) {
	stock := map[string]int{}
	var eans []string
	for i := range 250 {
		body := fmt.Sprintf("840%09d", i)
		ean := body + string(gtin.CheckDigit(body))
		eans = append(eans, ean)
		if i%50 != 7 { // every 50th-and-7th is unknown to BTS
			stock[ean] = i % 5
		}
	}
	srv, sizes := stockServer(t, stock)
	c, err := New(Config{BaseURL: srv.URL + "/v1/api", Token: "tok-123456789", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Stock(context.Background(), eans)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(*sizes) != "[100 100 50]" {
		t.Errorf("batch sizes %v, want [100 100 50]", *sizes)
	}
	if len(got) != len(eans) {
		t.Fatalf("%d levels for %d EANs", len(got), len(eans))
	}
	for i, lv := range got {
		q, known := stock[eans[i]]
		if lv.EAN != eans[i] || lv.Found != known || lv.Quantity != q {
			t.Errorf("%s: got %+v, want found=%v quantity=%d", eans[i], lv, known, q)
		}
		if known && (lv.Cost == nil || lv.Cost.Currency != "EUR" || (q > 0 && lv.Cost.Minor != 1250) || (q == 0 && lv.Cost.Minor != 2999)) {
			t.Errorf("%s: cost %+v", eans[i], lv.Cost)
		}
	}
}
