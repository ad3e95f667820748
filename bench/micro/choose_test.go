// Package micro holds go test -bench micro-benchmarks of flowbridge's hot
// pieces. They call exported APIs only, so they measure what the service
// runs without reaching into its packages.
package micro

import (
	"strconv"
	"testing"

	"github.com/flowbridge/flowbridge/supplier"
)

func rates(n int) []supplier.Rate {
	carriers := []string{"GLS", "SEUR", "DHL", "UPS", "Correos"}
	out := make([]supplier.Rate, n)
	for i := range out {
		out[i] = supplier.Rate{ID: strconv.Itoa(100 + i), Carrier: carriers[i%len(carriers)],
			Price: supplier.Money{Minor: int64(499 + 37*i%300), Currency: "EUR"}, MinDays: 1 + i%3, MaxDays: 2 + i%4}
	}
	return out
}

// BenchmarkChoose is rate selection for /rates: a typical BTS answer has a
// handful of options; 50 is a worst case.
func BenchmarkChoose(b *testing.B) {
	for _, n := range []int{3, 10, 50} {
		rs := rates(n)
		for _, prefs := range [][]string{nil, {"SEUR", "GLS"}} {
			name := "n=" + strconv.Itoa(n) + "/prefs=" + strconv.Itoa(len(prefs))
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := supplier.Choose(rs, prefs); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestChooseFixture keeps the benchmark honest: the fixture must yield a
// choice, and a preferred carrier must win when it is offered.
func TestChooseFixture(t *testing.T) {
	c, err := supplier.Choose(rates(10), []string{"SEUR"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Rate.Carrier != "SEUR" {
		t.Fatalf("chose %+v, want a SEUR rate", c)
	}
}
