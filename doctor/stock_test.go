package doctor_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/flowbridge/flowbridge/doctor"
	"github.com/flowbridge/flowbridge/shopify"
	"github.com/flowbridge/flowbridge/shopify/shopifytest"
	"github.com/flowbridge/flowbridge/stock/stocktest"
)

func TestDoctorStockScopes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		scopes []string
		want   string
	}{
		{"all scopes", stocktest.Scopes, "PASS"},
		// write_inventory implies read_inventory, as Shopify grants it.
		{"write implies read", []string{"read_products", "write_inventory", "read_locations"}, "PASS"},
		{"missing write_inventory", []string{"read_products", "read_inventory", "read_locations"}, "FAIL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shop := stocktest.New(t)
			shop.SetScopes(tc.scopes...)
			shop.AddDefinition(shopifytest.Definition{Namespace: "flowbridge", Key: "shipping_cost_id", Type: "single_line_text_field"})
			shop.AddDefinition(shopifytest.Definition{Namespace: "flowbridge", Key: "supplier_order_id", Type: "single_line_text_field"})
			env := map[string]string{shopify.EnvShop: "example.myshopify.com", shopify.EnvToken: shop.Token, shopify.EnvBaseURL: shop.URL,
				doctor.EnvURL: "http://127.0.0.1:1", doctor.EnvSupplier: "sandbox"}
			var out, errOut bytes.Buffer
			off := false
			_ = doctor.Options{Stock: true, TestMode: &off}.Command(context.Background(), nil, func(k string) string { return env[k] }, &out, &errOut)
			var line string
			for _, l := range strings.Split(out.String(), "\n") {
				if strings.Contains(l, "stock scopes") {
					line = l
				}
			}
			if !strings.Contains(line, tc.want) {
				t.Errorf("scopes line %q, want %s\n%s", line, tc.want, out.String())
			}
			if tc.want == "FAIL" && !strings.Contains(out.String(), "write_inventory") {
				t.Errorf("the fix does not name the missing scope:\n%s", out.String())
			}
		})
	}
}
