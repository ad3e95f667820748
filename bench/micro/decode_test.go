package micro

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/flowbridge/flowbridge"
	"github.com/flowbridge/flowbridge/handlers"
)

// orderJSON is a POST /orders body as Flow's template renders it, with n
// line items.
func orderJSON(n int) []byte {
	lines := make([]map[string]any, n)
	for i := range lines {
		lines[i] = map[string]any{"barcode": "8400000000017", "sku": "SKU-" + strconv.Itoa(i), "quantity": 1 + i%3, "price": "19.99"}
	}
	b, _ := json.Marshal(map[string]any{
		"order_id": "gid://shopify/Order/5531234567890", "order_name": "#1001", "shop": "bench-store.myshopify.com",
		"email": "buyer@example.com", "phone": "+34600000000",
		"shipping_address": map[string]any{"first_name": "Ana", "last_name": "García", "company": "", "address1": "Calle Mayor 1",
			"address2": "", "city": "Valencia", "zip": "46005", "province_code": "", "country_code": "ES", "phone": "+34600000000"},
		"line_items": lines, "currency": "EUR", "shipping_cost_id": "148",
		"payment_gateway_names": []string{"shopify_payments"}, "supplier_order_id": "",
	})
	return b
}

func newHandlers(tb testing.TB) *handlers.Handlers {
	tb.Helper()
	h, err := handlers.New(handlers.Config{SupplierName: "bts", Spec: flowbridge.OpenAPI()})
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// BenchmarkDecodeOrder is POST /orders' decode + validate + normalise.
func BenchmarkDecodeOrder(b *testing.B) {
	h := newHandlers(b)
	for _, n := range []int{1, 5, 50} {
		body := orderJSON(n)
		b.Run("lines="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := h.DecodeOrder(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestDecodeOrderFixture: the benchmark body must be valid, and the
// decoder must still refuse a broken one (else the benchmark measures the
// error path).
func TestDecodeOrderFixture(t *testing.T) {
	h := newHandlers(t)
	in, err := h.DecodeOrder(orderJSON(5))
	if err != nil {
		t.Fatal(err)
	}
	if in.OrderID != "5531234567890" || len(in.Order.Lines) != 5 {
		t.Fatalf("decoded %+v", in)
	}
	if _, err := h.DecodeOrder([]byte(`{"order_id":"x"}`)); err == nil {
		t.Fatal("an order without address and lines was accepted")
	}
}
