package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/flowbridge/flowbridge/internal/apptest"
	"github.com/flowbridge/flowbridge/server"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
	"github.com/flowbridge/flowbridge/telemetry"
)

// TestOperatorSurfaceSecurity checks, through the real server, that the
// operator API and /metrics refuse every request without an operator key
// (none, a Flow key, a wrong key, the right key in the wrong scheme), that
// an operator key opens no Flow endpoint, that a refused request changes
// nothing, and that the console is served with its CSP and anti-framing
// headers and holds no secret.
func TestOperatorSurfaceSecurity(t *testing.T) {
	eachBackend(t, func(t *testing.T, redisURL string) {
		tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "flowbridge-e2e", Getenv: func(string) string { return "" }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
		var logs apptest.LogBuffer
		sb := sandbox.New(sandbox.Config{})
		app := apptest.Start(t, apptest.Options{RedisURL: redisURL, Supplier: sb, Logs: &logs,
			Metrics: tel.MetricsHandler(), Observer: server.MetricsObserver(tel.Metrics),
			Env: map[string]string{"FLOWBRIDGE_SHOP": shop}})
		c := newClient(t, app)

		const id = "6001"
		rate := c.flow(http.MethodPost, "/rates", ratesBody(id))
		if rate.Status != http.StatusOK {
			t.Fatalf("rates: %d %s", rate.Status, rate.Body)
		}
		placed := c.flow(http.MethodPost, "/orders", orderBody(id, rate.JSON()["shipping_cost_id"].(string), ""))
		if placed.Status != http.StatusOK {
			t.Fatalf("orders: %d %s", placed.Status, placed.Body)
		}

		operatorRoutes := []struct {
			method, path string
			body         any
		}{
			{http.MethodGet, "/admin/orders", nil},
			{http.MethodGet, "/admin/orders?state=attention", nil},
			{http.MethodGet, "/admin/orders/" + id, nil},
			{http.MethodPost, "/admin/orders/" + id + "/resolve", map[string]any{"action": "adopt", "supplier_order_id": "999"}},
			{http.MethodPost, "/admin/orders/" + id + "/release-cache", map[string]any{}},
			{http.MethodGet, "/metrics", nil},
		}
		refused := []struct{ name, auth string }{
			{"no key", ""},
			{"flow key", "Bearer " + app.APIKey},
			{"wrong key", "Bearer " + server.GenerateKey()},
			{"operator key without scheme", app.OperatorKey},
			{"operator key as basic", "Basic " + app.OperatorKey},
		}
		for _, rt := range operatorRoutes {
			for _, k := range refused {
				r := c.keep(app.DoWith(rt.method, rt.path, rt.body, map[string]string{"Authorization": k.auth}))
				if r.Status != http.StatusUnauthorized || r.Code() != "unauthorized" {
					t.Errorf("%s %s with %s: %d %s", rt.method, rt.path, k.name, r.Status, r.Body)
				}
			}
		}
		// The operator key is not a Flow key either.
		for _, rt := range []struct {
			method, path string
			body         any
		}{
			{http.MethodPost, "/orders", orderBody(id, "", "")},
			{http.MethodPost, "/rates", ratesBody(id)},
			{http.MethodGet, "/tracking/" + id + "?by=shopify_order", nil},
		} {
			r := c.operator(rt.method, rt.path, rt.body)
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%s %s with the operator key: %d %s", rt.method, rt.path, r.Status, r.Body)
			}
		}

		// Nothing the refused calls asked for happened.
		show := c.operator(http.MethodGet, "/admin/orders/"+id, nil)
		v := decode[orderView](t, show)
		if show.Status != http.StatusOK || v.Placement == nil || v.Placement.State != "placed" || v.Placement.SupplierOrderID != placed.JSON()["supplier_order_id"] {
			t.Errorf("after refused calls: %d %s", show.Status, show.Body)
		}
		for _, e := range v.Events {
			if e.Op == "resolve" || e.Op == "release_cache" {
				t.Errorf("a refused call left an event: %+v", e)
			}
		}
		// The operator key opens what it should.
		if r := c.operator(http.MethodPost, "/admin/orders/"+id+"/release-cache", map[string]any{}); r.Status != http.StatusOK ||
			!strings.Contains(string(r.Body), `"kind":"cache_released"`) {
			t.Errorf("release-cache of a placed order: %d %s", r.Status, r.Body)
		}
		if r := c.operator(http.MethodPost, "/admin/orders/999999/release-cache", map[string]any{}); r.Status != http.StatusNotFound || r.Code() != "order_not_found" {
			t.Errorf("release-cache of an order never placed: %d %s", r.Status, r.Body)
		}
		m := c.operator(http.MethodGet, "/metrics", nil)
		if m.Status != http.StatusOK || !strings.HasPrefix(m.Header.Get("Content-Type"), "text/plain") || !strings.Contains(string(m.Body), "# TYPE") {
			t.Errorf("metrics: %d %s %.200s", m.Status, m.Header.Get("Content-Type"), m.Body)
		}

		// The console: public, but locked down for the browser.
		noKey := map[string]string{"Authorization": ""}
		for _, tc := range []struct{ method, path, contentType string }{
			{http.MethodGet, "/console", "text/html"},
			{http.MethodHead, "/console", "text/html"},
			{http.MethodGet, "/console/app.js", "text/javascript"},
			{http.MethodGet, "/console/style.css", "text/css"},
			{http.MethodGet, "/console/favicon.svg", "image/svg+xml"},
		} {
			r := c.keep(app.DoWith(tc.method, tc.path, nil, noKey))
			h := r.Header
			csp := h.Get("Content-Security-Policy")
			if r.Status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), tc.contentType) {
				t.Errorf("%s %s: %d %s", tc.method, tc.path, r.Status, h.Get("Content-Type"))
			}
			for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("%s %s: CSP %q lacks %q", tc.method, tc.path, csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("%s %s: CSP allows inline code: %q", tc.method, tc.path, csp)
			}
			if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("%s %s: anti-framing headers missing: %v", tc.method, tc.path, h)
			}
			if tc.method == http.MethodHead && len(r.Body) != 0 {
				t.Errorf("HEAD %s answered a body", tc.path)
			}
		}

		secrets := sensitive(app)
		for i, body := range c.bodies {
			if found := leaks(body, secrets); len(found) > 0 {
				t.Errorf("answer %d carries %v: %.300s", i, found, body)
			}
		}
		if found := leaks(logs.Bytes(), secrets); len(found) > 0 {
			t.Errorf("logs carry %v", found)
		}
	})
}
