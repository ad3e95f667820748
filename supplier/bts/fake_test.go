package bts

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/flowbridge/flowbridge/supplier"
)

// fakeBTS speaks BTS Wholesaler's wire format under /v1/api: Bearer JWT,
// GET with PHP-style bracketed query keys, setCreateOrder as an url-encoded
// POST, error strings in bodies. Knobs select the documented or the observed
// answer shapes; override replaces one endpoint's handler for failure cases.
type fakeBTS struct {
	t     *testing.T
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	requests []fakeRequest
	override map[string]http.HandlerFunc

	// ratesAsObject answers getShippingPrices as an object keyed by index
	// with numbers as strings and "€" costs (observed) instead of the
	// documented array.
	ratesAsObject bool
	// bareCreate answers setCreateOrder with a bare JSON string order number
	// (observed) instead of the documented object.
	bareCreate bool
	// products: EAN → stock.
	products map[string]int
	rates    []fakeRate
	orders   map[string]*fakeOrder
	next     int64
}

type fakeRate struct {
	ID      int
	Carrier string
	Cost    string // as BTS writes it, "5.99"
	Days    int
}

type fakeOrder struct {
	Number   string
	Status   string
	Tracking any // string or nil
	Company  string
	Form     url.Values
}

type fakeRequest struct {
	Method, Endpoint, ContentType, Auth string
	Query, Form                         url.Values
}

const fakeToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI3NTMyNTIiLCJleHAiOjQxMDI0NDQ4MDB9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"

func newFake(t *testing.T) *fakeBTS {
	t.Helper()
	f := &fakeBTS{
		t:        t,
		token:    fakeToken,
		override: map[string]http.HandlerFunc{},
		products: map[string]int{"8411061123456": 150, "3614272049529": 3, "8005610711768": 0},
		rates: []fakeRate{
			{ID: 145, Carrier: "SEUR", Cost: "7.50", Days: 3},
			{ID: 148, Carrier: "GLS", Cost: "5.99", Days: 5},
		},
		orders: map[string]*fakeOrder{},
		next:   743799256961,
	}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeBTS) baseURL() string { return f.srv.URL + "/v1/api" }

// handle replaces the handler of one endpoint.
func (f *fakeBTS) handle(endpoint string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.override[endpoint] = h
}

func (f *fakeBTS) calls(endpoint string) []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeRequest
	for _, r := range f.requests {
		if r.Endpoint == endpoint {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeBTS) addOrder(o *fakeOrder) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.orders[o.Number] = o
}

func (f *fakeBTS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	endpoint, ok := strings.CutPrefix(r.URL.Path, "/v1/api/")
	if !ok || strings.Contains(endpoint, "/") {
		http.Error(w, "<html>Not Found</html>", http.StatusNotFound)
		return
	}
	want := http.MethodGet
	if endpoint == "setCreateOrder" {
		want = http.MethodPost
	}
	if r.Method != want {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rec := fakeRequest{Method: r.Method, Endpoint: endpoint, Auth: r.Header.Get("Authorization"),
		ContentType: r.Header.Get("Content-Type"), Query: r.URL.Query()}
	if r.Method == http.MethodPost {
		mt, _, _ := mime.ParseMediaType(rec.ContentType)
		if mt != "application/x-www-form-urlencoded" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad_request"})
			return
		}
		if err := r.ParseForm(); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad_request"})
			return
		}
		rec.Form = r.PostForm
	}
	f.mu.Lock()
	f.requests = append(f.requests, rec)
	h := f.override[endpoint]
	f.mu.Unlock()

	if rec.Auth != "Bearer "+f.token {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Unauthorized"})
		return
	}
	if h != nil {
		h(w, r)
		return
	}
	switch endpoint {
	case "getShippingPrices":
		f.shippingPrices(w, rec.Query)
	case "setCreateOrder":
		f.createOrder(w, rec.Form)
	case "getOrder":
		f.getOrder(w, rec.Query)
	case "getTrackings":
		f.getTrackings(w, rec.Query)
	case "getProductStock":
		f.productStock(w, rec.Query)
	case "getCountries":
		writeJSON(w, http.StatusOK, map[string]string{"AT": "Austria", "ES": "Spain", "FR": "France"})
	default:
		http.Error(w, "<html>Not Found</html>", http.StatusNotFound)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type bracketLine struct {
	SKU string
	Qty int
}

// productLines parses products[i][sku] / products[i][quantity] the way PHP
// does: indexes need not be contiguous or ordered.
func productLines(v url.Values) ([]bracketLine, bool) {
	re := regexp.MustCompile(`^products\[(\d+)\]\[(sku|quantity)\]$`)
	byIdx := map[int]*bracketLine{}
	for k, vals := range v {
		m := re.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		i, _ := strconv.Atoi(m[1])
		if byIdx[i] == nil {
			byIdx[i] = &bracketLine{}
		}
		if m[2] == "sku" {
			byIdx[i].SKU = vals[0]
		} else {
			q, err := strconv.Atoi(vals[0])
			if err != nil || q <= 0 {
				return nil, false
			}
			byIdx[i].Qty = q
		}
	}
	idx := make([]int, 0, len(byIdx))
	for i := range byIdx {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	var out []bracketLine
	for _, i := range idx {
		if byIdx[i].SKU == "" || byIdx[i].Qty == 0 {
			return nil, false
		}
		out = append(out, *byIdx[i])
	}
	return out, len(out) > 0
}

func (f *fakeBTS) shippingPrices(w http.ResponseWriter, q url.Values) {
	if q.Get("address[country_code]") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "country_code_is_required"})
		return
	}
	lines, ok := productLines(q)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "product_error"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range lines {
		if _, known := f.products[l.SKU]; !known {
			writeJSON(w, http.StatusOK, map[string]string{"error": "product_error"})
			return
		}
	}
	if !f.ratesAsObject {
		var out []map[string]any
		for _, r := range f.rates {
			out = append(out, map[string]any{"id": r.ID, "delivery_time": r.Days, "company_name": r.Carrier,
				"shipping_cost": json.Number(r.Cost), "free_shipping": json.Number("150.00")})
		}
		if out == nil {
			out = []map[string]any{}
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	out := map[string]any{}
	for i, r := range f.rates {
		out[strconv.Itoa(i)] = map[string]any{"id": strconv.Itoa(r.ID), "delivery_time": strconv.Itoa(r.Days),
			"company_name": r.Carrier, "shipping_cost": strings.Replace(r.Cost, ".", ",", 1) + " €", "free_shipping": "150,00 €"}
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *fakeBTS) createOrder(w http.ResponseWriter, form url.Values) {
	fail := func(code string) { writeJSON(w, http.StatusOK, map[string]string{"error": code}) }
	pm := form.Get("payment_method")
	if pm != "wallet" && pm != "banktransfer" && pm != "btscredit" {
		fail("payment_method_error")
		return
	}
	cc := form.Get("country_code")
	if cc == "" {
		fail("country_code_is_required")
		return
	}
	if (cc == "US" || cc == "CA") && form.Get("state_code") == "" {
		fail("state_code_error")
		return
	}
	for _, k := range []string{"client_name", "address", "postal_code", "city", "telephone"} {
		if form.Get(k) == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad_request"})
			return
		}
	}
	lines, ok := productLines(form)
	if !ok {
		fail("product_error")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rateOK := false
	for _, r := range f.rates {
		if strconv.Itoa(r.ID) == form.Get("shipping_cost_id") {
			rateOK = true
		}
	}
	if !rateOK {
		fail("shipping_cost_code_error")
		return
	}
	for _, l := range lines {
		stock, known := f.products[l.SKU]
		if !known {
			fail("product_error")
			return
		}
		if stock < l.Qty {
			fail("no_stock")
			return
		}
	}
	number := strconv.FormatInt(f.next, 10)
	f.next++
	status := "Paid"
	if pm == "banktransfer" {
		status = "Pending Payment"
	}
	f.orders[number] = &fakeOrder{Number: number, Status: status, Form: form}
	if f.bareCreate {
		writeJSON(w, http.StatusOK, number)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"order_number": number, "order_total": "89.50", "order_status": status,
		"expected_dispatch_date": "2026-02-20 10:00:00", "expected_dispatch_date_2": "2026-02-21 10:00:00",
		"expected_delivery_date": "2026-02-22 10:00:00", "expected_delivery_date_2": "2026-02-24 10:00:00",
	})
}

func (f *fakeBTS) getOrder(w http.ResponseWriter, q url.Values) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.orders[q.Get("order_number")]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "order_not_found"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"order_number": o.Number, "order_status": o.Status, "tracking": o.Tracking, "order_total": "89.50",
		"client_name": "John Smith", "client_email": "john@myshop.com", "address": "15 High Street, Apt 2B",
		"postal_code": "28001", "city": "Madrid", "state_code": nil, "country_code": "ES",
		"shipping_company": o.Company, "shipping_cost": "5.99", "telephone": "+34600123456",
		"dropshipping": 1, "entry_date": "2026-02-19 14:30:00",
		"products": []map[string]any{{"product_sku": "8411061123456", "product_name": "Good Girl EDP 80ml", "quantity": 1, "unit_price": "65.99"}},
	})
}

// getTrackings answers the documented list; orders without tracking yet
// produce the documented order_not_found.
func (f *fakeBTS) getTrackings(w http.ResponseWriter, q url.Values) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []map[string]any
	for k, v := range q {
		if !strings.HasPrefix(k, "order_number[") {
			continue
		}
		if o, ok := f.orders[v[0]]; ok && o.Tracking != nil && o.Tracking != "" {
			out = append(out, map[string]any{"order_number": o.Number, "tracking": o.Tracking})
		}
	}
	if len(out) == 0 {
		writeJSON(w, http.StatusOK, map[string]string{"error": "order_not_found"})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *fakeBTS) productStock(w http.ResponseWriter, q url.Values) {
	f.mu.Lock()
	defer f.mu.Unlock()
	products := map[string]any{}
	n := 0
	for k, v := range q {
		if !strings.HasPrefix(k, "product_sku[") {
			continue
		}
		for _, sku := range v {
			n++
			stock, ok := f.products[sku]
			switch {
			case !ok:
				products[sku] = map[string]any{"stock": 0, "price": nil, "availability": "not_found", "last_updated": nil}
			case stock == 0:
				products[sku] = map[string]any{"stock": "0", "price": "29.99€", "availability": "out_of_stock"}
			default:
				products[sku] = map[string]any{"stock": strconv.Itoa(stock), "price": json.Number("45.99"), "availability": "in_stock"}
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"requested_skus": n, "found_skus": len(products),
		"timestamp": "2025-11-28 10:30:00", "products": products})
}

// newTestClient returns a client for f; mutate adjusts the config.
func newTestClient(t *testing.T, f *fakeBTS, mutate func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: f.baseURL(), Token: f.token, HTTPClient: f.srv.Client()}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func testOrder() supplier.Order {
	return supplier.Order{
		Reference: "123", Name: "#1001", Email: "a@example.com", Phone: "+34600000000",
		ShipTo: supplier.Address{FirstName: "Ana", LastName: "García", Address1: "Calle 1", Address2: "Piso 2",
			City: "Valencia", PostalCode: "46005", CountryCode: "es", Phone: "+34611111111"},
		Lines:          []supplier.Line{{EAN: "8411061123456", Quantity: 2}, {EAN: "3614272049529", Quantity: 1}},
		ShippingRateID: "148",
	}
}

func mustf(t *testing.T, cond bool, format string, args ...any) {
	t.Helper()
	if !cond {
		t.Fatalf(format, args...)
	}
}
