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
