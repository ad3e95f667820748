package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/flowsim"
	"github.com/flowbridge/flowbridge/flowtemplates"
	"github.com/flowbridge/flowbridge/internal/apptest"
	"github.com/flowbridge/flowbridge/supplier/bigbuy"
	"github.com/flowbridge/flowbridge/supplier/bigbuy/bigbuyfake"
)

// A cart BigBuy ships from two warehouses becomes two BigBuy orders
// (multishipping): /orders answers both in one answer, a re-send replays
// both and creates nothing, and tracking — by the value Flow stores on the
// order's metafield, by either number, or by the Shopify order — reports
// both parcels once both parts shipped.
func TestTwoWarehouseCartEndToEnd(t *testing.T) {
	eachBackend(t, func(t *testing.T, redisURL string) {
		clk := newClock()
		cfg := bigbuyfake.DefaultConfig()
		cfg.Now = clk.Now
		fake := bigbuyfake.New(cfg)
		srv := httptest.NewServer(fake)
		t.Cleanup(srv.Close)
		bb, err := bigbuy.New(bigbuy.Config{BaseURL: srv.URL, APIKey: fake.Key(), HTTPClient: srv.Client(), Now: clk.Now,
			Catalog: bigbuy.StaticCatalog(map[string]string{"8400000000017": "V1300179", "8400000000031": "S7106391"})})
		if err != nil {
			t.Fatal(err)
		}
		app := apptest.Start(t, apptest.Options{Supplier: bb, Now: clk.Now, RedisURL: redisURL,
			Env: map[string]string{"FLOWBRIDGE_SHOP": shop, "FLOWBRIDGE_SUPPLIER": "bigbuy", "FLOWBRIDGE_BIGBUY_API_KEY": fake.Key()}})
		c := newClient(t, app)
		lines := []any{
			map[string]any{"barcode": "8400000000017", "sku": "MUG", "quantity": 1, "price": "19.99"},
			map[string]any{"barcode": "8400000000031", "sku": "LAMP", "quantity": 1, "price": "49.99"},
		}

		rb := ratesBody("7401")
		rb["line_items"] = lines
		q := c.flow(http.MethodPost, "/rates", rb)
		rate, _ := q.JSON()["shipping_cost_id"].(string)
		if q.Status != http.StatusOK || rate != "gls" {
			t.Fatalf("rates: %d %s", q.Status, q.Body)
		}
		ob := orderBody("7401", rate, "")
		ob["line_items"] = lines
		first := c.flow(http.MethodPost, "/orders", ob)
		if first.Status != http.StatusOK {
			t.Fatalf("orders: %d %s", first.Status, first.Body)
		}
		orders := fake.Orders()
		if len(orders) != 2 {
			t.Fatalf("BigBuy has %d orders, want one per warehouse", len(orders))
		}
		ids := []string{strconv.Itoa(orders[0].ID), strconv.Itoa(orders[1].ID)}
		ans := first.JSON()
		metafield, _ := ans["supplier_order_id"].(string)
		if got := strList(ans["supplier_order_ids"]); !slices.Equal(got, ids) || metafield != ids[0]+","+ids[1] || ans["parts_count"] != float64(2) || ans["partial"] != false {
			t.Fatalf("answer %s, want both numbers %v", first.Body, ids)
		}

		// Flow re-sends: the same answer, nothing created.
		again := c.flow(http.MethodPost, "/orders", ob)
		if again.Status != http.StatusOK || again.JSON()["replay"] != true || !slices.Equal(strList(again.JSON()["supplier_order_ids"]), ids) {
			t.Fatalf("re-send: %d %s", again.Status, again.Body)
		}
		if n := len(fake.Orders()); n != 2 || fake.Count("POST /rest/order/create/multishipping.json") != 1 {
			t.Fatalf("a re-send created orders: %d at BigBuy", n)
		}

		// Forget the cached tracking so the next check asks BigBuy (the
		// cache's freshness runs on Redis's clock, not the test's).
		release := func() {
			t.Helper()
			if r := c.operator(http.MethodPost, "/admin/orders/7401/release-cache", map[string]any{}); r.Status != http.StatusOK {
				t.Fatalf("release-cache: %d %s", r.Status, r.Body)
			}
		}
		byShopify := "/tracking/7401?by=shopify_order"
		byMetafield := "/tracking/" + url.PathEscape(metafield)
		for _, p := range []string{byShopify, byMetafield} {
			tr := c.flow(http.MethodGet, p, nil).JSON()
			if tr["status"] != "pending" || tr["fulfillable"] != false || tr["parts_count"] != float64(2) {
				t.Fatalf("%s before shipping: %v", p, tr)
			}
		}
		fake.Ship(ids[0], bigbuyfake.Parcel{Number: "GLSAAA1", CarrierID: "5"})
		release()
		tr := c.flow(http.MethodGet, byShopify, nil).JSON()
		if tr["fulfillable"] != false || tr["shipped"] != false || !slices.Equal(strList(tr["tracking_numbers"]), []string{"GLSAAA1"}) {
			t.Fatalf("one part shipped: %v (not fulfillable until every part shipped)", tr)
		}
		fake.Ship(ids[1], bigbuyfake.Parcel{Number: "GLSBBB2", CarrierID: "5"})
		release()
		for _, p := range []string{byShopify, byMetafield} {
			tr := c.flow(http.MethodGet, p, nil).JSON()
			if tr["status"] != "shipped" || tr["fulfillable"] != true || !slices.Equal(strList(tr["tracking_numbers"]), []string{"GLSAAA1", "GLSBBB2"}) || tr["parcels_count"] != float64(2) {
				t.Fatalf("%s after both shipped: %v", p, tr)
			}
		}
		// Either number alone tracks its own part.
		tr = c.flow(http.MethodGet, "/tracking/"+ids[1], nil).JSON()
		if !slices.Equal(strList(tr["tracking_numbers"]), []string{"GLSBBB2"}) {
			t.Fatalf("second part alone: %v", tr)
		}
	})
}

func strList(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// shipOnTracking ships every BigBuy order still unshipped the first time
// its tracking is read: each warehouse part gets its own GLS parcel.
type shipOnTracking struct {
	fake *bigbuyfake.Server
	mu   sync.Mutex
	n    int
}

func (s *shipOnTracking) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if id, ok := strings.CutPrefix(r.URL.Path, "/rest/order/"); ok && r.Method == http.MethodGet && !strings.Contains(id, "/") {
		id = strings.TrimSuffix(id, ".json")
		for _, o := range s.fake.Orders() {
			if strconv.Itoa(o.ID) == id && len(o.Parcels) == 0 {
				s.mu.Lock()
				s.n++
				number := "GLSPART" + strconv.Itoa(s.n)
				s.mu.Unlock()
				s.fake.Ship(id, bigbuyfake.Parcel{Number: number, CarrierID: "5"})
			}
		}
	}
	s.fake.ServeHTTP(w, r)
}

// The generated Flow workflow, run by the simulator against flowbridge
// and BigBuy's simulator, places a two-warehouse cart as two BigBuy orders
// (one metafield value naming both) and fulfils the Shopify order once,
// with both parcels.
func TestTwoWarehouseCartThroughFlow(t *testing.T) {
	clock := flowsim.NewVirtualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	fake := bigbuyfake.New(bigbuyfake.DefaultConfig())
	srv := httptest.NewServer(&shipOnTracking{fake: fake})
	t.Cleanup(srv.Close)
	bb, err := bigbuy.New(bigbuy.Config{BaseURL: srv.URL, APIKey: fake.Key(), HTTPClient: srv.Client(), Now: clock.Now,
		Catalog: bigbuy.StaticCatalog(map[string]string{"8400000000017": "V1300179", "8400000000031": "S7106391"})})
	if err != nil {
		t.Fatal(err)
	}
	app := apptest.Start(t, apptest.Options{Supplier: bb, Now: clock.Now, NoContract: true,
		Env: map[string]string{"FLOWBRIDGE_SUPPLIER": "bigbuy", "FLOWBRIDGE_BIGBUY_API_KEY": fake.Key()}})
	p := flowtemplates.Defaults()
	p.BaseURL = app.URL
	// The workflow fulfils (Send Admin API request); flowbridge fulfilling
	// itself reads the same combined tracking (fulfilment uses orders.Track).
	p.FulfilBy = flowtemplates.FulfilByFlow
	w, err := flowtemplates.Build(p)
	if err != nil {
		t.Fatal(err)
	}
	item := func(barcode string) map[string]any {
		return map[string]any{"sku": "SKU-" + barcode, "quantity": float64(1), "currentQuantity": float64(1), "variant": map[string]any{"barcode": barcode},
			"originalUnitPriceSet": map[string]any{"shopMoney": map[string]any{"amount": "19.99", "currencyCode": "EUR"}}}
	}
	order := map[string]any{
		"id": "gid://shopify/Order/5550002", "name": "#1043", "email": custEmail, "phone": custPhone,
		"createdAt": "2026-03-02T08:59:00Z", "processedAt": "2026-03-02T09:00:00Z",
		"customer": map[string]any{"firstName": custFirst, "lastName": custLast, "email": custEmail},
		"shippingAddress": map[string]any{"firstName": custFirst, "lastName": custLast, "company": nil, "address1": custStreet,
			"address2": "", "city": custCity, "zip": "46005", "provinceCode": "V", "countryCodeV2": "ES", "phone": custPhone},
		"lineItems": []any{item("8400000000017"), item("8400000000031")}, "currencyCode": "EUR",
		"paymentGatewayNames": []any{"shopify_payments"}, "displayFulfillmentStatus": "UNFULFILLED", "cancelledAt": nil,
		"edited": false, "metafields": []any{},
		"fulfillmentOrders": []any{map[string]any{"id": "gid://shopify/FulfillmentOrder/9002", "status": "OPEN",
			"assignedLocation": map[string]any{"location": map[string]any{"id": "gid://shopify/Location/1"}}}},
	}
	sim := flowsim.New(flowsim.Options{Clock: clock, Secrets: map[string]string{p.SecretName: app.APIKey}, Definitions: p.Metafields(),
		HTTP: flowsim.HTTPBehaviour{Timeout: 5 * time.Second}})
	st := &flowsim.Store{Order: order}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := sim.Run(ctx, w, st)
	if err != nil || res.Failed {
		t.Fatalf("run: %v %s", err, res.Reason)
	}
	orders := fake.Orders()
	if len(orders) != 2 {
		for _, e := range res.Events {
			t.Logf("%s %s %s %s", e.At.Format(time.RFC3339), e.Title, e.Outcome, e.Detail)
		}
		t.Fatalf("BigBuy has %d orders, want one per warehouse", len(orders))
	}
	value, _ := st.Metafield(p.Namespace, p.SupplierOrderKey)
	if want := strconv.Itoa(orders[0].ID) + "," + strconv.Itoa(orders[1].ID); value != want {
		t.Fatalf("supplier order metafield %q, want %q", value, want)
	}
	var fulfils []flowsim.AdminCall
	for _, c := range st.AdminCalls {
		if c.Mutation == "fulfillmentCreate" {
			fulfils = append(fulfils, c)
		}
	}
	if len(fulfils) != 1 || len(st.Emails) != 0 {
		for _, e := range res.Events {
			t.Logf("%s %s %s %s", e.At.Format(time.RFC3339), e.Title, e.Outcome, e.Detail)
		}
		t.Fatalf("fulfilments %d, alerts %d; want one fulfilment and no alert", len(fulfils), len(st.Emails))
	}
	info := fulfils[0].Input["fulfillment"].(map[string]any)["trackingInfo"].(map[string]any)
	nums, _ := info["numbers"].([]any)
	if len(nums) != 2 || nums[0] != "GLSPART1" || nums[1] != "GLSPART2" || info["company"] != "GLS" {
		t.Fatalf("tracking info %v, want both parcels", info)
	}
}

// A part that BigBuy refuses at create (sold between check and create):
// the other part exists, so /orders answers 200 with partial true, and a
// re-send replays that answer without ordering the refused part again.
func TestTwoWarehouseCartPartlyPlacedEndToEnd(t *testing.T) {
	cfg := bigbuyfake.DefaultConfig()
	cfg.Products[3].SellsOutAtCreate = true
	fake := bigbuyfake.New(cfg)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	bb, err := bigbuy.New(bigbuy.Config{BaseURL: srv.URL, APIKey: fake.Key(), HTTPClient: srv.Client(),
		Catalog: bigbuy.StaticCatalog(map[string]string{"8400000000017": "V1300179", "8400000000031": "S7106391"})})
	if err != nil {
		t.Fatal(err)
	}
	app := apptest.Start(t, apptest.Options{Supplier: bb,
		Env: map[string]string{"FLOWBRIDGE_SHOP": shop, "FLOWBRIDGE_SUPPLIER": "bigbuy", "FLOWBRIDGE_BIGBUY_API_KEY": fake.Key()}})
	c := newClient(t, app)
	ob := orderBody("7402", "gls", "")
	ob["line_items"] = []any{
		map[string]any{"barcode": "8400000000017", "sku": "MUG", "quantity": 1, "price": "19.99"},
		map[string]any{"barcode": "8400000000031", "sku": "LAMP", "quantity": 1, "price": "49.99"},
	}
	for i := range 2 {
		r := c.flow(http.MethodPost, "/orders", ob)
		ans := r.JSON()
		orders := fake.Orders()
		if r.Status != http.StatusOK || len(orders) != 1 || ans["partial"] != true || ans["parts_count"] != float64(2) ||
			ans["supplier_order_id"] != strconv.Itoa(orders[0].ID) || ans["replay"] != (i == 1) {
			t.Fatalf("call %d: %d %s (BigBuy has %d orders)", i+1, r.Status, r.Body, len(orders))
		}
	}
	if n := fake.Count("POST /rest/order/create/multishipping.json"); n != 1 {
		t.Fatalf("%d multishipping creates, want 1", n)
	}
}
