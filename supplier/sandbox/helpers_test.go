package sandbox_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

// Barcodes from the catalogue, named for what the tests need them for.
const (
	mug        = "8400000000017" // stock 250, 420 g, 4.99
	board      = "8400000000048" // stock 40, 1100 g
	skillet    = "8400000000055" // stock 2, 2600 g
	tablecloth = "8400000000062" // stock 0
	candle     = "84000019"      // EAN-8
	campCup    = "072000000014"  // UPC-A
)

// clock is a virtual clock the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func lines(eanQty ...any) []supplier.Line {
	var ls []supplier.Line
	for i := 0; i < len(eanQty); i += 2 {
		ls = append(ls, supplier.Line{EAN: eanQty[i].(string), Quantity: eanQty[i+1].(int)})
	}
	return ls
}

// rateFor quotes the destination and returns the id offered by carrier.
func rateFor(t *testing.T, s *sandbox.Supplier, country, postcode, carrier string, ls []supplier.Line) string {
	t.Helper()
	rates, err := s.Rates(context.Background(), supplier.RateRequest{CountryCode: country, PostalCode: postcode, Lines: ls})
	if err != nil {
		t.Fatalf("Rates(%s %s): %v", country, postcode, err)
	}
	for _, r := range rates {
		if r.Carrier == carrier {
			return r.ID
		}
	}
	t.Fatalf("Rates(%s %s) offers no %s: %+v", country, postcode, carrier, rates)
	return ""
}

// order builds a valid Spanish order for ref with a GLS rate.
func order(t *testing.T, s *sandbox.Supplier, ref, address2 string, ls ...supplier.Line) supplier.Order {
	t.Helper()
	if len(ls) == 0 {
		ls = lines(mug, 1)
	}
	return supplier.Order{
		Reference: ref,
		Name:      "#" + ref,
		ShipTo: supplier.Address{
			FirstName: "Ana", LastName: "García", Address1: "Calle Colón 1", Address2: address2,
			City: "Valencia", PostalCode: "46005", CountryCode: "ES",
		},
		Lines:          ls,
		ShippingRateID: rateFor(t, s, "ES", "46005", "GLS", lines(mug, 1)),
	}
}

// wantProblem fails unless err carries a *problem.Error of kind and code,
// and returns it.
func wantProblem(t *testing.T, err error, kind problem.Kind, code string) *problem.Error {
	t.Helper()
	var pe *problem.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is not a *problem.Error", err)
	}
	if pe.Kind != kind || pe.Code != code {
		t.Fatalf("got %s/%s (%v), want %s/%s", pe.Kind, pe.Code, err, kind, code)
	}
	return pe
}

func pointers(pe *problem.Error) []string {
	var ps []string
	for _, f := range pe.Fields {
		ps = append(ps, f.Pointer)
	}
	return ps
}
