package sandbox_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

func TestCreateOrderPlacesAndFinds(t *testing.T) {
	s := sandbox.New(sandbox.Config{})
	o := order(t, s, "1001", "Piso 3", lines(mug, 2)...)
	p, err := s.CreateOrder(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\d{12}$`).MatchString(p.SupplierOrderID) {
		t.Errorf("order number %q is not 12 digits", p.SupplierOrderID)
	}
	if p.Status != supplier.StatusPending || p.RawStatus == "" {
		t.Errorf("status %q/%q, want pending", p.Status, p.RawStatus)
	}
	// 2 mugs at 4.99 + GLS domestic for 840 g.
	if p.Total == nil || *p.Total != (supplier.Money{Minor: 2*499 + 495, Currency: "EUR"}) {
		t.Errorf("total %+v", p.Total)
	}
	got, found, err := s.FindOrder(context.Background(), "1001")
	if err != nil || !found || got.SupplierOrderID != p.SupplierOrderID {
		t.Errorf("FindOrder = %+v %v %v, want %s", got, found, err, p.SupplierOrderID)
	}
	if _, found, err := s.FindOrder(context.Background(), "9999"); found || err != nil {
		t.Errorf("FindOrder(unknown) = %v %v, want not found", found, err)
	}
	p2, err := s.CreateOrder(context.Background(), order(t, s, "1002", ""))
	if err != nil {
		t.Fatal(err)
	}
	if p2.SupplierOrderID == p.SupplierOrderID {
		t.Error("two orders share a number")
	}
	// A second sandbox numbers the same way: runs are reproducible.
	p3, err := sandbox.New(sandbox.Config{}).CreateOrder(context.Background(), o)
	if err != nil || p3.SupplierOrderID != p.SupplierOrderID {
		t.Errorf("fresh sandbox numbered %s (%v), want %s", p3.SupplierOrderID, err, p.SupplierOrderID)
	}
	if st := s.Stats(); st != (sandbox.Stats{Creates: 2, CreateCalls: 2, FindCalls: 2, RatesCalls: 2}) {
		t.Errorf("stats %+v", st)
	}
	caps := s.Capabilities()
	if s.Name() != "sandbox" || !caps.ClientReference || !caps.LookupByReference || !caps.TestMode || caps.TestModeHint == "" {
		t.Errorf("name %q capabilities %+v", s.Name(), caps)
	}
}

func TestCreateOrderRefusals(t *testing.T) {
	s := sandbox.New(sandbox.Config{})
	esGLS := rateFor(t, s, "ES", "46005", "GLS", lines(mug, 1))
	tests := []struct {
		name     string
		edit     func(o *supplier.Order)
		kind     problem.Kind
		code     string
		pointers []string
	}{
		{"rate quoted for another postcode", func(o *supplier.Order) { o.ShipTo.PostalCode = "28001" },
			problem.Rejected, problem.CodeInvalidShippingRate, []string{"/shipping_cost_id"}},
		{"rate quoted for another country", func(o *supplier.Order) { o.ShipTo.CountryCode = "PT" },
			problem.Rejected, problem.CodeInvalidShippingRate, []string{"/shipping_cost_id"}},
		{"made-up rate id", func(o *supplier.Order) { o.ShippingRateID = "17" },
			problem.Rejected, problem.CodeInvalidShippingRate, []string{"/shipping_cost_id"}},
		{"forged GLS id for the UK", func(o *supplier.Order) {
			o.ShipTo.CountryCode, o.ShipTo.PostalCode = "GB", "SW1A1AA"
			o.ShippingRateID = strings.Replace(rateFor(t, s, "GB", "SW1A1AA", "DHL", lines(mug, 1)), "dhl-", "gls-", 1)
		}, problem.Rejected, problem.CodeInvalidShippingRate, []string{"/shipping_cost_id"}},
		{"no rate id", func(o *supplier.Order) { o.ShippingRateID = "" },
			problem.Rejected, problem.CodeInvalidShippingRate, []string{"/shipping_cost_id"}},
		{"cart too heavy for the quoted carrier", func(o *supplier.Order) {
			o.ShippingRateID = rateFor(t, s, "ES", "46005", "Correos", lines(mug, 1))
			o.Lines = lines(board, 30)
		}, problem.Rejected, problem.CodeInvalidShippingRate, []string{"/shipping_cost_id"}},
		{"unmatched EANs, every one named", func(o *supplier.Order) { o.Lines = lines(mug, 1, "8400000000093", 1, candle, 1, "1234", 1) },
			problem.Rejected, problem.CodeUnmatchedEAN, []string{"/line_items/1/barcode", "/line_items/3/barcode"}},
		{"no stock, every short line named", func(o *supplier.Order) { o.Lines = lines(tablecloth, 1, mug, 1, skillet, 3) },
			problem.Rejected, problem.CodeNoStock, []string{"/line_items/0/quantity", "/line_items/2/quantity"}},
		{"stock summed over lines of one product", func(o *supplier.Order) { o.Lines = lines(skillet, 1, mug, 1, skillet, 2) },
			problem.Rejected, problem.CodeNoStock, []string{"/line_items/0/quantity", "/line_items/2/quantity"}},
		{"zero quantity", func(o *supplier.Order) { o.Lines = lines(mug, 0) },
			problem.Invalid, problem.CodeValidation, []string{"/line_items/0/quantity"}},
		{"bad country", func(o *supplier.Order) { o.ShipTo.CountryCode = "Spain" },
			problem.Rejected, problem.CodeInvalidAddress, []string{"/shipping_address/country_code"}},
		{"sandbox:reject", func(o *supplier.Order) { o.ShipTo.Address2 = "sandbox:reject" },
			problem.Rejected, problem.CodeSupplierRejected, nil},
		{"misspelt trigger", func(o *supplier.Order) { o.ShipTo.Address2 = "sandbox:cancle" },
			problem.Rejected, problem.CodeInvalidAddress, []string{"/shipping_address/address2"}},
		{"bad duration", func(o *supplier.Order) { o.ShipTo.Address2 = "sandbox:ship-after=soon" },
			problem.Rejected, problem.CodeInvalidAddress, []string{"/shipping_address/address2"}},
		{"negative duration", func(o *supplier.Order) { o.ShipTo.Address2 = "sandbox:delay=-1s" },
			problem.Rejected, problem.CodeInvalidAddress, []string{"/shipping_address/address2"}},
		{"missing duration", func(o *supplier.Order) { o.ShipTo.Address2 = "sandbox:delay" },
			problem.Rejected, problem.CodeInvalidAddress, []string{"/shipping_address/address2"}},
		{"value on a flag", func(o *supplier.Order) { o.ShipTo.Address2 = "sandbox:split=2" },
			problem.Rejected, problem.CodeInvalidAddress, []string{"/shipping_address/address2"}},
		{"contradiction", func(o *supplier.Order) { o.ShipTo.Address2 = "sandbox:cancel sandbox:never-ship" },
			problem.Rejected, problem.CodeInvalidAddress, []string{"/shipping_address/address2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := s.Stats().Creates
			o := order(t, s, "2001", "")
			o.ShippingRateID = esGLS
			tc.edit(&o)
			p, err := s.CreateOrder(context.Background(), o)
			if supplier.IsOutcomeUnknown(err) {
				t.Fatal("a refusal must not be outcome-unknown")
			}
			pe := wantProblem(t, err, tc.kind, tc.code)
			if !slices.Equal(pointers(pe), tc.pointers) {
				t.Errorf("fields %v, want %v", pointers(pe), tc.pointers)
			}
			if p.SupplierOrderID != "" || s.Stats().Creates != before {
				t.Error("a refused order was created")
			}
		})
	}
	if _, found, _ := s.FindOrder(context.Background(), "2001"); found {
		t.Error("a refused order can be found")
	}
}

func TestCreateAcceptsOtherGTINForms(t *testing.T) {
	s := sandbox.New(sandbox.Config{})
	// UPC-A as EAN-13, EAN-8 as GTIN-14, and the low-stock item at its limit.
	o := order(t, s, "3001", "", lines("0072000000014", 1, "00000084000019", 1, skillet, 2)...)
	if _, err := s.CreateOrder(context.Background(), o); err != nil {
		t.Fatal(err)
	}
}

// step is one reading of an order's tracking at an offset from creation.
type step struct {
	at      time.Duration
	status  supplier.Status
	parcels int
}

func TestTimeline(t *testing.T) {
	tests := []struct {
		name     string
		cfg      sandbox.Config
		address2 string
		testMode bool
		steps    []step
	}{
		{"defaults", sandbox.Config{}, "", false, []step{
			{0, supplier.StatusPending, 0}, {59 * time.Second, supplier.StatusPending, 0},
			{time.Minute, supplier.StatusProcessing, 0}, {3*time.Minute - 1, supplier.StatusProcessing, 0},
			{3 * time.Minute, supplier.StatusShipped, 1}, {6 * time.Minute, supplier.StatusDelivered, 1},
			{1000 * time.Hour, supplier.StatusDelivered, 1}}},
		{"configured times", sandbox.Config{ProcessingAfter: time.Hour, ShipAfter: 24 * time.Hour}, "", false, []step{
			{59 * time.Minute, supplier.StatusPending, 0}, {time.Hour, supplier.StatusProcessing, 0},
			{24 * time.Hour, supplier.StatusShipped, 1}, {48 * time.Hour, supplier.StatusDelivered, 1}}},
		{"cancel at ship time", sandbox.Config{}, "sandbox:cancel", false, []step{
			{time.Minute, supplier.StatusProcessing, 0}, {3 * time.Minute, supplier.StatusCancelled, 0},
			{100 * time.Hour, supplier.StatusCancelled, 0}}},
		{"never ship", sandbox.Config{}, "sandbox:never-ship", false, []step{
			{0, supplier.StatusPending, 0}, {time.Minute, supplier.StatusProcessing, 0},
			{10000 * time.Hour, supplier.StatusProcessing, 0}}},
		{"ship after 30h, mixed case among address words", sandbox.Config{}, "Piso 3, SANDBOX:Ship-After=30h", false, []step{
			{3 * time.Minute, supplier.StatusProcessing, 0}, {30*time.Hour - 1, supplier.StatusProcessing, 0},
			{30 * time.Hour, supplier.StatusShipped, 1}, {60 * time.Hour, supplier.StatusDelivered, 1}}},
		{"ship after 0s skips processing", sandbox.Config{}, "sandbox:ship-after=0s", false, []step{
			{0, supplier.StatusDelivered, 1}}},
		{"split", sandbox.Config{}, "sandbox:split", false, []step{
			{3 * time.Minute, supplier.StatusShipped, 2}, {6 * time.Minute, supplier.StatusDelivered, 2}}},
		{"test mode stays pending", sandbox.Config{}, "", true, []step{
			{0, supplier.StatusPending, 0}, {10000 * time.Hour, supplier.StatusPending, 0}}},
		{"test mode follows a timeline trigger", sandbox.Config{}, "sandbox:ship-after=10m", true, []step{
			{time.Minute, supplier.StatusProcessing, 0}, {10 * time.Minute, supplier.StatusShipped, 1}}},
		{"test mode cancel", sandbox.Config{}, "sandbox:cancel", true, []step{
			{3 * time.Minute, supplier.StatusCancelled, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			tc.cfg.Now = clk.Now
			s := sandbox.New(tc.cfg)
			o := order(t, s, "4001", tc.address2)
			o.TestMode = tc.testMode
			p, err := s.CreateOrder(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			created := clk.Now()
			for _, st := range tc.steps {
				clk.Advance(created.Add(st.at).Sub(clk.Now()))
				tr, err := s.Tracking(context.Background(), p.SupplierOrderID)
				if err != nil {
					t.Fatal(err)
				}
				if tr.Status != st.status || len(tr.Parcels) != st.parcels || tr.SupplierOrderID != p.SupplierOrderID || tr.RawStatus == "" {
					t.Errorf("at +%v: %s with %d parcels (%+v), want %s with %d", st.at, tr.Status, len(tr.Parcels), tr, st.status, st.parcels)
				}
				if tr.UpdatedAt.After(clk.Now()) || tr.UpdatedAt.Before(created) {
					t.Errorf("at +%v: updated_at %v outside [created, now]", st.at, tr.UpdatedAt)
				}
				// FindOrder reports the same status as Tracking.
				if f, _, _ := s.FindOrder(context.Background(), "4001"); f.Status != st.status {
					t.Errorf("at +%v: FindOrder says %s", st.at, f.Status)
				}
			}
		})
	}
}

func TestParcels(t *testing.T) {
	tests := []struct {
		carrier, country, postcode, urlPrefix string
		number                                *regexp.Regexp
	}{
		{"GLS", "ES", "46005", "https://gls-group.com/", regexp.MustCompile(`^\d{14}$`)},
		{"SEUR", "ES", "46005", "https://www.seur.com/", regexp.MustCompile(`^5\d{14}$`)},
		{"DHL", "US", "10001", "https://www.dhl.com/", regexp.MustCompile(`^JJD\d{14}$`)},
		{"Correos", "GB", "SW1A1AA", "https://www.correos.es/", regexp.MustCompile(`^PQ\d{14}ES$`)},
	}
	for _, tc := range tests {
		t.Run(tc.carrier, func(t *testing.T) {
			clk := newClock()
			s := sandbox.New(sandbox.Config{Now: clk.Now})
			o := order(t, s, "5001", "sandbox:split")
			o.ShipTo.CountryCode, o.ShipTo.PostalCode = tc.country, tc.postcode
			o.ShippingRateID = rateFor(t, s, tc.country, tc.postcode, tc.carrier, o.Lines)
			p, err := s.CreateOrder(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(3 * time.Minute)
			tr, err := s.Tracking(context.Background(), p.SupplierOrderID)
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.Parcels) != 2 || tr.Parcels[0].Number == tr.Parcels[1].Number {
				t.Fatalf("split parcels %+v", tr.Parcels)
			}
			for _, pc := range tr.Parcels {
				if pc.Carrier != tc.carrier || !tc.number.MatchString(pc.Number) ||
					!strings.HasPrefix(pc.URL, tc.urlPrefix) || !strings.HasSuffix(pc.URL, "="+pc.Number) {
					t.Errorf("parcel %+v", pc)
				}
			}
			// The same reading later gives the same numbers.
			clk.Advance(time.Hour)
			again, _ := s.Tracking(context.Background(), p.SupplierOrderID)
			if !slices.Equal(again.Parcels, tr.Parcels) {
				t.Errorf("parcels changed: %+v then %+v", tr.Parcels, again.Parcels)
			}
		})
	}
}

func TestTrackingUnknownOrder(t *testing.T) {
	s := sandbox.New(sandbox.Config{})
	for _, id := range []string{"700000000001", "", "abc"} {
		_, err := s.Tracking(context.Background(), id)
		wantProblem(t, err, problem.NotFound, problem.CodeOrderNotFound)
	}
	if s.Stats().TrackingCalls != 3 {
		t.Errorf("stats %+v", s.Stats())
	}
}

func TestDropAfterCreate(t *testing.T) {
	s := sandbox.New(sandbox.Config{})
	ctx := context.Background()
	o := order(t, s, "6001", "sandbox:drop-after-create")
	_, err := s.CreateOrder(ctx, o)
	if !supplier.IsOutcomeUnknown(err) {
		t.Fatalf("first create: %v, want outcome unknown", err)
	}
	wantProblem(t, err, problem.Unavailable, problem.CodeSupplierUnavailable)
	if s.Stats().Creates != 1 {
		t.Fatalf("the dropped create must still create: %+v", s.Stats())
	}
	found, ok, err := s.FindOrder(ctx, "6001")
	if err != nil || !ok || found.Status != supplier.StatusPending {
		t.Fatalf("FindOrder after drop = %+v %v %v", found, ok, err)
	}
	if _, err := s.Tracking(ctx, found.SupplierOrderID); err != nil {
		t.Fatal(err)
	}
	// A blind retry goes through and makes a duplicate: the caller must
	// reconcile instead. FindOrder keeps answering the first order.
	p2, err := s.CreateOrder(ctx, o)
	if err != nil || p2.SupplierOrderID == found.SupplierOrderID || s.Stats().Creates != 2 {
		t.Fatalf("retry = %+v %v, stats %+v", p2, err, s.Stats())
	}
	if again, _, _ := s.FindOrder(ctx, "6001"); again.SupplierOrderID != found.SupplierOrderID {
		t.Errorf("FindOrder switched to %s", again.SupplierOrderID)
	}
	// Another reference drops once too.
	if _, err := s.CreateOrder(ctx, order(t, s, "6002", "sandbox:drop-after-create")); !supplier.IsOutcomeUnknown(err) {
		t.Errorf("other reference: %v", err)
	}
}

func TestFailBeforeCreate(t *testing.T) {
	s := sandbox.New(sandbox.Config{})
	ctx := context.Background()
	o := order(t, s, "7001", "sandbox:fail-before-create")
	_, err := s.CreateOrder(ctx, o)
	if supplier.IsOutcomeUnknown(err) {
		t.Fatal("fail-before-create must be a safe failure, not outcome unknown")
	}
	pe := wantProblem(t, err, problem.Unavailable, problem.CodeSupplierUnavailable)
	if pe.RetryAfter <= 0 {
		t.Error("want a Retry-After hint")
	}
	if _, found, _ := s.FindOrder(ctx, "7001"); found || s.Stats().Creates != 0 {
		t.Fatal("fail-before-create created an order")
	}
	p, err := s.CreateOrder(ctx, o)
	if err != nil || p.SupplierOrderID == "" || s.Stats().Creates != 1 {
		t.Fatalf("retry = %+v %v", p, err)
	}
}

func TestFailThenDrop(t *testing.T) {
	// Both triggers: fail, then create-and-drop, then a plain success.
	s := sandbox.New(sandbox.Config{})
	o := order(t, s, "7101", "sandbox:fail-before-create sandbox:drop-after-create")
	_, err1 := s.CreateOrder(context.Background(), o)
	_, err2 := s.CreateOrder(context.Background(), o)
	_, err3 := s.CreateOrder(context.Background(), o)
	if err1 == nil || supplier.IsOutcomeUnknown(err1) || !supplier.IsOutcomeUnknown(err2) || err3 != nil {
		t.Errorf("got %v / %v / %v", err1, err2, err3)
	}
	if s.Stats().Creates != 2 {
		t.Errorf("stats %+v", s.Stats())
	}
}

func TestDelay(t *testing.T) {
	t.Run("answers after the delay", func(t *testing.T) {
		s := sandbox.New(sandbox.Config{})
		start := time.Now()
		p, err := s.CreateOrder(context.Background(), order(t, s, "8001", "sandbox:delay=20ms"))
		if err != nil || p.SupplierOrderID == "" {
			t.Fatal(p, err)
		}
		if time.Since(start) < 20*time.Millisecond {
			t.Error("answered before the delay")
		}
	})
	t.Run("ctx ends during the delay: created, outcome unknown", func(t *testing.T) {
		// The clock hook cancels the context at the moment the order is
		// stored, so the delay always starts with a dead context and the
		// test needs no timing.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var once sync.Once
		s := sandbox.New(sandbox.Config{Now: func() time.Time { once.Do(cancel); return time.Now() }})
		o := order(t, s, "8002", "sandbox:delay=1h")
		_, err := s.CreateOrder(ctx, o)
		if !supplier.IsOutcomeUnknown(err) {
			t.Fatalf("got %v, want outcome unknown", err)
		}
		wantProblem(t, err, problem.Unavailable, problem.CodeDeadline)
		if _, found, _ := s.FindOrder(context.Background(), "8002"); !found {
			t.Error("the delayed order was not created")
		}
	})
	t.Run("ctx already over: nothing created", func(t *testing.T) {
		s := sandbox.New(sandbox.Config{})
		o := order(t, s, "8003", "sandbox:delay=1h")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := s.CreateOrder(ctx, o)
		if supplier.IsOutcomeUnknown(err) || s.Stats().Creates != 0 {
			t.Fatalf("got %v, stats %+v", err, s.Stats())
		}
		wantProblem(t, err, problem.Unavailable, problem.CodeDeadline)
	})
}

func TestLookupDisabled(t *testing.T) {
	s := sandbox.New(sandbox.Config{DisableLookup: true})
	if s.Capabilities().LookupByReference {
		t.Error("capabilities still claim lookup")
	}
	if _, err := s.CreateOrder(context.Background(), order(t, s, "9001", "")); err != nil {
		t.Fatal(err)
	}
	_, found, err := s.FindOrder(context.Background(), "9001")
	if found {
		t.Error("found with lookup disabled")
	}
	wantProblem(t, err, problem.Internal, problem.CodeLookupUnsupported)
	if s.Stats().FindCalls != 1 {
		t.Errorf("stats %+v", s.Stats())
	}
}

func TestCancelledContext(t *testing.T) {
	s := sandbox.New(sandbox.Config{})
	o := order(t, s, "9101", "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Rates(ctx, supplier.RateRequest{CountryCode: "ES", Lines: lines(mug, 1)})
	wantProblem(t, err, problem.Unavailable, problem.CodeDeadline)
	_, err = s.CreateOrder(ctx, o)
	wantProblem(t, err, problem.Unavailable, problem.CodeDeadline)
	_, _, err = s.FindOrder(ctx, "9101")
	wantProblem(t, err, problem.Unavailable, problem.CodeDeadline)
	_, err = s.Tracking(ctx, "700000000001")
	wantProblem(t, err, problem.Unavailable, problem.CodeDeadline)
	if s.Stats().Creates != 0 {
		t.Error("created with a cancelled context")
	}
}

func TestConcurrentCreates(t *testing.T) {
	const workers, each = 32, 25
	s := sandbox.New(sandbox.Config{})
	tmpl := order(t, s, "", "")
	numbers := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				o := tmpl
				o.Reference = fmt.Sprintf("%d-%d", w, i)
				p, err := s.CreateOrder(context.Background(), o)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Tracking(context.Background(), p.SupplierOrderID); err != nil {
					t.Error(err)
				}
				if f, ok, err := s.FindOrder(context.Background(), o.Reference); err != nil || !ok || f.SupplierOrderID != p.SupplierOrderID {
					t.Errorf("FindOrder(%s) = %+v %v %v, want %s", o.Reference, f, ok, err, p.SupplierOrderID)
				}
				if _, err := s.Rates(context.Background(), supplier.RateRequest{CountryCode: "FR", PostalCode: "75001", Lines: o.Lines}); err != nil {
					t.Error(err)
				}
				numbers[w] = append(numbers[w], p.SupplierOrderID)
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, ns := range numbers {
		for _, n := range ns {
			if seen[n] {
				t.Errorf("order number %s given twice", n)
			}
			seen[n] = true
		}
	}
	want := sandbox.Stats{Creates: workers * each, CreateCalls: workers * each, FindCalls: workers * each,
		TrackingCalls: workers * each, RatesCalls: workers*each + 1}
	if got := s.Stats(); got != want || len(seen) != workers*each {
		t.Errorf("stats %+v (%d numbers), want %+v", got, len(seen), want)
	}
}
