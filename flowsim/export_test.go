package flowsim

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowbridge/flowbridge/flowtemplates"
)

// testdata/export.flow is shaped like a real Flow export (reference/flow.md
// §5.2): "<64 hex>:<compact JSON>", extra root keys (variables, note,
// vertical_layout_enabled), UUID step ids, null description/note/name, and
// each Condition stored as a JSON tree (Comparison, LogicalExpression with
// AND/OR, ArrayExpression ANY, unary nil?, enum/String/Int/Boolean/DateTime
// value types) rather than the DSL string.
func TestSimulatorReadsExportConditionTrees(t *testing.T) {
	data, err := os.ReadFile("testdata/export.flow")
	if err != nil {
		t.Fatal(err)
	}
	w, err := flowtemplates.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if issues := Lint(w, nil); len(issues) != 0 {
		t.Fatalf("lint: %v", issues)
	}
	c, _ := w.Root.Steps[1].Config("condition")
	dsl, err := ConditionDSL(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := "((order.displayFulfillmentStatus == 'UNFULFILLED') && ((order.lineItems any? |lineItems_item| (lineItems_item.currentQuantity > 1)) && (order.edited == false)))"; dsl != want {
		t.Fatalf("DSL = %s\nwant  %s", dsl, want)
	}
	for _, tc := range []struct {
		name    string
		mod     func(o map[string]any)
		subject string
	}{
		{"all true", func(map[string]any) {}, "both true for #1042"},
		{"quantity 1 everywhere", func(o map[string]any) {
			o["lineItems"] = []any{map[string]any{"currentQuantity": float64(1)}}
		}, "first false for #1042"},
		{"fulfilled", func(o map[string]any) { o["displayFulfillmentStatus"] = "FULFILLED" }, "first false for #1042"},
		{"cancelled but named #1042 (OR)", func(o map[string]any) { o["cancelledAt"] = "2026-03-02T10:00:00Z" }, "both true for #1042"},
		{"cancelled and another name", func(o map[string]any) { o["cancelledAt"] = "2026-03-02T10:00:00Z"; o["name"] = "#7" }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := map[string]any{"id": "gid://shopify/Order/1", "name": "#1042", "displayFulfillmentStatus": "UNFULFILLED",
				"edited": false, "cancelledAt": nil,
				"lineItems": []any{map[string]any{"currentQuantity": float64(1)}, map[string]any{"currentQuantity": float64(3)}}}
			tc.mod(o)
			store := &Store{Order: o}
			res, err := New(Options{}).Run(context.Background(), w, store)
			if err != nil || res.Failed {
				t.Fatalf("run: %v %+v", err, res)
			}
			switch {
			case tc.subject == "" && len(store.Emails) != 0:
				t.Fatalf("e-mails %+v, want none", store.Emails)
			case tc.subject != "" && (len(store.Emails) != 1 || store.Emails[0].Subject != tc.subject):
				t.Fatalf("e-mails %+v, want one %q", store.Emails, tc.subject)
			}
		})
	}
}

// flowbridge simulate runs the export file as it is, digest and all, with
// the trigger id given on the command line when an export shows another.
func TestCommandRunsExportWithTaskOverride(t *testing.T) {
	data, err := os.ReadFile("testdata/export.flow")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// As if the real export showed another trigger id.
	wf := filepath.Join(dir, "real.flow")
	if err := os.WriteFile(wf, bytes.ReplaceAll(data, []byte("shopify::admin::order_paid"), []byte("shopify::admin::order_paid_v2")), 0o644); err != nil {
		t.Fatal(err)
	}
	order := filepath.Join(dir, "order.json")
	if err := os.WriteFile(order, []byte(`{"id":"gid://shopify/Order/1","name":"#1042","displayFulfillmentStatus":"UNFULFILLED","edited":false,"cancelledAt":null,
	  "lineItems":[{"currentQuantity":2}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	err = Command(context.Background(), []string{"--workflow", wf, "--order", order}, &out, &errb)
	if err == nil || !strings.Contains(out.String()+err.Error(), "lint") {
		t.Fatalf("unknown trigger id accepted: %v\n%s", err, out.String())
	}
	out.Reset()
	err = Command(context.Background(), []string{"--workflow", wf, "--order", order, "--task-id", "order_paid=shopify::admin::order_paid_v2@0.1"}, &out, &errb)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "both true for #1042") {
		t.Fatalf("output:\n%s", out.String())
	}
}
