// Package bench measures what the exactly-once layer costs on top of the
// supplier call, with the in-process sandbox supplier so that the supplier
// itself costs microseconds and the overhead shows.
//
//	go test -run '^$' -bench . -benchtime 5000x ./bench
//
// Each benchmark reports the median of single calls (p50-µs) as well as
// the mean (ns/op), at concurrency 1.
package bench

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/store"
	"github.com/flowbridge/flowbridge/store/memstore"
	"github.com/flowbridge/flowbridge/store/redisstore"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

func order(rate string) supplier.Order {
	return supplier.Order{Name: "#1001",
		ShipTo: supplier.Address{FirstName: "A", LastName: "B", Address1: "C 1", City: "Valencia", PostalCode: "46005", CountryCode: "ES"},
		Lines:  []supplier.Line{{EAN: "8400000000017", Quantity: 1}}, ShippingRateID: rate}
}

func sandboxWithRate(b *testing.B) (*sandbox.Supplier, string) {
	sb := sandbox.New(sandbox.Config{})
	r, err := sb.Rates(context.Background(), supplier.RateRequest{CountryCode: "ES", PostalCode: "46005", Lines: []supplier.Line{{EAN: "8400000000017", Quantity: 1}}})
	if err != nil {
		b.Fatal(err)
	}
	return sb, r[0].ID
}

// timed runs f once per iteration and reports the median in µs.
func timed(b *testing.B, f func(i int)) {
	d := make([]time.Duration, 0, b.N)
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		f(i)
		d = append(d, time.Since(t0))
	}
	slices.Sort(d)
	if len(d) > 0 {
		b.ReportMetric(float64(d[len(d)/2].Nanoseconds())/1e3, "p50-µs")
		b.ReportMetric(float64(d[len(d)*99/100].Nanoseconds())/1e3, "p99-µs")
	}
}

// BenchmarkSupplierOnly is the baseline: the sandbox's CreateOrder alone.
func BenchmarkSupplierOnly(b *testing.B) {
	sb, rate := sandboxWithRate(b)
	ctx := context.Background()
	o := order(rate)
	timed(b, func(i int) {
		o.Reference = strconv.Itoa(i + 1)
		if _, err := sb.CreateOrder(ctx, o); err != nil {
			b.Fatal(err)
		}
	})
}

func stores(b *testing.B) map[string]func() store.Store {
	return map[string]func() store.Store{
		"memory": func() store.Store { return memstore.New(nil) },
		"redis": func() store.Store {
			return redisstore.New(redistest.Client(b), redisstore.Options{Prefix: redistest.Prefix(b)})
		},
	}
}

// BenchmarkPlace: first-time placements (claim + create + complete; with
// "lookup" also the reference lookup before the create) and replays
// (one claim that finds the placed record).
func BenchmarkPlace(b *testing.B) {
	for _, name := range []string{"memory", "redis"} {
		open := stores(b)[name]
		for _, mode := range []string{"first-trusted", "first-lookup", "replay"} {
			b.Run(name+"/"+mode, func(b *testing.B) {
				sb, rate := sandboxWithRate(b)
				svc, err := orders.New(orders.Config{Supplier: sb, Store: open(), Shop: "bench.example", TrustFreshClaims: mode == "first-trusted"})
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				in := orders.PlaceInput{Order: order(rate), OrderID: "1"}
				if mode == "replay" {
					if _, err := svc.Place(ctx, in); err != nil {
						b.Fatal(err)
					}
				}
				timed(b, func(i int) {
					if mode != "replay" {
						in.OrderID = strconv.Itoa(i + 2)
					}
					res, err := svc.Place(ctx, in)
					if err != nil || res.SupplierOrderID == "" {
						b.Fatal(res, err)
					}
				})
			})
		}
	}
}
