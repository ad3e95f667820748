package orders

// A stand-in supplier for these tests until supplier/sandbox lands on
// main. It keeps real state (orders by reference), counts creates, and
// reads the same triggers in ShipTo.Address2 as the sandbox:
// sandbox:drop-after-create, sandbox:fail-before-create,
// sandbox:delay=<duration>, plus sandbox:no-stock.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
)

type standIn struct {
	disableLookup bool

	creates, lookups, trackings, rates atomic.Int64
	started                            chan string // receives the reference when a delayed create has begun

	mu       sync.Mutex
	byRef    map[string]supplier.Placed
	all      map[string]int // reference → orders created
	statuses map[string]supplier.Status
	seq      int
}

func newStandIn(disableLookup bool) *standIn {
	return &standIn{disableLookup: disableLookup, started: make(chan string, 16), byRef: map[string]supplier.Placed{},
		all: map[string]int{}, statuses: map[string]supplier.Status{}}
}

func (s *standIn) Name() string { return "standin" }

func (s *standIn) Capabilities() supplier.Capabilities {
	return supplier.Capabilities{ClientReference: true, LookupByReference: !s.disableLookup}
}

func (s *standIn) Rates(ctx context.Context, req supplier.RateRequest) ([]supplier.Rate, error) {
	s.rates.Add(1)
	return []supplier.Rate{{ID: "r1", Carrier: "GLS", Price: supplier.Money{Minor: 495, Currency: "EUR"}}}, nil
}

func (s *standIn) CreateOrder(ctx context.Context, o supplier.Order) (supplier.Placed, error) {
	trig := o.ShipTo.Address2
	if strings.Contains(trig, "sandbox:fail-before-create") {
		return supplier.Placed{}, problem.New(problem.Unavailable, problem.CodeSupplierUnavailable, "stand-in: refused before creating")
	}
	if strings.Contains(trig, "sandbox:no-stock") {
		return supplier.Placed{}, problem.New(problem.Rejected, problem.CodeNoStock, "stand-in: no stock")
	}
	s.creates.Add(1)
	s.mu.Lock()
	s.seq++
	p := supplier.Placed{SupplierOrderID: fmt.Sprintf("SO-%s-%d", o.Reference, s.seq), Status: supplier.StatusPending}
	s.byRef[o.Reference] = p
	s.all[o.Reference]++
	s.mu.Unlock()
	if _, d, ok := strings.Cut(trig, "sandbox:delay="); ok {
		dur, _ := time.ParseDuration(strings.Fields(d)[0])
		s.started <- o.Reference
		select {
		case <-time.After(dur): // simulated supplier latency, not synchronisation
		case <-ctx.Done():
			return supplier.Placed{}, supplier.OutcomeUnknown(problem.Wrap(ctx.Err(), problem.Unavailable, problem.CodeSupplierUnavailable, "stand-in: no answer"))
		}
	}
	if strings.Contains(trig, "sandbox:drop-after-create") {
		return supplier.Placed{}, supplier.OutcomeUnknown(problem.New(problem.Unavailable, problem.CodeSupplierUnavailable, "stand-in: connection dropped"))
	}
	return p, nil
}

func (s *standIn) FindOrder(ctx context.Context, ref string) (supplier.Placed, bool, error) {
	if s.disableLookup {
		return supplier.Placed{}, false, problem.New(problem.Internal, problem.CodeLookupUnsupported, "stand-in: no lookup")
	}
	if err := ctx.Err(); err != nil {
		return supplier.Placed{}, false, problem.Wrap(err, problem.Unavailable, problem.CodeSupplierUnavailable, "stand-in: lookup cancelled")
	}
	s.lookups.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.byRef[ref]
	return p, ok, nil
}

func (s *standIn) Tracking(ctx context.Context, id string) (supplier.Tracking, error) {
	s.trackings.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.statuses[id]
	if !ok {
		return supplier.Tracking{}, problem.New(problem.NotFound, problem.CodeOrderNotFound, "stand-in: unknown order")
	}
	t := supplier.Tracking{SupplierOrderID: id, Status: st}
	if st == supplier.StatusShipped {
		t.Parcels = []supplier.Parcel{{Carrier: "GLS", Number: "TRK-" + id}}
	}
	return t, nil
}

func (s *standIn) setStatus(id string, st supplier.Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses[id] = st
}

// duplicates is the number of references with more than one order.
func (s *standIn) duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.all {
		if c > 1 {
			n++
		}
	}
	return n
}

func (s *standIn) placedFor(ref string) (supplier.Placed, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.byRef[ref]
	return p, ok
}
