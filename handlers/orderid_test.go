package handlers_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// One order id everywhere: what /orders stored under "0042" is order 42 for
// every later lookup, and the operator API does not create a second record.
func TestLeadingZeroOrderID(t *testing.T) {
	app, sb, _ := newApp(t, nil)
	costID := quote(t, app)
	r := app.Do(http.MethodPost, "/orders", order(t, costID, func(m map[string]any) { m["order_id"] = "0042" }))
	if r.Status != 200 || r.JSON()["order_id"] != "42" {
		t.Fatalf("orders: %d %s", r.Status, r.Body)
	}
	soid := r.JSON()["supplier_order_id"]
	op := map[string]string{"Authorization": "Bearer " + app.OperatorKey}
	for _, id := range []string{"42", "0042", url.PathEscape("gid://shopify/Order/0042")} {
		g := app.DoWith("GET", "/admin/orders/"+id+"?shop=example.myshopify.com", nil, op)
		o, _ := g.JSON()["order"].(map[string]any)
		if g.Status != 200 || o["order_id"] != "42" || o["supplier_order_id"] != soid {
			t.Fatalf("GET /admin/orders/%s: %d %s", id, g.Status, g.Body)
		}
		tr := app.Do("GET", "/tracking/"+id+"?by=shopify_order&shop=example.myshopify.com", nil)
		if tr.Status != 200 || tr.JSON()["supplier_order_id"] != soid {
			t.Fatalf("tracking %s: %d %s", id, tr.Status, tr.Body)
		}
	}
	// Resolving "0042" is resolving the placed order 42: a conflict, never
	// a second record.
	res := app.DoWith("POST", "/admin/orders/0042/resolve?shop=example.myshopify.com", `{"action":"adopt","supplier_order_id":"X1","new_order":true}`, op)
	if res.Status != 409 || res.Code() != "resolve_conflict" {
		t.Fatalf("resolve 0042: %d %s", res.Status, res.Body)
	}
	// A replay under another spelling creates nothing.
	before := sb.Stats().Creates
	rp := app.Do(http.MethodPost, "/orders", order(t, costID, func(m map[string]any) { m["order_id"] = 42 }))
	if rp.Status != 200 || rp.JSON()["outcome"] != "replayed" || rp.JSON()["supplier_order_id"] != soid || sb.Stats().Creates != before {
		t.Fatalf("replay as 42: %d %s", rp.Status, rp.Body)
	}
}

// An order placed with `shop` (as the spec's template sends it) is found by
// tracking ?by=shopify_order with the same shop in any letter case, and by
// the operator API; without `shop` it is found when the deployment's shop
// is that shop (FLOWBRIDGE_SHOP).
func TestShopThenTrackingByShopifyOrder(t *testing.T) {
	t.Run("shop passed along", func(t *testing.T) {
		app, _, _ := newApp(t, nil)
		costID := quote(t, app)
		r := app.Do(http.MethodPost, "/orders", order(t, costID, func(m map[string]any) { m["shop"] = "Example.MyShopify.com" }))
		if r.Status != 200 {
			t.Fatalf("orders: %d %s", r.Status, r.Body)
		}
		soid := r.JSON()["supplier_order_id"]
		for _, q := range []string{"shop=example.myshopify.com", "shop=EXAMPLE.myshopify.com"} {
			tr := app.Do("GET", "/tracking/123?by=shopify_order&"+q, nil)
			if tr.Status != 200 || tr.JSON()["supplier_order_id"] != soid {
				t.Fatalf("tracking with %s: %d %s", q, tr.Status, tr.Body)
			}
		}
		// Without it, this deployment's shop is "default": not the order's.
		if tr := app.Do("GET", "/tracking/123?by=shopify_order", nil); tr.Status != 404 {
			t.Fatalf("tracking without shop: %d %s", tr.Status, tr.Body)
		}
		if tr := app.Do("GET", "/tracking/123?by=shopify_order&shop=%7B%7Bshop%7D%7D", nil); tr.Status != 400 {
			t.Fatalf("tracking with an unrendered shop: %d %s", tr.Status, tr.Body)
		}
	})
	t.Run("deployment shop", func(t *testing.T) {
		app, _, _ := newApp(t, map[string]string{"FLOWBRIDGE_SHOP": "example.myshopify.com"})
		costID := quote(t, app)
		op := map[string]string{"Authorization": "Bearer " + app.OperatorKey}
		// Placed with shop, looked up without it, and the other way round.
		for _, c := range []struct{ id, placeShop, lookup string }{{"501", "example.myshopify.com", ""}, {"502", "", "&shop=example.myshopify.com"}} {
			r := app.Do(http.MethodPost, "/orders", order(t, costID, func(m map[string]any) { m["order_id"] = c.id; m["shop"] = c.placeShop }))
			if r.Status != 200 {
				t.Fatalf("orders %s: %d %s", c.id, r.Status, r.Body)
			}
			tr := app.Do("GET", "/tracking/"+c.id+"?by=shopify_order"+c.lookup, nil)
			if tr.Status != 200 || tr.JSON()["supplier_order_id"] != r.JSON()["supplier_order_id"] {
				t.Fatalf("tracking %s: %d %s", c.id, tr.Status, tr.Body)
			}
			g := app.DoWith("GET", "/admin/orders/"+c.id, nil, op)
			if o, _ := g.JSON()["order"].(map[string]any); g.Status != 200 || o["shop"] != "example.myshopify.com" || g.JSON()["placement"] == nil {
				t.Fatalf("operator view %s: %d %s", c.id, g.Status, g.Body)
			}
		}
	})
}

// checked_at is when the supplier was asked: a cached answer keeps it.
func TestCheckedAtIsTheSupplierCheck(t *testing.T) {
	app, _, clk := newApp(t, map[string]string{"FLOWBRIDGE_TRACKING_TTL": "10m"})
	costID := quote(t, app)
	r := app.Do(http.MethodPost, "/orders", order(t, costID, nil))
	if r.Status != 200 {
		t.Fatalf("orders: %d %s", r.Status, r.Body)
	}
	soid := r.JSON()["supplier_order_id"].(string)
	first := app.Do("GET", "/tracking/"+soid, nil)
	checked := clk.Now().UTC().Format(time.RFC3339)
	if first.JSON()["checked_at"] != checked {
		t.Fatalf("first check: %s", first.Body)
	}
	clk.Add(time.Minute)
	again := app.Do("GET", "/tracking/"+soid, nil)
	if again.Status != 200 || again.JSON()["checked_at"] != checked {
		t.Fatalf("cached answer says checked_at %v, the supplier was asked at %s", again.JSON()["checked_at"], checked)
	}
}
