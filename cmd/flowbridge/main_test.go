package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBinarySignalsAndHealthcheck builds the real binary, starts it on a
// free port, checks it with its own `healthcheck` subcommand (what the
// Dockerfile's HEALTHCHECK runs) and stops it with SIGTERM, expecting a
// clean exit.
func TestBinarySignalsAndHealthcheck(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "flowbridge")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	// Healthcheck against nothing must fail.
	hc := exec.Command(bin, "healthcheck")
	hc.Env = []string{"FLOWBRIDGE_ADDR=127.0.0.1:1"}
	if err := hc.Run(); err == nil {
		t.Fatal("healthcheck passed with no server")
	}

	cmd := exec.Command(bin)
	cmd.Env = []string{"FLOWBRIDGE_ADDR=127.0.0.1:0"}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, u, ok := strings.Cut(sc.Text(), "flowbridge listening on "); ok {
				found <- strings.Fields(u)[0]
			}
		}
	}()
	var base string
	select {
	case base = <-found:
	case <-time.After(20 * time.Second):
		t.Fatal("binary did not print its URL")
	}
	port := base[strings.LastIndex(base, ":")+1:]
	hc = exec.Command(bin, "healthcheck")
	hc.Env = []string{"FLOWBRIDGE_ADDR=:" + port}
	if out, err := hc.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("healthcheck: %v %s", err, out)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}

func TestUnknownCommand(t *testing.T) {
	if err := run(t.Context(), []string{"frobnicate"}); err == nil || !strings.Contains(err.Error(), "serve") {
		t.Fatalf("err = %v", err)
	}
}

// TestServerBinaryIsLean keeps the simulator's engines and the bench and
// browser-test dependencies out of the server binary: they are big, and
// the service never runs them.
func TestServerBinaryIsLean(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{"github.com/dop251/goja", "github.com/osteele/liquid", "github.com/tsenart/vegeta",
		"gonum.org/v1/plot", "github.com/chromedp/", "k8s.io/", "github.com/flowbridge/flowbridge/flowsim"}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(dep, f) {
				t.Errorf("the server binary links %s", dep)
			}
		}
	}
}
