//go:build faults

package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Keys and tokens of the processes under test (loopback only).
const (
	flowKey  = "faults-flow-key-0123456789abcdef"
	opKey    = "faults-operator-key-0123456789ab"
	btsToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYXVsdHMifQ.ZmF1bHRzLXNpZw"
	shopTok  = "shpat_faults"
	shop     = "faults-store.myshopify.com"
)

var (
	buildOnce sync.Once
	bins      struct{ flowbridge, supplier string }
	buildErr  error
)

// binaries builds flowbridge and the BTS stand-in once per run.
func binaries(t *testing.T) (flowbridge, supplier string) {
	t.Helper()
	buildOnce.Do(func() {
		root, err := filepath.Abs(filepath.Join("..", ".."))
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "fbfaults")
		if err != nil {
			buildErr = err
			return
		}
		bins.flowbridge = filepath.Join(dir, "flowbridge")
		bins.supplier = filepath.Join(dir, "fakesupplier")
		build := func(out, pkg, in string) error {
			cmd := exec.Command("go", "build", "-o", out, pkg)
			cmd.Dir = in
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
			}
			return nil
		}
		// FAULTS_FLOWBRIDGE_BIN runs the suite against another build
		// (e.g. an older commit, for before/after figures).
		if b := os.Getenv("FAULTS_FLOWBRIDGE_BIN"); b != "" {
			bins.flowbridge = b
		} else if buildErr = build(bins.flowbridge, "./cmd/flowbridge", root); buildErr != nil {
			return
		}
		// bench may be a module of its own.
		if _, err := os.Stat(filepath.Join(root, "bench", "go.mod")); err == nil {
			buildErr = build(bins.supplier, "./cmd/fakesupplier", filepath.Join(root, "bench"))
		} else {
			buildErr = build(bins.supplier, "./bench/cmd/fakesupplier", root)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bins.flowbridge, bins.supplier
}

// waitLine starts cmd and returns the first stdout line containing marker
// (the rest of stdout is drained).
func waitLine(t *testing.T, cmd *exec.Cmd, marker string) string {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			if !sent && strings.Contains(sc.Text(), marker) {
				found <- sc.Text()
				sent = true
			}
		}
		if !sent {
			close(found)
		}
	}()
	select {
	case l, ok := <-found:
		if !ok {
			t.Fatalf("%s exited before printing %q", cmd.Path, marker)
		}
		return l
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("%s did not print %q", cmd.Path, marker)
	}
	return ""
}

// supplierProc is the counting BTS stand-in.
type supplierProc struct {
	url string
}

func startSupplier(t *testing.T, rate int) *supplierProc {
	t.Helper()
	_, bin := binaries(t)
	cmd := exec.Command(bin, "-token", btsToken, "-rate", strconv.Itoa(rate), "-latency", "50ms")
	cmd.Stderr = io.Discard
	l := waitLine(t, cmd, "listening ")
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return &supplierProc{url: "http://" + strings.TrimSpace(strings.TrimPrefix(l, "listening "))}
}

// creates is every create the stand-in made, by recipient name.
func (s *supplierProc) creates(t *testing.T) map[string][]string {
	t.Helper()
	resp, err := http.Get(s.url + "/_creates")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string][]string
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func (s *supplierProc) faults(t *testing.T, latency time.Duration, dropEvery int) {
	t.Helper()
	b, _ := json.Marshal(map[string]int{"latency_ms": int(latency / time.Millisecond), "drop_every": dropEvery})
	resp, err := http.Post(s.url+"/_faults", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("/_faults = %d", resp.StatusCode)
	}
}

// shopifyStub answers the Admin API query for an order's supplier-number
// metafield with what the simulated Flow wrote after stage 1 (Flow writes
// the metafield as soon as /orders answers 200).
type shopifyStub struct {
	mu         sync.Mutex
	metafields map[string]string // order id → supplier number
	asked      int
	srv        *httptest.Server
}

func startShopify(t *testing.T) *shopifyStub {
	s := &shopifyStub{metafields: map[string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Shopify-Access-Token") != shopTok {
			http.Error(w, `{"errors":"[API] Invalid API key or access token"}`, http.StatusUnauthorized)
			return
		}
		var req struct {
			Variables map[string]any `json:"variables"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		gid, _ := req.Variables["id"].(string)
		id := gid[strings.LastIndexByte(gid, '/')+1:]
		s.mu.Lock()
		s.asked++
		v, ok := s.metafields[id]
		s.mu.Unlock()
		var mf any
		if ok {
			mf = map[string]any{"value": v}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"order": map[string]any{"id": gid, "metafield": mf}}})
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *shopifyStub) write(orderID, number string) {
	s.mu.Lock()
	s.metafields[orderID] = number
	s.mu.Unlock()
}

// replica is one flowbridge process on a fixed loopback port, so a
// restarted replica takes the same address.
type replica struct {
	t    *testing.T
	env  []string
	addr string
	mu   sync.Mutex
	cmd  *exec.Cmd
	logs *os.File
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startReplica(t *testing.T, env []string, logDir string, n int) *replica {
	t.Helper()
	f, err := os.Create(filepath.Join(logDir, fmt.Sprintf("replica-%d.log", n)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	r := &replica{t: t, env: env, addr: freePort(t), logs: f}
	r.start()
	t.Cleanup(func() { r.kill() })
	return r
}

func (r *replica) start() {
	r.t.Helper()
	bin, _ := binaries(r.t)
	cmd := exec.Command(bin)
	cmd.Env = append([]string{"FLOWBRIDGE_ADDR=" + r.addr}, r.env...)
	cmd.Stderr = r.logs
	waitLine(r.t, cmd, "flowbridge listening on ")
	r.mu.Lock()
	r.cmd = cmd
	r.mu.Unlock()
}

// kill -9s the process.
func (r *replica) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	_ = r.cmd.Wait()
	r.cmd = nil
}

func (r *replica) pid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

func (r *replica) url() string { return "http://" + r.addr }

// rssKiB reads a process's resident memory.
func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				n, _ := strconv.Atoi(f[1])
				return n
			}
		}
	}
	return 0
}

var _ = context.Background
