package handlers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge"
	"github.com/flowbridge/flowbridge/handlers"
	"github.com/flowbridge/flowbridge/internal/apptest"
	"github.com/flowbridge/flowbridge/internal/contract"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

// clock is a virtual clock for the sandbox's order progress.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newApp(t *testing.T, env map[string]string) (*apptest.App, *sandbox.Supplier, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	sb := sandbox.New(sandbox.Config{Now: clk.Now})
	app := apptest.Start(t, apptest.Options{Supplier: sb, Env: env, Now: clk.Now})
	return app, sb, clk
}

// body builds a request body from a base and JSON-merge-style edits given
// as a function on the decoded map, so each table row names only what it
// changes.
func body(t *testing.T, base string, edit func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const ratesBody = `{"order_id":"gid://shopify/Order/123","shop":"example.myshopify.com",
 "shipping_address":{"country_code":"ES","zip":"46005"},
 "line_items":[{"barcode":"8400000000017","sku":"SBX-MUG-350","quantity":1,"price":"19.99"},
               {"barcode":"8400000000024","sku":"SBX-TOTE","quantity":2,"price":"9.99"}],
 "currency":"EUR"}`

const ordersBody = `{"order_id":"gid://shopify/Order/123","order_name":"#1001","shop":"example.myshopify.com",
 "email":"a@example.com","phone":"+34600000000",
 "shipping_address":{"first_name":"Ana","last_name":"García","company":"","address1":"Calle 1","address2":"",
   "city":"Valencia","zip":"46005","province_code":"","country_code":"ES","phone":"+34600000000"},
 "line_items":[{"barcode":"8400000000017","sku":"SBX-MUG-350","quantity":2,"price":"19.99"},
               {"barcode":"8400000000024","sku":"SBX-TOTE","quantity":1,"price":"9.99"}],
 "currency":"EUR","shipping_cost_id":"","payment_gateway_names":["shopify_payments"],
 "supplier_order_id":""}`

// quote asks /rates for the default address and returns the chosen id, so
// orders can be placed with a rate the sandbox issued (it binds ids to the
// destination).
func quote(t *testing.T, app *apptest.App) string {
	t.Helper()
	r := app.Do(http.MethodPost, "/rates", ratesBody)
	if r.Status != 200 {
		t.Fatalf("rates: %d %s", r.Status, r.Body)
	}
	return r.JSON()["shipping_cost_id"].(string)
}

// order returns ordersBody with the quoted rate id and edit applied.
func order(t *testing.T, costID string, edit func(m map[string]any)) string {
	t.Helper()
	return body(t, ordersBody, func(m map[string]any) {
		m["shipping_cost_id"] = costID
		if edit != nil {
			edit(m)
		}
	})
}

func items(m map[string]any) []any { return m["line_items"].([]any) }
func item(m map[string]any, i int) map[string]any {
	return items(m)[i].(map[string]any)
}
func addr(m map[string]any) map[string]any { return m["shipping_address"].(map[string]any) }

// badInputs are rejected by both POST endpoints before the supplier is
// called. Each names the status, the code and the field.
type badInput struct {
	name    string
	raw     string // sent as is when set
	edit    func(m map[string]any)
	status  int
	code    string
	pointer string
}

func commonBadInputs() []badInput {
	return []badInput{
		{name: "malformed JSON", raw: `{"order_id": "gid://shopify/Order/1",`, status: 400, code: "invalid_json", pointer: ""},
		{name: "liquid without json filter", raw: `{"order_id": gid://shopify/Order/1}`, status: 400, code: "invalid_json", pointer: ""},
		{name: "empty body", raw: ` `, status: 400, code: "invalid_json", pointer: ""},
		{name: "array body", raw: `[]`, status: 400, code: "invalid_json", pointer: ""},
		{name: "trailing data", raw: `{} x`, status: 400, code: "invalid_json", pointer: ""},
		{name: "quantity wrong type", edit: func(m map[string]any) { item(m, 1)["quantity"] = "two" }, status: 400, code: "validation_failed", pointer: "/line_items/1/quantity"},
		{name: "quantity fractional", edit: func(m map[string]any) { item(m, 0)["quantity"] = 1.5 }, status: 400, code: "validation_failed", pointer: "/line_items/0/quantity"},
		{name: "barcode wrong type", edit: func(m map[string]any) { item(m, 0)["barcode"] = true }, status: 400, code: "invalid_ean", pointer: "/line_items/0/barcode"},
		{name: "line_items not an array", edit: func(m map[string]any) { m["line_items"] = map[string]any{"barcode": "8400000000017"} }, status: 400, code: "invalid_json", pointer: "/line_items"},
		{name: "address not an object", edit: func(m map[string]any) { m["shipping_address"] = "Calle 1" }, status: 400, code: "invalid_json", pointer: "/shipping_address"},
		{name: "order id product gid", edit: func(m map[string]any) { m["order_id"] = "gid://shopify/Product/123" }, status: 400, code: "invalid_order_id", pointer: "/order_id"},
		{name: "order id text", edit: func(m map[string]any) { m["order_id"] = "#1001" }, status: 400, code: "invalid_order_id", pointer: "/order_id"},
		{name: "order id negative number", edit: func(m map[string]any) { m["order_id"] = -5 }, status: 400, code: "invalid_order_id", pointer: "/order_id"},
		{name: "empty line items", edit: func(m map[string]any) { m["line_items"] = []any{} }, status: 400, code: "validation_failed", pointer: "/line_items"},
		{name: "missing line items", edit: func(m map[string]any) { delete(m, "line_items") }, status: 400, code: "validation_failed", pointer: "/line_items"},
		{name: "bad EAN check digit", edit: func(m map[string]any) { item(m, 1)["barcode"] = "8400000000025" }, status: 422, code: "invalid_ean", pointer: "/line_items/1/barcode"},
		{name: "EAN with letters", edit: func(m map[string]any) { item(m, 0)["barcode"] = "84000000000AB" }, status: 400, code: "invalid_ean", pointer: "/line_items/0/barcode"},
		{name: "missing barcode (null)", edit: func(m map[string]any) { item(m, 0)["barcode"] = nil }, status: 400, code: "invalid_ean", pointer: "/line_items/0/barcode"},
		{name: "quantity zero", edit: func(m map[string]any) { item(m, 0)["quantity"] = 0 }, status: 400, code: "validation_failed", pointer: "/line_items/0/quantity"},
		{name: "quantity negative", edit: func(m map[string]any) { item(m, 1)["quantity"] = -3 }, status: 400, code: "validation_failed", pointer: "/line_items/1/quantity"},
		{name: "price not decimal", edit: func(m map[string]any) { item(m, 0)["price"] = "19,99" }, status: 400, code: "validation_failed", pointer: "/line_items/0/price"},
		{name: "price too many decimals", edit: func(m map[string]any) { item(m, 1)["price"] = "9.995" }, status: 422, code: "invalid_price", pointer: "/line_items/1/price"},
		{name: "country not ISO-2", edit: func(m map[string]any) { addr(m)["country_code"] = "ESP" }, status: 400, code: "validation_failed", pointer: "/shipping_address/country_code"},
		{name: "country unknown", edit: func(m map[string]any) { addr(m)["country_code"] = "XX" }, status: 400, code: "validation_failed", pointer: "/shipping_address/country_code"},
		{name: "country missing", edit: func(m map[string]any) { delete(addr(m), "country_code") }, status: 400, code: "validation_failed", pointer: "/shipping_address/country_code"},
		{name: "country lower case", edit: func(m map[string]any) { addr(m)["country_code"] = "es" }, status: 400, code: "validation_failed", pointer: "/shipping_address/country_code"},
		{name: "quantity with a space", edit: func(m map[string]any) { item(m, 0)["quantity"] = " 1" }, status: 400, code: "validation_failed", pointer: "/line_items/0/quantity"},
		{name: "quantity digit string too big", edit: func(m map[string]any) { item(m, 0)["quantity"] = "10001" }, status: 400, code: "validation_failed", pointer: "/line_items/0/quantity"},
		{name: "price empty string", edit: func(m map[string]any) { item(m, 0)["price"] = "" }, status: 400, code: "validation_failed", pointer: "/line_items/0/price"},
		{name: "NUL in a name", edit: func(m map[string]any) { addr(m)["city"] = "Valen\x00cia" }, status: 400, code: "validation_failed", pointer: "/shipping_address/city"},
		{name: "bidi override in a name", edit: func(m map[string]any) { addr(m)["first_name"] = "Ana\u202egnirts" }, status: 400, code: "validation_failed", pointer: "/shipping_address/first_name"},
		{name: "invalid UTF-8 in a street", raw: "{\"order_id\":\"1\",\"shipping_address\":{\"country_code\":\"ES\",\"address1\":\"Calle \xff1\"},\"line_items\":[]}", status: 400, code: "validation_failed", pointer: "/shipping_address/address1"},
	}
}

func TestBadInputsNeverReachTheSupplier(t *testing.T) {
	app, sb, _ := newApp(t, nil)
	orderOnly := []badInput{
		{name: "order id missing", edit: func(m map[string]any) { delete(m, "order_id") }, status: 400, code: "invalid_order_id", pointer: "/order_id"},
		{name: "currency missing", edit: func(m map[string]any) { delete(m, "currency") }, status: 400, code: "validation_failed", pointer: "/currency"},
		{name: "currency unknown", edit: func(m map[string]any) { m["currency"] = "EURO" }, status: 400, code: "validation_failed", pointer: "/currency"},
		{name: "price missing", edit: func(m map[string]any) { delete(item(m, 1), "price") }, status: 400, code: "validation_failed", pointer: "/line_items/1/price"},
		{name: "email invalid", edit: func(m map[string]any) { m["email"] = "not-an-email" }, status: 400, code: "validation_failed", pointer: "/email"},
		{name: "address1 missing", edit: func(m map[string]any) { addr(m)["address1"] = "" }, status: 400, code: "validation_failed", pointer: "/shipping_address/address1"},
		{name: "supplier order id junk", edit: func(m map[string]any) { m["supplier_order_id"] = "<script>" }, status: 400, code: "validation_failed", pointer: "/supplier_order_id"},
		{name: "price null", edit: func(m map[string]any) { item(m, 0)["price"] = nil }, status: 400, code: "validation_failed", pointer: "/line_items/0/price"},
		{name: "gateways null", edit: func(m map[string]any) { m["payment_gateway_names"] = nil }, status: 400, code: "validation_failed", pointer: "/payment_gateway_names"},
		{name: "gateway name too long", edit: func(m map[string]any) { m["payment_gateway_names"] = []any{strings.Repeat("g", 256)} }, status: 400, code: "validation_failed", pointer: "/payment_gateway_names/0"},
		{name: "last name blank", edit: func(m map[string]any) { addr(m)["last_name"] = "   " }, status: 422, code: "invalid_address", pointer: "/shipping_address/last_name"},
		{name: "phone with a control character", edit: func(m map[string]any) { m["phone"] = "+34\t600" }, status: 400, code: "validation_failed", pointer: "/phone"},
	}
	ratesOnly := []badInput{
		{name: "preferred carriers null", edit: func(m map[string]any) { m["preferred_carriers"] = nil }, status: 400, code: "validation_failed", pointer: "/preferred_carriers"},
	}
	for _, ep := range []struct {
		path, base string
		extra      []badInput
	}{{"/rates", ratesBody, ratesOnly}, {"/orders", ordersBody, orderOnly}} {
		for _, tt := range append(commonBadInputs(), ep.extra...) {
			t.Run(ep.path+"/"+tt.name, func(t *testing.T) {
				b := tt.raw
				if b == "" {
					b = body(t, ep.base, tt.edit)
				}
				r := app.Do(http.MethodPost, ep.path, b)
				if r.Status != tt.status || r.Code() != tt.code {
					t.Fatalf("got %d %s, want %d %s: %s", r.Status, r.Code(), tt.status, tt.code, r.Body)
				}
				if !contains(r.Pointers(), tt.pointer) {
					t.Fatalf("errors %v do not name %q: %s", r.Pointers(), tt.pointer, r.Body)
				}
				if ok, present := r.JSON()["ok"]; !present || ok != false {
					t.Fatalf("problem body without ok:false: %s", r.Body)
				}
			})
		}
	}
	if st := sb.Stats(); st.RatesCalls != 0 || st.CreateCalls != 0 {
		t.Fatalf("invalid requests reached the supplier: %+v", st)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestRates(t *testing.T) {
	app, _, _ := newApp(t, nil)
	tests := []struct {
		name       string
		edit       func(m map[string]any)
		status     int
		code       string
		carrier    string
		choice     string
		pointer    string
		minOptions int
	}{
		{name: "Spain prefers GLS", status: 200, carrier: "GLS", choice: "preferred", minOptions: 2},
		{name: "GID as JSON number and lenient types", edit: func(m map[string]any) {
			m["order_id"] = 123
			item(m, 0)["quantity"] = "1"
			item(m, 0)["price"] = 19.99
			addr(m)["zip"] = 46005
			item(m, 0)["barcode"] = 8400000000017
		}, status: 200, carrier: "GLS", choice: "preferred", minOptions: 2},
		{name: "order id optional", edit: func(m map[string]any) { delete(m, "order_id") }, status: 200, carrier: "GLS", choice: "preferred"},
		{name: "unknown fields accepted", edit: func(m map[string]any) { m["note"] = "hello"; item(m, 0)["title"] = "Mug" }, status: 200, carrier: "GLS", choice: "preferred"},
		{name: "request preference overrides default", edit: func(m map[string]any) { m["preferred_carriers"] = []any{"seur"} }, status: 200, carrier: "SEUR", choice: "preferred"},
		{name: "GB falls back", edit: func(m map[string]any) { addr(m)["country_code"] = "GB"; addr(m)["zip"] = "SW1A 1AA" }, status: 200, choice: "fallback"},
		{name: "no option", edit: func(m map[string]any) { addr(m)["country_code"] = "AQ" }, status: 422, code: "no_shipping_option"},
		{name: "unmatched EAN names the line", edit: func(m map[string]any) { item(m, 1)["barcode"] = "4006381333931" }, status: 422, code: "unmatched_ean", pointer: "/line_items/1/barcode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := app.Do(http.MethodPost, "/rates", body(t, ratesBody, tt.edit))
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			m := r.JSON()
			if tt.code != "" {
				if r.Code() != tt.code {
					t.Fatalf("code %q, want %q", r.Code(), tt.code)
				}
				if tt.pointer != "" && !contains(r.Pointers(), tt.pointer) {
					t.Fatalf("errors %v lack %s", r.Pointers(), tt.pointer)
				}
				return
			}
			if m["ok"] != true || m["shipping_cost_id"] == "" || m["reason"] == "" || m["supplier"] != "sandbox" {
				t.Fatalf("bad body: %s", r.Body)
			}
			if tt.carrier != "" && m["carrier"] != tt.carrier {
				t.Fatalf("carrier %v, want %s", m["carrier"], tt.carrier)
			}
			if m["choice"] != tt.choice {
				t.Fatalf("choice %v, want %s", m["choice"], tt.choice)
			}
			if n := int(m["options_count"].(float64)); n < tt.minOptions || n != len(m["options"].([]any)) {
				t.Fatalf("options_count %d inconsistent: %s", n, r.Body)
			}
		})
	}
}

func TestOrdersAndTracking(t *testing.T) {
	app, sb, clk := newApp(t, nil)

	// Quote first, as the Flow chain does, and place with the quoted id.
	q := app.Do(http.MethodPost, "/rates", ratesBody)
	if q.Status != 200 {
		t.Fatalf("rates: %d %s", q.Status, q.Body)
	}
	costID := q.JSON()["shipping_cost_id"].(string)
	r := app.Do(http.MethodPost, "/orders", body(t, ordersBody, func(m map[string]any) { m["shipping_cost_id"] = costID }))
	if r.Status != 200 {
		t.Fatalf("orders: %d %s", r.Status, r.Body)
	}
	m := r.JSON()
	if m["ok"] != true || m["outcome"] != "placed" || m["order_id"] != "123" || m["supplier_status"] != "pending" {
		t.Fatalf("bad placement: %s", r.Body)
	}
	soid := m["supplier_order_id"].(string)
	if len(soid) != 12 {
		t.Fatalf("supplier order id %q", soid)
	}

	tr := app.Do(http.MethodGet, "/tracking/"+soid, nil)
	if tr.Status != 200 || tr.JSON()["status"] != "pending" || tr.JSON()["pending"] != true || tr.JSON()["fulfillable"] != false {
		t.Fatalf("tracking before shipping: %d %s", tr.Status, tr.Body)
	}
	clk.Add(4 * time.Minute)
	tr = app.Do(http.MethodGet, "/tracking/"+soid, nil)
	tm := tr.JSON()
	if tr.Status != 200 || tm["status"] != "shipped" || tm["shipped"] != true || tm["fulfillable"] != true ||
		tm["tracking_number"] == "" || tm["tracking_company"] != "GLS" || tm["parcels_count"] != 1.0 {
		t.Fatalf("tracking after shipping: %s", tr.Body)
	}
	if tm["checked_at"] != clk.Now().UTC().Format(time.RFC3339) {
		t.Fatalf("checked_at %v does not follow the injected clock", tm["checked_at"])
	}

	// The number already on the order: nothing is created.
	before := sb.Stats().Creates
	rec := app.Do(http.MethodPost, "/orders", body(t, ordersBody, func(m map[string]any) { m["supplier_order_id"] = soid }))
	if rec.Status != 200 || rec.JSON()["outcome"] != "recorded" || rec.JSON()["supplier_order_id"] != soid {
		t.Fatalf("recorded: %d %s", rec.Status, rec.Body)
	}
	if sb.Stats().Creates != before {
		t.Fatal("an order was created although supplier_order_id was sent")
	}
}

func TestOrdersSupplierOutcomes(t *testing.T) {
	app, _, clk := newApp(t, nil)
	costID := quote(t, app)
	tests := []struct {
		name       string
		edit       func(m map[string]any)
		status     int
		code       string
		pointer    string
		retryAfter bool
	}{
		{name: "out of stock", edit: func(m map[string]any) { item(m, 1)["barcode"] = "8400000000062" }, status: 422, code: "no_stock", pointer: "/line_items/1/quantity"},
		{name: "unmatched EAN", edit: func(m map[string]any) { item(m, 0)["barcode"] = "4006381333931" }, status: 422, code: "unmatched_ean", pointer: "/line_items/0/barcode"},
		{name: "supplier rejects", edit: func(m map[string]any) { addr(m)["address2"] = sandbox.TriggerReject }, status: 422, code: "supplier_rejected"},
		{name: "trigger typo", edit: func(m map[string]any) { addr(m)["address2"] = "sandbox:cancle" }, status: 422, code: "invalid_address", pointer: "/shipping_address/address2"},
		{name: "supplier down", edit: func(m map[string]any) { m["order_id"] = "777"; addr(m)["address2"] = sandbox.TriggerFailBeforeCreate }, status: 503, code: "supplier_unavailable", retryAfter: true},
		{name: "shipping rate for another address", edit: func(m map[string]any) { m["shipping_cost_id"] = "gls-000000000000" }, status: 422, code: "invalid_shipping_rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := app.Do(http.MethodPost, "/orders", order(t, costID, tt.edit))
			if r.Status != tt.status || r.Code() != tt.code {
				t.Fatalf("got %d %s, want %d %s: %s", r.Status, r.Code(), tt.status, tt.code, r.Body)
			}
			if tt.pointer != "" && !contains(r.Pointers(), tt.pointer) {
				t.Fatalf("errors %v lack %s", r.Pointers(), tt.pointer)
			}
			if tt.retryAfter && r.Header.Get("Retry-After") == "" {
				t.Fatal("no Retry-After")
			}
		})
	}

	t.Run("split parcels and cancel", func(t *testing.T) {
		split := app.Do(http.MethodPost, "/orders", order(t, costID, func(m map[string]any) {
			m["order_id"] = "2001"
			addr(m)["address2"] = "Piso 3 " + sandbox.TriggerSplit
		}))
		cancel := app.Do(http.MethodPost, "/orders", order(t, costID, func(m map[string]any) {
			m["order_id"] = "2002"
			addr(m)["address2"] = sandbox.TriggerCancel
		}))
		if split.Status != 200 || cancel.Status != 200 {
			t.Fatalf("placing: %s / %s", split.Body, cancel.Body)
		}
		clk.Add(10 * time.Minute)
		s := app.Do(http.MethodGet, "/tracking/"+split.JSON()["supplier_order_id"].(string), nil).JSON()
		if s["parcels_count"] != 2.0 || len(s["tracking_numbers"].([]any)) != 2 || s["fulfillable"] != true {
			t.Fatalf("split: %v", s)
		}
		c := app.Do(http.MethodGet, "/tracking/"+cancel.JSON()["supplier_order_id"].(string), nil).JSON()
		if c["status"] != "cancelled" || c["cancelled"] != true || c["fulfillable"] != false {
			t.Fatalf("cancel: %v", c)
		}
	})
}

func TestTrackingBadInput(t *testing.T) {
	app, _, _ := newApp(t, nil)
	tests := []struct {
		name, path string
		status     int
		code       string
		pointer    string
	}{
		{"unknown order", "/tracking/700000099999", 404, "order_not_found", ""},
		{"bad characters", "/tracking/%3Cscript%3E", 400, "invalid_supplier_order_id", "/path/id"},
		{"bad shopify id", "/tracking/abc?by=shopify_order", 400, "invalid_order_id", "/path/id"},
		{"bad lookup kind", "/tracking/123?by=email", 400, "validation_failed", "/query/by"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := app.Do(http.MethodGet, tt.path, nil)
			if r.Status != tt.status || r.Code() != tt.code {
				t.Fatalf("got %d %s, want %d %s: %s", r.Status, r.Code(), tt.status, tt.code, r.Body)
			}
			if tt.pointer != "" && !contains(r.Pointers(), tt.pointer) {
				t.Fatalf("errors %v lack %s", r.Pointers(), tt.pointer)
			}
		})
	}
}

func TestTransportErrors(t *testing.T) {
	app, sb, _ := newApp(t, map[string]string{"FLOWBRIDGE_MAX_BODY_BYTES": "2048"})
	big := body(t, ordersBody, func(m map[string]any) { m["note"] = strings.Repeat("x", 4096) })
	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		headers map[string]string
		status  int
		code    string
	}{
		{"no key", "POST", "/rates", ratesBody, map[string]string{"Authorization": ""}, 401, "unauthorized"},
		{"wrong key", "POST", "/rates", ratesBody, map[string]string{"Authorization": "Bearer " + strings.Repeat("k", 43)}, 401, "unauthorized"},
		{"basic scheme", "POST", "/rates", ratesBody, map[string]string{"Authorization": "Basic " + app.APIKey}, 401, "unauthorized"},
		{"key without scheme", "GET", "/tracking/700000000001", "", map[string]string{"Authorization": app.APIKey}, 401, "unauthorized"},
		{"operator key is not a Flow key", "POST", "/orders", ordersBody, map[string]string{"Authorization": "Bearer " + app.OperatorKey}, 401, "unauthorized"},
		{"no key and text/plain is 401", "POST", "/orders", ordersBody, map[string]string{"Authorization": "", "Content-Type": "text/plain"}, 401, "unauthorized"},
		{"text/plain", "POST", "/orders", ordersBody, map[string]string{"Authorization": "Bearer " + app.APIKey, "Content-Type": "text/plain"}, 415, "unsupported_media_type"},
		{"form", "POST", "/rates", ratesBody, map[string]string{"Authorization": "Bearer " + app.APIKey, "Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		{"too large", "POST", "/orders", big, map[string]string{"Authorization": "Bearer " + app.APIKey}, 413, "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b any
			if tt.body != "" {
				b = tt.body
			}
			r := app.DoWith(tt.method, tt.path, b, tt.headers)
			if r.Status != tt.status || r.Code() != tt.code {
				t.Fatalf("got %d %s, want %d %s: %s", r.Status, r.Code(), tt.status, tt.code, r.Body)
			}
			if strings.Contains(string(r.Body), app.APIKey) || strings.Contains(string(r.Body), app.OperatorKey) {
				t.Fatal("a key leaked into an error body")
			}
		})
	}
	if st := sb.Stats(); st.RatesCalls != 0 || st.CreateCalls != 0 {
		t.Fatalf("rejected requests reached the supplier: %+v", st)
	}
}

func TestSeveralKeysAndOperatorRoutes(t *testing.T) {
	k1, k2 := "key-one-0123456789abcdefXYZ", "key-two-0123456789abcdefXYZ"
	op := "operator-0123456789abcdefXYZ"
	app, _, _ := newApp(t, map[string]string{"FLOWBRIDGE_API_KEYS": k1 + ", " + k2, "FLOWBRIDGE_OPERATOR_KEYS": op})
	for _, k := range []string{k1, k2} {
		r := app.DoWith("POST", "/rates", ratesBody, map[string]string{"Authorization": "Bearer " + k})
		if r.Status != 200 {
			t.Fatalf("key %s…: %d %s", k[:7], r.Status, r.Body)
		}
	}
	// A Flow key must not open /admin; the operator key passes the gate.
	r := app.DoWith("POST", "/admin/orders/123/resolve", `{"action":"release"}`, map[string]string{"Authorization": "Bearer " + k1})
	if r.Status != 401 {
		t.Fatalf("Flow key on /admin: %d", r.Status)
	}
	// An order flowbridge never saw cannot be released or adopted by
	// mistake (a mistyped id): 404, and no record appears.
	opAuth := map[string]string{"Authorization": "Bearer " + op}
	for _, b := range []string{`{"action":"release"}`, `{"action":"adopt","supplier_order_id":"700000000009"}`} {
		r = app.DoWith("POST", "/admin/orders/123/resolve", b, opAuth)
		if r.Status != 404 || r.Code() != "order_not_found" {
			t.Fatalf("resolve %s on an unknown order: %d %s", b, r.Status, r.Body)
		}
	}
	if r = app.DoWith("GET", "/admin/orders/123", "", opAuth); r.Status != 404 {
		t.Fatalf("a refused resolve left a record: %d %s", r.Status, r.Body)
	}
	// Said explicitly, an order placed by hand at the supplier is adopted.
	r = app.DoWith("POST", "/admin/orders/123/resolve", `{"action":"adopt","supplier_order_id":"700000000009","new_order":true}`, opAuth)
	if o, _ := r.JSON()["order"].(map[string]any); r.Status != 200 || o["state"] != "placed" || o["supplier_order_id"] != "700000000009" {
		t.Fatalf("adopt a new order: %d %s", r.Status, r.Body)
	}
}

func TestDeadline(t *testing.T) {
	app, _, _ := newApp(t, map[string]string{"FLOWBRIDGE_REQUEST_TIMEOUT": "1s"})
	costID := quote(t, app)
	start := time.Now()
	r := app.Do(http.MethodPost, "/orders", order(t, costID, func(m map[string]any) {
		addr(m)["address2"] = "sandbox:delay=5s"
	}))
	if r.Status != 503 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("slow supplier: %d %s", r.Status, r.Body)
	}
	if el := time.Since(start); el > 4*time.Second {
		t.Fatalf("the deadline did not bound the request: %s", el)
	}
}

func TestOpsEndpoints(t *testing.T) {
	app, _, _ := newApp(t, nil)
	noAuth := map[string]string{"Authorization": ""}
	h := app.DoWith("GET", "/healthz", nil, noAuth)
	if h.Status != 200 || h.JSON()["ok"] != true {
		t.Fatalf("healthz: %d %s", h.Status, h.Body)
	}
	rd := app.DoWith("GET", "/readyz", nil, noAuth)
	if rd.Status != 200 {
		t.Fatalf("readyz: %d %s", rd.Status, rd.Body)
	}
	// The documented example is what the service reports.
	doc, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	ex := doc.Paths.Value("/readyz").Get.Responses.Status(200).Value.Content.Get("application/json").Example
	exJSON, _ := json.Marshal(ex)
	if got, _ := json.Marshal(rd.JSON()); string(got) != string(exJSON) {
		t.Fatalf("readyz answers %s, the spec's example is %s", got, exJSON)
	}
	spec := app.DoWith("GET", "/openapi.yaml", nil, map[string]string{"Authorization": "", "Origin": "https://editor.swagger.io"})
	if spec.Status != 200 || string(spec.Body) != string(flowbridge.OpenAPI()) {
		t.Fatalf("openapi.yaml: %d, %d bytes", spec.Status, len(spec.Body))
	}
	if got := spec.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Fatalf("openapi.yaml CORS header = %q", got)
	}
	if spec.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatal("openapi.yaml allows credentials across origins")
	}
	docs := app.DoWith("GET", "/docs", nil, noAuth)
	if docs.Status != 200 || !strings.Contains(docs.Header.Get("Content-Type"), "text/html") ||
		docs.Header.Get("Content-Security-Policy") != handlers.DocsCSP || strings.Contains(string(docs.Body), "<script>") {
		t.Fatalf("docs: %d %v", docs.Status, docs.Header)
	}
	// The page renders the docs variant of the spec: no servers (requests
	// go to this service), the Liquid templates in the descriptions.
	variant := app.DoWith("GET", "/docs/openapi.json", nil, noAuth)
	var v struct {
		Servers []any `json:"servers"`
		Paths   map[string]map[string]struct {
			Description string `json:"description"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(variant.Body, &v); err != nil || variant.Status != 200 {
		t.Fatalf("docs/openapi.json: %d %v", variant.Status, err)
	}
	if len(v.Servers) != 0 || !strings.Contains(v.Paths["/rates"]["post"].Description, "li.variant.barcode | json") {
		t.Fatalf("docs variant: servers %v, /rates description %q", v.Servers, v.Paths["/rates"]["post"].Description)
	}
	for _, c := range []struct{ path, ctype string }{{"/docs/style.css", "text/css"}, {"/docs/init.js", "text/javascript"}, {"/docs/swagger-ui-bundle.js", "text/javascript"}, {"/docs/swagger-ui.css", "text/css"}} {
		r := app.DoWith("GET", c.path, nil, noAuth)
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), c.ctype) || len(r.Body) < 100 {
			t.Fatalf("%s: %d %s, %d bytes", c.path, r.Status, r.Header.Get("Content-Type"), len(r.Body))
		}
	}
	if r := app.DoWith("GET", "/docs/secret.txt", nil, noAuth); r.Status != 404 {
		t.Fatalf("unknown docs asset: %d", r.Status)
	}
}
