package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func setup(t *testing.T) (*Telemetry, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tel, err := Setup(context.Background(), Config{SpanExporter: exp, SyncSpans: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return tel, exp
}

func TestLogHandlerAddsTraceIDs(t *testing.T) {
	tel, exp := setup(t)
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil)))

	ctx, span := tel.Tracer("test").Start(context.Background(), "op")
	log.InfoContext(ctx, "inside")
	span.End()
	log.InfoContext(context.Background(), "outside")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 log lines, got %d", len(lines))
	}
	var in, out map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &in)
	_ = json.Unmarshal([]byte(lines[1]), &out)
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("want 1 span, got %d", len(spans))
	}
	if in["trace_id"] != spans[0].SpanContext.TraceID().String() || in["span_id"] != spans[0].SpanContext.SpanID().String() {
		t.Errorf("log line inside span = %v, want trace %s", in, spans[0].SpanContext.TraceID())
	}
	if _, ok := out["trace_id"]; ok {
		t.Errorf("log line outside a span has trace_id: %v", out)
	}
}

func TestMetricsExposition(t *testing.T) {
	tel, _ := setup(t)
	ctx := context.Background()
	m := tel.Metrics
	m.Idempotency(ctx, "won")
	m.Idempotency(ctx, "won")
	m.Idempotency(ctx, "replayed")
	m.SupplierCall(ctx, "bts", "create_order", "no_stock", 20*time.Millisecond)
	m.BreakerState("bts", "open")
	m.ObserveNeedsReview(func(context.Context) (int64, error) { return 3, nil })

	rec := httptest.NewRecorder()
	tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		`flowbridge_idempotency_outcomes_total{outcome="won"} 2`,
		`flowbridge_idempotency_outcomes_total{outcome="replayed"} 1`,
		`flowbridge_supplier_errors_total{code="no_stock",operation="create_order",supplier="bts"} 1`,
		`flowbridge_supplier_breaker_state{supplier="bts"} 2`,
		`flowbridge_orders_needs_review 3`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", text)
	}
}
