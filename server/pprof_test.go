package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flowbridge/flowbridge/server"
)

// The runtime profiles are served to the operator key only.
func TestPprofBehindOperatorKey(t *testing.T) {
	const flowKey, opKey = "flow-key-0123456789abcdef", "operator-key-0123456789abcdef"
	env := map[string]string{"FLOWBRIDGE_API_KEYS": flowKey, "FLOWBRIDGE_OPERATOR_KEYS": opKey}
	cfg, _, err := server.LoadConfig(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	s, closeAll, err := server.Build(context.Background(), cfg, server.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	get := func(path, key string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, key := range []string{"", flowKey} {
		if code, _ := get("/admin/debug/pprof/goroutine?debug=1", key); code != http.StatusUnauthorized {
			t.Fatalf("goroutine profile with key %q = %d, want 401", key, code)
		}
	}
	code, body := get("/admin/debug/pprof/goroutine?debug=1", opKey)
	if code != http.StatusOK || !strings.Contains(body, "goroutine profile:") {
		t.Fatalf("goroutine profile = %d %.200q", code, body)
	}
	code, body = get("/admin/debug/pprof/", opKey)
	if code != http.StatusOK || !strings.Contains(body, "heap") {
		t.Fatalf("index = %d %.200q", code, body)
	}
	if code, body := get("/admin/debug/pprof/heap", opKey); code != http.StatusOK || len(body) == 0 {
		t.Fatalf("heap = %d, %d bytes", code, len(body))
	}
	if code, _ := get("/admin/debug/pprof/profile?seconds=600", opKey); code != http.StatusBadRequest {
		t.Fatalf("a CPU profile longer than the request timeout = %d, want 400", code)
	}
}
