// Package redistest gives tests a real Redis server. When REDIS_URL is set it
// is used as is; otherwise a private redis-server is started on a unix socket
// in a temporary directory. A missing redis-server binary is a test failure,
// never a skip: tests that claim to cover Redis must run against Redis.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server process owned by a test.
type Server struct {
	dir    string
	Socket string
	cmd    *exec.Cmd
	mu     sync.Mutex
	opts   Options
}

// Options configure StartWith.
type Options struct {
	// AOF turns on the append-only file (appendfsync always), so a
	// restart (Restart, or Kill then Start again) keeps the data.
	AOF bool
	// clusterPort, when set, starts the server in cluster mode on that
	// loopback TCP port (a Cluster client finds nodes by address, not by
	// socket); see Cluster.
	clusterPort int
}

// URL returns the redis URL of this server.
func (s *Server) URL() string { return "unix://" + s.Socket }

// Start launches a private redis-server that keeps nothing on disk and is
// stopped when the test ends. Use it for tests that stop or restart Redis.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options (persistence).
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	// A short directory: unix socket paths are limited to ~100 bytes and
	// t.TempDir() paths can exceed that.
	dir, err := os.MkdirTemp("", "rt")
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s := &Server{dir: dir, Socket: filepath.Join(dir, "r.sock"), opts: opts}
	if err := s.start(); err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start() error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return fmt.Errorf("redis-server not found on PATH (install the redis-server package, or set REDIS_URL): %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	aof := []string{"--appendonly", "no"}
	if s.opts.AOF {
		aof = []string{"--appendonly", "yes", "--appendfsync", "always"}
	}
	port := []string{"--port", "0"}
	if s.opts.clusterPort > 0 {
		port = []string{"--port", fmt.Sprint(s.opts.clusterPort), "--bind", "127.0.0.1",
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(s.dir, "nodes.conf")}
	}
	args := append(append(port, "--unixsocket", s.Socket, "--unixsocketperm", "700",
		"--save", "", "--dir", s.dir,
		"--maxmemory-policy", "noeviction"), aof...)
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	// Readiness: redis-server logs "Ready to accept connections" once the
	// socket listens. Reading its output avoids polling with sleeps.
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		var tail []string
		for sc.Scan() {
			line := sc.Text()
			tail = append(tail, line)
			if strings.Contains(strings.ToLower(line), "ready to accept connections") {
				ready <- nil
				for sc.Scan() {
				}
				return
			}
		}
		ready <- fmt.Errorf("redis-server exited before it was ready: %s", strings.Join(tail, "\n"))
	}()
	select {
	case err := <-ready:
		if err != nil {
			return err
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		return fmt.Errorf("redis-server not ready after 20s")
	}
	c, err := net.Dial("unix", s.Socket)
	if err != nil {
		return fmt.Errorf("redis-server socket: %w", err)
	}
	return c.Close()
}

// Stop kills the server; its data is gone (it keeps nothing on disk).
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
	_ = os.Remove(s.Socket)
}

// Pause stops the server process with SIGSTOP: connections stay open and
// the kernel still accepts new ones, but nothing is answered — a hung
// Redis. Resume undoes it; the test's cleanup resumes it too.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGSTOP)
	t.Cleanup(func() { s.signalQuiet(syscall.SIGCONT) })
}

// Resume continues a paused server (SIGCONT); it then runs whatever its
// clients queued while it was stopped.
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGCONT)
}

func (s *Server) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		t.Fatalf("redistest: signal %v: server not running", sig)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("redistest: signal %v: %v", sig, err)
	}
}

func (s *Server) signalQuiet(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

// Start starts a stopped server again on the same socket and directory:
// with AOF it comes back with its data, without it empty.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatalf("redistest: start: %v", err)
	}
}

// Restart starts the server again on the same socket: empty, or with its
// data when it was started with AOF.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		t.Fatalf("redistest: restart: %v", err)
	}
}

// URL returns REDIS_URL when set, else the URL of a private server started
// for this test.
func URL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return Start(t).URL()
}

// Client returns a go-redis client for URL(t), closed when the test ends.
// The database is shared when REDIS_URL is set, so tests must keep their
// keys apart with Prefix(t) rather than flush.
func Client(t testing.TB) redis.UniversalClient {
	t.Helper()
	return ClientFor(t, URL(t))
}

// ClientFor opens a client for url, closed when the test ends.
func ClientFor(t testing.TB, url string) redis.UniversalClient {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("redistest: parse %q: %v", url, err)
	}
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("redistest: ping %s: %v", url, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Cluster starts a one-node Redis Cluster that owns every slot and
// returns a Cluster client on it, closed when the test ends. One node is
// enough to prove the Cluster code paths: Redis refuses a script or
// transaction whose keys hash to different slots (CROSSSLOT) even when
// one node serves them all.
func Cluster(t testing.TB) *redis.ClusterClient {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	s := StartWith(t, Options{clusterPort: port})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node := redis.NewClient(&redis.Options{Network: "unix", Addr: s.Socket})
	defer node.Close()
	if err := node.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatalf("redistest: cluster addslots: %v", err)
	}
	// The node turns its state to ok on its next cluster tick (about
	// 100 ms); wait for that, bounded by ctx.
	for {
		info, err := node.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("redistest: cluster not ok: %v %q", err, info)
		case <-time.After(20 * time.Millisecond):
		}
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{fmt.Sprintf("127.0.0.1:%d", port)}})
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("redistest: cluster ping: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Prefix returns a key prefix unique to this test run, so tests sharing one
// Redis never see each other's keys.
func Prefix(t testing.TB) string {
	return fmt.Sprintf("fbtest:%d:%s:", time.Now().UnixNano(), strings.ReplaceAll(t.Name(), "/", "_"))
}
