package handlers_test

import (
	"context"
	"github.com/flowbridge/flowbridge/internal/apptest"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flowbridge/flowbridge/handlers"
	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/server"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
	"github.com/flowbridge/flowbridge/timeline"
)

// TestOperatorThroughRealServer mounts the operator API through the
// server's route table so the real auth, content-type check and error
// mapping apply.
func TestOperatorThroughRealServer(t *testing.T) {
	env := map[string]string{"FLOWBRIDGE_API_KEYS": "flow-" + server.GenerateKey(), "FLOWBRIDGE_OPERATOR_KEYS": "op-" + server.GenerateKey()}
	tl := timeline.NewMemoryStore(timeline.Options{})
	ctx := context.Background()
	if err := tl.Append(ctx, "default", "1002", timeline.Event{Kind: timeline.KindHeldForReview, Reason: "check the portal"}); err != nil {
		t.Fatal(err)
	}
	// Decisions go through a real orders service; its observations reach
	// tl through a timeline.Recorder, as the server wires them.
	ords := newOperatorOrders(t, tl)
	ords.hold(t, "default", "1002")
	op := &handlers.Operator{Timeline: tl, Resolve: func(ctx context.Context, shop, orderID string, r orders.Resolution) error {
		_, err := ords.svc.Resolve(ctx, shop, orderID, r)
		return err
	}}
	var logs apptest.LogBuffer
	app := apptest.Start(t, apptest.Options{Supplier: sandbox.New(sandbox.Config{}), Env: env, Operator: op, Logs: &logs, NoContract: true})
	cfg := app.Config
	srv := httptest.NewServer(app.Server.Handler())
	t.Cleanup(srv.Close)

	do := func(method, path, key, ctype, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	opKey, flowKey := cfg.OperatorKeys[0], cfg.APIKeys[0]
	for _, rt := range []struct{ method, path, body string }{
		{"GET", "/admin/orders", ""},
		{"GET", "/admin/orders/1002", ""},
		{"POST", "/admin/orders/1002/resolve", `{"action":"release"}`},
		{"POST", "/admin/orders/1002/release-cache", `{}`},
	} {
		for _, key := range []string{"", flowKey, "nope"} {
			status, body := do(rt.method, rt.path, key, "application/json", rt.body)
			if status != 401 || strings.Contains(body, "check the portal") {
				t.Errorf("%s %s with key %.6q: %d %s, want 401", rt.method, rt.path, key, status, body)
			}
		}
	}
	if status, body := do("GET", "/admin/orders?state=needs_review", opKey, "", ""); status != 200 || !strings.Contains(body, `"order_id":"1002"`) {
		t.Fatalf("list with the operator key: %d %s", status, body)
	}
	if status, _ := do("POST", "/admin/orders/1002/resolve", opKey, "text/plain", `{"action":"release"}`); status != 415 {
		t.Fatalf("resolve without a JSON content type: %d, want 415", status)
	}
	status, body := do("POST", "/admin/orders/1002/resolve", opKey, "application/json", `{"action":"adopt","supplier_order_id":"S-9"}`)
	if status != 200 || !strings.Contains(body, `"state":"placed"`) || !strings.Contains(body, `"kind":"resolved"`) || strings.Contains(body, opKey) {
		t.Fatalf("adopt: %d %s", status, body)
	}
	if status, body := do("POST", "/admin/orders/1002/resolve", opKey, "application/json", `{"action":"release"}`); status != 409 || !strings.Contains(body, "resolve_conflict") {
		t.Fatalf("release a placed order: %d %s, want 409 resolve_conflict", status, body)
	}
	got := logs.String()
	if !strings.Contains(got, "/admin/orders") {
		t.Fatalf("no request was logged, so the check below proves nothing: %q", got)
	}
	for _, secret := range []string{opKey, flowKey, "check the portal"} {
		if strings.Contains(got, secret) {
			t.Errorf("the logs contain %q", secret)
		}
	}
}
