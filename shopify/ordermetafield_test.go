package shopify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flowbridge/flowbridge/internal/adminschema"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/shopify"
)

// The order's metafield is read with one query, valid on Shopify's real
// Admin schema (internal/adminschema), whose answers are checked against
// the same schema; an order Shopify does not know is an error, not "no
// metafield".
func TestOrderMetafield(t *testing.T) {
	schema, err := adminschema.Load()
	if err != nil {
		t.Fatal(err)
	}
	orders := map[string]any{
		"gid://shopify/Order/1": map[string]any{"id": "gid://shopify/Order/1", "metafield": map[string]any{"value": " 700000000001 "}},
		"gid://shopify/Order/2": map[string]any{"id": "gid://shopify/Order/2", "metafield": nil},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Shopify-Access-Token") != "shpat_test" || !strings.HasSuffix(r.URL.Path, "/graphql.json") {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		var req struct {
			Query     string         `json:"query"`
			Variables map[string]any `json:"variables"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		op, _, err := schema.Operation(req.Query, "", req.Variables)
		if err != nil {
			t.Errorf("Shopify would refuse the document: %v", err)
			http.Error(w, "bad query", http.StatusBadRequest)
			return
		}
		if req.Variables["namespace"] != "flowbridge" || req.Variables["key"] != "supplier_order_id" {
			http.Error(w, "bad variables", http.StatusBadRequest)
			return
		}
		data := map[string]any{"order": orders[req.Variables["id"].(string)]}
		if err := schema.CheckData(op, data); err != nil {
			t.Errorf("the stand-in's answer does not fit the schema: %v", err)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"data": data})
	}))
	t.Cleanup(srv.Close)
	c := &shopify.Client{Shop: "example.myshopify.com", Token: "shpat_test", BaseURL: srv.URL, MaxAttempts: 1}
	ctx := context.Background()
	if v, ok, err := c.OrderMetafield(ctx, "1", "flowbridge", "supplier_order_id"); err != nil || !ok || v != "700000000001" {
		t.Fatalf("order 1 = %q %v %v", v, ok, err)
	}
	if v, ok, err := c.OrderMetafield(ctx, "gid://shopify/Order/2", "flowbridge", "supplier_order_id"); err != nil || ok || v != "" {
		t.Fatalf("order 2 = %q %v %v", v, ok, err)
	}
	if _, _, err := c.OrderMetafield(ctx, "3", "flowbridge", "supplier_order_id"); problem.From(err).Kind != problem.NotFound {
		t.Fatalf("unknown order = %v, want NotFound", err)
	}
}
