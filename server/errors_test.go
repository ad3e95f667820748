package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/store/memstore"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

// testDeps is the production wiring on the in-process store and the sandbox.
func testDeps(t *testing.T, cfg Config, log *slog.Logger) Deps {
	t.Helper()
	d, err := Assemble(cfg, sandbox.New(sandbox.Config{}), Stores{Store: memstore.New(nil)}, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func testServer(t *testing.T, logs *bytes.Buffer) *Server {
	t.Helper()
	cfg, _, err := LoadConfig(nil, env(map[string]string{
		"FLOWBRIDGE_API_KEYS": "test-key-0123456789ABCDEF", "FLOWBRIDGE_OPERATOR_KEYS": "op-key-0123456789ABCDEF",
	}))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, testDeps(t, cfg, slog.New(slog.NewJSONHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestErrorMapping drives the one error handler with every Kind through
// real routes and checks status, headers and that internal details never
// reach the body.
func TestErrorMapping(t *testing.T) {
	var logs bytes.Buffer
	s := testServer(t, &logs)
	routes := map[string]echo.HandlerFunc{
		"/t/panic":    func(echo.Context) error { panic("db password is hunter2") },
		"/t/plain":    func(echo.Context) error { return errors.New("open /etc/flowbridge/secret: denied") },
		"/t/internal": func(echo.Context) error { return problem.New(problem.Internal, "internal", "stack at /home/x") },
		"/t/invalid":  func(echo.Context) error { return problem.New(problem.Invalid, "x_bad", "bad") },
		"/t/status": func(echo.Context) error {
			return &problem.Error{Kind: problem.Invalid, Status: 422, Code: "x_semantic"}
		},
		"/t/unauth":   func(echo.Context) error { return problem.New(problem.Unauthorized, "unauthorized", "no") },
		"/t/notfound": func(echo.Context) error { return problem.New(problem.NotFound, "order_not_found", "no") },
		"/t/rejected": func(echo.Context) error { return problem.New(problem.Rejected, "no_stock", "no") },
		"/t/busy": func(echo.Context) error {
			return problem.New(problem.Busy, "in_flight", "wait").WithRetryAfter(1500 * time.Millisecond)
		},
		"/t/unavail":  func(echo.Context) error { return problem.New(problem.Unavailable, "store_unavailable", "down") },
		"/t/upstream": func(echo.Context) error { return problem.New(problem.Upstream, "supplier_bad_response", "junk") },
		"/t/conflict": func(echo.Context) error { return problem.New(problem.Conflict, "resolve_conflict", "placed") },
	}
	for p, h := range routes {
		s.e.GET(p, h)
	}
	tests := []struct {
		path, code string
		status     int
		retryAfter string
	}{
		{"/t/panic", "internal", 500, ""},
		{"/t/plain", "internal", 500, ""},
		{"/t/internal", "internal", 500, ""},
		{"/t/invalid", "x_bad", 400, ""},
		{"/t/status", "x_semantic", 422, ""},
		{"/t/unauth", "unauthorized", 401, ""},
		{"/t/notfound", "order_not_found", 404, ""},
		{"/t/rejected", "no_stock", 422, ""},
		{"/t/busy", "in_flight", 429, "2"},
		{"/t/unavail", "store_unavailable", 503, "30"},
		{"/t/upstream", "supplier_bad_response", 502, ""},
		{"/t/conflict", "resolve_conflict", 409, ""},
		{"/no/such/route", "not_found", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			var b map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
				t.Fatalf("body not JSON: %q", rec.Body)
			}
			if rec.Code != tt.status || b["code"] != tt.code || b["ok"] != false || b["status"] != float64(tt.status) {
				t.Fatalf("got %d %v", rec.Code, b)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Fatalf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			for _, leak := range []string{"hunter2", "/etc/flowbridge", "/home/x"} {
				if strings.Contains(rec.Body.String(), leak) {
					t.Fatalf("internal detail %q leaked: %s", leak, rec.Body)
				}
			}
			if rec.Header().Get("X-Request-Id") == "" {
				t.Fatal("no request id")
			}
		})
	}
	if !strings.Contains(logs.String(), "hunter2") {
		t.Fatal("the panic was not logged (operators need the cause)")
	}
}

// TestLogsCarryNoSecrets sends a request with a key, a caller request id
// carrying a log-injection attempt, and a body with customer data, then
// checks the log lines.
func TestLogsCarryNoSecrets(t *testing.T) {
	var logs bytes.Buffer
	s := testServer(t, &logs)
	body := `{"shipping_address":{"country_code":"ES","zip":"46005"},"line_items":[{"barcode":"8400000000017","quantity":1}],"email":"ana@example.com"}`
	req := httptest.NewRequest(http.MethodPost, "/rates?email=ana@example.com", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer test-key-0123456789ABCDEF")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", "abc\ninjected")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("rates: %d %s", rec.Code, rec.Body)
	}
	out := logs.String()
	for _, bad := range []string{"test-key-0123456789ABCDEF", "ana@example.com", "Authorization", "injected", "46005"} {
		if strings.Contains(out, bad) {
			t.Errorf("log contains %q:\n%s", bad, out)
		}
	}
	for _, want := range []string{`"route":"/rates"`, `"status":200`, `"request_id"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}

// TestBodyLimitWithoutContentLength covers a chunked body: the limit is
// enforced while reading, and still answers 413 body_too_large.
func TestBodyLimitWithoutContentLength(t *testing.T) {
	var logs bytes.Buffer
	s := testServer(t, &logs)
	big := `{"note":"` + strings.Repeat("x", 300<<10) + `"}`
	req := httptest.NewRequest(http.MethodPost, "/orders", struct{ io.Reader }{strings.NewReader(big)})
	if req.ContentLength > 0 {
		t.Fatal("test setup: the request must have no Content-Length")
	}
	req.Header.Set("Authorization", "Bearer test-key-0123456789ABCDEF")
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 413 || !strings.Contains(rec.Body.String(), `"code":"body_too_large"`) {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
}

// Assemble parses openapi.yaml once and hands the same contract to every
// handler that validates (each parse is ~1 MB live).
func TestAssembleSharesOneContract(t *testing.T) {
	cfg, _, err := LoadConfig(nil, env(map[string]string{"FLOWBRIDGE_API_KEYS": "test-key-0123456789ABCDEF"}))
	if err != nil {
		t.Fatal(err)
	}
	d := testDeps(t, cfg, slog.New(slog.DiscardHandler))
	if d.Contract == nil || d.Operator.Contract != d.Contract {
		t.Fatalf("contract %p, operator's %p: want one shared contract", d.Contract, d.Operator.Contract)
	}
}
