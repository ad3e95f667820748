package handlers

import (
	"testing"

	"github.com/flowbridge/flowbridge"
	"github.com/flowbridge/flowbridge/problem"
)

// FuzzDecodeOrder feeds arbitrary bodies to the /orders decoder and
// validator: it must never panic, and every refusal must be a client
// error (Kind Invalid → 4xx, or Rejected → 422 for the rules a schema
// cannot state), never an internal one (5xx).
func FuzzDecodeOrder(f *testing.F) {
	seeds := []string{
		validOrderBody,
		`{}`, `[]`, `null`, `"x"`, `{"order_id":`, `{"order_id":123}`,
		`{"order_id":"gid://shopify/Order/1","line_items":[{"barcode":8400000000017,"quantity":"2","price":19.99}],"currency":"eur","shipping_address":{"last_name":"A","address1":"B","city":"C","country_code":"es"}}`,
		`{"order_id":"gid://shopify/Order/-1","line_items":[{}]}`,
		`{"order_id":1e400,"line_items":{"a":1}}`,
		`{"line_items":[{"quantity":1.5,"price":"1.2.3"}],"shipping_address":[]}`,
		`{"order_id":"00000","currency":"JPY","line_items":[{"barcode":"84 0000000001 7","quantity":1,"price":"10.5"}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	h, err := New(Config{Spec: flowbridge.OpenAPI()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := h.DecodeOrder(body)
		if err == nil {
			if in.OrderID == "" || len(in.Order.Lines) == 0 {
				t.Fatalf("accepted an order without id or lines: %q", body)
			}
			for _, l := range in.Order.Lines {
				if l.Quantity < 1 || l.EAN == "" {
					t.Fatalf("accepted a bad line %+v from %q", l, body)
				}
			}
			return
		}
		pe := problem.From(err)
		if pe.Kind != problem.Invalid && pe.Kind != problem.Rejected {
			t.Fatalf("body %q gave %v (kind %s), want a client error", body, err, pe.Kind)
		}
		if pe.Code == "" {
			t.Fatalf("body %q gave an error without a code", body)
		}
		if len(pe.Fields) > MaxFieldErrors {
			t.Fatalf("body %q gave %d field errors, more than the cap", body, len(pe.Fields))
		}
	})
}

const validOrderBody = `{"order_id":"gid://shopify/Order/123","order_name":"#1001","shop":"example.myshopify.com",
 "email":"a@example.com","phone":"+34600000000",
 "shipping_address":{"first_name":"Ana","last_name":"García","company":"","address1":"Calle 1","address2":"",
   "city":"Valencia","zip":"46005","province_code":"","country_code":"ES","phone":"+34600000000"},
 "line_items":[{"barcode":"8400000000017","sku":"ABC","quantity":2,"price":"19.99"}],
 "currency":"EUR","shipping_cost_id":"17","payment_gateway_names":["shopify_payments"],
 "supplier_order_id":""}`
