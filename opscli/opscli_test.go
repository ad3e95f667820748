package opscli_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/flowbridge/flowbridge/handlers"
	"github.com/flowbridge/flowbridge/opscli"
	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/store/memstore"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

const operatorKey = "op-secret"

// server runs the real Admin handler behind a bearer check and a minimal
// problem renderer (the server package's job in production).
func server(t *testing.T) (*httptest.Server, *orders.Service) {
	t.Helper()
	sb := sandbox.New(sandbox.Config{DisableLookup: true})
	ctx := context.Background()
	rates, err := sb.Rates(ctx, supplier.RateRequest{CountryCode: "ES", PostalCode: "46005", Lines: []supplier.Line{{EAN: "8400000000017", Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	svc := orders.New(orders.Config{Supplier: sb, Store: memstore.New(nil), Shop: "shop.example"})
	for _, id := range []string{"123", "124"} {
		res, err := svc.Place(ctx, orders.PlaceInput{OrderID: id, Order: supplier.Order{Name: "#" + id,
			ShipTo: supplier.Address{FirstName: "A", LastName: "B", Address1: "C 1", Address2: sandbox.TriggerDropAfterCreate, City: "Valencia", PostalCode: "46005", CountryCode: "ES"},
			Lines:  []supplier.Line{{EAN: "8400000000017", Quantity: 1}}, ShippingRateID: rates[0].ID}})
		if err != nil || !res.NeedsReview {
			t.Fatalf("setup: %+v %v", res, err)
		}
	}
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			_ = c.JSON(he.Code, map[string]any{"ok": false, "code": "http"})
			return
		}
		pe := problem.From(err)
		st := map[problem.Kind]int{problem.Invalid: 400, problem.Unauthorized: 401, problem.NotFound: 404}[pe.Kind]
		if pe.Status != 0 {
			st = pe.Status
		}
		if st == 0 {
			st = 500
		}
		_ = c.JSON(st, map[string]any{"ok": false, "code": pe.Code, "detail": pe.Detail, "errors": pe.Fields})
	}
	g := e.Group("/admin", func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Header.Get("Authorization") != "Bearer "+operatorKey {
				return problem.New(problem.Unauthorized, problem.CodeUnauthorized, "operator key required")
			}
			return next(c)
		}
	})
	(&handlers.Admin{Orders: svc}).Register(g)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv, svc
}

func TestRun(t *testing.T) {
	srv, svc := server(t)
	env := map[string]string{"FLOWBRIDGE_URL": srv.URL, "FLOWBRIDGE_OPERATOR_KEY": operatorKey}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name    string
		args    []string
		env     func(string) string
		wantErr bool
		out     string
	}{
		{"show", []string{"orders", "show", "123"}, getenv, false, "order 123: needs_review (attempts: 1)\nreview: "},
		{"adopt with a gid, flags after", []string{"orders", "resolve", "gid://shopify/Order/123", "--adopt", "700000000001"}, getenv, false, "order 123 adopted: supplier order 700000000001\n"},
		{"release, flags first", []string{"--release", "orders", "resolve", "124"}, getenv, false, "order 124 released: the next workflow run places it afresh\n"},
		{"release a placed order", []string{"orders", "resolve", "123", "--release"}, getenv, true, "resolve_conflict (409)"},
		{"wrong key", []string{"orders", "show", "123", "--key", "nope"}, getenv, true, "unauthorized (401)"},
		{"no key", []string{"orders", "show", "123"}, func(k string) string {
			if k == "FLOWBRIDGE_URL" {
				return srv.URL
			}
			return ""
		}, true, "no operator key"},
		{"both actions", []string{"orders", "resolve", "123", "--release", "--adopt", "1"}, getenv, true, "choose one"},
		{"no action", []string{"orders", "resolve", "123"}, getenv, true, "needs --adopt"},
		{"bad id", []string{"orders", "resolve", "abc", "--release"}, getenv, true, "not a Shopify order id"},
		{"unknown command", []string{"orders", "cancel", "123"}, getenv, true, "unknown command"},
		{"unknown order", []string{"orders", "show", "999"}, getenv, true, "order_not_found (404)"},
		{"unreachable", []string{"orders", "show", "123", "--url", "http://127.0.0.1:1"}, getenv, true, "cannot reach flowbridge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := opscli.Run(context.Background(), tt.args, tt.env, &stdout, &stderr)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v; stderr %q", err, stderr.String())
			}
			got := stdout.String()
			if tt.wantErr {
				got = stderr.String()
			}
			if !strings.Contains(got, tt.out) {
				t.Fatalf("output %q lacks %q", got, tt.out)
			}
			if strings.Contains(stderr.String()+stdout.String(), operatorKey) {
				t.Fatal("the operator key was printed")
			}
		})
	}
	res, err := svc.Place(context.Background(), orders.PlaceInput{OrderID: "123"})
	if err != nil || res.SupplierOrderID != "700000000001" {
		t.Fatalf("after adopt: %+v %v", res, err)
	}
	if _, err := svc.Order(context.Background(), "", "124"); problem.From(err).Code != problem.CodeOrderNotFound {
		t.Fatalf("after release: %v", err)
	}
}
