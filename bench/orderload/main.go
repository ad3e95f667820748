// Command orderload drives POST /orders of a running flowbridge and prints
// latency percentiles: first-time placements (a new Shopify order id per
// request) or replays (the same order again and again). Loopback use
// against the sandbox supplier:
//
//	FLOWBRIDGE_SUPPLIER=sandbox FLOWBRIDGE_API_KEYS=k REDIS_URL=redis://127.0.0.1:6379 flowbridge serve &
//	go run ./bench/orderload -url http://127.0.0.1:8080 -key k -mode first -n 5000 -c 1
//	go run ./bench/orderload -url http://127.0.0.1:8080 -key k -mode replay -n 5000 -c 1
//
// It quotes once through POST /rates to get a valid shipping_cost_id.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "orderload:", err)
		os.Exit(1)
	}
}

type config struct {
	url, key, mode string
	n, c           int
	startID        int64
}

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("orderload", flag.ContinueOnError)
	var cfg config
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:8080", "flowbridge base URL")
	fs.StringVar(&cfg.key, "key", getenv("FLOWBRIDGE_API_KEY"), "Flow API key (env FLOWBRIDGE_API_KEY)")
	fs.StringVar(&cfg.mode, "mode", "first", "first (a new order per request) or replay (one order again and again)")
	fs.IntVar(&cfg.n, "n", 2000, "requests")
	fs.IntVar(&cfg.c, "c", 1, "concurrency")
	fs.Int64Var(&cfg.startID, "start-id", time.Now().UnixMilli(), "first Shopify order id (first mode)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.mode != "first" && cfg.mode != "replay" {
		return fmt.Errorf("-mode must be first or replay")
	}
	if cfg.n < 1 || cfg.c < 1 {
		return fmt.Errorf("-n and -c must be positive")
	}
	hc := &http.Client{Timeout: 35 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.c}}

	var rate struct {
		ShippingCostID string `json:"shipping_cost_id"`
	}
	rq := map[string]any{"shipping_address": map[string]string{"country_code": "ES", "zip": "46005"},
		"line_items": []map[string]any{{"barcode": "8400000000017", "sku": "SBX-MUG-350", "quantity": 1}}}
	if code, err := post(ctx, hc, cfg, "/rates", rq, &rate); err != nil || code != 200 || rate.ShippingCostID == "" {
		return fmt.Errorf("quote: status %d: %v", code, err)
	}

	var next atomic.Int64
	lat := make([]time.Duration, cfg.n)
	codes := make([]int, cfg.n)
	var wg sync.WaitGroup
	t0 := time.Now()
	for range cfg.c {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(cfg.n) || ctx.Err() != nil {
					return
				}
				id := cfg.startID
				if cfg.mode == "first" {
					id += i
				}
				body := orderBody(strconv.FormatInt(id, 10), rate.ShippingCostID)
				s := time.Now()
				code, _ := post(ctx, hc, cfg, "/orders", body, nil)
				lat[i], codes[i] = time.Since(s), code
			}
		})
	}
	wg.Wait()
	wall := time.Since(t0)
	if err := ctx.Err(); err != nil {
		return err
	}
	byCode := map[int]int{}
	for _, c := range codes {
		byCode[c]++
	}
	slices.Sort(lat)
	pct := func(p int) time.Duration { return lat[min(len(lat)-1, len(lat)*p/100)] }
	fmt.Fprintf(out, "mode=%s n=%d c=%d wall=%v rps=%.0f\n", cfg.mode, cfg.n, cfg.c, wall.Round(time.Millisecond), float64(cfg.n)/wall.Seconds())
	fmt.Fprintf(out, "p50=%v p90=%v p99=%v max=%v\n", pct(50), pct(90), pct(99), lat[len(lat)-1])
	keys := make([]int, 0, len(byCode))
	for k := range byCode {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(out, "status %d: %d\n", k, byCode[k])
	}
	if byCode[200] != cfg.n {
		return errors.New("not every request answered 200")
	}
	return nil
}

func orderBody(orderID, rate string) map[string]any {
	return map[string]any{
		"order_id": "gid://shopify/Order/" + orderID, "order_name": "#" + orderID, "shop": "bench.myshopify.com",
		"email": "bench@example.com", "phone": "+34600000000",
		"shipping_address": map[string]string{"first_name": "Bench", "last_name": "Load", "address1": "Calle 1", "address2": "",
			"city": "Valencia", "zip": "46005", "province_code": "", "country_code": "ES", "phone": "+34600000000"},
		"line_items": []map[string]any{{"barcode": "8400000000017", "sku": "SBX-MUG-350", "quantity": 1, "price": "4.99"}},
		"currency":   "EUR", "shipping_cost_id": rate, "payment_gateway_names": []string{"manual"}, "supplier_order_id": "",
	}
}

func post(ctx context.Context, hc *http.Client, cfg config, path string, body, out any) (int, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.url+path, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+cfg.key)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(rb, out)
	}
	return resp.StatusCode, nil
}
