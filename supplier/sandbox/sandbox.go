package sandbox

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
)

// Config tunes the sandbox. The zero value is ready to use.
type Config struct {
	// ProcessingAfter / ShipAfter: time after creation at which an order
	// moves pending → processing → shipped. Zero means the default (1m and
	// 3m); delivery follows at twice the ship time.
	ProcessingAfter time.Duration
	ShipAfter       time.Duration
	// DisableLookup makes FindOrder answer problem.CodeLookupUnsupported
	// and Capabilities().LookupByReference false, so callers can test the
	// "supplier cannot be asked" path (like BTS Wholesaler).
	DisableLookup bool
	// Now is the clock; default time.Now. Tests and the Flow simulator pass
	// a virtual clock. Only order progress follows it: the delay trigger
	// waits in real time because it simulates a slow HTTP answer.
	Now func() time.Time
}

// Stats counts calls and created orders, so tests can prove that an order
// was created exactly once.
type Stats struct {
	Creates       int // orders actually created
	CreateCalls   int
	FindCalls     int
	TrackingCalls int
	RatesCalls    int
}

// Supplier is the sandbox. It implements supplier.Supplier and is safe for
// concurrent use.
type Supplier struct {
	cfg      Config
	products map[string]Product // by gtinKey
	carriers []carrier

	mu     sync.Mutex
	seq    int64
	orders map[string]*order // by order number
	byRef  map[string]string // reference → first order number
	// dropped / failed remember which references already had their one
	// drop-after-create / fail-before-create, so the retry goes through.
	dropped map[string]bool
	failed  map[string]bool
	stats   Stats
	// stockSet overrides catalogue stock (stock.go), by gtinKey; -1 removes
	// the product from the stock answers.
	stockSet map[string]int
}

// order is a created sandbox order. Its status is never stored: it is
// computed from the clock on every read, so a virtual clock moves it.
type order struct {
	number    string
	reference string
	created   time.Time
	carrier   carrier
	testMode  bool
	trig      triggers
	total     supplier.Money
}

var _ supplier.Supplier = (*Supplier)(nil)

// New returns a sandbox supplier with an empty order book.
func New(cfg Config) *Supplier {
	if cfg.ProcessingAfter <= 0 {
		cfg.ProcessingAfter = time.Minute
	}
	if cfg.ShipAfter <= 0 {
		cfg.ShipAfter = 3 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Supplier{
		cfg:      cfg,
		products: indexCatalogue(Catalogue()),
		carriers: carrierTable(),
		orders:   map[string]*order{},
		byRef:    map[string]string{},
		dropped:  map[string]bool{},
		failed:   map[string]bool{},
	}
}

// Name implements supplier.Supplier.
func (s *Supplier) Name() string { return "sandbox" }

// Capabilities implements supplier.Supplier.
func (s *Supplier) Capabilities() supplier.Capabilities {
	return supplier.Capabilities{
		ClientReference:   true,
		LookupByReference: !s.cfg.DisableLookup,
		ProductLookup:     true,
		TestMode:          true,
		TestModeHint:      "test-mode orders stay pending forever unless address line 2 carries a sandbox timeline trigger (sandbox:ship-after=…, sandbox:cancel, sandbox:never-ship, sandbox:split)",
	}
}

// Stats returns a snapshot of the counters.
func (s *Supplier) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *Supplier) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

func ctxProblem(err error) *problem.Error {
	return problem.Wrap(err, problem.Unavailable, problem.CodeDeadline, "the request was cancelled or ran out of time before the sandbox answered")
}

// Rates implements supplier.Supplier. It rejects unknown EANs (every one
// named) but not short stock: stock is checked when the order is placed, so
// the Flow chain can reach the order step's no_stock branch.
func (s *Supplier) Rates(ctx context.Context, req supplier.RateRequest) ([]supplier.Rate, error) {
	s.count(func(st *Stats) { st.RatesCalls++ })
	if err := ctx.Err(); err != nil {
		return nil, ctxProblem(err)
	}
	country, ok := normCountry(req.CountryCode)
	if !ok {
		return nil, badCountry()
	}
	items, err := s.match(req.Lines)
	if err != nil {
		return nil, err
	}
	return quote(s.carriers, country, normPostcode(req.PostalCode), weight(items)), nil
}

// CreateOrder implements supplier.Supplier. See the package comment for the
// triggers it obeys and the order in which it checks things.
func (s *Supplier) CreateOrder(ctx context.Context, o supplier.Order) (supplier.Placed, error) {
	s.count(func(st *Stats) { st.CreateCalls++ })
	if err := ctx.Err(); err != nil {
		return supplier.Placed{}, ctxProblem(err)
	}
	trig, err := parseTriggers(o.ShipTo.Address2)
	if err != nil {
		return supplier.Placed{}, &problem.Error{
			Kind: problem.Rejected, Code: problem.CodeInvalidAddress,
			Detail: "address line 2 carries a sandbox trigger the sandbox cannot follow",
			Fields: []problem.Field{{Pointer: "/shipping_address/address2", Message: err.Error()}},
		}
	}
	// A transport failure happens before the supplier sees the body, so it
	// comes before every business check.
	if trig.failBefore && s.firstTime(s.failed, o.Reference) {
		return supplier.Placed{}, problem.New(problem.Unavailable, problem.CodeSupplierUnavailable,
			"sandbox: simulated outage before the order reached the supplier (sandbox:fail-before-create); nothing was created and a retry will succeed").
			WithRetryAfter(time.Second)
	}
	country, ok := normCountry(o.ShipTo.CountryCode)
	if !ok {
		return supplier.Placed{}, badCountry()
	}
	postcode := normPostcode(o.ShipTo.PostalCode)
	items, err := s.match(o.Lines)
	if err != nil {
		return supplier.Placed{}, err
	}
	grams := weight(items)
	c, t, err := checkRate(s.carriers, o.ShippingRateID, country, postcode, grams)
	if err != nil {
		return supplier.Placed{}, err
	}
	if err := checkStock(items); err != nil {
		return supplier.Placed{}, err
	}
	if trig.reject {
		return supplier.Placed{}, problem.New(problem.Rejected, problem.CodeSupplierRejected,
			"sandbox: the supplier refused the order (sandbox:reject)")
	}
	if err := ctx.Err(); err != nil {
		return supplier.Placed{}, ctxProblem(err)
	}

	total := t.price(grams)
	for _, it := range items {
		total += it.product.Price.Minor * int64(it.quantity)
	}
	now := s.cfg.Now()
	s.mu.Lock()
	s.seq++
	ord := &order{
		// 12 digits like BTS order numbers; sequential so a run is
		// reproducible.
		number:    fmt.Sprintf("7%011d", s.seq),
		reference: o.Reference,
		created:   now,
		carrier:   c,
		testMode:  o.TestMode,
		trig:      trig,
		total:     eur(total),
	}
	s.orders[ord.number] = ord
	if _, seen := s.byRef[o.Reference]; !seen && o.Reference != "" {
		s.byRef[o.Reference] = ord.number
	}
	s.stats.Creates++
	drop := trig.dropAfterCreate && !s.dropped[o.Reference]
	if drop {
		s.dropped[o.Reference] = true
	}
	s.mu.Unlock()

	// The order exists from here on: any failure below is "outcome
	// unknown", because the caller cannot tell that it was created.
	if trig.delay > 0 {
		timer := time.NewTimer(trig.delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return supplier.Placed{}, supplier.OutcomeUnknown(ctxProblem(ctx.Err()))
		case <-timer.C:
		}
	}
	if drop {
		return supplier.Placed{}, supplier.OutcomeUnknown(problem.New(problem.Unavailable, problem.CodeSupplierUnavailable,
			"sandbox: the connection dropped after the supplier accepted the order (sandbox:drop-after-create)"))
	}
	return s.placed(ord, s.cfg.Now()), nil
}

// firstTime marks ref in seen and reports whether it was not there yet.
func (s *Supplier) firstTime(seen map[string]bool, ref string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seen[ref] {
		return false
	}
	seen[ref] = true
	return true
}

// FindOrder implements supplier.Supplier. With several orders for one
// reference (a duplicate the caller should have prevented) it answers the
// first.
func (s *Supplier) FindOrder(ctx context.Context, reference string) (supplier.Placed, bool, error) {
	s.count(func(st *Stats) { st.FindCalls++ })
	if err := ctx.Err(); err != nil {
		return supplier.Placed{}, false, ctxProblem(err)
	}
	if s.cfg.DisableLookup {
		return supplier.Placed{}, false, problem.New(problem.Internal, problem.CodeLookupUnsupported,
			"the sandbox was started with lookup disabled, so orders cannot be found by reference")
	}
	s.mu.Lock()
	ord, ok := s.orders[s.byRef[reference]]
	s.mu.Unlock()
	if !ok {
		return supplier.Placed{}, false, nil
	}
	return s.placed(ord, s.cfg.Now()), true, nil
}

// Tracking implements supplier.Supplier.
func (s *Supplier) Tracking(ctx context.Context, supplierOrderID string) (supplier.Tracking, error) {
	s.count(func(st *Stats) { st.TrackingCalls++ })
	if err := ctx.Err(); err != nil {
		return supplier.Tracking{}, ctxProblem(err)
	}
	s.mu.Lock()
	ord, ok := s.orders[strings.TrimSpace(supplierOrderID)]
	s.mu.Unlock()
	if !ok {
		return supplier.Tracking{}, problem.New(problem.NotFound, problem.CodeOrderNotFound, "the sandbox has no order with this number")
	}
	return s.track(ord, s.cfg.Now()), nil
}

func (s *Supplier) placed(ord *order, now time.Time) supplier.Placed {
	t := s.track(ord, now)
	total := ord.total
	return supplier.Placed{SupplierOrderID: ord.number, Status: t.Status, RawStatus: t.RawStatus, Total: &total}
}

// track computes an order's status at now. Orders never store a status, so
// the answer depends only on creation time, triggers and the clock.
func (s *Supplier) track(ord *order, now time.Time) supplier.Tracking {
	tr := supplier.Tracking{SupplierOrderID: ord.number}
	at := func(st supplier.Status, raw string, since time.Time) supplier.Tracking {
		tr.Status, tr.RawStatus, tr.UpdatedAt = st, raw, since
		return tr
	}
	if ord.testMode && !ord.trig.timeline() {
		return at(supplier.StatusPending, "Pending payment (test mode)", ord.created)
	}
	shipAfter := s.cfg.ShipAfter
	if ord.trig.hasShipAfter {
		shipAfter = ord.trig.shipAfter
	}
	shipAt := ord.created.Add(shipAfter)
	deliverAt := ord.created.Add(2 * shipAfter)
	processAt := ord.created.Add(s.cfg.ProcessingAfter)
	switch {
	case !ord.trig.neverShip && !now.Before(shipAt) && ord.trig.cancel:
		return at(supplier.StatusCancelled, "Cancelled by supplier", shipAt)
	case !ord.trig.neverShip && !now.Before(deliverAt):
		tr.Parcels = ord.parcels()
		return at(supplier.StatusDelivered, "Delivered", deliverAt)
	case !ord.trig.neverShip && !now.Before(shipAt):
		tr.Parcels = ord.parcels()
		return at(supplier.StatusShipped, "Shipped", shipAt)
	case !now.Before(processAt):
		return at(supplier.StatusProcessing, "Processing", processAt)
	default:
		return at(supplier.StatusPending, "Pending", ord.created)
	}
}

func (ord *order) parcels() []supplier.Parcel {
	n := 1
	if ord.trig.split {
		n = 2
	}
	ps := make([]supplier.Parcel, n)
	for i := range ps {
		num := ord.carrier.trackingNumber(ord.number, i+1)
		ps[i] = supplier.Parcel{Carrier: ord.carrier.name, Number: num, URL: ord.carrier.trackingURL(num)}
	}
	return ps
}

// item is a request line matched to the catalogue; index is its position
// in the request, used in JSON pointers.
type item struct {
	index    int
	product  Product
	quantity int
}

// match resolves every line or names every line it cannot resolve; it never
// returns a partial cart.
func (s *Supplier) match(lines []supplier.Line) ([]item, error) {
	if len(lines) == 0 {
		return nil, problem.InvalidFields(problem.CodeValidation, "the order has no line items",
			problem.Field{Pointer: "/line_items", Message: "at least one line item is required"})
	}
	var bad []problem.Field
	for i, l := range lines {
		if l.Quantity < 1 {
			bad = append(bad, problem.Field{Pointer: fmt.Sprintf("/line_items/%d/quantity", i), Message: "quantity must be at least 1"})
		}
	}
	if len(bad) > 0 {
		return nil, problem.InvalidFields(problem.CodeValidation, "some line items have an invalid quantity", bad...)
	}
	items := make([]item, 0, len(lines))
	for i, l := range lines {
		p, ok := s.products[gtinKey(l.EAN)]
		if !ok {
			bad = append(bad, problem.Field{
				Pointer: fmt.Sprintf("/line_items/%d/barcode", i),
				Message: fmt.Sprintf("barcode %q matches no product in the sandbox catalogue", l.EAN),
			})
			continue
		}
		items = append(items, item{index: i, product: p, quantity: l.Quantity})
	}
	if len(bad) > 0 {
		return nil, &problem.Error{
			Kind: problem.Rejected, Code: problem.CodeUnmatchedEAN,
			Detail: fmt.Sprintf("%d of %d line items match no sandbox product", len(bad), len(lines)),
			Fields: bad,
		}
	}
	return items, nil
}

func weight(items []item) int {
	g := 0
	for _, it := range items {
		g += it.product.WeightGrams * it.quantity
	}
	return g
}

// checkStock names every line asking for more than is in stock. Lines for
// the same product are added up, as a warehouse would.
func checkStock(items []item) error {
	want := map[string]int{}
	for _, it := range items {
		want[it.product.EAN] += it.quantity
	}
	var short []problem.Field
	for _, it := range items {
		if w := want[it.product.EAN]; w > it.product.Stock {
			short = append(short, problem.Field{
				Pointer: fmt.Sprintf("/line_items/%d/quantity", it.index),
				Message: fmt.Sprintf("%d of %s ordered, %d in stock", w, it.product.EAN, it.product.Stock),
			})
		}
	}
	if len(short) > 0 {
		return &problem.Error{
			Kind: problem.Rejected, Code: problem.CodeNoStock,
			Detail: fmt.Sprintf("%d line items ask for more than the sandbox has in stock", len(short)),
			Fields: short,
		}
	}
	return nil
}

// checkRate accepts a rate id only for the destination it was quoted for
// and only if the carrier still takes this cart there.
func checkRate(carriers []carrier, id, country, postcode string, grams int) (carrier, tariff, error) {
	fail := func(msg string) (carrier, tariff, error) {
		return carrier{}, tariff{}, &problem.Error{
			Kind: problem.Rejected, Code: problem.CodeInvalidShippingRate,
			Detail: "the shipping rate id is not valid for this order; quote rates again for its address",
			Fields: []problem.Field{{Pointer: "/shipping_cost_id", Message: msg}},
		}
	}
	id = strings.ToLower(strings.TrimSpace(id))
	if id == "" {
		return fail("a shipping rate id from a rates quote is required")
	}
	code, _, _ := strings.Cut(id, "-")
	c, ok := carrierByCode(carriers, code)
	if !ok {
		return fail("not a sandbox rate id")
	}
	if rateID(c.code, country, postcode) != id {
		return fail("the rate was quoted for another destination (country and postal code must match the quote)")
	}
	t, ok := c.tariffs[zoneOf(country, postcode)]
	if !ok || zoneOf(country, postcode) == zoneNone || grams > c.maxGrams {
		return fail(c.name + " does not take this cart to this destination")
	}
	return c, t, nil
}

func badCountry() *problem.Error {
	return &problem.Error{
		Kind: problem.Rejected, Code: problem.CodeInvalidAddress,
		Detail: "the destination country is not an ISO 3166-1 alpha-2 code",
		Fields: []problem.Field{{Pointer: "/shipping_address/country_code", Message: "want two letters, e.g. ES"}},
	}
}
