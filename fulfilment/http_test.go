package fulfilment_test

import (
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/apptest"
	"github.com/flowbridge/flowbridge/shopify/shopifytest"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// POST /tracking/{id}/fulfil through the whole HTTP stack (auth, the
// route, the handler, the real wiring), every answer checked against
// openapi.yaml, the sandbox as supplier and the fake Admin API on
// Shopify's real schema.
func TestFulfilEndpoint(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	shop := shopifytest.New(t, "shpat_http", "2026-01")
	shop.SetScopes("read_orders", "read_merchant_managed_fulfillment_orders", "write_merchant_managed_fulfillment_orders")
	shop.AddOrder(shopifytest.Order{ID: "gid://shopify/Order/1001", Name: "#1001", FulfillmentOrders: []shopifytest.FulfillmentOrder{
		{ID: "gid://shopify/FulfillmentOrder/1", LocationID: "gid://shopify/Location/1", LocationName: "Supplier",
			LineItems: []shopifytest.FulfillmentOrderLineItem{{ID: "gid://shopify/FulfillmentOrderLineItem/1", LineItemID: "gid://shopify/LineItem/1", SKU: "SBX-MUG-350", TotalQuantity: 1}}}}})
	a := apptest.Start(t, apptest.Options{Supplier: sandbox.New(sandbox.Config{Now: clk.Now}), Now: clk.Now,
		Env: map[string]string{"SHOPIFY_SHOP": "example.myshopify.com", "SHOPIFY_ADMIN_TOKEN": "shpat_http", "SHOPIFY_ADMIN_BASE_URL": shop.URL}})

	rates := a.Do("POST", "/rates", map[string]any{"order_id": "gid://shopify/Order/1001",
		"shipping_address": map[string]any{"country_code": "ES", "zip": "46005"},
		"line_items":       []any{map[string]any{"barcode": "8400000000017", "sku": "SBX-MUG-350", "quantity": 1}}})
	if rates.Status != 200 {
		t.Fatalf("rates: %d %s", rates.Status, rates.Body)
	}
	placed := a.Do("POST", "/orders", map[string]any{"order_id": "gid://shopify/Order/1001", "order_name": "#1001", "email": "ana@example.com",
		"shipping_address": map[string]any{"first_name": "Ana", "last_name": "García", "address1": "Calle Colón 1", "city": "Valencia", "zip": "46005", "country_code": "ES"},
		"line_items":       []any{map[string]any{"barcode": "8400000000017", "sku": "SBX-MUG-350", "quantity": 1, "price": "19.99"}},
		"currency":         "EUR", "shipping_cost_id": rates.JSON()["shipping_cost_id"]})
	number, _ := placed.JSON()["supplier_order_id"].(string)
	if placed.Status != 200 || number == "" {
		t.Fatalf("orders: %d %s", placed.Status, placed.Body)
	}
	path := "/tracking/" + number + "/fulfil"
	body := map[string]any{"order_id": "gid://shopify/Order/1001", "shop": "example.myshopify.com"}

	if r := a.Do("POST", path, body); r.Status != 202 || r.JSON()["done"] != false || r.JSON()["outcome"] != "not_shipped" {
		t.Fatalf("before shipping: %d %s", r.Status, r.Body)
	}
	clk.Add(time.Hour) // the sandbox ships after 3 minutes
	r := a.Do("POST", path, body)
	if r.Status != 200 || r.JSON()["done"] != true || r.JSON()["outcome"] != "fulfilled" || r.JSON()["locations"] != float64(1) {
		t.Fatalf("after shipping: %d %s", r.Status, r.Body)
	}
	fs := shop.Fulfillments("gid://shopify/Order/1001")
	if len(fs) != 1 || !fs[0].NotifyCustomer || len(fs[0].Numbers) != 1 {
		t.Fatalf("fulfilments %+v", fs)
	}
	if r := a.Do("POST", path, map[string]any{"order_id": 1001, "shop": "example.myshopify.com"}); r.Status != 200 || r.JSON()["replayed"] != true {
		t.Fatalf("re-send (numeric order id): %d %s", r.Status, r.Body)
	}
	// Keyed under another shop (the body left shop out), the record is not
	// found, but Shopify has nothing open: still no second fulfilment.
	if r := a.Do("POST", path, map[string]any{"order_id": 1001}); r.Status != 200 || r.JSON()["outcome"] != "already_fulfilled" {
		t.Fatalf("re-send without shop: %d %s", r.Status, r.Body)
	}
	if len(shop.Fulfillments("gid://shopify/Order/1001")) != 1 {
		t.Fatal("re-send fulfilled again")
	}
	if r := a.Do("POST", path, map[string]any{"order_id": "gid://shopify/Product/1"}); r.Status != 400 || r.Code() != "invalid_order_id" || r.Pointers()[0] != "/order_id" {
		t.Fatalf("bad order id: %d %s", r.Status, r.Body)
	}
	if r := a.DoWith("POST", path, body, map[string]string{"Authorization": ""}); r.Status != 401 {
		t.Fatalf("without the key: %d", r.Status)
	}
	if r := a.Do("POST", "/tracking/bad id!/fulfil", body); r.Status != 400 && r.Status != 404 {
		t.Fatalf("bad supplier number: %d %s", r.Status, r.Body)
	}
}
