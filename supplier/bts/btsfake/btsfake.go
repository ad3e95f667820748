// Package btsfake simulates BTS Wholesaler's API v2.1 as the vendor
// documents it and as public clients observed it (sources in
// docs/supplier-bts.md). It imports nothing of the supplier/bts adapter:
// it parses PHP-style bracketed query and form fields by name
// (products[0][sku], address[country_code], order_number[0]) and answers
// with BTS's shapes: JSON lists (or index-keyed objects), the bare-string
// order number seen live, error words in the body, 404 for an endpoint
// that is wrong or disabled, and a per-endpoint plain-text 429.
//
// bench/btsfake is a separate, load-oriented stand-in (latency, counters
// in another process) for the benchmarks; this one is for correctness.
package btsfake

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Product is one catalogue EAN with BTS's stock and price.
type Product struct {
	Stock int
	Price string // as BTS writes it, "45.99"
}

// Rate is one shipping option of getShippingPrices.
type Rate struct {
	ID      int
	Carrier string
	Cost    string // "5.99"
	Days    int
	// FreeOver is the free_shipping threshold ("150.00"; "" for none).
	FreeOver string
}

// Order is an order BTS holds.
type Order struct {
	Number   string
	Status   string
	Tracking any // string or nil
	Company  string
	Form     url.Values
}

// Request is one request as the fake received it.
type Request struct {
	Method, Endpoint, ContentType, Auth string
	Query, Form                         url.Values
}

// Config configures a Server.
type Config struct {
	Token    string
	Products map[string]Product
	Rates    []Rate
	// RatesAsObject answers getShippingPrices as an object keyed by index
	// with numbers as strings and "€" costs (observed) instead of the
	// documented array.
	RatesAsObject bool
	// BareCreate answers setCreateOrder with a bare JSON string order
	// number (observed live) instead of the documented object.
	BareCreate bool
	// PerEndpointPerSecond caps requests per endpoint and second (0: none).
	PerEndpointPerSecond int
	// Disabled endpoints answer 404 (the vendor doc: "check endpoint or
	// feed disabled").
	Disabled map[string]bool
	Now      func() time.Time
	// FirstNumber is the first order number given out.
	FirstNumber int64
}

// DefaultConfig is the vendor doc's example catalogue and carriers.
func DefaultConfig() Config {
	return Config{
		Products: map[string]Product{
			"8411061123456": {Stock: 150, Price: "65.99"},
			"3614272049529": {Stock: 3, Price: "42.50"},
			"8005610711768": {Stock: 0, Price: "29.99"},
		},
		Rates: []Rate{
			{ID: 145, Carrier: "SEUR", Cost: "7.50", Days: 3, FreeOver: "150.00"},
			{ID: 148, Carrier: "GLS", Cost: "5.99", Days: 5, FreeOver: "200.00"},
		},
		FirstNumber: 743799256961,
	}
}

// Server is the simulator; an http.Handler, safe for concurrent use.
type Server struct {
	mu       sync.Mutex
	cfg      Config
	requests []Request
	override map[string]http.HandlerFunc
	orders   map[string]*Order
	next     int64
	window   map[string][2]int64 // endpoint → {second, count}
}

// New returns a Server for cfg.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FirstNumber == 0 {
		cfg.FirstNumber = 743799256961
	}
	return &Server{cfg: cfg, override: map[string]http.HandlerFunc{}, orders: map[string]*Order{},
		next: cfg.FirstNumber, window: map[string][2]int64{}}
}

// Update changes the configuration under the server's lock.
func (s *Server) Update(f func(*Config)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.cfg)
}

// Handle replaces the handler of one endpoint (after auth and limits).
func (s *Server) Handle(endpoint string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.override[endpoint] = h
}

// Calls lists the requests received on endpoint.
func (s *Server) Calls(endpoint string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.Endpoint == endpoint {
			out = append(out, r)
		}
	}
	return out
}

// Requests lists every request received.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// AddOrder stores an order.
func (s *Server) AddOrder(o Order) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orders[o.Number] = &o
}

// Orders returns a copy of every order.
func (s *Server) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Order, 0, len(s.orders))
	for _, o := range s.orders {
		out = append(out, *o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

func (s *Server) limited(endpoint string) bool {
	if s.cfg.PerEndpointPerSecond <= 0 {
		return false
	}
	sec := s.cfg.Now().Unix()
	w := s.window[endpoint]
	if w[0] != sec {
		w = [2]int64{sec, 0}
	}
	w[1]++
	s.window[endpoint] = w
	return w[1] > int64(s.cfg.PerEndpointPerSecond)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	rec := Request{Method: r.Method, Endpoint: endpoint, Auth: r.Header.Get("Authorization"),
		ContentType: r.Header.Get("Content-Type"), Query: r.URL.Query()}
	if r.Method == http.MethodPost {
		mt, _, _ := mime.ParseMediaType(rec.ContentType)
		if mt != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
			WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "bad_request"})
			return
		}
		rec.Form = r.PostForm
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	h := s.override[endpoint]
	token, disabled := s.cfg.Token, s.cfg.Disabled[endpoint]
	limited := s.limited(endpoint)
	s.mu.Unlock()

	if rec.Auth != "Bearer "+token {
		WriteJSON(w, http.StatusUnauthorized, map[string]string{"message": "Unauthorized"})
		return
	}
	if limited {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte("Too Many Requests"))
		return
	}
	if disabled {
		// Body shape undocumented; no error word in it.
		WriteJSON(w, http.StatusNotFound, map[string]any{"status": 404, "message": "Not Found"})
		return
	}
	if h != nil {
		h(w, r)
		return
	}
	switch endpoint {
	case "getShippingPrices":
		s.shippingPrices(w, rec.Query)
	case "setCreateOrder":
		s.createOrder(w, rec.Form)
	case "getOrder":
		s.getOrder(w, rec.Query)
	case "getTrackings":
		s.getTrackings(w, rec.Query)
	case "getProductStock":
		s.productStock(w, rec.Query)
	case "getCountries":
		WriteJSON(w, http.StatusOK, map[string]string{"AT": "Austria", "ES": "Spain", "FR": "France"})
	default:
		http.Error(w, "<html>Not Found</html>", http.StatusNotFound)
	}
}

// WriteJSON writes v as a JSON answer.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type line struct {
	sku string
	qty int
}

var productKey = regexp.MustCompile(`^products\[(\d+)\]\[(sku|quantity)\]$`)

// productLines parses products[i][sku] / products[i][quantity] the way PHP
// does: indexes need not be contiguous or ordered.
func productLines(v url.Values) ([]line, bool) {
	byIdx := map[int]*line{}
	for k, vals := range v {
		m := productKey.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		i, _ := strconv.Atoi(m[1])
		if byIdx[i] == nil {
			byIdx[i] = &line{}
		}
		if m[2] == "sku" {
			byIdx[i].sku = vals[0]
			continue
		}
		q, err := strconv.Atoi(vals[0])
		if err != nil || q <= 0 {
			return nil, false
		}
		byIdx[i].qty = q
	}
	idx := make([]int, 0, len(byIdx))
	for i := range byIdx {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	var out []line
	for _, i := range idx {
		if byIdx[i].sku == "" || byIdx[i].qty == 0 {
			return nil, false
		}
		out = append(out, *byIdx[i])
	}
	return out, len(out) > 0
}

func (s *Server) shippingPrices(w http.ResponseWriter, q url.Values) {
	if q.Get("address[country_code]") == "" {
		WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "country_code_is_required"})
		return
	}
	lines, ok := productLines(q)
	if !ok {
		WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "product_error"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range lines {
		if _, known := s.cfg.Products[l.sku]; !known {
			WriteJSON(w, http.StatusOK, map[string]string{"error": "product_error"})
			return
		}
	}
	if !s.cfg.RatesAsObject {
		out := []map[string]any{}
		for _, r := range s.cfg.Rates {
			m := map[string]any{"id": r.ID, "delivery_time": r.Days, "company_name": r.Carrier, "shipping_cost": json.Number(r.Cost)}
			if r.FreeOver != "" {
				m["free_shipping"] = json.Number(r.FreeOver)
			}
			out = append(out, m)
		}
		WriteJSON(w, http.StatusOK, out)
		return
	}
	out := map[string]any{}
	for i, r := range s.cfg.Rates {
		m := map[string]any{"id": strconv.Itoa(r.ID), "delivery_time": strconv.Itoa(r.Days),
			"company_name": r.Carrier, "shipping_cost": strings.Replace(r.Cost, ".", ",", 1) + " €"}
		if r.FreeOver != "" {
			m["free_shipping"] = strings.Replace(r.FreeOver, ".", ",", 1) + " €"
		}
		out[strconv.Itoa(i)] = m
	}
	WriteJSON(w, http.StatusOK, out)
}

func (s *Server) createOrder(w http.ResponseWriter, form url.Values) {
	fail := func(code string) { WriteJSON(w, http.StatusOK, map[string]string{"error": code}) }
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
			WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "bad_request"})
			return
		}
	}
	lines, ok := productLines(form)
	if !ok {
		fail("product_error")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rateOK := false
	for _, r := range s.cfg.Rates {
		if strconv.Itoa(r.ID) == form.Get("shipping_cost_id") {
			rateOK = true
		}
	}
	if !rateOK {
		fail("shipping_cost_code_error")
		return
	}
	for _, l := range lines {
		p, known := s.cfg.Products[l.sku]
		if !known {
			fail("product_error")
			return
		}
		if p.Stock < l.qty {
			fail("no_stock")
			return
		}
	}
	number := strconv.FormatInt(s.next, 10)
	s.next++
	status := "Paid"
	if pm == "banktransfer" {
		status = "Pending Payment"
	}
	s.orders[number] = &Order{Number: number, Status: status, Form: form}
	if s.cfg.BareCreate {
		WriteJSON(w, http.StatusOK, number)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{
		"order_number": number, "order_total": "89.50", "order_status": status,
		"expected_dispatch_date": "2026-02-20 10:00:00", "expected_dispatch_date_2": "2026-02-21 10:00:00",
		"expected_delivery_date": "2026-02-22 10:00:00", "expected_delivery_date_2": "2026-02-24 10:00:00",
	})
}

// getOrder answers the documented order; an unknown number is answered
// with the error word in the body (the HTTP status of that case is not
// documented).
func (s *Server) getOrder(w http.ResponseWriter, q url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[q.Get("order_number")]
	if !ok {
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": "order_not_found"})
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{
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
func (s *Server) getTrackings(w http.ResponseWriter, q url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for k, v := range q {
		if !strings.HasPrefix(k, "order_number[") {
			continue
		}
		if o, ok := s.orders[v[0]]; ok && o.Tracking != nil && o.Tracking != "" {
			out = append(out, map[string]any{"order_number": o.Number, "tracking": o.Tracking})
		}
	}
	if len(out) == 0 {
		WriteJSON(w, http.StatusOK, map[string]string{"error": "order_not_found"})
		return
	}
	WriteJSON(w, http.StatusOK, out)
}

// productStock answers {requested_skus, found_skus, products{EAN:{stock,
// price, availability}}}; stock and prices come as strings with "€" too.
func (s *Server) productStock(w http.ResponseWriter, q url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	products := map[string]any{}
	n := 0
	for k, v := range q {
		if !strings.HasPrefix(k, "product_sku[") {
			continue
		}
		for _, sku := range v {
			n++
			p, ok := s.cfg.Products[sku]
			switch {
			case !ok:
				products[sku] = map[string]any{"stock": 0, "price": nil, "availability": "not_found", "last_updated": nil}
			case p.Stock == 0:
				products[sku] = map[string]any{"stock": "0", "price": p.Price + "€", "availability": "out_of_stock"}
			default:
				products[sku] = map[string]any{"stock": strconv.Itoa(p.Stock), "price": json.Number(p.Price), "availability": "in_stock"}
			}
		}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"requested_skus": n, "found_skus": len(products),
		"timestamp": "2025-11-28 10:30:00", "products": products})
}
