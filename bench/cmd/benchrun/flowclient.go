package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// flowClient behaves like Shopify Flow's "Send HTTP request" action: each
// send is one workflow run that waits at most Timeout for an answer,
// re-sends after a timeout, a 429 or a 5xx at increasing intervals, stops
// at a 2xx (success) or another 4xx (final failure). Flow publishes no
// schedule; the intervals here are Backoff doubling up to MaxBackoff with
// ±20 % jitter, and Retry-After is ignored (reported behaviour of Flow
// actions). Real Flow waits minutes between re-sends: Backoff is that time
// compressed (see the report for the factor).
type flowClient struct {
	Timeout    time.Duration
	Backoff    time.Duration
	MaxBackoff time.Duration
	// GiveUp bounds one run's total time (Flow: 24 h).
	GiveUp time.Duration
	// Bases are the replicas; attempts go round-robin (a load balancer).
	Bases []string
	Key   string
	HTTP  *http.Client
	rr    atomic.Uint64
}

// sendResult is one workflow run's outcome.
type sendResult struct {
	OrderID         string
	Attempts        int
	Status          int // final status (0: gave up without an answer)
	SupplierOrderID string
	Outcome         string
	Replay          bool
	Started, Ended  time.Time
	LongestCall     time.Duration
	Codes           map[int]int
	Timeouts        int
}

type orderAnswer struct {
	OK              bool   `json:"ok"`
	Outcome         string `json:"outcome"`
	SupplierOrderID string `json:"supplier_order_id"`
	Replay          bool   `json:"replay"`
	Code            string `json:"code"`
	// OrderNumber is BTS's own field, for a peer that passes the
	// supplier's answer through (n8n).
	OrderNumber string `json:"order_number"`
}

// run sends body to path until a final answer or GiveUp.
func (f *flowClient) run(ctx context.Context, orderID, path string, body []byte, rng *rand.Rand) sendResult {
	res := sendResult{OrderID: orderID, Started: time.Now(), Codes: map[int]int{}}
	wait := f.Backoff
	for {
		res.Attempts++
		base := f.Bases[int(f.rr.Add(1)-1)%len(f.Bases)]
		status, ans, took, timedOut := f.call(ctx, base+path, body)
		if took > res.LongestCall {
			res.LongestCall = took
		}
		if timedOut {
			res.Timeouts++
		}
		res.Codes[status]++
		res.Status = status
		final := status >= 200 && status < 300 || status >= 400 && status < 500 && status != http.StatusTooManyRequests
		if final {
			res.SupplierOrderID, res.Outcome, res.Replay = ans.SupplierOrderID, ans.Outcome, ans.Replay
			if res.SupplierOrderID == "" {
				res.SupplierOrderID = ans.OrderNumber
			}
			res.Ended = time.Now()
			return res
		}
		jittered := time.Duration(float64(wait) * (0.8 + 0.4*rng.Float64()))
		if time.Since(res.Started)+jittered > f.GiveUp || ctx.Err() != nil {
			res.Ended = time.Now()
			return res
		}
		select {
		case <-time.After(jittered):
		case <-ctx.Done():
			res.Ended = time.Now()
			return res
		}
		wait *= 2
		if wait > f.MaxBackoff {
			wait = f.MaxBackoff
		}
	}
}

// call is one HTTP exchange; status 0 means no answer (timeout or error).
func (f *flowClient) call(ctx context.Context, url string, body []byte) (int, orderAnswer, time.Duration, bool) {
	cctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, orderAnswer{}, 0, false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.Key)
	began := time.Now()
	resp, err := f.HTTP.Do(req)
	if err != nil {
		return 0, orderAnswer{}, time.Since(began), cctx.Err() != nil
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	took := time.Since(began)
	if err != nil {
		return 0, orderAnswer{}, took, cctx.Err() != nil
	}
	var ans orderAnswer
	_ = json.Unmarshal(data, &ans)
	return resp.StatusCode, ans, took, false
}

// sendSpec is one scheduled send.
type sendSpec struct {
	OrderID string
	Body    []byte
}

// flashRun fires sends at rate (vegeta's constant pacer decides when each
// one starts: an open-loop arrival process) and waits for every run.
func (f *flowClient) flashRun(ctx context.Context, path string, sends []sendSpec, rate vegeta.Rate) []sendResult {
	pacer := vegeta.ConstantPacer(rate)
	out := make([]sendResult, len(sends))
	var wg sync.WaitGroup
	began := time.Now()
	for i := range sends {
		wait, stop := pacer.Pace(time.Since(began), uint64(i))
		if stop {
			break
		}
		for wait > 0 {
			time.Sleep(wait) // pacing arrivals, not synchronisation
			wait, _ = pacer.Pace(time.Since(began), uint64(i))
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			out[i] = f.run(ctx, sends[i].OrderID, path, sends[i].Body, rng)
		}(i)
	}
	wg.Wait()
	return out
}
