package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/redistest"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// binary builds flowbridge once for the start-up tests.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fbbin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "flowbridge")
		cmd := exec.Command("go", "build", "-o", builtBin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New(err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return builtBin
}

// Every start-up failure ends the process with exit status 1 and one line
// that says what is wrong and how to fix it — never a panic (issue 16,
// defect 5: a nil closer made these die with SIGSEGV, exit 2, before the
// message was printed).
func TestStartupFailuresSayWhatToFix(t *testing.T) {
	bin := binary(t)
	srv := redistest.Start(t)
	admin := redistest.ClientFor(t, srv.URL())
	if err := admin.ConfigSet(context.Background(), "requirepass", "the-right-password").Err(); err != nil {
		t.Fatal(err)
	}
	bts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"Unauthorized"}`))
	}))
	t.Cleanup(bts.Close)

	for _, tc := range []struct {
		name   string
		env    []string
		want   []string
		secret string // must never be printed
	}{
		{"unreachable redis", []string{"REDIS_URL=redis://127.0.0.1:1/0"},
			[]string{"REDIS_URL", "cannot reach Redis", "check the host and port"}, ""},
		{"wrong redis password", []string{"REDIS_URL=unix://:not-the-password-42@" + srv.Socket},
			[]string{"REDIS_URL", "refused the credentials", "redis://:PASSWORD@"}, "not-the-password-42"},
		{"refused bts credentials", []string{"FLOWBRIDGE_SUPPLIER=bts", "FLOWBRIDGE_BTS_BASE_URL=" + bts.URL,
			"FLOWBRIDGE_BTS_TOKEN=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"},
			[]string{"bts refused the credentials", "FLOWBRIDGE_BTS_TOKEN"}, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin)
			cmd.Env = append([]string{"FLOWBRIDGE_ADDR=127.0.0.1:0", "FLOWBRIDGE_API_KEYS=k-flow-0123456789abcdef", "FLOWBRIDGE_OPERATOR_KEYS=k-ops-0123456789abcdef"}, tc.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("exit = %v, want status 1\nstderr:\n%s", err, stderr.String())
			}
			out := stderr.String()
			for _, bad := range []string{"panic", "SIGSEGV", "goroutine "} {
				if strings.Contains(out, bad) {
					t.Fatalf("the process crashed (%q):\n%s", bad, out)
				}
			}
			var last string
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				if strings.HasPrefix(l, "flowbridge: ") {
					last = l
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(last, w) {
					t.Fatalf("message %q lacks %q\nstderr:\n%s", last, w, out)
				}
			}
			if tc.secret != "" && strings.Contains(out, tc.secret) {
				t.Fatalf("the output shows the secret:\n%s", out)
			}
		})
	}
}
