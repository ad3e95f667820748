package flowsim

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/flowtemplates"
	"github.com/flowbridge/flowbridge/shopify/shopifytest"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

var simStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// fixture is an order shaped like Flow's `order` variable.
func fixture(address2, country, zip string, barcodes ...string) map[string]any {
	var items []any
	for i, b := range barcodes {
		items = append(items, map[string]any{
			"sku": "SKU-" + b, "quantity": float64(i + 1), "currentQuantity": float64(i + 1), "variant": map[string]any{"barcode": b},
			"originalUnitPriceSet": map[string]any{"shopMoney": map[string]any{"amount": "19.99", "currencyCode": "EUR"}},
		})
	}
	return map[string]any{
		"id": "gid://shopify/Order/5550001", "name": "#1042", "email": "ana@example.com", "phone": "+34600000000",
		"createdAt": simStart.Add(-time.Minute).Format(time.RFC3339), "processedAt": simStart.Format(time.RFC3339),
		"customer": map[string]any{"firstName": "Ana", "lastName": "García", "email": "ana@example.com"},
		"shippingAddress": map[string]any{"firstName": "Ana", "lastName": "García", "company": nil, "address1": "Calle Mayor 1",
			"address2": address2, "city": "Valencia", "zip": zip, "provinceCode": "V", "countryCodeV2": country, "phone": "+34600000000"},
		"lineItems": items, "currencyCode": "EUR", "paymentGatewayNames": []any{"shopify_payments"},
		"displayFulfillmentStatus": "UNFULFILLED", "cancelledAt": nil, "edited": false, "metafields": []any{},
		"fulfillmentOrders": []any{foFixture("9001", "OPEN", "1")},
	}
}

func foFixture(id, status, loc string) map[string]any {
	return map[string]any{"id": "gid://shopify/FulfillmentOrder/" + id, "status": status,
		"assignedLocation": map[string]any{"location": map[string]any{"id": "gid://shopify/Location/" + loc}}}
}

// modes are the two workflows every scenario runs in.
var modes = []string{flowtemplates.FulfilByFlow, flowtemplates.FulfilByFlowbridge}

// eachMode runs f once per fulfilment mode, as a subtest.
func eachMode(t *testing.T, f func(t *testing.T, mode string)) {
	for _, m := range modes {
		t.Run("fulfil-by-"+m, func(t *testing.T) { f(t, m) })
	}
}

type outcome struct {
	sb    *sandbox.Supplier
	shop  *shopifytest.Server
	store *Store
	res   *Result
	clock *VirtualClock
	p     flowtemplates.Params
	// byHand is how many fulfilments existed before the run.
	byHand int
}

// checks counts the tracking calls made (one event per step).
func (o outcome) checks() int {
	n := 0
	for _, e := range o.res.Events {
		if strings.Contains(e.Detail, "/tracking/") && (strings.HasPrefix(e.Detail, "GET ") || strings.HasPrefix(e.Detail, "POST ")) {
			n++
		}
	}
	return n
}

// fulfilments are those the run created, as the (fake) shop has them —
// whoever sent fulfillmentCreate: Flow's Send Admin API request or
// flowbridge.
func (o outcome) fulfilments() []shopifytest.Fulfillment {
	return o.shop.Fulfillments(orderGID)[o.byHand:]
}

const orderGID = "gid://shopify/Order/5550001"

// seedShop puts the fixture's fulfilment orders into the fake shop: one
// line item each.
func seedShop(shop *shopifytest.Server, order map[string]any) {
	var fos []shopifytest.FulfillmentOrder
	list, _ := order["fulfillmentOrders"].([]any)
	for i, x := range list {
		m := x.(map[string]any)
		loc := m["assignedLocation"].(map[string]any)["location"].(map[string]any)["id"].(string)
		id := m["id"].(string)
		fos = append(fos, shopifytest.FulfillmentOrder{ID: id, Status: m["status"].(string), LocationID: loc, LocationName: loc,
			LineItems: []shopifytest.FulfillmentOrderLineItem{{ID: id + "-line", LineItemID: "gid://shopify/LineItem/" + strconv.Itoa(i+1), SKU: "S", TotalQuantity: 1}}})
	}
	shop.AddOrder(shopifytest.Order{ID: order["id"].(string), Name: order["name"].(string), FulfillmentOrders: fos})
}

// refreshFrom re-reads the order's fulfilment state from the fake shop the
// way Flow re-fetches store data after a Wait.
func refreshFrom(shop *shopifytest.Server) func(context.Context, map[string]any) error {
	return func(_ context.Context, order map[string]any) error {
		o, ok := shop.Order(order["id"].(string))
		if !ok {
			return nil
		}
		order["displayFulfillmentStatus"] = o.DisplayFulfillmentStatus
		var fos []any
		for _, fo := range o.FulfillmentOrders {
			fos = append(fos, map[string]any{"id": fo.ID, "status": fo.Status,
				"assignedLocation": map[string]any{"location": map[string]any{"id": fo.LocationID}}})
		}
		order["fulfillmentOrders"] = fos
		return nil
	}
}

type scenario struct {
	order   map[string]any
	sandbox sandbox.Config
	mod     func(*flowtemplates.Params)
	http    HTTPBehaviour
	prepare func(store *Store)
	// shop prepares the fake shop (fulfil by hand, faults, …).
	shop func(*shopifytest.Server)
	// mode is the fulfilment mode (flowtemplates.FulfilBy…).
	mode string
}

const adminToken = "shpat_flowsim"

func simulate(t *testing.T, sc scenario) outcome {
	t.Helper()
	clock := NewVirtualClock(simStart)
	sc.sandbox.Now = clock.Now
	sb := sandbox.New(sc.sandbox)
	// The Admin API: Shopify's real schema validates every request, from
	// Flow's Send Admin API request and from flowbridge alike.
	shop := shopifytest.New(t, adminToken, "2026-01")
	shop.SetScopes("read_orders", "write_orders", "read_merchant_managed_fulfillment_orders", "write_merchant_managed_fulfillment_orders")
	shop.SetClock(clock.Now)
	seedShop(shop, sc.order)
	if sc.shop != nil {
		sc.shop(shop)
	}
	byHand := len(shop.Fulfillments(orderGID))
	url, key := startFlowbridge(t, sb, clock.Now, map[string]string{
		"SHOPIFY_SHOP": "example.myshopify.com", "SHOPIFY_ADMIN_TOKEN": adminToken, "SHOPIFY_ADMIN_BASE_URL": shop.URL})
	p := flowtemplates.Defaults()
	p.BaseURL = url
	if sc.mode != "" {
		p.FulfilBy = sc.mode
	}
	if sc.mod != nil {
		sc.mod(&p)
	}
	w, err := flowtemplates.Build(p)
	if err != nil {
		t.Fatal(err)
	}
	if issues := Lint(w, p.Metafields()); len(issues) > 0 {
		t.Fatalf("lint: %s", Summary(issues))
	}
	h := sc.http
	if h.Timeout == 0 {
		h.Timeout = 5 * time.Second
	}
	sim := New(Options{Clock: clock, Secrets: map[string]string{p.SecretName: key}, Definitions: p.Metafields(), HTTP: h,
		Admin:   GraphQLAdmin{URL: shop.URL + "/admin/api/2026-01/graphql.json", Token: adminToken},
		Refresh: refreshFrom(shop)})
	store := &Store{Order: sc.order}
	if sc.prepare != nil {
		sc.prepare(store)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := sim.Run(ctx, w, store)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed {
		t.Fatalf("run failed: %s (supplier orders created: %d)", res.Reason, sb.Stats().Creates)
	}
	return outcome{sb: sb, shop: shop, store: store, res: res, clock: clock, p: p, byHand: byHand}
}

func cumulative(p flowtemplates.Params, n int) time.Duration {
	var d time.Duration
	for _, s := range p.Schedule[:n] {
		d += s
	}
	return d
}

func TestSimulatedShipment(t *testing.T) {
	tests := []struct {
		name     string
		address2 string
		check    int
		parcels  int
	}{
		{"shipped on check 1", "", 1, 1},
		{"shipped on check 4", "Piso 2 sandbox:ship-after=50h", 4, 1},
		{"shipped on check 7", "sandbox:ship-after=150h", 7, 1},
		{"split shipment on check 2", "sandbox:split sandbox:ship-after=26h", 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachMode(t, func(t *testing.T, mode string) {
				o := simulate(t, scenario{mode: mode, order: fixture(tt.address2, "ES", "46005", "8400000000017", "84000019")})
				if got := o.sb.Stats().Creates; got != 1 {
					t.Fatalf("supplier orders = %d, want 1", got)
				}
				number, ok := o.store.Metafield(o.p.Namespace, o.p.SupplierOrderKey)
				if !ok || len(number) != 12 {
					t.Fatalf("supplier order metafield = %q", number)
				}
				if rate, _ := o.store.Metafield(o.p.Namespace, o.p.ShippingCostKey); rate == "" {
					t.Errorf("shipping cost metafield = %q", rate)
				}
				if got := o.checks(); got != tt.check {
					t.Errorf("tracking checks = %d, want %d", got, tt.check)
				}
				if len(o.store.Emails) != 0 {
					t.Errorf("unexpected alert: %s", o.store.Emails[0].Subject)
				}
				fs := o.fulfilments()
				if len(fs) != 1 {
					t.Fatalf("fulfilments = %d, want exactly 1", len(fs))
				}
				if mode == flowtemplates.FulfilByFlowbridge && len(o.store.AdminCalls) != 0 {
					t.Errorf("lean workflow sent %d Admin API requests from Flow", len(o.store.AdminCalls))
				}
				if at := fs[0].CreatedAt.Sub(simStart); at != cumulative(o.p, tt.check) {
					t.Errorf("fulfilled at +%s, want +%s", at, cumulative(o.p, tt.check))
				}
				tr, err := o.sb.Tracking(context.Background(), number)
				if err != nil {
					t.Fatal(err)
				}
				f := fs[0]
				if !f.NotifyCustomer || f.LocationID != "gid://shopify/Location/1" || f.Lines["gid://shopify/FulfillmentOrder/9001-line"] != 1 {
					t.Errorf("fulfilment %+v", f)
				}
				if len(f.Numbers) != tt.parcels || len(tr.Parcels) != tt.parcels || len(f.URLs) != tt.parcels {
					t.Fatalf("numbers %v urls %v, parcels %v", f.Numbers, f.URLs, tr.Parcels)
				}
				for i, p := range tr.Parcels {
					if f.Numbers[i] != p.Number || f.URLs[i] != p.URL {
						t.Errorf("parcel %d: got %v %v, want %s %s", i, f.Numbers[i], f.URLs[i], p.Number, p.URL)
					}
				}
				if f.Company != tr.Parcels[0].Carrier {
					t.Errorf("company = %v, want %s", f.Company, tr.Parcels[0].Carrier)
				}
			})
		})
	}
}

// Fault 1: an order whose fulfilment orders sit at two locations gets one
// fulfilment per location (fulfillmentCreate takes one location per call);
// a closed one is left alone.
func TestSimulatedMultiLocation(t *testing.T) {
	eachMode(t, func(t *testing.T, mode string) {
		order := fixture("sandbox:split sandbox:ship-after=26h", "ES", "46005", "8400000000017", "84000019")
		order["fulfillmentOrders"] = []any{foFixture("9001", "OPEN", "1"), foFixture("9002", "OPEN", "2"), foFixture("9003", "OPEN", "1"), foFixture("9004", "CLOSED", "2")}
		o := simulate(t, scenario{mode: mode, order: order})
		fs := o.fulfilments()
		if len(fs) != 2 || len(o.store.Emails) != 0 {
			t.Fatalf("fulfilments %d (want one per location: 2), e-mails %d", len(fs), len(o.store.Emails))
		}
		byLoc := map[string]shopifytest.Fulfillment{}
		for _, f := range fs {
			byLoc[f.LocationID] = f
			if len(f.Numbers) != 2 || !f.NotifyCustomer {
				t.Errorf("fulfilment %+v lacks a parcel or the notification", f)
			}
		}
		if l := byLoc["gid://shopify/Location/1"].Lines; len(l) != 2 {
			t.Errorf("location 1 covers %v, want fulfilment orders 9001 and 9003", l)
		}
		if l := byLoc["gid://shopify/Location/2"].Lines; len(l) != 1 || l["gid://shopify/FulfillmentOrder/9002-line"] != 1 {
			t.Errorf("location 2 covers %v, want fulfilment order 9002", l)
		}
	})
}

// An order whose fulfilment orders are all on hold: nothing can be
// fulfilled, and a person hears about it with the reason.
func TestSimulatedNothingOpen(t *testing.T) {
	eachMode(t, func(t *testing.T, mode string) {
		order := fixture("", "ES", "46005", "8400000000017")
		order["fulfillmentOrders"] = []any{foFixture("9001", "ON_HOLD", "1")}
		o := simulate(t, scenario{mode: mode, order: order})
		if n := len(o.fulfilments()); n != 0 || len(o.store.AdminCalls) != 0 {
			t.Fatalf("fulfilments %d, admin calls %d; want none", n, len(o.store.AdminCalls))
		}
		if len(o.store.Emails) != 1 {
			t.Fatalf("e-mails = %d, want 1", len(o.store.Emails))
		}
		e := o.store.Emails[0]
		want := "nothing open to fulfil"
		if mode == flowtemplates.FulfilByFlowbridge {
			want = "nothing_to_fulfil"
		}
		if !strings.Contains(e.Subject+e.Message, want) || !strings.Contains(e.Message, "hold") {
			t.Errorf("alert lacks the reason %q:\n%s\n%s", want, e.Subject, e.Message)
		}
	})
}

func TestSimulatedCancelledOnCheck3(t *testing.T) {
	eachMode(t, func(t *testing.T, mode string) {
		o := simulate(t, scenario{mode: mode, order: fixture("sandbox:cancel sandbox:ship-after=35h", "ES", "46005", "8400000000024")})
		if n := len(o.fulfilments()); n != 0 {
			t.Fatalf("fulfilments = %d, want 0", n)
		}
		if o.checks() != 3 {
			t.Errorf("checks = %d, want 3", o.checks())
		}
		if len(o.store.Emails) != 1 {
			t.Fatalf("emails = %d, want 1", len(o.store.Emails))
		}
		e := o.store.Emails[0]
		number, _ := o.store.Metafield(o.p.Namespace, o.p.SupplierOrderKey)
		subject := []string{"#1042", "CANCELLED"}
		message := []string{number, "check 3 of 7", "Ana García", "refund"}
		if mode == flowtemplates.FulfilByFlowbridge {
			subject = []string{"#1042", "supplier_cancelled"}
		}
		for _, want := range subject {
			if !strings.Contains(e.Subject, want) {
				t.Errorf("subject %q lacks %q", e.Subject, want)
			}
		}
		for _, want := range message {
			if !strings.Contains(e.Message, want) {
				t.Errorf("message lacks %q:\n%s", want, e.Message)
			}
		}
		if e.To[0] != "ops@example.com" {
			t.Errorf("to = %v", e.To)
		}
	})
}

func TestSimulatedNeverShips(t *testing.T) {
	eachMode(t, func(t *testing.T, mode string) {
		o := simulate(t, scenario{mode: mode, order: fixture("sandbox:never-ship", "ES", "46005", "8400000000017")})
		if n := len(o.fulfilments()); n != 0 {
			t.Fatalf("fulfilments = %d", n)
		}
		if o.checks() != 7 {
			t.Errorf("checks = %d, want 7", o.checks())
		}
		if len(o.store.Emails) != 1 {
			t.Fatalf("emails = %d, want exactly 1", len(o.store.Emails))
		}
		e := o.store.Emails[0]
		if e.At.Sub(simStart) != cumulative(o.p, 7) {
			t.Errorf("alert at +%s, want after the 7th check", e.At.Sub(simStart))
		}
		number, _ := o.store.Metafield(o.p.Namespace, o.p.SupplierOrderKey)
		for _, want := range []string{"#1042", "gid://shopify/Order/5550001", "Ana García", "ana@example.com", number,
			"processing", simStart.Add(-time.Minute).Format(time.RFC3339), simStart.Format(time.RFC3339), "Valencia"} {
			if !strings.Contains(e.Message, want) {
				t.Errorf("alert lacks %q:\n%s", want, e.Message)
			}
		}
	})
}

func TestSimulatedStage1Refusals(t *testing.T) {
	tests := []struct {
		name  string
		order map[string]any
		code  string
	}{
		{"no shipping option", fixture("", "AQ", "1000", "8400000000017"), "no_shipping_option"},
		{"unmatched EAN", fixture("", "ES", "46005", "8400000000017", "4006381333931"), "unmatched_ean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := simulate(t, scenario{order: tt.order})
			if got := o.sb.Stats().Creates; got != 0 {
				t.Fatalf("supplier orders = %d, want 0", got)
			}
			if len(o.store.MetafieldWrites) != 0 || len(o.store.AdminCalls) != 0 || o.checks() != 0 {
				t.Errorf("stage 1 went on: %d writes, %d admin calls, %d checks", len(o.store.MetafieldWrites), len(o.store.AdminCalls), o.checks())
			}
			if len(o.store.Emails) != 1 {
				t.Fatalf("emails = %d, want 1", len(o.store.Emails))
			}
			e := o.store.Emails[0]
			if !strings.Contains(e.Subject, tt.code) || !strings.Contains(e.Subject, "#1042") || !strings.Contains(e.Message, "What to do") {
				t.Errorf("alert: %s\n%s", e.Subject, e.Message)
			}
		})
	}
}

func TestSimulatedPlacementNeedsPerson(t *testing.T) {
	tests := []struct {
		name     string
		address2 string
		sandbox  sandbox.Config
		creates  int
		want     []string
	}{
		{"outcome unknown, supplier cannot be asked", "sandbox:drop-after-create", sandbox.Config{DisableLookup: true}, 1,
			[]string{"needs_review", "/admin/orders/", `"action":"adopt"`, `"action":"release"`}},
		{"supplier refused", "sandbox:reject", sandbox.Config{}, 0, []string{"supplier_rejected", "refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := simulate(t, scenario{order: fixture(tt.address2, "ES", "46005", "8400000000017"), sandbox: tt.sandbox})
			if got := o.sb.Stats().Creates; got != tt.creates {
				t.Errorf("supplier orders = %d, want %d", got, tt.creates)
			}
			if _, ok := o.store.Metafield(o.p.Namespace, o.p.SupplierOrderKey); ok || o.checks() != 0 || len(o.store.AdminCalls) != 0 {
				t.Errorf("went on to tracking: checks %d, admin calls %d", o.checks(), len(o.store.AdminCalls))
			}
			if len(o.store.Emails) != 1 {
				t.Fatalf("emails = %d, want 1", len(o.store.Emails))
			}
			e := o.store.Emails[0]
			for _, want := range tt.want {
				if !strings.Contains(e.Subject+e.Message, want) {
					t.Errorf("alert lacks %q:\n%s\n%s", want, e.Subject, e.Message)
				}
			}
		})
	}
}

// TestSimulatedOrdersTimeout: the first POST /orders outlives Flow's
// timeout (sandbox:delay), Flow re-sends while it is in flight (429) and
// after it finished (replay): still one supplier order, one fulfilment.
func TestSimulatedOrdersTimeout(t *testing.T) {
	o := simulate(t, scenario{
		order: fixture("sandbox:delay=600ms", "ES", "46005", "8400000000017"),
		http:  HTTPBehaviour{Timeout: 200 * time.Millisecond, RealPause: 0.05, MaxRealPause: 250 * time.Millisecond},
	})
	if got := o.sb.Stats().Creates; got != 1 {
		t.Fatalf("supplier orders = %d, want 1", got)
	}
	var attempts []string
	for _, e := range o.res.Events {
		if strings.HasPrefix(e.Detail, "POST ") && strings.Contains(e.Detail, "/orders") {
			attempts = append(attempts, e.Detail)
		}
	}
	if len(attempts) != 1 {
		t.Fatalf("orders step events: %v", attempts)
	}
	// e.g. "attempts=[timeout 429 429 … 200]": timed out, re-sent while in
	// flight, then the stored answer.
	tries := strings.Fields(strings.TrimSuffix(strings.SplitN(strings.SplitN(attempts[0], "attempts=[", 2)[1], "]", 2)[0], "]"))
	if len(tries) < 2 || tries[0] != "timeout" || tries[len(tries)-1] != "200" {
		t.Errorf("attempts = %v, want a timeout first and 200 last", tries)
	}
	if len(o.fulfilments()) != 1 || len(o.store.Emails) != 0 {
		t.Errorf("fulfilments %d, emails %d", len(o.fulfilments()), len(o.store.Emails))
	}
}

// Flow re-sends the lean check while flowbridge is fulfilling: Shopify
// applied the first fulfillmentCreate but its answer was lost (503), so
// flowbridge answered 503 and Flow re-sent; the re-send finds nothing
// open and answers done. One fulfilment, no alert.
func TestSimulatedResendDuringFulfilment(t *testing.T) {
	o := simulate(t, scenario{mode: flowtemplates.FulfilByFlowbridge, order: fixture("", "ES", "46005", "8400000000017"),
		shop: func(s *shopifytest.Server) {
			s.EnqueueFor("fulfillmentCreate", shopifytest.Fault{Status: 503, Applied: true})
		}})
	if n := len(o.fulfilments()); n != 1 || len(o.store.Emails) != 0 {
		t.Fatalf("fulfilments %d, e-mails %d", n, len(o.store.Emails))
	}
	var detail string
	for _, e := range o.res.Events {
		if strings.Contains(e.Detail, "/fulfil") {
			detail = e.Detail
		}
	}
	if !strings.Contains(detail, "attempts=[503 200]") || !strings.Contains(detail, "already_fulfilled") {
		t.Errorf("fulfil step: %s", detail)
	}
	if n := o.shop.Count("fulfillmentCreate"); n != 0 {
		// Count leaves out requests answered with a fault: the one create
		// that took effect is the faulted one.
		t.Errorf("fulfillmentCreate answered normally %d times, want 0", n)
	}
}

func TestSimulatedAlreadyFulfilled(t *testing.T) {
	eachMode(t, func(t *testing.T, mode string) {
		o := simulate(t, scenario{mode: mode, order: fixture("", "ES", "46005", "8400000000017"),
			shop: func(s *shopifytest.Server) { s.FulfilByHand(orderGID) }})
		if o.byHand != 1 || len(o.fulfilments()) != 0 || len(o.store.AdminCalls) != 0 || len(o.store.Emails) != 0 {
			t.Errorf("by hand %d; new fulfilments %d, admin calls %d, emails %d; want none for an order fulfilled by hand",
				o.byHand, len(o.fulfilments()), len(o.store.AdminCalls), len(o.store.Emails))
		}
	})
}

func TestSimulatedHold(t *testing.T) {
	hold := func(p *flowtemplates.Params) { p.Hold = 2 * time.Hour }
	t.Run("edited during hold", func(t *testing.T) {
		o := simulate(t, scenario{order: fixture("", "ES", "46005", "8400000000017"), mod: hold,
			prepare: func(s *Store) { s.Order["edited"] = true }})
		if o.sb.Stats().Creates != 0 || len(o.store.Emails) != 1 || !strings.Contains(o.store.Emails[0].Subject, "edited") {
			t.Errorf("creates %d, emails %v", o.sb.Stats().Creates, o.store.Emails)
		}
	})
	t.Run("cancelled during hold", func(t *testing.T) {
		o := simulate(t, scenario{order: fixture("", "ES", "46005", "8400000000017"), mod: hold,
			prepare: func(s *Store) { s.Order["cancelledAt"] = simStart.Add(time.Hour).Format(time.RFC3339) }})
		if o.sb.Stats().Creates != 0 || len(o.store.Emails) != 0 {
			t.Errorf("creates %d, emails %d", o.sb.Stats().Creates, len(o.store.Emails))
		}
	})
	t.Run("untouched", func(t *testing.T) {
		eachMode(t, func(t *testing.T, mode string) {
			o := simulate(t, scenario{mode: mode, order: fixture("", "ES", "46005", "8400000000017"), mod: hold})
			if o.sb.Stats().Creates != 1 || len(o.fulfilments()) != 1 {
				t.Fatalf("creates %d, fulfilments %d", o.sb.Stats().Creates, len(o.fulfilments()))
			}
			if at := o.fulfilments()[0].CreatedAt.Sub(simStart); at != 2*time.Hour+24*time.Hour {
				t.Errorf("fulfilled at +%s", at)
			}
		})
	})
}

// TestCommandRunsCommittedWorkflow runs `flowbridge simulate` on the
// committed default workflow, pointed at the local service with --url.
func TestCommandRunsCommittedWorkflow(t *testing.T) {
	sb := sandbox.New(sandbox.Config{})
	url, key := startFlowbridge(t, sb, time.Now)
	orderPath := filepath.Join("testdata", "order.json") // the fixture docs/flow-templates.md shows
	wf := filepath.Join("..", "flowtemplates", "generated", filepath.FromSlash(flowtemplates.WorkflowFile))
	var out, errb bytes.Buffer
	err := Command(context.Background(), []string{"--workflow", wf, "--order", orderPath, "--url", url, "--key", key,
		"--start", time.Now().UTC().Format(time.RFC3339)}, &out, &errb)
	if err != nil {
		t.Fatalf("%v\n%s%s", err, out.String(), errb.String())
	}
	// With the real clock the sandbox ships after 3 minutes, so check 1
	// (24 h of Flow time later, but seconds of real time) sees "pending"
	// or "processing" only; the run therefore ends with the no-tracking alert.
	for _, want := range []string{"Order paid", "POST /rates", "metafield flowbridge.supplier_order_id", "run completed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if testing.Verbose() {
		t.Log(out.String())
	}
	if strings.Contains(out.String(), key) {
		t.Error("the API key leaked into the output")
	}
	if sb.Stats().Creates != 1 {
		t.Errorf("creates = %d", sb.Stats().Creates)
	}
}

// The status-only variant of the lean workflow (no Run code in stage 2)
// reaches the same ends, should the editor show that a Condition can read
// the Send HTTP request's status.
func TestSimulatedLeanBranchOnStatus(t *testing.T) {
	onStatus := func(p *flowtemplates.Params) { p.BranchOnStatus = true }
	o := simulate(t, scenario{mode: flowtemplates.FulfilByFlowbridge, mod: onStatus, order: fixture("sandbox:ship-after=50h", "ES", "46005", "8400000000017")})
	if o.checks() != 4 || len(o.fulfilments()) != 1 || len(o.store.Emails) != 0 {
		t.Fatalf("checks %d, fulfilments %d, e-mails %d", o.checks(), len(o.fulfilments()), len(o.store.Emails))
	}
	o = simulate(t, scenario{mode: flowtemplates.FulfilByFlowbridge, mod: onStatus, order: fixture("sandbox:cancel sandbox:ship-after=35h", "ES", "46005", "8400000000024")})
	if o.checks() != 3 || len(o.fulfilments()) != 0 || len(o.store.Emails) != 1 || !strings.Contains(o.store.Emails[0].Message, "supplier_cancelled") {
		t.Fatalf("cancelled: checks %d, fulfilments %d, e-mails %v", o.checks(), len(o.fulfilments()), o.store.Emails)
	}
}
