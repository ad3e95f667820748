package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/flowbridge/flowbridge/internal/btsfake"
)

const (
	btsToken  = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmbG93YnJpZGdlLWJlbmNoIiwiZXhwIjo0MTAyNDQ0ODAwfQ.YmVuY2gtb25seS1zaWduYXR1cmUtbm90LXJlYWw"
	flowKey   = "bench-flow-key-7c1f0e5a9d2b4c6e8f0a1b3c5d7e9f11"
	seedBase  = 500000000000
	seedCount = 5_000_000
	benchEAN  = "8400000000017"
)

// env is what every scenario shares.
type env struct {
	opt      options
	redis    *redisServer
	logDir   string
	nextID   atomic.Int64 // unique Shopify order ids across the run
	nextTrk  atomic.Int64 // unique seeded BTS order numbers
	fbExtra  []string
	hc       *http.Client
	fbStarts []time.Duration // every replica's start-up time
	starts   int             // replicas started so far (names their logs)
}

func (e *env) startSupplier(name string, args ...string) (*proc, error) {
	args = append([]string{"-token", btsToken, "-seed-orders", strconv.Itoa(seedCount)}, args...)
	return startListening(name, e.logDir, e.opt.fakeBin, args...)
}

// startReplicas starts n flowbridge replicas against supplier at limit req/s.
func (e *env) startReplicas(n int, supplierAddr string, limit float64, burst int) ([]*flowbridge, error) {
	vars := []string{
		"FLOWBRIDGE_API_KEYS=" + flowKey,
		"FLOWBRIDGE_METRICS_KEYS=" + benchMetricsKey,
		"FLOWBRIDGE_SUPPLIER=bts",
		"REDIS_URL=" + e.redis.url,
		"FLOWBRIDGE_BTS_BASE_URL=http://" + supplierAddr + "/v1/api",
		"FLOWBRIDGE_BTS_TOKEN=" + btsToken,
		"FLOWBRIDGE_SUPPLIER_RATE_LIMIT=" + strconv.FormatFloat(limit, 'f', -1, 64),
		"FLOWBRIDGE_SUPPLIER_BURST=" + strconv.Itoa(burst),
	}
	vars = append(vars, e.fbExtra...)
	var out []*flowbridge
	for i := 0; i < n; i++ {
		e.starts++
		fb, err := startFlowbridge(fmt.Sprintf("flowbridge-%02d-replica%d", e.starts, i+1), e.logDir, e.opt.fbBin, vars)
		if err != nil {
			stopAll(out)
			return nil, err
		}
		e.fbStarts = append(e.fbStarts, fb.startup)
		out = append(out, fb)
	}
	return out, nil
}

func stopAll(fbs []*flowbridge) {
	for _, f := range fbs {
		f.stop()
	}
}

// ean13 completes a 12-digit prefix with its check digit.
func ean13(prefix string) string {
	sum := 0
	for i, r := range prefix {
		d := int(r - '0')
		if i%2 == 1 {
			d *= 3
		}
		sum += d
	}
	return prefix + strconv.Itoa((10-sum%10)%10)
}

// orderBody is a POST /orders body as the Flow template renders it; the
// name and street carry id so the supplier sees a unique payload per order.
func orderBody(id int64) []byte {
	b, _ := json.Marshal(map[string]any{
		"order_id": "gid://shopify/Order/" + strconv.FormatInt(id, 10), "order_name": "#" + strconv.FormatInt(id, 10),
		"shop": "bench-store.myshopify.com", "email": "buyer@example.com", "phone": "+34600000000",
		"shipping_address": map[string]any{"first_name": "Bench", "last_name": "Customer " + strconv.FormatInt(id, 10),
			"company": "", "address1": "Calle Bench " + strconv.FormatInt(id, 10), "address2": "", "city": "Valencia",
			"zip": "46005", "province_code": "", "country_code": "ES", "phone": "+34600000000"},
		"line_items":            []map[string]any{{"barcode": ean13(benchEAN[:12]), "sku": "BENCH-1", "quantity": 1, "price": "19.99"}},
		"currency":              "EUR",
		"shipping_cost_id":      "148",
		"payment_gateway_names": []string{"shopify_payments"},
		"supplier_order_id":     "",
	})
	return b
}

// orderForm is the setCreateOrder body supplier/bts sends for orderBody(id).
func orderForm(id int64) []byte {
	f := url.Values{}
	f.Set("payment_method", "wallet")
	f.Set("products[0][sku]", ean13(benchEAN[:12]))
	f.Set("products[0][quantity]", "1")
	f.Set("shipping_cost_id", "148")
	f.Set("client_name", "Bench Customer "+strconv.FormatInt(id, 10))
	f.Set("address", "Calle Bench "+strconv.FormatInt(id, 10))
	f.Set("postal_code", "46005")
	f.Set("city", "Valencia")
	f.Set("country_code", "ES")
	f.Set("telephone", "+34600000000")
	f.Set("dropshipping", "1")
	return []byte(f.Encode())
}

func direct(t *vegeta.Target, supplierAddr, method, endpoint string) {
	t.Method = method
	t.URL = "http://" + supplierAddr + "/v1/api/" + endpoint
	t.Header.Set("Authorization", "Bearer "+btsToken)
	t.Header.Set("Accept", "application/json")
}

func viaFB(t *vegeta.Target, base, method, path string) {
	t.Method = method
	t.URL = base + path
	t.Header.Set("Authorization", "Bearer "+flowKey)
}

// ---------------------------------------------------------------- overhead

// OverheadRow pairs the direct and the through-flowbridge series.
type OverheadRow struct {
	Op          string   `json:"op"`
	Concurrency int      `json:"concurrency"`
	Direct      Summary  `json:"direct"`
	Via         *Summary `json:"via,omitempty"`
	DeltaP50Ms  *float64 `json:"delta_p50_ms,omitempty"`
	DeltaP90Ms  *float64 `json:"delta_p90_ms,omitempty"`
	DeltaP99Ms  *float64 `json:"delta_p99_ms,omitempty"`
	DeltaMaxMs  *float64 `json:"delta_max_ms,omitempty"`
}

type OverheadResult struct {
	SupplierLatency string        `json:"supplier_latency"`
	DurationS       float64       `json:"duration_s_per_series"`
	Rows            []OverheadRow `json:"rows"`
	NotRun          string        `json:"not_run,omitempty"`
	Supplier        btsfake.Stats `json:"supplier_stats"`
}

func ptr(f float64) *float64 { return &f }

func (e *env) overhead() (OverheadResult, error) {
	res := OverheadResult{SupplierLatency: e.opt.overheadLatency.String(), DurationS: e.opt.seriesDur.Seconds()}
	sup, err := e.startSupplier("fakesupplier-overhead", "-latency", e.opt.overheadLatency.String())
	if err != nil {
		return res, err
	}
	defer sup.stop()
	var fbs []*flowbridge
	if e.opt.fbBin != "" {
		if fbs, err = e.startReplicas(1, sup.addr, 10000, 1000); err != nil {
			return res, err
		}
		defer stopAll(fbs)
	} else {
		res.NotRun = "flowbridge binary not available: direct series only"
	}

	trackDirect := func(i uint64, t *vegeta.Target) {
		direct(t, sup.addr, http.MethodGet, "getOrder")
		t.URL += "?order_number=" + strconv.FormatInt(seedBase+e.nextTrk.Add(1), 10)
	}
	trackVia := func(i uint64, t *vegeta.Target) {
		viaFB(t, fbs[0].base, http.MethodGet, "/tracking/"+strconv.FormatInt(seedBase+e.nextTrk.Add(1), 10))
	}
	orderDirect := func(i uint64, t *vegeta.Target) {
		direct(t, sup.addr, http.MethodPost, "setCreateOrder")
		t.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		t.Body = orderForm(e.nextID.Add(1))
	}
	orderVia := func(i uint64, t *vegeta.Target) {
		viaFB(t, fbs[0].base, http.MethodPost, "/orders")
		t.Header.Set("Content-Type", "application/json")
		t.Body = orderBody(e.nextID.Add(1))
	}
	ops := []struct {
		name        string
		direct, via targetFunc
	}{
		{"tracking", trackDirect, trackVia},
		{"order", orderDirect, orderVia},
	}
	for _, op := range ops {
		for _, c := range []int{1, 32} {
			// Warm both paths (connections, caches of the runtime).
			closedLoop("warm", c, time.Second, 2000, []int{200}, op.direct)
			if fbs != nil {
				closedLoop("warm", c, time.Second, 2000, []int{200}, op.via)
			}
			max := uint64(e.opt.maxRequests)
			row := OverheadRow{Op: op.name, Concurrency: c}
			row.Direct = closedLoop(op.name+" direct", c, e.opt.seriesDur, max, []int{200}, op.direct)
			logf("overhead %s c=%d direct: p50 %.3f ms p99 %.3f ms (%d req, %d errors)", op.name, c, row.Direct.P50Ms, row.Direct.P99Ms, row.Direct.Requests, row.Direct.Errors)
			if fbs != nil {
				via := e.withRedis(fbs, func() Summary {
					return closedLoop(op.name+" via flowbridge", c, e.opt.seriesDur, max, []int{200}, op.via)
				})
				row.Via = &via
				row.DeltaP50Ms = ptr(via.P50Ms - row.Direct.P50Ms)
				row.DeltaP90Ms = ptr(via.P90Ms - row.Direct.P90Ms)
				row.DeltaP99Ms = ptr(via.P99Ms - row.Direct.P99Ms)
				row.DeltaMaxMs = ptr(via.MaxMs - row.Direct.MaxMs)
				logf("overhead %s c=%d via: p50 %.3f ms p99 %.3f ms (%d req, %d errors %s)", op.name, c, via.P50Ms, via.P99Ms, via.Requests, via.Errors, via.FirstError)
			}
			res.Rows = append(res.Rows, row)
		}
	}
	res.Supplier, _ = e.supplierStats(sup.addr)
	return res, nil
}

// withRedis runs a series and records its Redis commands per request and,
// for the replicas in fbs (none for the floor), its Redis round trips per
// request. The scrapes come before and after the INFO calls, so
// commandstats never sees a scrape's own Redis reads (the needs-review
// gauge); the round-trip counter files those under source="scrape", which
// the driver leaves out.
//
// Redis is let settle first and after: the timeline writes flowbridge makes
// in the background after answering then fall in the series that caused
// them, not in the next one.
func (e *env) withRedis(fbs []*flowbridge, f func() Summary) Summary {
	settleRedis(e.redis.url)
	tripsBefore, tripsErr := e.roundTrips(fbs)
	before, err := redisCalls(e.redis.url)
	s := f()
	settleRedis(e.redis.url)
	after, err2 := redisCalls(e.redis.url)
	tripsAfter, tripsErr2 := e.roundTrips(fbs)
	if s.Requests == 0 {
		return s
	}
	if err == nil && err2 == nil {
		s.RedisPerReq = map[string]float64{}
		for cmd, n := range after {
			if cmd == "info" {
				continue
			}
			if d := n - before[cmd]; d > 0 {
				s.RedisPerReq[cmd] = float64(d) / float64(s.Requests)
			}
		}
	}
	if len(fbs) > 0 {
		if tripsErr != nil || tripsErr2 != nil {
			logf("%s: no Redis round trips: %v", s.Name, errors.Join(tripsErr, tripsErr2))
			return s
		}
		s.RoundTripsPerReq = map[string]float64{}
		for kind, n := range tripsAfter {
			if d := n - tripsBefore[kind]; d > 0 {
				s.RoundTripsPerReq[kind] = d / float64(s.Requests)
			}
		}
	}
	return s
}

// roundTrips sums the replicas' Redis round trips so far, by kind.
func (e *env) roundTrips(fbs []*flowbridge) (map[string]float64, error) {
	sum := map[string]float64{}
	for _, fb := range fbs {
		m, err := scrapeRoundTrips(e.hc, fb.base)
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			sum[k] += v
		}
	}
	return sum, nil
}

func (e *env) supplierStats(addr string) (btsfake.Stats, error) {
	var st btsfake.Stats
	resp, err := e.hc.Get("http://" + addr + "/_stats")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// ---------------------------------------------------------------- hot path

type HotPathResult struct {
	Concurrency int           `json:"concurrency"`
	Floor       Summary       `json:"floor"`
	FloorC1     Summary       `json:"floor_c1"`
	Replayed    *Summary      `json:"replayed_orders,omitempty"`
	ReplayedC1  *Summary      `json:"replayed_orders_c1,omitempty"`
	Cached      *Summary      `json:"cached_tracking,omitempty"`
	CachedC1    *Summary      `json:"cached_tracking_c1,omitempty"`
	ReplayedPct *float64      `json:"replayed_pct_of_floor,omitempty"`
	CachedPct   *float64      `json:"cached_pct_of_floor,omitempty"`
	NotRun      string        `json:"not_run,omitempty"`
	Supplier    btsfake.Stats `json:"supplier_stats"`
}

func (e *env) hotpath() (HotPathResult, error) {
	const conc = 32
	res := HotPathResult{Concurrency: conc}
	floor, err := startListening("floor", e.logDir, e.opt.floorBin, "-redis-url", e.redis.url)
	if err != nil {
		return res, err
	}
	defer floor.stop()
	floorT := func(i uint64, t *vegeta.Target) { t.Method, t.URL = http.MethodGet, "http://"+floor.addr+"/floor" }
	max := uint64(e.opt.maxRequests) * 4
	closedLoop("warm", conc, time.Second, 0, []int{200}, floorT)
	res.Floor = e.withRedis(nil, func() Summary {
		return closedLoop("floor (Echo + 1 Redis GET)", conc, e.opt.seriesDur, max, []int{200}, floorT)
	})
	res.FloorC1 = closedLoop("floor (Echo + 1 Redis GET)", 1, e.opt.seriesDur/2, max, []int{200}, floorT)
	logf("hotpath floor c=%d: %.0f req/s, p50 %.3f ms", conc, res.Floor.RPS, res.Floor.P50Ms)
	if e.opt.fbBin == "" {
		res.NotRun = "flowbridge binary not available: floor only"
		return res, nil
	}
	sup, err := e.startSupplier("fakesupplier-hotpath")
	if err != nil {
		return res, err
	}
	defer sup.stop()
	fbs, err := e.startReplicas(1, sup.addr, 10000, 1000)
	if err != nil {
		return res, err
	}
	defer stopAll(fbs)

	id := e.nextID.Add(1)
	body := orderBody(id)
	trk := strconv.FormatInt(seedBase+e.nextTrk.Add(1), 10)
	replayT := func(i uint64, t *vegeta.Target) {
		viaFB(t, fbs[0].base, http.MethodPost, "/orders")
		t.Header.Set("Content-Type", "application/json")
		t.Body = body
	}
	cachedT := func(i uint64, t *vegeta.Target) { viaFB(t, fbs[0].base, http.MethodGet, "/tracking/"+trk) }
	// First calls place the order and fill the cache.
	first := closedLoop("prime", 1, 0, 1, []int{200}, replayT)
	if first.Errors > 0 {
		return res, fmt.Errorf("placing the replay order failed: %v %s", first.Codes, first.FirstError)
	}
	closedLoop("prime", 1, 0, 1, []int{200}, cachedT)
	closedLoop("warm", conc, time.Second, 0, []int{200}, replayT)
	r := e.withRedis(fbs, func() Summary {
		return closedLoop("replayed POST /orders", conc, e.opt.seriesDur, max, []int{200}, replayT)
	})
	r1 := closedLoop("replayed POST /orders", 1, e.opt.seriesDur/2, max, []int{200}, replayT)
	c := e.withRedis(fbs, func() Summary {
		return closedLoop("cached GET /tracking", conc, e.opt.seriesDur, max, []int{200}, cachedT)
	})
	c1 := closedLoop("cached GET /tracking", 1, e.opt.seriesDur/2, max, []int{200}, cachedT)
	res.Replayed, res.ReplayedC1, res.Cached, res.CachedC1 = &r, &r1, &c, &c1
	if res.Floor.RPS > 0 {
		res.ReplayedPct = ptr(100 * r.RPS / res.Floor.RPS)
		res.CachedPct = ptr(100 * c.RPS / res.Floor.RPS)
	}
	logf("hotpath replayed: %.0f req/s (%d errors %s); cached tracking: %.0f req/s (%d errors %s)", r.RPS, r.Errors, r.FirstError, c.RPS, c.Errors, c.FirstError)
	res.Supplier, _ = e.supplierStats(sup.addr)
	return res, nil
}

// ---------------------------------------------------------------- flash sale

type TimelinePoint struct {
	TS          float64 `json:"t_s"`
	Created     int64   `json:"created"`
	RateLimited int64   `json:"rate_limited_429"`
}

type FlashResult struct {
	Label             string          `json:"label"`
	Orders            int             `json:"distinct_orders"`
	DuplicateSends    int             `json:"duplicate_sends"`
	ArrivalRate       float64         `json:"arrival_rate_per_s"`
	SupplierLimit     int             `json:"supplier_limit_per_s"`
	FlowbridgeLimit   float64         `json:"flowbridge_limit_per_s"`
	FlowbridgeBurst   int             `json:"flowbridge_burst"`
	Replicas          int             `json:"replicas"`
	SupplierLatency   string          `json:"supplier_latency"`
	Compression       float64         `json:"time_compression"`
	FlowTimeoutS      float64         `json:"flow_timeout_s"`
	FlowBackoff       string          `json:"flow_backoff"`
	Supplier          btsfake.Stats   `json:"supplier_stats"`
	SupplierBaseline  btsfake.Stats   `json:"supplier_stats_before_load"`
	Created           int64           `json:"supplier_orders_created"`
	Duplicates        int64           `json:"supplier_duplicates"`
	Supplier429       int64           `json:"supplier_429s_during_load"`
	AllPlacedS        float64         `json:"time_until_all_placed_s"`
	AllAnsweredS      float64         `json:"time_until_all_runs_final_s"`
	LongestCallS      float64         `json:"longest_single_call_s"`
	Runs              int             `json:"runs"`
	RunsOK            int             `json:"runs_2xx"`
	RunsFailed        int             `json:"runs_final_4xx"`
	RunsGaveUp        int             `json:"runs_gave_up"`
	Attempts          int             `json:"attempts"`
	Timeouts          int             `json:"client_timeouts"`
	Codes             map[string]int  `json:"attempt_codes"`
	Outcomes          map[string]int  `json:"outcomes"`
	Inconsistent      int             `json:"orders_with_different_supplier_numbers"`
	MaxAttemptsPerRun int             `json:"max_attempts_per_run"`
	RunSecondsP50     float64         `json:"run_seconds_p50"`
	RunSecondsMax     float64         `json:"run_seconds_max"`
	PeakRSSKiB        []int64         `json:"peak_rss_kib_per_replica"`
	Timeline          []TimelinePoint `json:"timeline"`
	NotRun            string          `json:"not_run,omitempty"`
}

type flashSpec struct {
	label         string
	orders        int
	supplierLimit int
	fbLimit       float64
	burst         int
	bound         time.Duration
	// n8nBase, n8nSup: send to the running n8n peer's flash webhook, whose
	// workflow calls n8nSup, instead of 3 flowbridge replicas.
	n8nBase string
	n8nSup  *proc
	n8nPid  int
}

// flashSupplier starts the rate-limited fake supplier of a flash sale.
func (e *env) flashSupplier(name string, limit int) (*proc, error) {
	return e.startSupplier(name, "-rate", strconv.Itoa(limit),
		"-latency", e.opt.flashLatency.String(), "-dist", "lognormal", "-sigma", "0.5")
}

func (e *env) flash(spec flashSpec) (FlashResult, error) {
	dups := spec.orders / 5
	res := FlashResult{Label: spec.label, Orders: spec.orders, DuplicateSends: dups, ArrivalRate: 200,
		SupplierLimit: spec.supplierLimit, FlowbridgeLimit: spec.fbLimit, FlowbridgeBurst: spec.burst, Replicas: 3,
		SupplierLatency: e.opt.flashLatency.String() + " median, lognormal σ=0.5", Compression: 60, FlowTimeoutS: 30,
		FlowBackoff: "1 s doubling to 16 s, ±20 % (60× compressed from 1 min doubling to 16 min)"}
	if e.opt.fbBin == "" && spec.n8nBase == "" {
		res.NotRun = "flowbridge binary not available"
		return res, nil
	}
	if err := flushRedis(e.redis.url); err != nil {
		return res, err
	}
	sup := spec.n8nSup
	if sup == nil {
		var err error
		if sup, err = e.flashSupplier("fakesupplier-"+spec.label, spec.supplierLimit); err != nil {
			return res, err
		}
		defer sup.stop()
	}
	var bases []string
	var fbs []*flowbridge
	path := "/orders"
	if spec.n8nBase != "" {
		bases, path = []string{spec.n8nBase}, "/webhook/bench-flash-order"
		res.Replicas, res.FlowbridgeLimit, res.FlowbridgeBurst = 1, 0, 0
	} else {
		var err error
		fbs, err = e.startReplicas(3, sup.addr, spec.fbLimit, spec.burst)
		if err != nil {
			return res, err
		}
		defer stopAll(fbs)
		for _, f := range fbs {
			bases = append(bases, f.base)
		}
	}

	// 2,000 distinct orders, 20 % of them sent twice, in a fixed shuffled order.
	rng := rand.New(rand.NewPCG(7, 7))
	base := e.nextID.Add(int64(spec.orders)) - int64(spec.orders) + 1
	var sends []sendSpec
	for i := 0; i < spec.orders; i++ {
		id := base + int64(i)
		sends = append(sends, sendSpec{OrderID: strconv.FormatInt(id, 10), Body: orderBody(id)})
	}
	for _, i := range rng.Perm(spec.orders)[:dups] {
		sends = append(sends, sends[i])
	}
	rng.Shuffle(len(sends), func(i, j int) { sends[i], sends[j] = sends[j], sends[i] })

	fc := &flowClient{Timeout: 30 * time.Second, Backoff: time.Second, MaxBackoff: 16 * time.Second,
		GiveUp: 24 * time.Minute, Bases: bases, Key: flowKey,
		HTTP: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 0}}}

	res.SupplierBaseline, _ = e.supplierStats(sup.addr)
	ctx, cancel := context.WithTimeout(context.Background(), spec.bound)
	defer cancel()

	// Sample the supplier's counters (and the replicas' peak RSS) while it runs.
	began := time.Now()
	stopPoll := make(chan struct{})
	var pollWG sync.WaitGroup
	pollWG.Add(1)
	go func() {
		defer pollWG.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopPoll:
				return
			case <-tick.C:
				if st, err := e.supplierStats(sup.addr); err == nil {
					res.Timeline = append(res.Timeline, TimelinePoint{TS: time.Since(began).Seconds(), Created: st.Created,
						RateLimited: st.RateLimited - res.SupplierBaseline.RateLimited})
				}
			}
		}
	}()
	logf("flash %s: %d sends (%d distinct) at 200/s, supplier %d/s, %d instance(s), own limit %g/s", spec.label, len(sends), spec.orders, spec.supplierLimit, len(bases), spec.fbLimit)
	results := fc.flashRun(ctx, path, sends, vegeta.Rate{Freq: 200, Per: time.Second})
	allFinal := time.Since(began)
	close(stopPoll)
	pollWG.Wait()

	for _, f := range fbs {
		kib, _ := vmHWM(f.pid())
		res.PeakRSSKiB = append(res.PeakRSSKiB, kib)
	}
	if spec.n8nPid != 0 {
		// n8n's main process (it ran no task-runner children here).
		kib, _ := vmHWM(spec.n8nPid)
		res.PeakRSSKiB = append(res.PeakRSSKiB, kib)
	}
	st, err := e.supplierStats(sup.addr)
	if err != nil {
		return res, err
	}
	res.Supplier = st
	res.Created, res.Duplicates = st.Created, st.Duplicates
	res.Supplier429 = st.RateLimited - res.SupplierBaseline.RateLimited
	if !st.LastCreate.IsZero() {
		res.AllPlacedS = st.LastCreate.Sub(began).Seconds()
	}
	res.AllAnsweredS = allFinal.Seconds()
	res.Codes, res.Outcomes = map[string]int{}, map[string]int{}
	numbers := map[string]string{}
	var runSecs []float64
	for _, r := range results {
		res.Runs++
		res.Attempts += r.Attempts
		res.Timeouts += r.Timeouts
		if r.Attempts > res.MaxAttemptsPerRun {
			res.MaxAttemptsPerRun = r.Attempts
		}
		if s := r.LongestCall.Seconds(); s > res.LongestCallS {
			res.LongestCallS = s
		}
		for c, n := range r.Codes {
			res.Codes[strconv.Itoa(c)] += n
		}
		runSecs = append(runSecs, r.Ended.Sub(r.Started).Seconds())
		switch {
		case r.Status >= 200 && r.Status < 300:
			res.RunsOK++
			out := r.Outcome
			if r.Replay {
				out += " (replay)"
			}
			res.Outcomes[out]++
			if prev, ok := numbers[r.OrderID]; ok && prev != r.SupplierOrderID {
				res.Inconsistent++
			}
			numbers[r.OrderID] = r.SupplierOrderID
		case r.Status >= 400 && r.Status < 500 && r.Status != 429:
			res.RunsFailed++
		default:
			res.RunsGaveUp++
		}
	}
	sort.Float64s(runSecs)
	if len(runSecs) > 0 {
		res.RunSecondsP50 = runSecs[len(runSecs)/2]
		res.RunSecondsMax = runSecs[len(runSecs)-1]
	}
	logf("flash %s: created %d (distinct %d) duplicates %d, 429s %d, all placed after %.1f s, longest call %.2f s, runs ok %d failed %d gave up %d",
		spec.label, res.Created, st.Distinct, res.Duplicates, res.Supplier429, res.AllPlacedS, res.LongestCallS, res.RunsOK, res.RunsFailed, res.RunsGaveUp)
	return res, nil
}

// ---------------------------------------------------------------- footprint

type FootprintResult struct {
	BinaryBytes     int64     `json:"binary_bytes"`
	StartupMs       []float64 `json:"startup_ms"`
	StartupMedianMs float64   `json:"startup_median_ms"`
	PeakRSSKiB      int64     `json:"peak_rss_kib"`
	PeakRSSScenario string    `json:"peak_rss_scenario"`
	NotRun          string    `json:"not_run,omitempty"`
}

func (e *env) footprint() (FootprintResult, error) {
	var res FootprintResult
	if e.opt.fbBin == "" {
		res.NotRun = "flowbridge binary not available"
		return res, nil
	}
	fi, err := os.Stat(e.opt.fbBin)
	if err != nil {
		return res, err
	}
	res.BinaryBytes = fi.Size()
	sup, err := e.startSupplier("fakesupplier-startup")
	if err != nil {
		return res, err
	}
	defer sup.stop()
	for i := 0; i < 5; i++ {
		fbs, err := e.startReplicas(1, sup.addr, 10, 1)
		if err != nil {
			return res, err
		}
		res.StartupMs = append(res.StartupMs, ms(fbs[0].startup))
		stopAll(fbs)
	}
	sorted := append([]float64(nil), res.StartupMs...)
	sort.Float64s(sorted)
	res.StartupMedianMs = sorted[len(sorted)/2]
	return res, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+strings.TrimSuffix(format, "\n")+"\n", args...)
}
