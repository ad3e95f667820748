package flowsim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/flowtemplates"
)

func TestLiquid(t *testing.T) {
	env := map[string]any{
		"order": map[string]any{
			"id": "gid://shopify/Order/1", "name": `#1001 "quoted"`,
			"lineItems": []any{
				map[string]any{"sku": "A", "quantity": float64(2), "variant": map[string]any{"barcode": "8400000000017"}},
				map[string]any{"sku": nil, "quantity": float64(1), "variant": map[string]any{"barcode": "84000019"}},
			},
			"supplierOrderId": map[string]any{"value": "7000 0001/x"},
		},
		"secrets": map[string]any{"KEY": "s3cret"},
		"runCode": map[string]any{"ok": true, "code": "unmatched_ean"},
	}
	tests := []struct{ name, src, want string }{
		{"json string escapes", `{{ order.name | json }}`, `"#1001 \"quoted\""`},
		{"json null for missing", `{{ order.nothing | json }}`, `null`},
		{"json number", `{{ order.lineItems.first.quantity | json }}`, `2`},
		{"for with forloop.last", `[{% for li in order.lineItems %}{{ li.variant.barcode | json }}{% unless forloop.last %},{% endunless %}{% endfor %}]`, `["8400000000017","84000019"]`},
		{"url_encode", `/tracking/{{ order.supplierOrderId.value | url_encode }}`, `/tracking/7000+0001%2Fx`},
		{"if", `{% if runCode.code == "unmatched_ean" %}fix EAN{% else %}other{% endif %}`, `fix EAN`},
		{"secrets", `Bearer {{ secrets.KEY }}`, `Bearer s3cret`},
		{"json of nil sku", `{% for li in order.lineItems %}{{ li.sku | json }};{% endfor %}`, `"A";null;`},
	}
	l := NewLiquid()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.Render(tt.src, env)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := l.Render(`{{ order.name | handleize_nope }}`, env); err == nil {
		t.Error("unknown filter must fail, as in Flow")
	}
}

func TestCondition(t *testing.T) {
	env := map[string]any{
		"runCode": map[string]any{"ok": true, "needsReview": false, "status": float64(422), "code": "Unmatched_EAN"},
		"order": map[string]any{
			"displayFulfillmentStatus": "UNFULFILLED", "cancelledAt": nil, "edited": false,
			"tags": []any{"vip", "wholesale"}, "createdAt": "2026-01-02T03:04:05Z",
		},
	}
	tests := []struct {
		src  string
		want bool
	}{
		{"(runCode.ok == true)", true},
		{"((runCode.ok == true) && (runCode.needsReview == false))", true},
		{"((runCode.ok == false) || (runCode.status >= 400))", true},
		{"((runCode.ok == false) || (runCode.status > 500))", false},
		{"(order.displayFulfillmentStatus != 'FULFILLED')", true},
		{"(runCode.code == 'unmatched_ean')", true}, // case-insensitive
		{"(order.cancelledAt nil?)", true},
		{"(order.cancelledAt not_nil?)", false},
		{"(order.edited == false)", true},
		{"(order.tags any? |t| (t == 'VIP'))", true},
		{"(order.tags all? |t| (t start_with? 'v'))", false},
		{"(order.tags none? |t| (t == 'gold'))", true},
		{"(runCode.code in? 'no_stock,unmatched_ean')", true},
		{"(runCode.code include? 'ean')", true},
		{"(order.createdAt < '2026-02-01T00:00:00Z')", true},
		{"(order.missing == 'x')", false},
		{"(order.missing empty_or_nil?)", true},
	}
	for _, tt := range tests {
		got, err := Condition(tt.src, env)
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s = %v, want %v", tt.src, got, tt.want)
		}
	}
	for _, bad := range []string{
		"((a == 1) && (b == 2) || (c == 3))", // mixed connectives
		"(a = 1)",
		"(a == )",
		"(a == 1",
		"({{ order.name }} == 'x')",
		"(a frobnicate? 1)",
	} {
		if _, err := Condition(bad, env); err == nil {
			t.Errorf("%q: want a syntax error", bad)
		}
	}
}

func TestRunCode(t *testing.T) {
	env := map[string]any{
		"sendHttpRequest": map[string]any{"status": float64(200), "body": `{"ok":true,"n":3,"items":["a","b"]}`, "headers": map[string]any{}},
		"order":           map[string]any{"name": "#1", "secret": "not selected", "lineItems": []any{map[string]any{"sku": "A", "qty": 1}}},
	}
	query := "query Input {\n  sendHttpRequest { status body }\n  order { name lineItems { sku } }\n}"
	schema := `type Output {
  "a description"
  ok: Boolean!
  n: Int!
  items: [String!]!
  first: String
  selected: [String!]!
  nested: Pair
}
type Pair { a: Int! }
`
	script := `export default function main(input) {
  const b = JSON.parse(input.sendHttpRequest.body);
  return { ok: b.ok, n: b.n, items: b.items, first: input.order.lineItems[0].sku,
           selected: Object.keys(input.order).sort(), nested: { a: input.sendHttpRequest.status } };
}`
	rc := RunCode{Timeout: 2 * time.Second}
	out, err := rc.Run(query, script, schema, env)
	if err != nil {
		t.Fatal(err)
	}
	if out["n"] != float64(3) || out["first"] != "A" || out["nested"].(map[string]any)["a"] != float64(200) {
		t.Errorf("out = %v", out)
	}
	if sel := out["selected"].([]any); len(sel) != 2 || sel[0] != "lineItems" || sel[1] != "name" {
		t.Errorf("input not projected to the query: %v", sel)
	}

	fails := []struct{ name, script, schema string }{
		{"missing non-null", `export default function main(input) { return { ok: true }; }`, "type Output { ok: Boolean! n: Int! }"},
		{"wrong type", `export default function main(input) { return { ok: "yes" }; }`, "type Output { ok: Boolean! }"},
		{"float for Int", `export default function main(input) { return { n: 1.5 }; }`, "type Output { n: Int! }"},
		{"undeclared field", `export default function main(input) { return { ok: true, extra: 1 }; }`, "type Output { ok: Boolean! }"},
		{"list element type", `export default function main(input) { return { l: ["a", 1] }; }`, "type Output { l: [String!]! }"},
		{"throws", `export default function main(input) { throw new Error("boom"); }`, "type Output { ok: Boolean! }"},
		{"no export", `function main(input) { return { ok: true }; }`, "type Output { ok: Boolean! }"},
		{"fetch", `export default function main(input) { fetch("x"); return { ok: true }; }`, "type Output { ok: Boolean! }"},
		{"random", `export default function main(input) { return { ok: Math.random() > 2 }; }`, "type Output { ok: Boolean! }"},
		{"runaway", `export default function main(input) { for (;;) {} }`, "type Output { ok: Boolean! }"},
		{"no Output type", `export default function main(input) { return {}; }`, "type Result { ok: Boolean }"},
	}
	rc.Timeout = 200 * time.Millisecond
	for _, f := range fails {
		if _, err := rc.Run("query { order { name } }", f.script, f.schema, env); err == nil {
			t.Errorf("%s: want an error", f.name)
		}
	}
}

// TestGeneratedRunCodeScripts runs the generated parsers on the answers
// the service gives (success, problem body, non-JSON body).
func TestGeneratedRunCodeScripts(t *testing.T) {
	p := flowtemplates.Defaults()
	p.FulfilBy = flowtemplates.FulfilByFlow
	w, err := flowtemplates.Build(p)
	if err != nil {
		t.Fatal(err)
	}
	scripts := map[string]flowtemplates.Step{}
	vars := flowtemplates.StepVariables(w, flowtemplates.TaskTable())
	for _, s := range w.Root.Steps {
		if v := vars[s.StepID]; strings.HasPrefix(v, "runCode") {
			scripts[v] = s
		}
	}
	run := func(v, httpVar string, status int, body string) map[string]any {
		t.Helper()
		s := scripts[v]
		in, _ := s.Config("input")
		js, _ := s.Config("script")
		schema, _ := s.Config("output_schema")
		env := map[string]any{httpVar: map[string]any{"status": float64(status), "body": body},
			"order": map[string]any{"fulfillmentOrders": []any{
				fo("1", "OPEN", "10"), fo("2", "CLOSED", "10"), fo("3", "IN_PROGRESS", "20"), fo("4", "OPEN", "10"), fo("5", "ON_HOLD", "20")}}}
		out, err := RunCode{}.Run(in, js, schema, env)
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		return out
	}
	out := run("runCode", "sendHttpRequest", 200, `{"ok":true,"shipping_cost_id":"gls-1","carrier":"GLS","price":"4.95","currency":"EUR"}`)
	if out["ok"] != true || out["shippingCostId"] != "gls-1" {
		t.Errorf("rates ok: %v", out)
	}
	out = run("runCode", "sendHttpRequest", 422, `{"ok":false,"code":"unmatched_ean","detail":"line 1"}`)
	if out["ok"] != false || out["code"] != "unmatched_ean" || out["detail"] != "line 1" {
		t.Errorf("rates refused: %v", out)
	}
	out = run("runCode", "sendHttpRequest", 502, `<html>bad gateway</html>`)
	if out["ok"] != false || out["code"] != "unparseable_response" {
		t.Errorf("rates html: %v", out)
	}
	out = run("runCode1", "sendHttpRequest1", 202, `{"ok":false,"outcome":"needs_review","needs_review":true,"review_reason":"check portal"}`)
	if out["ok"] != false || out["needsReview"] != true || out["reviewReason"] != "check portal" {
		t.Errorf("orders review: %v", out)
	}
	out = run("runCode1", "sendHttpRequest1", 200, `{"ok":true,"outcome":"placed","supplier_order_id":"700000000001","needs_review":false}`)
	if out["ok"] != true || out["supplierOrderId"] != "700000000001" {
		t.Errorf("orders placed: %v", out)
	}
	out = run("runCode2", "sendHttpRequest2", 200, `{"ok":true,"status":"shipped","fulfillable":true,"tracking_company":"GLS","tracking_numbers":["1","2"],"tracking_urls":["u1","u2"]}`)
	if out["fulfillable"] != true || len(out["trackingNumbers"].([]any)) != 2 || out["openFulfillmentOrders"] != float64(3) {
		t.Errorf("tracking shipped: %v", out)
	}
	// Fault 1: one fulfillmentCreate per location, only open fulfilment
	// orders, each input valid against Shopify's FulfillmentInput.
	fs, _ := out["fulfillments"].([]any)
	if len(fs) != 2 {
		t.Fatalf("fulfillments per location = %v", fs)
	}
	wantFOs := map[string][]string{"gid://shopify/Location/10": {"gid://shopify/FulfillmentOrder/1", "gid://shopify/FulfillmentOrder/4"},
		"gid://shopify/Location/20": {"gid://shopify/FulfillmentOrder/3"}}
	for _, f := range fs {
		m := f.(map[string]any)
		var inputs map[string]any
		if err := json.Unmarshal([]byte(m["input"].(string)), &inputs); err != nil {
			t.Fatal(err)
		}
		if err := CoerceMutationInputs("fulfillmentCreate", inputs); err != nil {
			t.Errorf("location %v: %v", m["locationId"], err)
		}
		fi := inputs["fulfillment"].(map[string]any)
		var got []string
		for _, g := range fi["lineItemsByFulfillmentOrder"].([]any) {
			got = append(got, g.(map[string]any)["fulfillmentOrderId"].(string))
		}
		if want := wantFOs[m["locationId"].(string)]; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("location %v: fulfilment orders %v, want %v", m["locationId"], got, want)
		}
		ti := fi["trackingInfo"].(map[string]any)
		if fi["notifyCustomer"] != true || ti["company"] != "GLS" || len(ti["numbers"].([]any)) != 2 || len(ti["urls"].([]any)) != 2 {
			t.Errorf("fulfilment input %v", fi)
		}
	}
	out = run("runCode2", "sendHttpRequest2", 404, `{"ok":false,"code":"order_not_found"}`)
	if out["fulfillable"] != false || out["supplierStatus"] != "order_not_found" {
		t.Errorf("tracking 404: %v", out)
	}
}

func fo(id, status, loc string) map[string]any {
	return map[string]any{"id": "gid://shopify/FulfillmentOrder/" + id, "status": status,
		"assignedLocation": map[string]any{"location": map[string]any{"id": "gid://shopify/Location/" + loc}}}
}

// The lean workflow's one short parser, on each answer POST
// /tracking/{id}/fulfil gives.
func TestLeanParser(t *testing.T) {
	p := flowtemplates.Defaults()
	p.FulfilBy = flowtemplates.FulfilByFlowbridge
	w, err := flowtemplates.Build(p)
	if err != nil {
		t.Fatal(err)
	}
	var parse flowtemplates.Step
	vars := flowtemplates.StepVariables(w, flowtemplates.TaskTable())
	for _, s := range w.Root.Steps {
		if vars[s.StepID] == "runCode2" {
			parse = s
		}
	}
	in, _ := parse.Config("input")
	js, _ := parse.Config("script")
	schema, _ := parse.Config("output_schema")
	if n := strings.Count(js, "\n"); n > 30 {
		t.Errorf("the lean parser has %d lines; it should stay short", n)
	}
	for _, tc := range []struct {
		status        int
		body          string
		done, waiting bool
		code          string
	}{
		{200, `{"ok":true,"done":true,"outcome":"fulfilled","status":"shipped"}`, true, false, "fulfilled"},
		{200, `{"ok":true,"done":true,"outcome":"already_fulfilled"}`, true, false, "already_fulfilled"},
		{202, `{"ok":true,"done":false,"outcome":"not_shipped","status":"pending"}`, false, true, "not_shipped"},
		{422, `{"ok":false,"code":"supplier_cancelled","detail":"x"}`, false, false, "supplier_cancelled"},
		{502, `<html>bad gateway</html>`, false, false, "http_502"},
	} {
		out, err := RunCode{}.Run(in, js, schema, map[string]any{"sendHttpRequest2": map[string]any{"status": float64(tc.status), "body": tc.body}})
		if err != nil {
			t.Fatal(err)
		}
		if out["done"] != tc.done || out["waiting"] != tc.waiting || out["code"] != tc.code {
			t.Errorf("%d %s: %v", tc.status, tc.body, out)
		}
	}
}

func TestHTTPBehaviour(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch r.URL.Path {
		case "/flaky": // 503, 429 (Retry-After 120), then 200
			switch n {
			case 1:
				w.WriteHeader(http.StatusServiceUnavailable)
			case 2:
				w.Header().Set("Retry-After", "120")
				w.WriteHeader(http.StatusTooManyRequests)
			default:
				_, _ = w.Write([]byte(`{"ok":true}`))
			}
		case "/slow": // first attempt outlives the timeout
			if n == 1 {
				<-r.Context().Done()
				return
			}
			_, _ = w.Write([]byte(`{"ok":true}`))
		case "/moved":
			http.Redirect(w, r, "/bad", http.StatusFound)
		case "/down":
			w.WriteHeader(http.StatusBadGateway)
		case "/bad":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"ok":false,"code":"invalid_json"}`))
		}
	}))
	defer srv.Close()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := HTTPBehaviour{Timeout: 300 * time.Millisecond}
	send := func(path, onClient string) (HTTPResult, *VirtualClock) {
		calls.Store(0)
		c := NewVirtualClock(start)
		res, err := h.send(context.Background(), c, httpRequest{Method: "GET", URL: srv.URL + path, OnClientError: onClient, OnServerError: "retry"})
		if err != nil {
			t.Fatal(err)
		}
		return res, c
	}

	res, c := send("/flaky", "ignore")
	if res.Status != 200 || len(res.Attempts) != 3 || res.Attempts[1].Wait != 120*time.Second {
		t.Errorf("flaky: %+v", res)
	}
	if got := c.Now().Sub(start); got != 30*time.Second+120*time.Second {
		t.Errorf("flaky: virtual time %s", got)
	}

	res, c = send("/slow", "ignore")
	if res.Status != 200 || len(res.Attempts) != 2 || res.Attempts[0].Status != 0 {
		t.Errorf("slow: %+v", res)
	}
	if got := c.Now().Sub(start); got != 60*time.Second { // 30 s timeout + 30 s interval
		t.Errorf("slow: virtual time %s", got)
	}

	res, c = send("/down", "ignore")
	if !res.Failed || c.Now().Sub(start) > 24*time.Hour || c.Now().Sub(start) < 20*time.Hour {
		t.Errorf("down: failed=%v after %s, %d attempts", res.Failed, c.Now().Sub(start), len(res.Attempts))
	}

	res, _ = send("/moved", "fail")
	if res.Failed || res.Status != http.StatusFound || len(res.Attempts) != 1 {
		t.Errorf("moved: 3xx must count as success and not be followed: %+v", res)
	}

	res, _ = send("/bad", "ignore")
	if res.Failed || res.Status != 400 || !strings.Contains(res.Body, "invalid_json") {
		t.Errorf("bad/ignore: %+v", res)
	}
	res, _ = send("/bad", "fail")
	if !res.Failed || len(res.Attempts) != 1 {
		t.Errorf("bad/fail: %+v", res)
	}
}

func lintRules(issues []Issue) map[string]bool {
	m := map[string]bool{}
	for _, i := range issues {
		m[i.Rule] = true
	}
	return m
}

func TestLint(t *testing.T) {
	p := flowtemplates.Defaults()
	defs := p.Metafields()
	good, err := flowtemplates.Build(p)
	if err != nil {
		t.Fatal(err)
	}
	if issues := Lint(good, defs); len(issues) != 0 {
		t.Fatalf("generated workflow has lint issues: %s", Summary(issues))
	}
	tt := flowtemplates.TaskTable()
	clone := func() flowtemplates.Workflow {
		w, _ := flowtemplates.Build(p)
		return w
	}
	find := func(w flowtemplates.Workflow, taskID string) int {
		for i, s := range w.Root.Steps {
			if s.TaskID == taskID {
				return i
			}
		}
		t.Fatalf("no %s step", taskID)
		return -1
	}
	setWait := func(w *flowtemplates.Workflow, i int, amount, unit string) {
		w.Root.Steps[i].ConfigFieldValues = []flowtemplates.ConfigValue{{ConfigFieldID: "duration", Value: amount}, {ConfigFieldID: "unit", Value: unit}}
	}
	cases := []struct {
		rule string
		mod  func(w *flowtemplates.Workflow)
		defs []flowtemplates.Metafield
	}{
		{"total_wait", func(w *flowtemplates.Workflow) { setWait(w, find(*w, tt["wait"].ID), "85", "days") }, defs},
		{"wait_in_foreach", func(w *flowtemplates.Workflow) {
			// put a For each in front of the first tracking Wait
			wi := find(*w, tt["wait"].ID)
			fe := flowtemplates.Step{StepID: "fe", TaskID: tt["foreach"].ID, TaskVersion: "0.1", TaskType: flowtemplates.TypeForEach,
				ConfigFieldValues: []flowtemplates.ConfigValue{{ConfigFieldID: "listpath", Value: "order.lineItems"}}}
			w.Root.Steps = append(w.Root.Steps, fe)
			for i, l := range w.Root.Links {
				if l.ToStepID == w.Root.Steps[wi].StepID {
					w.Root.Links[i].ToStepID = "fe"
				}
			}
			w.Root.Links = append(w.Root.Links, flowtemplates.Link{FromStepID: "fe", FromPortID: "loop_body", ToStepID: w.Root.Steps[wi].StepID, ToPortID: "input"})
		}, defs},
		{"undefined_metafield", func(*flowtemplates.Workflow) {}, []flowtemplates.Metafield{{Namespace: "FlowBridge", Key: "supplier_order_id"}}},
		{"undefined_metafield", func(w *flowtemplates.Workflow) { w.Root.PatchedFields = w.Root.PatchedFields[:1] }, defs},
		{"unreachable", func(w *flowtemplates.Workflow) {
			w.Root.Steps = append(w.Root.Steps, flowtemplates.Step{StepID: "orphan", TaskID: tt["email"].ID, TaskType: flowtemplates.TypeAction})
		}, defs},
		{"cycle", func(w *flowtemplates.Workflow) {
			last := w.Root.Steps[len(w.Root.Steps)-1].StepID
			w.Root.Links = append(w.Root.Links, flowtemplates.Link{FromStepID: last, FromPortID: "output", ToStepID: w.Root.Steps[1].StepID, ToPortID: "input"})
		}, defs},
		{"bad_port", func(w *flowtemplates.Workflow) { w.Root.Links[0].FromPortID = "true" }, defs},
		{"bad_port", func(w *flowtemplates.Workflow) { w.Root.Links[0].ToPortID = "output" }, defs},
		{"bad_link", func(w *flowtemplates.Workflow) { w.Root.Links[0].ToStepID = "nowhere" }, defs},
		{"bad_condition", func(w *flowtemplates.Workflow) {
			i := find(*w, tt["condition"].ID)
			w.Root.Steps[i].ConfigFieldValues[0].Value = "(runCode.ok = true)"
		}, defs},
		{"trigger", func(w *flowtemplates.Workflow) { w.Root.Steps[0].TaskType = flowtemplates.TypeAction }, defs},
	}
	for _, c := range cases {
		w := clone()
		c.mod(&w)
		if got := lintRules(Lint(w, c.defs)); !got[c.rule] {
			t.Errorf("%s: not reported (got %v)", c.rule, got)
		}
	}
}
