package opscli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/flowbridge/flowbridge/internal/apptest"
	"github.com/flowbridge/flowbridge/opscli"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

// server runs a whole flowbridge (the real operator API behind the real
// operator-key check and error mapping) and leaves orders 123 and 124
// held for review: the sandbox drops the answer of a create it cannot be
// asked about afterwards.
func server(t *testing.T) *apptest.App {
	t.Helper()
	app := apptest.Start(t, apptest.Options{Supplier: sandbox.New(sandbox.Config{DisableLookup: true})})
	r := app.Do("POST", "/rates", `{"shipping_address":{"country_code":"ES","zip":"46005"},
		"line_items":[{"barcode":"8400000000017","quantity":1}]}`)
	if r.Status != 200 {
		t.Fatalf("rates: %d %s", r.Status, r.Body)
	}
	cost, _ := r.JSON()["shipping_cost_id"].(string)
	for _, id := range []string{"123", "124"} {
		r := app.Do("POST", "/orders", placeBody(id, cost))
		if r.Status != 202 || r.JSON()["outcome"] != "needs_review" {
			t.Fatalf("setup %s: %d %s", id, r.Status, r.Body)
		}
	}
	return app
}

func placeBody(id, cost string) string {
	return `{"order_id":"` + id + `","order_name":"#` + id + `","email":"a@example.com",
		"shipping_address":{"first_name":"A","last_name":"B","address1":"C 1","address2":"` + sandbox.TriggerDropAfterCreate + `",
		"city":"Valencia","zip":"46005","country_code":"ES","phone":"+34600000000"},
		"line_items":[{"barcode":"8400000000017","quantity":1,"price":"4.99"}],"currency":"EUR","shipping_cost_id":"` + cost + `"}`
}

func TestRun(t *testing.T) {
	app := server(t)
	operatorKey := app.OperatorKey
	env := map[string]string{"FLOWBRIDGE_URL": app.URL, "FLOWBRIDGE_OPERATOR_KEY": operatorKey}
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
				return app.URL
			}
			return ""
		}, true, "no operator key"},
		{"both actions", []string{"orders", "resolve", "123", "--release", "--adopt", "1"}, getenv, true, "choose one"},
		{"no action", []string{"orders", "resolve", "123"}, getenv, true, "needs --adopt"},
		{"bad id", []string{"orders", "resolve", "abc", "--release"}, getenv, true, "not a Shopify order id"},
		{"unknown command", []string{"orders", "cancel", "123"}, getenv, true, "unknown command"},
		{"unknown order", []string{"orders", "show", "999"}, getenv, true, "not_found (404)"},
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
	// Flow's next call for 123 gets the adopted number; 124 has no record
	// left, so its next call places it afresh.
	if r := app.Do("POST", "/orders", placeBody("123", "")); r.Status != 200 || r.JSON()["supplier_order_id"] != "700000000001" || r.JSON()["replay"] != true {
		t.Fatalf("after adopt: %d %s", r.Status, r.Body)
	}
	if r := app.DoWith("GET", "/admin/orders/124", nil, map[string]string{"Authorization": "Bearer " + operatorKey}); r.Status != 200 || r.JSON()["placement"] != nil {
		t.Fatalf("after release: %d %s", r.Status, r.Body)
	}
}
