package stock_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/flowbridge/flowbridge/shopify"
	"github.com/flowbridge/flowbridge/stock"
	"github.com/flowbridge/flowbridge/stock/stocktest"
	"github.com/flowbridge/flowbridge/supplier/bts"
	"github.com/flowbridge/flowbridge/supplier/gtin"
)

// catalogue builds n variants: 96 % sold by the supplier, 2 % with a
// barcode it does not know, 2 % without a barcode. Shopify starts at 0.
func catalogue(n int) ([]stocktest.Item, map[string]int) {
	items := make([]stocktest.Item, 0, n)
	stock := map[string]int{}
	for i := range n {
		body := fmt.Sprintf("841%09d", i)
		ean := body + string(gtin.CheckDigit(body))
		it := stocktest.Item{Title: "Variant " + ean, SKU: fmt.Sprintf("SKU-%05d", i), Price: "19.90", Tracked: true,
			Levels: map[string]int{stocktest.LevelLocation: 0}}
		switch i % 50 {
		case 0:
		case 1:
			it.Barcode = stocktest.Barcode(ean)
		default:
			it.Barcode = stocktest.Barcode(ean)
			stock[ean] = 1 + (i*7919)%40
		}
		items = append(items, it)
	}
	return items, stock
}

// BenchmarkSync10k syncs a 10,000-variant catalogue from BTS
// (getProductStock, 100 EANs a call, 5 calls/s) into a shop whose Admin API
// charges Shopify's calculated query cost against a leaky bucket. Time is
// virtual: the reported virtual-s is how long the run would take against
// the real limits; ns/op is flowbridge's own CPU and loopback work.
func BenchmarkSync10k(b *testing.B) {
	for _, bc := range []struct {
		name   string
		bucket stocktest.Bucket
		bulk   bool
		second bool // measure the no-op second run
	}{
		{"paged/1000pt-50ps/first", stocktest.Standard, false, false},
		{"paged/1000pt-50ps/noop", stocktest.Standard, false, true},
		{"paged/2000pt-100ps/first", stocktest.Bucket{Maximum: 2000, RestoreRate: 100}, false, false},
		{"bulk/1000pt-50ps/first", stocktest.Standard, true, false},
		{"bulk/1000pt-50ps/noop", stocktest.Standard, true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				items, levels := catalogue(10000)
				clock := stocktest.NewClock()
				shop := stocktest.New(b)
				shop.Add(items...)
				gate := stocktest.NewGate(b, shop, bc.bucket, clock)
				sup := stocktest.NewBTS(b, clock, 5, levels)
				client, err := bts.New(bts.Config{BaseURL: sup.URL + "/v1/api", Token: sup.Token,
					HTTPClient: &http.Client{Transport: &stocktest.Pacer{Clock: clock, Rate: 5}}})
				if err != nil {
					b.Fatal(err)
				}
				admin := &stock.AdminShop{Client: &shopify.Client{Shop: "bench.myshopify.com", Token: shop.Token, BaseURL: gate.URL,
					Sleep: clock.Sleep, MaxAttempts: 20}, BulkThreshold: -1, PollEvery: 1e9}
				if bc.bulk {
					admin.BulkThreshold = 1
				}
				s := &stock.Syncer{Shop: admin, Source: client, Supplier: "bts", History: stock.NewMemoryHistory(5), Now: clock.Now}
				ctx := context.Background()
				if bc.second {
					if _, _, err := s.Run(ctx, stock.Options{AllowLarge: true}); err != nil {
						b.Fatal(err)
					}
				}
				spent0, req0, thr0 := gate.Stats()
				calls0, _, _ := sup.Calls()
				start := clock.Now()
				b.StartTimer()
				run, _, err := s.Run(ctx, stock.Options{AllowLarge: true})
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				want := 9600
				if bc.second {
					want = 0
				}
				if run.Applied != want || run.Failed != 0 || run.UnmatchedCount != 200 {
					b.Fatalf("run: applied %d failed %d unmatched %d", run.Applied, run.Failed, run.UnmatchedCount)
				}
				spent, req, thr := gate.Stats()
				calls, tooFast, maxBatch := sup.Calls()
				if tooFast > 0 || maxBatch > 100 {
					b.Fatalf("BTS: %d calls too fast, batch %d", tooFast, maxBatch)
				}
				b.ReportMetric(clock.Now().Sub(start).Seconds(), "virtual-s/op")
				b.ReportMetric(spent-spent0, "points/op")
				b.ReportMetric(float64(req-req0), "admin-calls/op")
				b.ReportMetric(float64(thr-thr0), "throttled/op")
				b.ReportMetric(float64(calls-calls0), "bts-calls/op")
				b.StartTimer()
			}
		})
	}
}
