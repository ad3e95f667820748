package shopifytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that collects the fake's complaints instead of
// failing the test, so the test can assert that the fake complains.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, a...))
}
func (r *recorder) Fatalf(format string, a ...any) { r.Errorf(format, a...) }
func (r *recorder) all() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errs, "\n")
}

func post(t *testing.T, s *Server, query string, vars map[string]any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/admin/api/2026-01/graphql.json", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Access-Token", "tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The fake refuses what Shopify's schema refuses, including what the old
// hand-written slice let through.
func TestFakeRefusesWhatShopifyRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		vars        map[string]any
		want        string
	}{
		{"currencyCode is an enum, not a string to select into", `{ shop { currencyCode { code } } }`, nil, "must not have a selection"},
		{"deprecated V2 argument name", `mutation($f: FulfillmentInput!) { fulfillmentCreate(input: $f) { userErrors { message } } }`,
			map[string]any{"f": map[string]any{"lineItemsByFulfillmentOrder": []any{}}}, `Unknown argument "input"`},
		{"tracking field that does not exist", `mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) { userErrors { message } } }`,
			map[string]any{"f": map[string]any{"lineItemsByFulfillmentOrder": []any{}, "trackingInfo": map[string]any{"trackingNumber": "1"}}}, "Field is not defined on FulfillmentTrackingInput"},
		{"lower-case enum", `query($o: MetafieldOwnerType!) { metafieldDefinitions(ownerType: $o, first: 1) { nodes { id } } }`,
			map[string]any{"o": "order"}, `Expected "order" to be one of`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := New(rec, "tok", "2026-01")
			out := post(t, s, tc.query, tc.vars)
			if out["errors"] == nil || !strings.Contains(rec.all(), tc.want) {
				t.Fatalf("fake accepted it or said something else: errors %v; complaints %q", out["errors"], rec.all())
			}
		})
	}
}

// A resolver's answer is checked against the schema: a fixture cannot give
// a currency code Shopify's CurrencyCode enum lacks.
func TestFakeChecksItsOwnAnswers(t *testing.T) {
	rec := &recorder{TB: t}
	s := New(rec, "tok", "2026-01")
	s.Handle("shop", func(map[string]any) (any, *Error) {
		return map[string]any{"name": "S", "currencyCode": "euro"}, nil
	})
	post(t, s, `{ shop { name currencyCode } }`, nil)
	if !strings.Contains(rec.all(), `"euro" is not a CurrencyCode value`) {
		t.Fatalf("complaints %q", rec.all())
	}
	rec2 := &recorder{TB: t}
	s2 := New(rec2, "tok", "2026-01")
	s2.Handle("noSuchField", nil)
	if !strings.Contains(rec2.all(), "no such root field") {
		t.Fatalf("Handle of an unknown field: %q", rec2.all())
	}
}

const createMutation = `mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) {
  fulfillment { id status trackingInfo { company number url } } userErrors { field message } } }`

func twoLocationOrder() Order {
	return Order{ID: "gid://shopify/Order/1", Name: "#1001", FulfillmentOrders: []FulfillmentOrder{
		{ID: "gid://shopify/FulfillmentOrder/11", LocationID: "gid://shopify/Location/1", LocationName: "Supplier",
			LineItems: []FulfillmentOrderLineItem{{ID: "gid://shopify/FulfillmentOrderLineItem/111", LineItemID: "gid://shopify/LineItem/1", SKU: "A", TotalQuantity: 2}}},
		{ID: "gid://shopify/FulfillmentOrder/12", LocationID: "gid://shopify/Location/2", LocationName: "Shop",
			LineItems: []FulfillmentOrderLineItem{{ID: "gid://shopify/FulfillmentOrderLineItem/121", LineItemID: "gid://shopify/LineItem/2", SKU: "B", TotalQuantity: 1}}},
	}}
}

func userErrors(out map[string]any) []any {
	d, _ := out["data"].(map[string]any)
	fc, _ := d["fulfillmentCreate"].(map[string]any)
	ue, _ := fc["userErrors"].([]any)
	return ue
}

func fo(id string) map[string]any { return map[string]any{"fulfillmentOrderId": id} }

func TestFulfillmentCreateRules(t *testing.T) {
	tracking := map[string]any{"company": "GLS", "numbers": []any{"N1"}, "urls": []any{"https://gls.example/N1"}}
	for _, tc := range []struct {
		name    string
		groups  []any
		prepare func(*Server)
		wantErr string
	}{
		{"two locations in one call", []any{fo("gid://shopify/FulfillmentOrder/11"), fo("gid://shopify/FulfillmentOrder/12")}, nil, "same location"},
		{"empty list", []any{}, nil, "can't be blank"},
		{"closed", []any{fo("gid://shopify/FulfillmentOrder/11")}, func(s *Server) { s.FulfilByHand("gid://shopify/Order/1") }, "unfulfillable status"},
		{"one location", []any{fo("gid://shopify/FulfillmentOrder/11")}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(t, "tok", "2026-01")
			s.SetScopes("read_orders", "write_merchant_managed_fulfillment_orders")
			s.AddOrder(twoLocationOrder())
			if tc.prepare != nil {
				tc.prepare(s)
			}
			out := post(t, s, createMutation, map[string]any{"f": map[string]any{
				"lineItemsByFulfillmentOrder": tc.groups, "notifyCustomer": true, "trackingInfo": tracking}})
			ue := userErrors(out)
			if tc.wantErr == "" {
				if len(ue) != 0 {
					t.Fatalf("userErrors %v", ue)
				}
				o, _ := s.Order("gid://shopify/Order/1")
				if o.FulfillmentOrders[0].Status != "CLOSED" || o.FulfillmentOrders[1].Status != "OPEN" || o.DisplayFulfillmentStatus != "PARTIALLY_FULFILLED" {
					t.Fatalf("after fulfilling one location: %+v", o)
				}
				f := o.Fulfillments[0]
				if !f.NotifyCustomer || f.Company != "GLS" || f.Numbers[0] != "N1" || f.URLs[0] != "https://gls.example/N1" || f.LocationID != "gid://shopify/Location/1" {
					t.Fatalf("fulfillment %+v", f)
				}
				return
			}
			if len(ue) != 1 || !strings.Contains(fmt.Sprint(ue), tc.wantErr) {
				t.Fatalf("userErrors %v, want %q", ue, tc.wantErr)
			}
		})
	}
}

func TestFulfillmentScopes(t *testing.T) {
	s := New(t, "tok", "2026-01")
	s.SetScopes("read_orders")
	s.AddOrder(twoLocationOrder())
	out := post(t, s, createMutation, map[string]any{"f": map[string]any{"lineItemsByFulfillmentOrder": []any{fo("gid://shopify/FulfillmentOrder/11")}}})
	if !strings.Contains(fmt.Sprint(out["errors"]), "ACCESS_DENIED") {
		t.Fatalf("errors %v", out["errors"])
	}
	if len(s.Fulfillments("gid://shopify/Order/1")) != 0 {
		t.Fatal("fulfilled without the scope")
	}
}

func TestOrderQueryShowsFulfillmentOrders(t *testing.T) {
	s := New(t, "tok", "2026-01")
	s.SetScopes("read_orders", "read_merchant_managed_fulfillment_orders")
	s.AddOrder(twoLocationOrder())
	out := post(t, s, `query($id: ID!) { order(id: $id) { id displayFulfillmentStatus fulfillmentOrders(first: 50) { nodes {
	  id status assignedLocation { location { id } } supportedActions { action }
	  lineItems(first: 250) { nodes { id remainingQuantity lineItem { currentQuantity } } } } } } }`, map[string]any{"id": "gid://shopify/Order/1"})
	b, _ := json.Marshal(out)
	for _, want := range []string{`"gid://shopify/Location/2"`, `"CREATE_FULFILLMENT"`, `"remainingQuantity":2`, `"displayFulfillmentStatus":"UNFULFILLED"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("answer lacks %s: %s", want, b)
		}
	}
}
