package bigbuyfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func do(t *testing.T, srv *httptest.Server, key, method, path, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

const order = `{"order":{"internalReference":"1","language":"en","paymentMethod":"moneybox","carriers":[{"name":"gls"}],
"shippingAddress":{"firstName":"A","lastName":"B","country":"ES","postcode":"46005","town":"V","address":"C 1","phone":"6","email":"a@b.c","comment":""},
"products":[{"reference":"V1300179","quantity":1}]}}`

// The fake reads fields by BigBuy's names: a body with a misnamed field is
// refused like BigBuy's form would refuse it, so an adapter that names a
// field wrongly fails its tests.
func TestMisnamedFieldIsRefused(t *testing.T) {
	s := New(DefaultConfig())
	srv := httptest.NewServer(s)
	defer srv.Close()
	if st, h, _ := do(t, srv, s.Key(), "POST", "/rest/order/create.json", order); st != 201 || h.Get("Location") == "" {
		t.Fatalf("valid order: %d %v", st, h)
	}
	bad := strings.Replace(strings.Replace(order, `"address":"C 1"`, `"street":"C 1"`, 1), `"internalReference":"1"`, `"internalReference":"2"`, 1)
	st, _, body := do(t, srv, s.Key(), "POST", "/rest/order/create.json", bad)
	var v map[string]any
	_ = json.Unmarshal([]byte(body), &v)
	errs, _ := v["errors"].(map[string]any)
	kids, _ := errs["children"].(map[string]any)
	addr, _ := kids["shippingAddress"].(map[string]any)["children"].(map[string]any)
	if st != 400 || v["message"] != "Validation Failed" || addr["address"] == nil {
		t.Fatalf("misnamed field: %d %s", st, body)
	}
	if n := len(s.Orders()); n != 1 {
		t.Fatalf("%d orders", n)
	}
}

func TestRateLimitIsPerEndpoint(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	cfg := DefaultConfig()
	cfg.PerEndpointPerSecond = 1
	cfg.Now = func() time.Time { return now }
	s := New(cfg)
	srv := httptest.NewServer(s)
	defer srv.Close()
	id := s.Seed("1", "Shipped")
	if st, _, _ := do(t, srv, s.Key(), "GET", "/rest/order/"+id+".json", ""); st != 200 {
		t.Fatal(st)
	}
	// Same endpoint, another id: the same budget.
	st, h, body := do(t, srv, s.Key(), "GET", "/rest/order/123.json", "")
	if st != 429 || body != RateLimitText || h.Get("X-RateLimit-Reset") != "1800000001" || h.Get("Retry-After") != "" {
		t.Fatalf("second read: %d %q %v", st, body, h)
	}
	// Another endpoint has its own budget.
	if st, _, _ := do(t, srv, s.Key(), "GET", "/rest/tracking/order/"+id+".json", ""); st != 200 {
		t.Fatalf("tracking: %d", st)
	}
	now = now.Add(time.Second)
	if st, _, _ := do(t, srv, s.Key(), "GET", "/rest/order/"+id+".json", ""); st != 200 {
		t.Fatalf("next second: %d", st)
	}
}

func TestDifferentWarehouses(t *testing.T) {
	s := New(DefaultConfig())
	srv := httptest.NewServer(s)
	defer srv.Close()
	st, _, body := do(t, srv, s.Key(), "POST", "/rest/shipping/orders.json",
		`{"order":{"delivery":{"isoCountry":"ES","postcode":"46005"},"products":[{"reference":"V1300179","quantity":1},{"reference":"S7106391","quantity":1}]}}`)
	var v struct {
		Code        int    `json:"code"`
		Message     string `json:"message"`
		ErrorDetail struct {
			Warehouses []struct {
				ID         int      `json:"id"`
				References []string `json:"references"`
			} `json:"warehouses"`
		} `json:"error_detail"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil || st != 409 || v.Code != 409 || !strings.HasPrefix(v.Message, DifferentWarehouses) || len(v.ErrorDetail.Warehouses) != 2 {
		t.Fatalf("%d %s", st, body)
	}
}

// BigBuy removed productsstockbyreference and productsstock (PyBigBuy
// CHANGELOG 3.20.0): the fake answers them as any unknown route, 404, so a
// reader still calling them fails its tests.
func TestRemovedStockRoutesAre404(t *testing.T) {
	srv := httptest.NewServer(New(DefaultConfig()))
	defer srv.Close()
	key := DefaultConfig().Key
	for _, c := range []struct{ method, path, body string }{
		{http.MethodPost, "/rest/catalog/productsstockbyreference.json", `{"product_stock_request":{"products":[{"sku":"V1300179"}]}}`},
		{http.MethodGet, "/rest/catalog/productsstock.json?page=0&pageSize=10", ""},
		{http.MethodGet, "/rest/catalog/productsstockavailable.json?page=0&pageSize=10", ""},
	} {
		st, _, body := do(t, srv, key, c.method, c.path, c.body)
		var m map[string]any
		if st != http.StatusNotFound || json.Unmarshal([]byte(body), &m) != nil || m["code"] != float64(404) {
			t.Errorf("%s %s: %d %s, want BigBuy's 404 {code,message}", c.method, c.path, st, body)
		}
	}
}

// The stock list by handling days: one row per feed row, zero stock
// included, {id, sku, stocks:[{quantity, minHandlingDays, maxHandlingDays,
// warehouse}]}, paged like the feeds, the live stock split over two bands.
func TestStockByHandlingDaysShape(t *testing.T) {
	srv := httptest.NewServer(New(DefaultConfig()))
	defer srv.Close()
	key := DefaultConfig().Key
	st, _, body := do(t, srv, key, http.MethodGet, "/rest/catalog/productsstockbyhandlingdays.json?page=0&pageSize=2", "")
	var rows []struct {
		ID     int    `json:"id"`
		SKU    string `json:"sku"`
		Stocks []struct {
			Quantity, MinHandlingDays, MaxHandlingDays, Warehouse int
		} `json:"stocks"`
	}
	if st != 200 || json.Unmarshal([]byte(body), &rows) != nil || len(rows) != 2 {
		t.Fatalf("%d %s", st, body)
	}
	if r := rows[0]; r.SKU != "V1300179" || r.ID == 0 || len(r.Stocks) != 2 ||
		r.Stocks[0].Quantity+r.Stocks[1].Quantity != 10 || r.Stocks[0].Quantity == 10 ||
		r.Stocks[0].MaxHandlingDays != 1 || r.Stocks[1].MinHandlingDays != 1 || r.Stocks[0].Warehouse != 1 {
		t.Errorf("row %+v", r)
	}
	if st, _, body := do(t, srv, key, http.MethodGet, "/rest/catalog/productsstockbyhandlingdays.json?page=9&pageSize=2", ""); st != 200 || body != "" {
		t.Errorf("past the last page: %d %q, want an empty 200", st, body)
	}
	if st, _, _ := do(t, srv, key, http.MethodGet, "/rest/catalog/productsvariationsstockbyhandlingdays.json?page=0&pageSize=2", ""); st != 200 {
		t.Errorf("variation stock list: %d", st)
	}
}
