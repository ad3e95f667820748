package opscli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/flowbridge/flowbridge/internal/apptest"
	"github.com/flowbridge/flowbridge/opscli"
)

// `orders list` against a whole flowbridge: the placed order is listed,
// and the needs_review filter is empty.
func TestListAgainstService(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	r := app.Do("POST", "/rates", `{"order_id":"777","shipping_address":{"country_code":"ES","zip":"46005"},
		"line_items":[{"barcode":"8400000000017","quantity":1}]}`)
	if r.Status != 200 {
		t.Fatalf("rates: %d %s", r.Status, r.Body)
	}
	cost, _ := r.JSON()["shipping_cost_id"].(string)
	r = app.Do("POST", "/orders", `{"order_id":"777","order_name":"#777","email":"a@example.com",
		"shipping_address":{"first_name":"A","last_name":"B","address1":"Calle 1","city":"Valencia","zip":"46005","country_code":"ES","phone":"+34600000000"},
		"line_items":[{"barcode":"8400000000017","quantity":1,"price":"4.99"}],"currency":"EUR","shipping_cost_id":"`+cost+`"}`)
	if r.Status != 200 {
		t.Fatalf("orders: %d %s", r.Status, r.Body)
	}
	number, _ := r.JSON()["supplier_order_id"].(string)

	tests := []struct {
		name, state string
		want        []string
	}{
		{"all", "", []string{"777\tplaced", "supplier " + number}},
		{"needs review", "needs_review", []string{"no orders"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := []string{"orders", "list", "--url", app.URL, "--key", app.OperatorKey}
			if tc.state != "" {
				args = append(args, "--state", tc.state)
			}
			if err := opscli.Run(context.Background(), args, func(string) string { return "" }, &out, &errb); err != nil {
				t.Fatalf("list: %v (%s)", err, errb.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output %q lacks %q", out.String(), w)
				}
			}
		})
	}
	// The Flow key must not list orders.
	var out, errb bytes.Buffer
	if err := opscli.Run(context.Background(), []string{"orders", "list", "--url", app.URL, "--key", app.APIKey},
		func(string) string { return "" }, &out, &errb); err == nil || !strings.Contains(errb.String(), "401") && !strings.Contains(errb.String(), "unauthorized") {
		t.Errorf("Flow key: err %v, stderr %q", err, errb.String())
	}
}
