package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// proc is a child process the driver started and must stop.
type proc struct {
	name string
	cmd  *exec.Cmd
	addr string // host:port it serves on
	log  *os.File
	done chan error
	once sync.Once
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM, then SIGKILL after 5 s. Calling it again is a no-op.
func (p *proc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	p.once.Do(p.terminate)
}

func (p *proc) terminate() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	if p.log != nil {
		_ = p.log.Close()
	}
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startProc starts bin with args and env (added to the driver's), logging
// to logDir/name.log.
func startProc(name, logDir, bin string, args, env []string) (*proc, error) {
	lf, err := os.Create(filepath.Join(logDir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &proc{name: name, cmd: cmd, log: lf, done: make(chan error, 1)}
	return p, nil
}

// startListening starts a helper that prints "listening <addr>" when ready.
func startListening(name, logDir, bin string, args ...string) (*proc, error) {
	p, err := startProc(name, logDir, bin, args, nil)
	if err != nil {
		return nil, err
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.done <- p.cmd.Wait() }()
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				addrc <- a
				break
			}
		}
		_, _ = io.Copy(p.log, out)
	}()
	select {
	case p.addr = <-addrc:
		return p, nil
	case err := <-p.done:
		p.done <- err
		return nil, fmt.Errorf("%s exited before listening: %v (see %s.log)", name, err, name)
	case <-time.After(15 * time.Second):
		p.stop()
		return nil, fmt.Errorf("%s did not start listening in 15 s", name)
	}
}

// redisServer is a private redis-server on a free loopback port, without
// persistence (the machine's 6379 is never used).
type redisServer struct {
	*proc
	url     string
	version string
}

func startRedis(logDir string) (*redisServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p, err := startProc("redis", logDir, "redis-server", []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--protected-mode", "yes", "--maxmemory-policy", "noeviction",
	}, nil)
	if err != nil {
		return nil, err
	}
	p.cmd.Stdout = p.log
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("redis-server: %w (install it: apt-get install -y redis-server)", err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	p.addr = "127.0.0.1:" + strconv.Itoa(port)
	r := &redisServer{proc: p, url: "redis://" + p.addr + "/0"}
	rdb := redis.NewClient(&redis.Options{Addr: p.addr})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		info, err := rdb.Info(ctx, "server").Result()
		cancel()
		if err == nil {
			for _, line := range strings.Split(info, "\n") {
				if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
					r.version = v
				}
			}
			return r, nil
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("redis-server did not answer in 10 s: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // polling a child's readiness, not test synchronisation
	}
}

// flushRedis empties the private Redis between scenarios.
func flushRedis(url string) error {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	return rdb.FlushAll(context.Background()).Err()
}

// flowbridge is one replica.
type flowbridge struct {
	*proc
	base    string
	startup time.Duration // exec → first /healthz 200
}

// startFlowbridge starts one replica on a free port and waits for /healthz.
func startFlowbridge(name, logDir, bin string, env []string) (*flowbridge, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p, err := startProc(name, logDir, bin, nil, append(env, "FLOWBRIDGE_ADDR="+addr))
	if err != nil {
		return nil, err
	}
	p.cmd.Stdout = p.log
	p.addr = addr
	began := time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.done <- p.cmd.Wait() }()
	fb := &flowbridge{proc: p, base: "http://" + addr}
	hc := &http.Client{Timeout: time.Second}
	deadline := began.Add(30 * time.Second)
	for {
		select {
		case err := <-p.done:
			p.done <- err
			return nil, fmt.Errorf("%s exited during start-up: %v (see %s)", name, err, filepath.Join(logDir, name+".log"))
		default:
		}
		resp, err := hc.Get(fb.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				fb.startup = time.Since(began)
				return fb, nil
			}
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s: /healthz not 200 within 30 s (last error %v)", name, err)
		}
		time.Sleep(2 * time.Millisecond) // polling a child's readiness
	}
}

// vmHWM reads a process's peak resident set size in KiB.
func vmHWM(pid int) (int64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, errors.New("no VmHWM line")
}

// redisCalls reads INFO commandstats: calls per command since start.
func redisCalls(url string) (map[string]int64, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				out[strings.TrimPrefix(name, "cmdstat_")] = n
			}
		}
	}
	return out, nil
}

// settleRedis waits (at most 5 s) until Redis runs nothing but the
// driver's own INFO: 50 ms in which total_commands_processed grows by one.
func settleRedis(url string) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	processed := func() (int64, bool) {
		info, err := rdb.Info(context.Background(), "stats").Result()
		if err != nil {
			return 0, false
		}
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_commands_processed:"); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				return n, err == nil
			}
		}
		return 0, false
	}
	last, ok := processed()
	for deadline := time.Now().Add(5 * time.Second); ok && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond) // sampling a counter over an interval, not synchronising a test
		n, ok2 := processed()
		if !ok2 || n-last <= 1 {
			return
		}
		last = n
	}
}
