package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/store/memstore"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

// flowbridgeLike serves /rates and /orders from orders.Service and the
// sandbox with just enough mapping for the load generator (the real
// handlers live in package handlers).
func flowbridgeLike(t *testing.T) (*httptest.Server, *sandbox.Supplier) {
	sb := sandbox.New(sandbox.Config{})
	svc, err := orders.New(orders.Config{Supplier: sb, Store: memstore.New(nil)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /rates", func(w http.ResponseWriter, r *http.Request) {
		res, err := svc.Rates(r.Context(), orders.RatesInput{Request: supplier.RateRequest{CountryCode: "ES", PostalCode: "46005",
			Lines: []supplier.Line{{EAN: "8400000000017", Quantity: 1}}}})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "shipping_cost_id": res.Chosen.ID})
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			OrderID        string `json:"order_id"`
			ShippingCostID string `json:"shipping_cost_id"`
		}
		if r.Header.Get("Authorization") != "Bearer k" || json.NewDecoder(r.Body).Decode(&in) != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		res, err := svc.Place(r.Context(), orders.PlaceInput{OrderID: in.OrderID, Order: supplier.Order{
			ShipTo: supplier.Address{FirstName: "B", LastName: "L", Address1: "Calle 1", City: "Valencia", PostalCode: "46005", CountryCode: "ES"},
			Lines:  []supplier.Line{{EAN: "8400000000017", Quantity: 1}}, ShippingRateID: in.ShippingCostID}})
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "supplier_order_id": res.SupplierOrderID})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, sb
}

func TestRun(t *testing.T) {
	srv, sb := flowbridgeLike(t)
	env := func(string) string { return "k" }
	tests := []struct {
		mode, c     string
		wantCreates int
	}{{"first", "4", 40}, {"replay", "1", 41}} // replays one at a time: concurrent ones may be 429
	for i, tt := range tests {
		var out bytes.Buffer
		args := []string{"-url", srv.URL, "-mode", tt.mode, "-n", "40", "-c", tt.c, "-start-id", []string{"1000", "5000"}[i]}
		if err := run(context.Background(), args, env, &out); err != nil {
			t.Fatalf("%s: %v\n%s", tt.mode, err, out.String())
		}
		if !strings.Contains(out.String(), "p50=") || !strings.Contains(out.String(), "status 200: 40") {
			t.Fatalf("%s: output %q", tt.mode, out.String())
		}
		if got := sb.Stats().Creates; got != tt.wantCreates {
			t.Fatalf("%s: creates = %d, want %d", tt.mode, got, tt.wantCreates)
		}
	}
	if err := run(context.Background(), []string{"-url", srv.URL, "-mode", "bogus"}, env, &bytes.Buffer{}); err == nil {
		t.Fatal("bad mode accepted")
	}
	if err := run(context.Background(), []string{"-url", srv.URL, "-key", "wrong", "-n", "3"}, env, &bytes.Buffer{}); err == nil {
		t.Fatal("failures not reported")
	}
}
