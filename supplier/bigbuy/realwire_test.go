package bigbuy

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/bigbuy/bigbuyfake"
)

// Tests of BigBuy behaviour taken from sources outside this project (see
// the table in docs/supplier-bigbuy.md). Each failed against the adapter
// as it was before issue 11.

// Lines of a cart split over BigBuy's warehouses 1 and 3.
var twoWarehouses = []supplier.Line{line("8400000000017", 1), line("8400000000031", 1)}

func init() { testEANs["8400000000031"] = "S7106391" }

func TestRatesNoShippingOptionsIs422(t *testing.T) {
	f := newFake(t, func(c *bigbuyfake.Config) { c.Products[0].Countries = []string{"ES"} })
	c := newClient(t, f)
	_, err := c.Rates(context.Background(), supplier.RateRequest{CountryCode: "CH", PostalCode: "8001", Lines: []supplier.Line{line("8400000000017", 1)}})
	wantProblem(t, err, problem.Rejected, problem.CodeNoShippingOption)
}

func TestCreateSendsCarrierCodes(t *testing.T) {
	for id, want := range map[string]string{"gls": "gls", "GLS": "gls", "Correos Internacional": "correosinternational", "SEUR": "seur", "Chrono": "chrono"} {
		f := newFake(t, func(c *bigbuyfake.Config) {
			c.Services = append(c.Services, bigbuyfake.Service{ID: "50", Name: "Correos Internacional", Code: "correosinternational"},
				bigbuyfake.Service{ID: "51", Name: "SEUR", Code: "seur"})
		})
		c := newClient(t, f)
		o := order("1001", line("8400000000017", 1))
		o.ShippingRateID = id
		if _, err := c.CreateOrder(context.Background(), o); err != nil {
			t.Fatalf("%q: %v", id, err)
		}
		sent := f.Body("POST /rest/order/create.json")["order"].(map[string]any)["carriers"].([]any)
		if len(sent) != 1 || sent[0].(map[string]any)["name"] != want {
			t.Errorf("%q sent carriers %v, want [%s]", id, sent, want)
		}
	}
}

func TestCreateUnknownCarrierRefusedBeforeAnyCall(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	o := order("1001", line("8400000000017", 1))
	o.ShippingRateID = "Poste Italiane"
	_, err := c.CreateOrder(context.Background(), o)
	wantProblem(t, err, problem.Rejected, problem.CodeInvalidShippingRate, "/shipping_cost_id")
	if n := f.count("POST /rest/order/create.json"); n != 0 {
		t.Fatalf("create called %d times", n)
	}
}

func TestFindOrderReadsTheFullOrder(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	id := f.seed("1001", "Payment accepted")
	p, found, err := c.FindOrder(context.Background(), "1001")
	if err != nil || !found {
		t.Fatal(found, err)
	}
	if p.SupplierOrderID != id || p.Status != supplier.StatusProcessing || p.RawStatus != "Payment accepted" || p.Total == nil || p.Total.Minor != 2543 {
		t.Fatalf("placed %+v (total %+v)", p, p.Total)
	}
	if n := f.count("GET /rest/order/" + id + ".json"); n != 1 {
		t.Errorf("full order read %d times, want 1", n)
	}
}

func TestFindOrderCrossChecksReference(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	other := f.seed("999", "Shipped")
	f.on("GET /rest/order/reference/1001.json", jsonStatus(200, map[string]any{"id": other, "totalPaidTaxIncl": "25.43"}))
	_, _, err := c.FindOrder(context.Background(), "1001")
	wantProblem(t, err, problem.Upstream, problem.CodeSupplierBadResponse)
}

func TestAddressOver70CharactersRefusedBeforeAnyCall(t *testing.T) {
	tests := []struct {
		name, a1, a2 string
		ok           bool
		pointers     []string
	}{
		{name: "exactly 70 with a2", a1: strings.Repeat("a", 66), a2: "2B", ok: true},
		{name: "70 accented letters are 70 characters", a1: strings.Repeat("é", 70), ok: true},
		{name: "address1 alone too long", a1: strings.Repeat("a", 71), pointers: []string{"/shipping_address/address1"}},
		{name: "together too long", a1: strings.Repeat("a", 60), a2: "Escalera 3, puerta 12", pointers: []string{"/shipping_address/address1", "/shipping_address/address2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			c := newClient(t, f)
			o := order("1001", line("8400000000017", 1))
			o.ShipTo.Address1, o.ShipTo.Address2 = tt.a1, tt.a2
			_, err := c.CreateOrder(context.Background(), o)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantProblem(t, err, problem.Invalid, problem.CodeValidation, tt.pointers...)
			if n := f.count("POST /rest/order/create.json"); n != 0 {
				t.Fatalf("create called %d times; a too-long address must be refused first", n)
			}
		})
	}
}

func TestSoftConflictOnCreateIsOutcomeUnknown(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	f.on("POST /rest/order/create.json", bigbuyfake.SoftConflict)
	_, err := c.CreateOrder(context.Background(), order("1001", line("8400000000017", 1)))
	if !supplier.IsOutcomeUnknown(err) {
		t.Fatalf("want outcome unknown, got %v", err)
	}
	wantProblem(t, err, problem.Unavailable, problem.CodeSupplierUnavailable)
}

func TestER007WithZeroTotalIsNoStock(t *testing.T) {
	f := newFake(t, func(c *bigbuyfake.Config) { c.Products[0].Dropped = true })
	c := newClient(t, f)
	_, err := c.CreateOrder(context.Background(), order("1001", line("8400000000017", 1)))
	wantProblem(t, err, problem.Rejected, problem.CodeNoStock, "/line_items/0/barcode")
}

func TestNumericStatusResolvedFromOrderStatuses(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	id := f.seed("1001", "20")
	for range 2 {
		tr, err := c.Tracking(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if tr.RawStatus != "PENDING INVOICE" || tr.Status != supplier.StatusProcessing {
			t.Fatalf("tracking %+v", tr)
		}
	}
	if n := f.count("GET /rest/order/orderstatuses.json"); n != 1 {
		t.Errorf("order statuses fetched %d times, want 1 (cached)", n)
	}
}

func TestTrackingCarriersCached(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	id := f.seed("1001", "Shipped", bigbuyfake.Parcel{Number: "GLS1", CarrierID: "5"})
	for range 3 {
		tr, err := c.Tracking(context.Background(), id)
		if err != nil || len(tr.Parcels) != 1 || tr.Parcels[0].Carrier != "GLS" || tr.Parcels[0].URL == "" {
			t.Fatalf("%+v %v", tr, err)
		}
	}
	if n := f.count("GET /rest/tracking/carriers.json"); n != 1 {
		t.Errorf("carriers fetched %d times, want 1", n)
	}
}

// The sandbox refused product lists without parentTaxonomy (WonZo): the
// index is then built per first-level taxonomy.
func TestCatalogueBuiltByTaxonomyWhenRequired(t *testing.T) {
	f := newFake(t, func(c *bigbuyfake.Config) {
		c.RequireParentTaxonomy = true
		c.Products[2].Taxonomy = 19656
	})
	clk := &clock{t: testNow}
	c := feedClient(t, f, clk)
	c.feed.PagesPerLookup = 20
	got, err := c.catalog(context.Background(), []string{"8400000000017", "0012345678905"})
	if err != nil || got["8400000000017"] != "V1300179" || got["0012345678905"] != "S0000003" {
		t.Fatalf("got %v err %v", got, err)
	}
	if f.count("GET /rest/catalog/taxonomies.json") != 1 {
		t.Error("taxonomies should be listed once")
	}
}

func TestCatalogueRefusedEvenWithParentTaxonomySaysSo(t *testing.T) {
	f := newFake(t, func(c *bigbuyfake.Config) { c.NoCatalogue = true })
	clk := &clock{t: testNow}
	c := feedClient(t, f, clk)
	_, err := c.catalog(context.Background(), []string{"8400000000017"})
	pe := wantProblem(t, err, problem.Unavailable, problem.CodeSupplierUnavailable)
	if !strings.Contains(pe.Detail, "parentTaxonomy") || !strings.Contains(pe.Detail, "cannot be built") {
		t.Fatalf("detail %q should say the catalogue cannot be built, and why", pe.Detail)
	}
}

func TestTwoWarehouseCartIsPlacedAsMultishipping(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	_, err := c.CreateOrder(context.Background(), order("1001", twoWarehouses...))
	if err != nil {
		t.Fatal(err)
	}
	orders := f.Orders()
	if len(orders) != 2 || orders[0].Reference != "1001" || orders[1].Reference != "1001" || orders[0].Warehouse == orders[1].Warehouse {
		t.Fatalf("orders at BigBuy %+v, want one per warehouse", orders)
	}
}

func TestTwoWarehouseCartParts(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	p, err := c.CreateOrder(context.Background(), order("1001", twoWarehouses...))
	if err != nil {
		t.Fatal(err)
	}
	orders := f.Orders()
	ids := p.SupplierOrderIDs()
	if len(ids) != 2 || ids[0] != strconv.Itoa(orders[0].ID) || ids[1] != strconv.Itoa(orders[1].ID) || p.SupplierOrderID != ids[0] || p.Partial() {
		t.Fatalf("placed %+v, BigBuy has %+v", p, orders)
	}
	if !slices.Equal(p.Parts[0].Lines, []int{0}) || !slices.Equal(p.Parts[1].Lines, []int{1}) || p.Parts[0].Warehouse != "1" || p.Parts[1].Warehouse != "3" {
		t.Fatalf("parts %+v", p.Parts)
	}
	if f.count("POST /rest/order/create.json") != 1 || f.count("POST /rest/order/check/multishipping.json") != 1 || f.count("POST /rest/order/create/multishipping.json") != 1 {
		t.Error("want one refused create, one multishipping check, then one multishipping create")
	}
	// Each part is tracked by its own number.
	for _, id := range ids {
		if tr, err := c.Tracking(context.Background(), id); err != nil || tr.Status != supplier.StatusPending {
			t.Fatalf("tracking %s: %+v %v", id, tr, err)
		}
	}
}

func TestTwoWarehouseCartRefusedWhenAPartCannotBeOrdered(t *testing.T) {
	f := newFake(t, func(c *bigbuyfake.Config) { c.Products[3].Stock = 0 })
	c := newClient(t, f)
	_, err := c.CreateOrder(context.Background(), order("1001", twoWarehouses...))
	wantProblem(t, err, problem.Rejected, problem.CodeNoStock, "/line_items/1/barcode")
	if supplier.IsOutcomeUnknown(err) || len(f.Orders()) != 0 || f.count("POST /rest/order/create/multishipping.json") != 0 {
		t.Fatalf("the check refused a part: nothing may be created (err %v, %d orders)", err, len(f.Orders()))
	}
}

// A part that passes the check but sells out before the create: BigBuy
// creates the other part and reports this one in errors[].
func TestTwoWarehouseCartPartlyPlaced(t *testing.T) {
	f := newFake(t, func(c *bigbuyfake.Config) { c.Products[3].SellsOutAtCreate = true })
	c := newClient(t, f)
	p, err := c.CreateOrder(context.Background(), order("1001", twoWarehouses...))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Partial() || len(p.SupplierOrderIDs()) != 1 || len(f.Orders()) != 1 {
		t.Fatalf("placed %+v; BigBuy has %d orders", p, len(f.Orders()))
	}
	failed := p.Parts[1]
	if failed.SupplierOrderID != "" || failed.ErrorCode != problem.CodeNoStock || !slices.Equal(failed.Lines, []int{1}) {
		t.Fatalf("failed part %+v", failed)
	}
}

func TestTwoWarehouseCartNothingPlacedIsTheRefusal(t *testing.T) {
	f := newFake(t, func(c *bigbuyfake.Config) { c.Products[3].Stock = 0; c.Products[0].Stock = 0 })
	c := newClient(t, f)
	_, err := c.CreateOrder(context.Background(), order("1001", twoWarehouses...))
	wantProblem(t, err, problem.Rejected, problem.CodeNoStock)
	if supplier.IsOutcomeUnknown(err) || len(f.Orders()) != 0 {
		t.Fatalf("nothing was created; err %v", err)
	}
	// Both parts sell out after the check: the create answers errors only.
	f = newFake(t, func(c *bigbuyfake.Config) {
		c.Products[3].SellsOutAtCreate = true
		c.Products[0].SellsOutAtCreate = true
	})
	c = newClient(t, f)
	_, err = c.CreateOrder(context.Background(), order("1001", twoWarehouses...))
	wantProblem(t, err, problem.Rejected, problem.CodeNoStock)
	if supplier.IsOutcomeUnknown(err) || len(f.Orders()) != 0 || f.count("POST /rest/order/create/multishipping.json") != 1 {
		t.Fatalf("nothing was created; err %v", err)
	}
}

func TestTwoWarehouseCartRates(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	rates, err := c.Rates(context.Background(), supplier.RateRequest{CountryCode: "ES", PostalCode: "46005", Lines: twoWarehouses})
	if err != nil {
		t.Fatal(err)
	}
	want := []supplier.Rate{
		{ID: "gls", Carrier: "GLS", Service: "GLS", Price: supplier.Money{Minor: 990, Currency: "EUR"}, MinDays: 2, MaxDays: 3},
		{ID: "correos", Carrier: "Correos", Service: "Correos", Price: supplier.Money{Minor: 700, Currency: "EUR"}, MinDays: 1, MaxDays: 2},
		{ID: "chrono", Carrier: "Chrono", Service: "Chrono", Price: supplier.Money{Minor: 1440, Currency: "EUR"}, MinDays: 1, MaxDays: 2},
	}
	if !slices.Equal(rates, want) {
		t.Fatalf("rates\n got %+v\nwant %+v", rates, want)
	}
	if n := f.count("POST /rest/shipping/orders.json"); n != 3 {
		t.Errorf("%d quotes, want 3 (the refused cart, then one per warehouse)", n)
	}
	// A carrier serving only one warehouse's destination is not offered.
	f = newFake(t, func(c *bigbuyfake.Config) { c.Products[3].Countries = []string{"PT"} })
	c = newClient(t, f)
	_, err = c.Rates(context.Background(), supplier.RateRequest{CountryCode: "ES", PostalCode: "46005", Lines: twoWarehouses})
	wantProblem(t, err, problem.Rejected, problem.CodeNoShippingOption)
}
