package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/server"
)

// startRun runs server.Run as `go run ./cmd/flowbridge` would, and returns
// the printed base URL and dev key once it is listening.
func startRun(t *testing.T, env map[string]string) (base, key string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, nil, func(k string) string { return env[k] }, pw, io.Discard)
		pw.Close()
	}()
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(15 * time.Second)
	for base == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				cancel()
				t.Fatalf("Run ended before listening: %v", <-done)
			}
			if _, k, found := strings.Cut(l, "Authorization: Bearer "); found && key == "" {
				key = strings.TrimSpace(k)
			}
			if _, u, found := strings.Cut(l, "flowbridge listening on "); found {
				base = strings.Fields(u)[0]
			}
		case <-deadline:
			cancel()
			t.Fatal("Run did not print its URL")
		}
	}
	go func() {
		for range lines { // keep draining so Run never blocks on stdout
		}
	}()
	stop = func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return after cancel")
			return nil
		}
	}
	return base, key, stop
}

func get(t *testing.T, url, key string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// TestRunDevDefaults: with nothing configured, Run prints a working dev
// key and URL, readiness follows Redis, and cancelling the context shuts
// it down cleanly.
func TestRunDevDefaults(t *testing.T) {
	rs := redistest.Start(t)
	base, key, stop := startRun(t, map[string]string{"FLOWBRIDGE_ADDR": "127.0.0.1:0", "REDIS_URL": rs.URL()})
	if key == "" || !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("printed base %q key %q", base, key)
	}
	if st, _ := get(t, base+"/healthz", ""); st != 200 {
		t.Fatalf("healthz %d", st)
	}
	if st, m := get(t, base+"/tracking/700000000001", key); st != 404 || m["code"] != "order_not_found" {
		t.Fatalf("printed key not accepted: %d %v", st, m)
	}
	if st, _ := get(t, base+"/tracking/700000000001", "wrong-key-0123456789"); st != 401 {
		t.Fatalf("wrong key: %d", st)
	}
	if st, m := get(t, base+"/readyz", ""); st != 200 || m["checks"].(map[string]any)["store"] != "ok" {
		t.Fatalf("readyz with redis up: %d %v", st, m)
	}
	rs.Stop()
	st, m := get(t, base+"/readyz", "")
	if st != 503 || m["code"] != "not_ready" || !strings.Contains(toJSON(m["errors"]), "/checks/store") {
		t.Fatalf("readyz with redis down: %d %v", st, m)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run returned %v after shutdown", err)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	err := server.Run(context.Background(), nil, func(k string) string {
		return map[string]string{"FLOWBRIDGE_REQUEST_TIMEOUT": "45s"}[k]
	}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "FLOWBRIDGE_REQUEST_TIMEOUT") {
		t.Fatalf("err = %v", err)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
