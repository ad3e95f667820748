package e2e

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/apptest"
	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

// TestExactlyOnceOverHTTP is issue 3's acceptance test at the HTTP level:
// flowbridge instances sharing one Redis (and one supplier) receive 100
// concurrent identical POST /orders per order, as Flow's re-sends and a
// merchant's re-runs would deliver them. Exactly one supplier order per
// Shopify order may exist; every success for an order carries its number;
// every other answer is 429 with Retry-After, never 409 (final for Flow).
// The in-process store serves one instance only, so it runs with one.
func TestExactlyOnceOverHTTP(t *testing.T) {
	const (
		orderCount = 20
		perOrder   = 100
		// Orders in flight at once: bounds the goroutines and sockets
		// (the race detector allows 8128 goroutines).
		batch = 5
	)
	for _, tc := range []struct {
		name      string
		instances int
		redis     bool
	}{
		{"redis/3 instances", 3, true},
		{"inprocess/1 instance", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := ""
			if tc.redis {
				url = redistest.Start(t).URL()
			}
			// Lookup off: the store is the only guard (a supplier like
			// BTS). With lookup a lost race could hide behind the
			// supplier's reference check; here it cannot. (orders'
			// TestPlaceConcurrentInstances covers lookup on.)
			sb := sandbox.New(sandbox.Config{DisableLookup: true})
			apps := make([]*apptest.App, tc.instances)
			for i := range apps {
				apps[i] = apptest.Start(t, apptest.Options{RedisURL: url, Supplier: sb, StorePrefix: "fb:e2e:",
					Env: map[string]string{"FLOWBRIDGE_SHOP": shop}})
			}
			rate := apps[0].Do(http.MethodPost, "/rates", ratesBody(""))
			if rate.Status != http.StatusOK {
				t.Fatalf("rates: %d %s", rate.Status, rate.Body)
			}
			rateID := rate.JSON()["shipping_cost_id"].(string)

			type answer struct {
				status     int
				code       string
				outcome    string
				number     string
				retryAfter string
				err        error
			}
			answers := make([][]answer, orderCount)
			began := time.Now()
			for from := 0; from < orderCount; from += batch {
				start := make(chan struct{})
				var wg sync.WaitGroup
				for o := from; o < min(from+batch, orderCount); o++ {
					answers[o] = make([]answer, perOrder)
					// The supplier holds each create briefly, so many
					// duplicates meet a live lease.
					body := orderBody(fmt.Sprint(7000+o), rateID, "sandbox:delay=50ms")
					for i := range perOrder {
						app := apps[i%len(apps)]
						wg.Add(1)
						go func() {
							defer wg.Done()
							<-start
							r, err := app.Send(http.MethodPost, "/orders", body, map[string]string{"Authorization": "Bearer " + app.APIKey})
							if err != nil {
								answers[o][i] = answer{err: err}
								return
							}
							m := r.JSON()
							num, _ := m["supplier_order_id"].(string)
							out, _ := m["outcome"].(string)
							answers[o][i] = answer{status: r.Status, code: r.Code(), outcome: out, number: num, retryAfter: r.Header.Get("Retry-After")}
						}()
					}
				}
				close(start)
				wg.Wait()
			}
			elapsed := time.Since(began)

			if got := sb.Stats().Creates; got != orderCount {
				t.Errorf("supplier creates = %d, want exactly %d", got, orderCount)
			}
			busy := 0
			for o, as := range answers {
				number, placed := "", 0
				for i, a := range as {
					switch {
					case a.err != nil:
						t.Errorf("order %d call %d: %v", o, i, a.err)
					case a.status == http.StatusOK:
						if a.number == "" || (number != "" && a.number != number) {
							t.Errorf("order %d call %d: supplier order %q, others %q", o, i, a.number, number)
						}
						number = a.number
						if a.outcome == "placed" {
							placed++
						} else if a.outcome != "replayed" {
							t.Errorf("order %d call %d: outcome %q", o, i, a.outcome)
						}
					case a.status == http.StatusTooManyRequests:
						busy++
						if a.code != "in_flight" || a.retryAfter == "" {
							t.Errorf("order %d call %d: 429 %q Retry-After=%q", o, i, a.code, a.retryAfter)
						}
					default:
						t.Errorf("order %d call %d: status %d %q (want 200 or 429)", o, i, a.status, a.code)
					}
				}
				if number == "" || placed != 1 {
					t.Errorf("order %d: %d answers said placed, number %q; want exactly one placement", o, placed, number)
				}
			}
			t.Logf("%d orders × %d calls on %d instance(s): %d answered 429 in_flight, %s", orderCount, perOrder, len(apps), busy, elapsed.Round(time.Millisecond))
		})
	}
}
