package server_test

import (
	"context"
	"fmt"
	"github.com/flowbridge/flowbridge/internal/apptest"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/flowbridge/flowbridge/internal/btsfake"
	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/server"
)

// TestProductionWiringSpanTree builds flowbridge exactly as `serve` does
// (server.Build: telemetry, Redis store, BTS adapter on the resilient
// client) with an in-memory span exporter, sends one /orders call and
// checks the span tree — one trace, the server span at its root, Redis
// command spans and the supplier call below it — and that neither the
// spans nor the logs carry the Flow key, the supplier token or customer data.
func TestProductionWiringSpanTree(t *testing.T) {
	const (
		flowKey  = "flow-key-SECRET-0123456789abcdef"
		opKey    = "operator-key-SECRET-0123456789ab"
		btsToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzZWNyZXQtc3VwcGxpZXIifQ.SupplierSecretSig"
		email    = "customer.private@example.com"
		street   = "Calle Secreta 42"
		phone    = "+34611222333"
	)
	fake := httptest.NewServer(btsfake.New(btsfake.Config{Token: btsToken}))
	t.Cleanup(fake.Close)
	env := map[string]string{
		"FLOWBRIDGE_API_KEYS":      flowKey,
		"FLOWBRIDGE_OPERATOR_KEYS": opKey,
		"FLOWBRIDGE_SUPPLIER":      "bts",
		"FLOWBRIDGE_BTS_TOKEN":     btsToken,
		"FLOWBRIDGE_BTS_BASE_URL":  fake.URL + "/v1/api",
		"REDIS_URL":                redistest.Start(t).URL(),
		"FLOWBRIDGE_LOG_LEVEL":     "debug",
	}
	cfg, _, err := server.LoadConfig(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	exp := tracetest.NewInMemoryExporter()
	var logs apptest.LogBuffer
	s, closeAll, err := server.Build(context.Background(), cfg, server.BuildOptions{
		Logger: server.NewLogger(&logs, "debug"), SpanExporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)

	body := fmt.Sprintf(`{"order_id":"gid://shopify/Order/4242","order_name":"#4242","email":%q,"phone":%q,
		"shipping_address":{"first_name":"Maria","last_name":"Private","address1":%q,"city":"Valencia","zip":"46005","country_code":"ES","phone":%q},
		"line_items":[{"barcode":"8400000000017","quantity":1,"price":"4.99"}],"currency":"EUR","shipping_cost_id":"148"}`,
		email, phone, street, phone)
	req, _ := http.NewRequest("POST", ts.URL+"/orders", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+flowKey)
	req.Header.Set("Content-Type", "application/json")
	// A caller's trace context is continued (W3C traceparent).
	const parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	req.Header.Set("traceparent", "00-"+parentTrace+"-00f067aa0ba902b7-01")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(out), `"outcome":"placed"`) {
		t.Fatalf("/orders: %d %s", resp.StatusCode, out)
	}

	spans := exp.GetSpans()
	var server, supplierCall *tracetest.SpanStub
	redisSpans := 0
	for i := range spans {
		sp := &spans[i]
		if sp.SpanContext.TraceID().String() != parentTrace {
			continue
		}
		switch {
		case sp.Name == "POST /orders":
			server = sp
		case sp.Name == "supplier.bts setCreateOrder":
			supplierCall = sp
		case sp.InstrumentationScope.Name == "github.com/redis/go-redis/extra/redisotel":
			redisSpans++
		}
	}
	names := make([]string, len(spans))
	for i, sp := range spans {
		names[i] = sp.Name + " (" + sp.InstrumentationScope.Name + ")"
	}
	if server == nil || supplierCall == nil || redisSpans == 0 {
		t.Fatalf("want a server span, Redis spans and a supplier span in trace %s; got %v", parentTrace, names)
	}
	if server.Parent.TraceID().String() != parentTrace || !server.Parent.IsRemote() {
		t.Errorf("server span does not continue the caller's traceparent: parent %v", server.Parent)
	}
	if !descends(spans, supplierCall, server) {
		t.Errorf("supplier span %q is not below the server span", supplierCall.Name)
	}
	for i := range spans {
		if spans[i].InstrumentationScope.Name == "github.com/redis/go-redis/extra/redisotel" &&
			spans[i].SpanContext.TraceID().String() == parentTrace && !descends(spans, &spans[i], server) {
			t.Errorf("redis span %q is not below the server span", spans[i].Name)
		}
	}

	// Nothing secret or personal in any span attribute, event or log line.
	var dump strings.Builder
	for _, sp := range spans {
		fmt.Fprintf(&dump, "%s %v %v %v\n", sp.Name, sp.Attributes, sp.Events, sp.Status)
	}
	dump.WriteString(logs.String())
	for _, secret := range []string{flowKey, opKey, btsToken, "SupplierSecretSig", email, street, phone, "Private"} {
		if strings.Contains(dump.String(), secret) {
			t.Errorf("%q appears in spans or logs", secret)
		}
	}
	// Every log line written inside the request carries the trace id.
	found := false
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"msg":"request"`) {
			found = true
			if !strings.Contains(line, parentTrace) {
				t.Errorf("request log line without trace_id: %s", line)
			}
		}
	}
	if !found {
		t.Errorf("no request log line: %s", logs.String())
	}

	// The Redis client the server opened counts its round trips on /metrics.
	mreq, _ := http.NewRequest("GET", ts.URL+"/metrics", nil)
	mreq.Header.Set("Authorization", "Bearer "+opKey)
	mresp, err := ts.Client().Do(mreq)
	if err != nil {
		t.Fatal(err)
	}
	exposition, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if trips := commandRoundTrips(string(exposition)); trips < 1 {
		t.Errorf("flowbridge_redis_round_trips_total{kind=\"command\"} = %v after an order, want ≥ 1 (status %d)", trips, mresp.StatusCode)
	}
}

// commandRoundTrips reads flowbridge_redis_round_trips_total{kind="command",
// source="service"} from a Prometheus text exposition (-1 when absent).
func commandRoundTrips(exposition string) float64 {
	for _, line := range strings.Split(exposition, "\n") {
		if strings.HasPrefix(line, "flowbridge_redis_round_trips_total{") && strings.Contains(line, `kind="command"`) &&
			strings.Contains(line, `source="service"`) {
			f := strings.Fields(line)
			if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
				return v
			}
		}
	}
	return -1
}

// descends reports whether child has ancestor above it in spans.
func descends(spans tracetest.SpanStubs, child, ancestor *tracetest.SpanStub) bool {
	byID := map[string]*tracetest.SpanStub{}
	for i := range spans {
		byID[spans[i].SpanContext.SpanID().String()] = &spans[i]
	}
	for cur := child; cur != nil; cur = byID[cur.Parent.SpanID().String()] {
		if cur.Parent.SpanID() == ancestor.SpanContext.SpanID() {
			return true
		}
	}
	return false
}
