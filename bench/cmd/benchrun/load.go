package main

import (
	"math"
	"net/http"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Summary describes one measured series of requests.
type Summary struct {
	Name        string         `json:"name"`
	Concurrency int            `json:"concurrency,omitempty"`
	Requests    int            `json:"requests"`
	Errors      int            `json:"errors"` // transport errors and unexpected statuses
	Codes       map[string]int `json:"codes"`
	DurationS   float64        `json:"duration_s"`
	RPS         float64        `json:"rps"`
	P50Ms       float64        `json:"p50_ms"`
	P90Ms       float64        `json:"p90_ms"`
	P99Ms       float64        `json:"p99_ms"`
	MaxMs       float64        `json:"max_ms"`
	MeanMs      float64        `json:"mean_ms"`
	// Curve is latency (ms) at the percentiles in CurveAt, for plots.
	Curve []float64 `json:"curve_ms"`
	// RedisPerReq is Redis commands per request by command (INFO
	// commandstats before and after the series; the driver's own INFO
	// calls excluded), for the series that go through a Redis-backed server.
	RedisPerReq map[string]float64 `json:"redis_cmds_per_request,omitempty"`
	// RoundTripsPerReq is Redis round trips per request by kind (command:
	// one command sent on its own, a script call included; pipeline: one
	// pipeline or MULTI/EXEC block), from flowbridge_redis_round_trips_total
	// on each replica's /metrics before and after the series. Background
	// timeline writes count, as they do in RedisPerReq.
	RoundTripsPerReq map[string]float64 `json:"redis_round_trips_per_request,omitempty"`
	FirstError       string             `json:"first_error,omitempty"`
}

// CurveAt are the percentiles kept for latency plots: dense towards the tail.
var CurveAt = func() []float64 {
	var out []float64
	for i := 0; i <= 40; i++ {
		// 0 … 99.99 %, evenly spaced on log10(1/(1-p)).
		out = append(out, 100*(1-math.Pow(10, -4*float64(i)/40)))
	}
	return out
}()

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile of sorted latencies (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

// summarise computes a Summary; ok says which status codes count as success.
func summarise(name string, conc int, lat []time.Duration, codes map[string]int, errs int, wall time.Duration, firstErr string) Summary {
	s := Summary{Name: name, Concurrency: conc, Requests: len(lat), Errors: errs, Codes: codes, DurationS: wall.Seconds(), FirstError: firstErr}
	if len(lat) == 0 {
		return s
	}
	sorted := append([]time.Duration(nil), lat...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	s.P50Ms = ms(percentile(sorted, 50))
	s.P90Ms = ms(percentile(sorted, 90))
	s.P99Ms = ms(percentile(sorted, 99))
	s.MaxMs = ms(sorted[len(sorted)-1])
	s.MeanMs = ms(sum / time.Duration(len(sorted)))
	if wall > 0 {
		s.RPS = float64(len(sorted)) / wall.Seconds()
	}
	for _, p := range CurveAt {
		s.Curve = append(s.Curve, ms(percentile(sorted, p)))
	}
	return s
}

// targetFunc fills the i-th request.
type targetFunc func(i uint64, t *vegeta.Target)

// closedLoop runs conc workers back to back (vegeta with an unlimited rate
// and a fixed worker count) for at most dur and at most max requests.
// okCodes lists the statuses that count as success.
func closedLoop(name string, conc int, dur time.Duration, max uint64, okCodes []int, tf targetFunc) Summary {
	return attack(name, conc, vegeta.Rate{}, dur, max, okCodes, tf)
}

func attack(name string, conc int, rate vegeta.Rate, dur time.Duration, max uint64, okCodes []int, tf targetFunc) Summary {
	var n atomic.Uint64
	targeter := func(t *vegeta.Target) error {
		i := n.Add(1) - 1
		if max > 0 && i >= max {
			return vegeta.ErrNoTargets
		}
		t.Header = http.Header{}
		tf(i, t)
		return nil
	}
	atk := vegeta.NewAttacker(
		vegeta.Workers(uint64(conc)), vegeta.MaxWorkers(uint64(conc)),
		vegeta.Connections(conc), vegeta.MaxConnections(conc),
		vegeta.KeepAlive(true), vegeta.HTTP2(false), vegeta.Redirects(vegeta.NoFollow),
		vegeta.Timeout(30*time.Second), vegeta.MaxBody(0),
	)
	ok := map[uint16]bool{}
	for _, c := range okCodes {
		ok[uint16(c)] = true
	}
	var lat []time.Duration
	codes := map[string]int{}
	errs := 0
	firstErr := ""
	began := time.Now()
	var last time.Time
	for res := range atk.Attack(targeter, rate, dur, name) {
		if res.Error == vegeta.ErrNoTargets.Error() {
			continue
		}
		lat = append(lat, res.Latency)
		codes[strconv.Itoa(int(res.Code))]++
		if res.Error != "" || !ok[res.Code] {
			errs++
			if firstErr == "" {
				firstErr = res.Error
				if firstErr == "" {
					firstErr = "status " + strconv.Itoa(int(res.Code))
				}
			}
		}
		if end := res.Timestamp.Add(res.Latency); end.After(last) {
			last = end
		}
	}
	wall := last.Sub(began)
	if last.IsZero() {
		wall = time.Since(began)
	}
	return summarise(name, conc, lat, codes, errs, wall, firstErr)
}
