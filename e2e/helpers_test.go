// Package e2e drives a complete flowbridge through its HTTP stack
// (internal/apptest: server.New with the production wiring behind a real
// loopback listener, every answer checked against openapi.yaml). Each
// test runs on a real Redis and on the in-process store.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/apptest"
	"github.com/flowbridge/flowbridge/internal/redistest"
)

const shop = "e2e-shop.myshopify.com"

// Customer data sent in every order body. The values are unusual on
// purpose, so finding one in a log line or an answer cannot be chance.
const (
	custFirst  = "Zebulonia"
	custLast   = "Quixwellby"
	custEmail  = "zebulonia.q@example.org"
	custPhone  = "+34911222333"
	custStreet = "Calle Inventada 4321"
	custCity   = "Villaquixote"
)

// backend is a store flowbridge can run on.
type backend struct {
	name string
	// redisURL starts what the backend needs and returns REDIS_URL
	// ("" for the in-process store).
	redisURL func(t *testing.T) string
}

var backends = []backend{
	{"redis", func(t *testing.T) string { return redistest.Start(t).URL() }},
	{"inprocess", func(*testing.T) string { return "" }},
}

// eachBackend runs f once per store, as subtests.
func eachBackend(t *testing.T, f func(t *testing.T, redisURL string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b.redisURL(t)) })
	}
}

// clock is a virtual clock shared by flowbridge and the sandbox, so an
// order ships when the test says so.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// ratesBody is a /rates request for orderID ("" for none).
func ratesBody(orderID string) map[string]any {
	b := map[string]any{
		"shop":             shop,
		"shipping_address": map[string]any{"country_code": "ES", "zip": "46005"},
		"line_items":       []any{map[string]any{"barcode": "8400000000017", "sku": "SBX-MUG-350", "quantity": 1, "price": "19.99"}},
		"currency":         "EUR",
	}
	if orderID != "" {
		b["order_id"] = "gid://shopify/Order/" + orderID
	}
	return b
}

// orderBody is the /orders request the Flow template renders; address2
// carries the sandbox triggers.
func orderBody(orderID, rateID, address2 string) map[string]any {
	return map[string]any{
		"order_id":   "gid://shopify/Order/" + orderID,
		"order_name": "#" + orderID,
		"shop":       shop,
		"email":      custEmail,
		"phone":      custPhone,
		"shipping_address": map[string]any{
			"first_name": custFirst, "last_name": custLast, "company": "", "address1": custStreet,
			"address2": address2, "city": custCity, "zip": "46005", "province_code": "", "country_code": "ES",
			"phone": custPhone,
		},
		"line_items":            []any{map[string]any{"barcode": "8400000000017", "sku": "SBX-MUG-350", "quantity": 1, "price": "19.99"}},
		"currency":              "EUR",
		"shipping_cost_id":      rateID,
		"payment_gateway_names": []any{"shopify_payments"},
		"supplier_order_id":     "",
	}
}

// client sends requests to one App and keeps every answer, so a test can
// check afterwards that no secret or customer data reached any of them.
type client struct {
	t   *testing.T
	app *apptest.App

	mu     sync.Mutex
	bodies [][]byte
}

func newClient(t *testing.T, app *apptest.App) *client { return &client{t: t, app: app} }

func (c *client) keep(r *apptest.Response) *apptest.Response {
	c.mu.Lock()
	c.bodies = append(c.bodies, r.Body)
	c.mu.Unlock()
	return r
}

// flow calls with the Flow key.
func (c *client) flow(method, path string, body any) *apptest.Response {
	c.t.Helper()
	return c.keep(c.app.Do(method, path, body))
}

// operator calls with the operator key.
func (c *client) operator(method, path string, body any) *apptest.Response {
	c.t.Helper()
	return c.keep(c.app.DoWith(method, path, body, map[string]string{"Authorization": "Bearer " + c.app.OperatorKey}))
}

// send is flow from another goroutine.
func (c *client) send(method, path string, body any) (*apptest.Response, error) {
	r, err := c.app.Send(method, path, body, map[string]string{"Authorization": "Bearer " + c.app.APIKey})
	if err != nil {
		return nil, err
	}
	return c.keep(r), nil
}

// leaks names every secret or piece of customer data found in data.
func leaks(data []byte, secrets map[string]string) []string {
	var found []string
	for what, s := range secrets {
		if s != "" && bytes.Contains(data, []byte(s)) {
			found = append(found, what)
		}
	}
	return found
}

// sensitive is what must never leave flowbridge: its keys and the
// customer's personal data.
func sensitive(app *apptest.App) map[string]string {
	return map[string]string{
		"api key": app.APIKey, "operator key": app.OperatorKey,
		"first name": custFirst, "last name": custLast, "email": custEmail, "phone": custPhone,
		"street": custStreet, "city": custCity,
	}
}

// orderView is the part of GET /admin/orders/{id} the tests read.
type orderView struct {
	Order struct {
		State           string `json:"state"`
		SupplierOrderID string `json:"supplier_order_id"`
		LastStatus      string `json:"last_status"`
		Attention       string `json:"attention"`
	} `json:"order"`
	Events []struct {
		Kind            string `json:"kind"`
		Op              string `json:"op"`
		Code            string `json:"code"`
		SupplierOrderID string `json:"supplier_order_id"`
		Status          string `json:"status"`
		Action          string `json:"action"`
		Actor           string `json:"actor"`
		Via             string `json:"via"`
		Address         string `json:"address"`
	} `json:"events"`
	Placement *struct {
		State           string `json:"state"`
		SupplierOrderID string `json:"supplier_order_id"`
		Outcome         string `json:"outcome"`
	} `json:"placement"`
}

func decode[T any](t *testing.T, r *apptest.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
	return v
}

// kinds lists an order's event kinds, oldest first, with the problem code
// of error events ("error:in_flight"), so one comparison checks both.
func (v orderView) kinds() []string {
	out := make([]string, 0, len(v.Events))
	for _, e := range v.Events {
		k := e.Kind
		if e.Kind == "error" || e.Kind == "order_rejected" {
			k += ":" + e.Code
		}
		out = append(out, k)
	}
	return out
}

// listIDs returns the order ids GET /admin/orders?state=… answers.
func listIDs(t *testing.T, c *client, state string) []string {
	t.Helper()
	r := c.operator(http.MethodGet, "/admin/orders?state="+state, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list %q: %d %s", state, r.Status, r.Body)
	}
	l := decode[struct {
		Orders []struct {
			OrderID string `json:"order_id"`
		} `json:"orders"`
	}](t, r)
	ids := make([]string, 0, len(l.Orders))
	for _, o := range l.Orders {
		ids = append(ids, o.OrderID)
	}
	sort.Strings(ids)
	return ids
}

// waitFor polls cond until it holds; it is how a test waits for another
// goroutine's request to reach a state the service reports, never a
// fixed sleep.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func join(s []string) string { return fmt.Sprintf("[%s]", strings.Join(s, " ")) }
