package telemetry

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// Secrets and customer data the trace test sends through every layer; none
// may appear in a span or a log line.
const (
	sharedSecret = "flow-shared-secret-5f1d0c"
	supplierKey  = "supplier-credential-9a7e42"
	redisPass    = "redis-password-77c1e0"
	customerName = "Ana García Secretname"
	customerMail = "ana.secret@example.com"
	customerAddr = "Calle Secreta 17"
)

// supplierFake records what the instrumented transport delivered.
type supplierFake struct {
	mu          sync.Mutex
	traceparent string
	apiKey      string
	auth        string
}

func (s *supplierFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.traceparent = r.Header.Get("traceparent")
	s.apiKey = r.URL.Query().Get("api_key")
	s.auth = r.Header.Get("Authorization")
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"order_id":"690005604133"}`)
}

// traceApp is a small Echo service shaped like flowbridge's POST /orders:
// bearer auth, Redis claim (SET NX + a Lua script on one hash-tagged slot),
// one supplier call, one log line.
func traceApp(t *testing.T, tel *Telemetry, rdb redis.UniversalClient, supplierURL, deadURL string, log *slog.Logger) http.Handler {
	t.Helper()
	client := &http.Client{Transport: tel.Transport(nil)}
	script := redis.NewScript(`redis.call("HSET", KEYS[1], "state", ARGV[1]) return redis.call("HGET", KEYS[1], "state")`)
	e := echo.New()
	e.HideBanner = true
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			SetRoute(c.Request().Context(), c.Path())
			return next(c)
		}
	})
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Header.Get("Authorization") != "Bearer "+sharedSecret {
				return c.JSON(http.StatusUnauthorized, map[string]any{"ok": false})
			}
			return next(c)
		}
	})
	e.POST("/orders", func(c echo.Context) error {
		ctx := c.Request().Context()
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		var in struct {
			OrderID string `json:"order_id"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return err
		}
		SpanAttributes(ctx, attribute.String("flowbridge.order_id", in.OrderID))
		key := "idem:{shop.example:" + in.OrderID + "}"
		// The whole body (customer data) goes to Redis as a value: with
		// statement capture on, it would land in the span.
		if err := rdb.SetNX(ctx, key+":payload", string(body), 0).Err(); err != nil {
			return err
		}
		if err := script.Run(ctx, rdb, []string{key}, "in_flight").Err(); err != nil {
			return err
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, supplierURL+"/orders?api_key="+supplierKey+"&page=1", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+supplierKey)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		// A call that fails at the transport, key in the query: the error
		// text is recorded on the span.
		dead, _ := http.NewRequestWithContext(ctx, http.MethodGet, deadURL+"/stock?api_key="+supplierKey, nil)
		if resp, err := client.Do(dead); err == nil {
			_ = resp.Body.Close()
		}
		log.InfoContext(ctx, "order placed", "order_id", in.OrderID, "outcome", "placed")
		return c.JSON(http.StatusOK, map[string]any{"ok": true, "outcome": "placed"})
	})
	return tel.HTTPMiddleware(e)
}

func TestSpanTreeAndNoSecrets(t *testing.T) {
	tel, exp := setup(t)
	var logs bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&logs, nil)))

	// Real Redis with a password, so AUTH/HELLO is exercised too.
	srv := redistest.Start(t)
	admin := redistest.ClientFor(t, srv.URL())
	if err := admin.ConfigSet(context.Background(), "requirepass", redisPass).Err(); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Socket, Password: redisPass})
	t.Cleanup(func() { _ = rdb.Close() })
	if err := tel.InstrumentRedis(rdb); err != nil {
		t.Fatal(err)
	}

	sup := &supplierFake{}
	supSrv := httptest.NewServer(sup)
	t.Cleanup(supSrv.Close)
	// A loopback port with nothing listening: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + l.Addr().String()
	_ = l.Close()

	app := httptest.NewServer(traceApp(t, tel, rdb, supSrv.URL, deadURL, log))
	t.Cleanup(app.Close)

	// Flow's side of the trace: a parent span whose context travels in
	// traceparent.
	parentCtx, parent := tel.Tracer("flow").Start(context.Background(), "flow")
	body := fmt.Sprintf(`{"order_id":"123","email":%q,"shipping_address":{"first_name":%q,"address1":%q}}`,
		customerMail, customerName, customerAddr)
	req, _ := http.NewRequestWithContext(parentCtx, http.MethodPost, app.URL+"/orders", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+sharedSecret)
	req.Header.Set("Content-Type", "application/json")
	tel.Propagator.Inject(parentCtx, propagation.HeaderCarrier(req.Header))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	respBody, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	parent.End()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, respBody)
	}
	traceID := parent.SpanContext().TraceID()

	spans := exp.GetSpans()
	server := findSpan(t, spans, func(s tracetest.SpanStub) bool { return s.SpanKind == trace.SpanKindServer })
	if server.Name != "POST /orders" {
		t.Errorf("server span name %q, want %q", server.Name, "POST /orders")
	}
	if v := attr(server, "http.route"); v != "/orders" {
		t.Errorf("server span http.route = %q", v)
	}
	if v := attr(server, "flowbridge.order_id"); v != "123" {
		t.Errorf("server span flowbridge.order_id = %q", v)
	}
	if server.SpanContext.TraceID() != traceID || server.Parent.SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("server span does not continue the caller's trace: trace %s parent %s", server.SpanContext.TraceID(), server.Parent.SpanID())
	}

	sid := server.SpanContext.SpanID()
	childOfServer := func(s tracetest.SpanStub) bool {
		return s.SpanContext.TraceID() == traceID && s.Parent.SpanID() == sid
	}
	set := findSpan(t, spans, func(s tracetest.SpanStub) bool { return s.Name == "set" && childOfServer(s) })
	lua := findSpan(t, spans, func(s tracetest.SpanStub) bool {
		return (s.Name == "evalsha" || s.Name == "eval") && childOfServer(s) && s.Status.Code != 1 // first try may be NOSCRIPT
	})
	for _, s := range []tracetest.SpanStub{set, lua} {
		if s.SpanKind != trace.SpanKindClient || attr(s, "db.system") != "redis" {
			t.Errorf("redis span %q: kind %v db.system %q", s.Name, s.SpanKind, attr(s, "db.system"))
		}
		if attr(s, "db.statement") != "" {
			t.Errorf("redis span %q records db.statement", s.Name)
		}
	}
	client := findSpan(t, spans, func(s tracetest.SpanStub) bool {
		return s.SpanKind == trace.SpanKindClient && strings.HasPrefix(s.Name, "HTTP POST ") && childOfServer(s)
	})
	if got, want := attr(client, "url.full"), supSrv.URL+"/orders?api_key=REDACTED&page=REDACTED"; got != want {
		t.Errorf("supplier span url.full = %q, want %q", got, want)
	}
	// Spans end child-first: Redis and supplier calls finish inside the
	// server span.
	if set.EndTime.After(server.EndTime) || client.EndTime.After(server.EndTime) {
		t.Errorf("child spans end after the server span")
	}
	deadSpan := findSpan(t, spans, func(s tracetest.SpanStub) bool {
		return strings.HasPrefix(s.Name, "HTTP GET ") && childOfServer(s)
	})
	if deadSpan.Status.Code != 1 { // codes.Error
		t.Errorf("failed supplier call span status %v, want error", deadSpan.Status)
	}

	// What the supplier received: the real credential (redaction must not
	// break the call) and a traceparent naming the client span.
	sup.mu.Lock()
	tp, gotKey, gotAuth := sup.traceparent, sup.apiKey, sup.auth
	sup.mu.Unlock()
	wantTP := fmt.Sprintf("00-%s-%s-01", traceID, client.SpanContext.SpanID())
	if tp != wantTP {
		t.Errorf("supplier got traceparent %q, want %q", tp, wantTP)
	}
	if gotKey != supplierKey || gotAuth != "Bearer "+supplierKey {
		t.Errorf("supplier got api_key %q auth %q: the real credential must still be sent", gotKey, gotAuth)
	}

	// The log line inside the request carries the server span's ids.
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &line); err != nil {
		t.Fatalf("log output %q: %v", logs.String(), err)
	}
	if line["trace_id"] != traceID.String() || line["span_id"] != sid.String() {
		t.Errorf("log line %v lacks the server span's trace_id/span_id", line)
	}

	assertNoSecrets(t, spans, logs.String(), sharedSecret, supplierKey, redisPass, customerName, customerMail, customerAddr)
}

// assertNoSecrets fails if any span name, attribute, event, link, status or
// resource attribute, or the log output, contains one of secrets.
func assertNoSecrets(t *testing.T, spans tracetest.SpanStubs, logs string, secrets ...string) {
	t.Helper()
	var dump strings.Builder
	kvs := func(where string, as []attribute.KeyValue) {
		for _, a := range as {
			fmt.Fprintf(&dump, "%s %s=%s\n", where, a.Key, a.Value.String())
		}
	}
	for _, s := range spans {
		fmt.Fprintf(&dump, "span %s status %s\n", s.Name, s.Status.Description)
		kvs("  attr", s.Attributes)
		for _, e := range s.Events {
			fmt.Fprintf(&dump, "  event %s\n", e.Name)
			kvs("    attr", e.Attributes)
		}
		for _, l := range s.Links {
			kvs("  link", l.Attributes)
		}
		if s.Resource != nil {
			kvs("  resource", s.Resource.Attributes())
		}
	}
	if len(spans) < 5 {
		t.Fatalf("only %d spans; the leak check would prove little", len(spans))
	}
	for _, sec := range secrets {
		// go-redis prints non-ASCII values in hex; look for that form too.
		if strings.Contains(dump.String(), sec) || strings.Contains(dump.String(), hex.EncodeToString([]byte(sec))) {
			t.Errorf("a span contains secret %q", sec)
		}
		if strings.Contains(logs, sec) {
			t.Errorf("a log line contains secret %q", sec)
		}
	}
	if t.Failed() {
		t.Logf("spans:\n%s\nlogs:\n%s", dump.String(), logs)
	}
}

func findSpan(t *testing.T, spans tracetest.SpanStubs, match func(tracetest.SpanStub) bool) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if match(s) {
			return s
		}
	}
	var names []string
	for _, s := range spans {
		names = append(names, fmt.Sprintf("%s(kind %v, parent %s)", s.Name, s.SpanKind, s.Parent.SpanID()))
	}
	t.Fatalf("no matching span among %s", strings.Join(names, ", "))
	return tracetest.SpanStub{}
}

func attr(s tracetest.SpanStub, key string) string {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value.String()
		}
	}
	return ""
}
