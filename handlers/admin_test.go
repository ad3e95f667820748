package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/flowbridge/flowbridge/handlers"
	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/store/memstore"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

// adminStatus is a minimal stand-in for the server's error mapping.
func adminStatus(pe *problem.Error) int {
	if pe.Status != 0 {
		return pe.Status
	}
	return map[problem.Kind]int{problem.Invalid: 400, problem.NotFound: 404, problem.Rejected: 422,
		problem.Busy: 429, problem.Unavailable: 503, problem.Upstream: 502}[pe.Kind]
}

func adminEcho(t *testing.T, svc *orders.Service) *echo.Echo {
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			_ = c.JSON(he.Code, map[string]any{"ok": false})
			return
		}
		pe := problem.From(err)
		st := adminStatus(pe)
		if st == 0 {
			st = 500
		}
		_ = c.JSON(st, map[string]any{"ok": false, "code": pe.Code, "detail": pe.Detail, "status": st, "errors": pe.Fields})
	}
	(&handlers.Admin{Orders: svc}).Register(e.Group("/admin"))
	return e
}

// needsReviewOrder places an order whose outcome is unknown at a supplier
// that cannot be asked, and returns the sandbox order number.
func needsReviewOrder(t *testing.T) (*orders.Service, string) {
	t.Helper()
	sb := sandbox.New(sandbox.Config{DisableLookup: true})
	ctx := context.Background()
	rates, err := sb.Rates(ctx, supplier.RateRequest{CountryCode: "ES", PostalCode: "46005", Lines: []supplier.Line{{EAN: "8400000000017", Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	svc := orders.New(orders.Config{Supplier: sb, Store: memstore.New(nil), Shop: "shop.example"})
	res, err := svc.Place(ctx, orders.PlaceInput{OrderID: "123", Order: supplier.Order{Name: "#1001",
		ShipTo: supplier.Address{FirstName: "A", LastName: "B", Address1: "C 1", Address2: sandbox.TriggerDropAfterCreate, City: "Valencia", PostalCode: "46005", CountryCode: "ES"},
		Lines:  []supplier.Line{{EAN: "8400000000017", Quantity: 1}}, ShippingRateID: rates[0].ID}})
	if err != nil || !res.NeedsReview {
		t.Fatalf("setup: %+v %v", res, err)
	}
	return svc, "700000000001"
}

func TestAdminResolve(t *testing.T) {
	svc, number := needsReviewOrder(t)
	e := adminEcho(t, svc)
	do := func(method, path, body string) (int, map[string]any) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: body %q", method, path, rec.Body.String())
		}
		return rec.Code, out
	}
	steps := []struct {
		name, method, path, body string
		status                   int
		want                     map[string]any
	}{
		{"show needs review", "GET", "/admin/orders/123", "", 200, map[string]any{"state": "needs_review", "ok": true}},
		{"show unknown order", "GET", "/admin/orders/999", "", 404, map[string]any{"code": "order_not_found"}},
		{"bad json", "POST", "/admin/orders/123/resolve", `{"action":`, 400, map[string]any{"code": "invalid_json"}},
		{"unknown field", "POST", "/admin/orders/123/resolve", `{"action":"adopt","number":"1"}`, 400, map[string]any{"code": "invalid_json"}},
		{"empty body", "POST", "/admin/orders/123/resolve", ``, 400, map[string]any{"code": "invalid_json"}},
		{"unknown action", "POST", "/admin/orders/123/resolve", `{"action":"drop"}`, 400, map[string]any{"code": "validation_failed"}},
		{"adopt without number", "POST", "/admin/orders/123/resolve", `{"action":"adopt"}`, 400, map[string]any{"code": "validation_failed"}},
		{"bad order id", "POST", "/admin/orders/abc/resolve", `{"action":"release"}`, 400, map[string]any{"code": "validation_failed"}},
		{"adopt", "POST", "/admin/orders/123/resolve", `{"action":"adopt","supplier_order_id":"` + number + `"}`, 200,
			map[string]any{"ok": true, "state": "placed", "supplier_order_id": number, "order_id": "123", "outcome": "resolved"}},
		{"release a placed order", "POST", "/admin/orders/123/resolve", `{"action":"release"}`, 409, map[string]any{"code": "resolve_conflict"}},
		{"adopt again", "POST", "/admin/orders/123/resolve", `{"action":"adopt","supplier_order_id":"1"}`, 409, map[string]any{"code": "resolve_conflict"}},
	}
	for _, st := range steps {
		status, out := do(st.method, st.path, st.body)
		if status != st.status {
			t.Fatalf("%s: status %d, want %d (%v)", st.name, status, st.status, out)
		}
		for k, v := range st.want {
			if out[k] != v {
				t.Fatalf("%s: %s = %v, want %v (%v)", st.name, k, out[k], v, out)
			}
		}
	}
	res, err := svc.Place(context.Background(), orders.PlaceInput{OrderID: "123"})
	if err != nil || res.SupplierOrderID != number || !res.Replay {
		t.Fatalf("Flow's next call after adopt = %+v, %v", res, err)
	}
}
