package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/flowsim"
	"github.com/flowbridge/flowbridge/flowtemplates"
	"github.com/flowbridge/flowbridge/internal/apptest"
	"github.com/flowbridge/flowbridge/shopify/shopifytest"
	"github.com/flowbridge/flowbridge/supplier/bigbuy"
	"github.com/flowbridge/flowbridge/supplier/bigbuy/bigbuyfake"
)

const splitToken = "shpat_splitflow"

// cancelSecond ships the first BigBuy order of a split cart when its
// tracking is read and cancels the other: a partly cancelled split order.
type cancelSecond struct {
	fake *bigbuyfake.Server
	mu   sync.Mutex
	done bool
}

func (s *cancelSecond) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/rest/order/") && r.Method == http.MethodGet {
		s.mu.Lock()
		if orders := s.fake.Orders(); !s.done && len(orders) == 2 {
			s.done = true
			s.fake.Ship(strconv.Itoa(orders[0].ID), bigbuyfake.Parcel{Number: "GLSKEPT1", CarrierID: "5"})
			s.fake.SetStatus(strconv.Itoa(orders[1].ID), "Cancelled")
		}
		s.mu.Unlock()
	}
	s.fake.ServeHTTP(w, r)
}

type splitRun struct {
	fake  *bigbuyfake.Server
	shop  *shopifytest.Server
	store *flowsim.Store
	res   *flowsim.Result
	p     flowtemplates.Params
}

// runSplit runs the generated workflow of mode against flowbridge on
// BigBuy's simulator (cfg, wrapped by wrap) and a fake shop checked
// against Shopify's Admin schema.
func runSplit(t *testing.T, mode string, cfg bigbuyfake.Config, wrap func(*bigbuyfake.Server) http.Handler) splitRun {
	t.Helper()
	clock := flowsim.NewVirtualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	fake := bigbuyfake.New(cfg)
	srv := httptest.NewServer(wrap(fake))
	t.Cleanup(srv.Close)
	bb, err := bigbuy.New(bigbuy.Config{BaseURL: srv.URL, APIKey: fake.Key(), HTTPClient: srv.Client(), Now: clock.Now,
		Catalog: bigbuy.StaticCatalog(map[string]string{"8400000000017": "V1300179", "8400000000031": "S7106391"})})
	if err != nil {
		t.Fatal(err)
	}
	const gid = "gid://shopify/Order/5550003"
	shop := shopifytest.New(t, splitToken, "2026-01")
	shop.SetScopes("read_orders", "write_orders", "read_merchant_managed_fulfillment_orders", "write_merchant_managed_fulfillment_orders")
	shop.SetClock(clock.Now)
	shop.AddOrder(shopifytest.Order{ID: gid, Name: "#1044", FulfillmentOrders: []shopifytest.FulfillmentOrder{{
		ID: "gid://shopify/FulfillmentOrder/9003", Status: "OPEN", LocationID: "gid://shopify/Location/1", LocationName: "Warehouse",
		LineItems: []shopifytest.FulfillmentOrderLineItem{
			{ID: "fol-1", LineItemID: "gid://shopify/LineItem/1", SKU: "MUG", TotalQuantity: 1},
			{ID: "fol-2", LineItemID: "gid://shopify/LineItem/2", SKU: "LAMP", TotalQuantity: 1}}}}})
	app := apptest.Start(t, apptest.Options{Supplier: bb, Now: clock.Now, NoContract: true,
		Env: map[string]string{"FLOWBRIDGE_SUPPLIER": "bigbuy", "FLOWBRIDGE_BIGBUY_API_KEY": fake.Key(),
			"SHOPIFY_SHOP": "example.myshopify.com", "SHOPIFY_ADMIN_TOKEN": splitToken, "SHOPIFY_ADMIN_BASE_URL": shop.URL}})
	p := flowtemplates.Defaults()
	p.BaseURL = app.URL
	p.FulfilBy = mode
	w, err := flowtemplates.Build(p)
	if err != nil {
		t.Fatal(err)
	}
	if issues := flowsim.Lint(w, p.Metafields()); len(issues) > 0 {
		t.Fatalf("lint: %s", flowsim.Summary(issues))
	}
	item := func(barcode, sku string) map[string]any {
		return map[string]any{"sku": sku, "quantity": float64(1), "currentQuantity": float64(1), "variant": map[string]any{"barcode": barcode},
			"originalUnitPriceSet": map[string]any{"shopMoney": map[string]any{"amount": "19.99", "currencyCode": "EUR"}}}
	}
	order := map[string]any{
		"id": gid, "name": "#1044", "email": custEmail, "phone": custPhone,
		"createdAt": "2026-03-02T08:59:00Z", "processedAt": "2026-03-02T09:00:00Z",
		"customer": map[string]any{"firstName": custFirst, "lastName": custLast, "email": custEmail},
		"shippingAddress": map[string]any{"firstName": custFirst, "lastName": custLast, "company": nil, "address1": custStreet,
			"address2": "", "city": custCity, "zip": "46005", "provinceCode": "V", "countryCodeV2": "ES", "phone": custPhone},
		"lineItems": []any{item("8400000000017", "MUG"), item("8400000000031", "LAMP")}, "currencyCode": "EUR",
		"paymentGatewayNames": []any{"shopify_payments"}, "displayFulfillmentStatus": "UNFULFILLED", "cancelledAt": nil,
		"edited": false, "metafields": []any{},
		"fulfillmentOrders": []any{map[string]any{"id": "gid://shopify/FulfillmentOrder/9003", "status": "OPEN",
			"assignedLocation": map[string]any{"location": map[string]any{"id": "gid://shopify/Location/1"}}}},
	}
	sim := flowsim.New(flowsim.Options{Clock: clock, Secrets: map[string]string{p.SecretName: app.APIKey}, Definitions: p.Metafields(),
		HTTP:  flowsim.HTTPBehaviour{Timeout: 5 * time.Second},
		Admin: flowsim.GraphQLAdmin{URL: shop.URL + "/admin/api/2026-01/graphql.json", Token: splitToken}})
	st := &flowsim.Store{Order: order}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := sim.Run(ctx, w, st)
	if err != nil || res.Failed {
		t.Fatalf("run: %v %s", err, res.Reason)
	}
	return splitRun{fake: fake, shop: shop, store: st, res: res, p: p}
}

func (r splitRun) logEvents(t *testing.T) {
	for _, e := range r.res.Events {
		t.Logf("%s %s %s %s", e.At.Format(time.RFC3339), e.Title, e.Outcome, e.Detail)
	}
}

func (r splitRun) emailsWith(subject string) []flowsim.Email {
	var out []flowsim.Email
	for _, e := range r.store.Emails {
		if strings.Contains(e.Subject, subject) {
			out = append(out, e)
		}
	}
	return out
}

var splitModes = []string{flowtemplates.FulfilByFlow, flowtemplates.FulfilByFlowbridge}

// A split cart of which BigBuy creates only one part: the workflow stores
// the created number, sends one alert naming it, and goes on tracking.
func TestPartialPlacementAlertsThroughFlow(t *testing.T) {
	for _, mode := range splitModes {
		t.Run(mode, func(t *testing.T) {
			cfg := bigbuyfake.DefaultConfig()
			cfg.Products[3].SellsOutAtCreate = true
			r := runSplit(t, mode, cfg, func(f *bigbuyfake.Server) http.Handler { return f })
			orders := r.fake.Orders()
			if len(orders) != 1 {
				r.logEvents(t)
				t.Fatalf("BigBuy has %d orders, want the one part it could create", len(orders))
			}
			id := strconv.Itoa(orders[0].ID)
			if v, _ := r.store.Metafield(r.p.Namespace, r.p.SupplierOrderKey); v != id {
				t.Fatalf("metafield %q, want %q", v, id)
			}
			alerts := r.emailsWith("only PARTLY placed")
			if len(alerts) != 1 || !strings.Contains(alerts[0].Message, "Created supplier orders: "+id) ||
				!strings.Contains(alerts[0].Message, "into 2 orders") || !strings.Contains(alerts[0].Subject, "#1044") {
				r.logEvents(t)
				t.Fatalf("partial alerts %+v, want one naming #1044 and part %s of 2", alerts, id)
			}
			if n := len(r.emailsWith("cancelled PART")); n != 0 {
				t.Fatalf("%d partly-cancelled alerts, want none", n)
			}
		})
	}
}

// A split cart placed as two BigBuy orders, one shipped and one cancelled:
// the shipped part is fulfilled exactly once and one alert says a part
// was cancelled.
func TestPartlyCancelledSplitOrderThroughFlow(t *testing.T) {
	for _, mode := range splitModes {
		t.Run(mode, func(t *testing.T) {
			r := runSplit(t, mode, bigbuyfake.DefaultConfig(), func(f *bigbuyfake.Server) http.Handler { return &cancelSecond{fake: f} })
			if n := len(r.fake.Orders()); n != 2 {
				t.Fatalf("BigBuy has %d orders, want two", n)
			}
			fs := r.shop.Fulfillments("gid://shopify/Order/5550003")
			alerts := r.emailsWith("cancelled PART")
			if len(fs) != 1 || len(alerts) != 1 || len(r.emailsWith("PARTLY placed")) != 0 {
				r.logEvents(t)
				t.Fatalf("fulfilments %d, partly-cancelled alerts %d (emails %d); want one of each", len(fs), len(alerts), len(r.store.Emails))
			}
			if !strings.Contains(alerts[0].Subject, "#1044") {
				t.Fatalf("alert subject %q does not name the order", alerts[0].Subject)
			}
			if len(fs[0].Numbers) != 1 || fs[0].Numbers[0] != "GLSKEPT1" {
				t.Fatalf("fulfilment tracking %v, want the shipped part's parcel", fs[0].Numbers)
			}
		})
	}
}
