package main

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// benchMetricsKey is the bearer key the replicas serve GET /metrics with.
const benchMetricsKey = "bench-metrics-key-3e8a1c5f7b9d2e4a6c8e0f1a3b5d7f90"

// roundTripMetric is the counter flowbridge's Redis client keeps
// (telemetry: one per command sent on its own, one per pipeline).
const roundTripMetric = "flowbridge_redis_round_trips_total"

// scrapeRoundTrips reads a replica's Redis round trips so far, by kind
// (command, pipeline), from its /metrics, leaving out the ones scrapes made.
func scrapeRoundTrips(hc *http.Client, base string) (map[string]float64, error) {
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+benchMetricsKey)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/metrics: status %d", base, resp.StatusCode)
	}
	out := map[string]float64{}
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// flowbridge_redis_round_trips_total{kind="command"} 12
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, roundTripMetric)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		labels, value := "", rest
		if strings.HasPrefix(rest, "{") {
			end := strings.LastIndex(rest, "}")
			if end < 0 {
				continue
			}
			labels, value = rest[1:end], rest[end+1:]
		}
		f := strings.Fields(value)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", roundTripMetric, line, err)
		}
		kind, source := "all", ""
		for _, l := range strings.Split(labels, ",") {
			if k, ok := strings.CutPrefix(l, `kind="`); ok {
				kind = strings.TrimSuffix(k, `"`)
			}
			if k, ok := strings.CutPrefix(l, `source="`); ok {
				source = strings.TrimSuffix(k, `"`)
			}
		}
		found = true
		// The scrape's own reads (the needs-review gauge scans the order
		// index: more round trips the more orders Redis holds) are not
		// the requests'.
		if source == "scrape" {
			continue
		}
		out[kind] += v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !found {
		// A replica on Redis has made round trips by the time it answers
		// /healthz, so no sample means a binary without the counter.
		return nil, fmt.Errorf("GET %s/metrics: no %s", base, roundTripMetric)
	}
	return out, nil
}
