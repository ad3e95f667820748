package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/flowbridge/flowbridge"
)

// TestRouteTableMatchesSpec checks that the one route table and
// openapi.yaml list the same routes: every documented operation is served,
// and every served route is documented (HEAD as GET's twin, the console's
// wildcard by the console files the spec lists).
func TestRouteTableMatchesSpec(t *testing.T) {
	cfg, _, err := LoadConfig(nil, env(map[string]string{"FLOWBRIDGE_API_KEYS": flowTestKey, "FLOWBRIDGE_OPERATOR_KEYS": opTestKey}))
	if err != nil {
		t.Fatal(err)
	}
	deps := testDeps(t, cfg, slog.New(slog.DiscardHandler))
	deps.Metrics = http.NotFoundHandler()
	s, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(flowbridge.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{([^}]+)\}`)
	documented := map[string]bool{}
	for _, p := range doc.Paths.Keys() {
		for m := range doc.Paths.Value(p).Operations() {
			documented[m+" "+param.ReplaceAllString(p, ":$1")] = true
		}
	}
	served := map[string]bool{}
	for _, r := range s.e.Routes() {
		if r.Method == echo.RouteNotFound || strings.HasPrefix(r.Path, "/admin/debug/pprof/") {
			continue // the profiles are diagnostics, not API
		}
		served[r.Method+" "+r.Path] = true
	}
	for op := range documented {
		method, path, _ := strings.Cut(op, " ")
		wild := path[:strings.LastIndex(path, "/")+1] + "*"
		if !served[op] && !served[method+" "+wild] {
			t.Errorf("documented but not served: %s", op)
		}
	}
	for op := range served {
		method, path, _ := strings.Cut(op, " ")
		if method == http.MethodHead {
			method = http.MethodGet
		}
		if strings.HasSuffix(path, "/*") {
			prefix := strings.TrimSuffix(path, "*")
			found := false
			for d := range documented {
				if strings.HasPrefix(d, method+" "+prefix) {
					found = true
				}
			}
			if !found {
				t.Errorf("served but not documented: %s (no %s%s… in the spec)", op, method+" ", prefix)
			}
			continue
		}
		if !documented[method+" "+path] {
			t.Errorf("served but not documented: %s", op)
		}
	}
	if len(served) < 15 {
		t.Fatalf("only %d routes served: %v", len(served), served)
	}
}

// TestAdminUnknownPathNeedsKey: without an operator key, any path under
// /admin is 401, so a caller learns nothing about what exists.
func TestAdminUnknownPathNeedsKey(t *testing.T) {
	cfg, _, err := LoadConfig(nil, env(map[string]string{"FLOWBRIDGE_API_KEYS": flowTestKey, "FLOWBRIDGE_OPERATOR_KEYS": opTestKey}))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, testDeps(t, cfg, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key    string
		status int
	}{{"", 401}, {flowTestKey, 401}, {opTestKey, 404}} {
		req, _ := http.NewRequest(http.MethodGet, "/admin/nothing-here", nil)
		if c.key != "" {
			req.Header.Set("Authorization", "Bearer "+c.key)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != c.status {
			t.Errorf("key %q: %d, want %d", c.key, rec.Code, c.status)
		}
	}
}

const (
	flowTestKey = "flow-key-0123456789ABCDEF"
	opTestKey   = "op-key-0123456789ABCDEF"
)
