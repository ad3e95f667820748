// Package btsfake is a stand-alone stand-in for the BTS Wholesaler API used
// by the benchmarks. It speaks the wire format supplier/bts sends (Bearer
// JWT, GET with PHP bracket query keys, setCreateOrder as an url-encoded
// POST, JSON answers, error words in bodies), adds a configurable latency
// and a per-second rate limit answered with a plain-text 429, and counts
// what it did. Its counters (GET /_stats) are the benchmark's source of
// truth for orders created, duplicates and 429s: they live in a different
// process from flowbridge.
package btsfake

import (
	"crypto/sha256"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Latency draws a delay per answered API request.
type Latency struct {
	// Median is the typical delay (0: answer at once).
	Median time.Duration
	// Jitter spreads the delay uniformly over Median ± Jitter (Dist "uniform").
	Jitter time.Duration
	// Dist is "uniform" (default) or "lognormal" (Sigma is the shape; the
	// median stays Median). Lognormal gives the long right tail real APIs have.
	Dist  string
	Sigma float64
}

// Draw returns one delay using r.
func (l Latency) Draw(r *rand.Rand) time.Duration {
	if l.Median <= 0 {
		return 0
	}
	var d float64
	switch l.Dist {
	case "lognormal":
		d = float64(l.Median) * math.Exp(l.Sigma*r.NormFloat64())
	default:
		d = float64(l.Median)
		if l.Jitter > 0 {
			d += (r.Float64()*2 - 1) * float64(l.Jitter)
		}
	}
	if d < 0 {
		d = 0
	}
	return time.Duration(d)
}

// Config configures a Server.
type Config struct {
	// Token is the JWT the client must send as "Bearer <token>".
	Token string
	// RatePerSecond caps accepted API requests in any sliding 1-s window;
	// above it the answer is 429 text/plain. 0 disables the limit.
	RatePerSecond int
	// RetryAfter, when > 0, is sent with each 429 (BTS's behaviour is not
	// documented; by default none is sent).
	RetryAfter time.Duration
	Latency    Latency
	// SeedOrders pre-creates this many shipped orders numbered from
	// SeedBase, so tracking can be measured without creating orders first.
	SeedOrders int
	SeedBase   int64
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Sleep waits for the simulated latency; time.Sleep when nil.
	Sleep func(time.Duration)
	// Seed seeds the latency generator.
	Seed uint64
	// DropEvery, when above zero, makes every DropEvery-th create drop
	// the connection after the order was created, without answering (the
	// "accepted, then the connection died" fault). POST /_faults changes
	// it and Latency.Median at run time.
	DropEvery int
}

// Faults is the body of POST /_faults (the fault suite turns a running
// stand-in slow or unreliable).
type Faults struct {
	LatencyMS int `json:"latency_ms"`
	DropEvery int `json:"drop_every"`
}

// Stats is what GET /_stats answers.
type Stats struct {
	// Created counts orders created (setCreateOrder answered with a number).
	Created int64 `json:"created"`
	// Distinct counts distinct order payloads among them.
	Distinct int64 `json:"distinct"`
	// Duplicates counts creates whose payload had already been created:
	// BTS takes no client reference, so the whole form is the fingerprint
	// (benchmark orders are made unique by name and address).
	Duplicates int64 `json:"duplicates"`
	// RateLimited counts 429 answers.
	RateLimited int64 `json:"rate_limited_429"`
	// RateLimitedCreates counts 429 answers to setCreateOrder.
	RateLimitedCreates int64 `json:"rate_limited_creates_429"`
	// Unauthorized counts 401 answers.
	Unauthorized int64 `json:"unauthorized_401"`
	// Requests counts API requests per endpoint (accepted or not).
	Requests map[string]int64 `json:"requests"`
	// PeakPerSecond is the most requests accepted in any 1-s window.
	PeakPerSecond int `json:"peak_accepted_per_second"`
	// FirstCreate / LastCreate are the times of the first and last creates.
	FirstCreate time.Time `json:"first_create,omitzero"`
	LastCreate  time.Time `json:"last_create,omitzero"`
	// Now is the server's clock when the stats were read.
	Now           time.Time `json:"now"`
	RatePerSecond int       `json:"rate_per_second"`
}

type order struct {
	number   string
	status   string
	tracking string
	company  string
}

// Server is an http.Handler speaking the BTS wire format.
type Server struct {
	cfg Config

	mu       sync.Mutex
	rng      *rand.Rand
	window   []time.Time // accepted request times within the last second
	orders   map[string]order
	seen     map[[32]byte]int
	byName   map[string][]string // client_name → order numbers created
	next     int64
	stats    Stats
	seedFrom int64
}

// New returns a Server.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = time.Sleep
	}
	if cfg.SeedBase == 0 {
		cfg.SeedBase = 500000000000
	}
	s := &Server{
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		orders:   map[string]order{},
		seen:     map[[32]byte]int{},
		byName:   map[string][]string{},
		next:     700000000000,
		seedFrom: cfg.SeedBase,
	}
	s.stats.Requests = map[string]int64{}
	s.stats.RatePerSecond = cfg.RatePerSecond
	return s
}

// Snapshot returns a copy of the counters.
func (s *Server) Snapshot() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Requests = make(map[string]int64, len(s.stats.Requests))
	for k, v := range s.stats.Requests {
		st.Requests[k] = v
	}
	st.Now = s.cfg.Now()
	return st
}

// admit records one request against the sliding window and says whether
// it may be served. Only accepted requests count against the window, so a
// client that backs off is served again as soon as the window has room.
func (s *Server) admit(endpoint string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests[endpoint]++
	now := s.cfg.Now()
	cut := now.Add(-time.Second)
	i := 0
	for i < len(s.window) && !s.window[i].After(cut) {
		i++
	}
	s.window = s.window[i:]
	if s.cfg.RatePerSecond > 0 && len(s.window) >= s.cfg.RatePerSecond {
		s.stats.RateLimited++
		if endpoint == "setCreateOrder" {
			s.stats.RateLimitedCreates++
		}
		return false
	}
	s.window = append(s.window, now)
	if len(s.window) > s.stats.PeakPerSecond {
		s.stats.PeakPerSecond = len(s.window)
	}
	return true
}

func (s *Server) delay() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Latency.Draw(s.rng)
}

// ServeHTTP routes on the last path segment so any base path works
// (/v1/api/getOrder, /getOrder).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_stats" {
		writeJSON(w, http.StatusOK, s.Snapshot())
		return
	}
	if r.URL.Path == "/_creates" {
		// Every create by recipient name (the fault suite makes names
		// unique per Shopify order): duplicates and lost orders per order.
		s.mu.Lock()
		out := make(map[string][]string, len(s.byName))
		for k, v := range s.byName {
			out[k] = append([]string(nil), v...)
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
		return
	}
	if r.URL.Path == "/_faults" && r.Method == http.MethodPost {
		var f Faults
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.cfg.Latency.Median = time.Duration(f.LatencyMS) * time.Millisecond
		s.cfg.DropEvery = f.DropEvery
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.URL.Path == "/_health" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	endpoint := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	want := http.MethodGet
	if endpoint == "setCreateOrder" {
		want = http.MethodPost
	}
	known := map[string]bool{"getShippingPrices": true, "setCreateOrder": true, "getOrder": true,
		"getTrackings": true, "getCountries": true, "getProductStock": true}
	if !known[endpoint] {
		http.Error(w, "<html>Not Found</html>", http.StatusNotFound)
		return
	}
	if r.Method != want {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.cfg.Token {
		s.mu.Lock()
		s.stats.Requests[endpoint]++
		s.stats.Unauthorized++
		s.mu.Unlock()
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Unauthorized"})
		return
	}
	if !s.admit(endpoint) {
		if s.cfg.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(s.cfg.RetryAfter.Seconds()))))
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte("Too Many Requests"))
		return
	}
	if d := s.delay(); d > 0 {
		s.cfg.Sleep(d)
	}
	switch endpoint {
	case "getCountries":
		writeJSON(w, http.StatusOK, map[string]string{"AT": "Austria", "DE": "Germany", "ES": "Spain", "FR": "France", "IT": "Italy", "PT": "Portugal"})
	case "getShippingPrices":
		s.shippingPrices(w, r.URL.Query())
	case "setCreateOrder":
		if err := r.ParseForm(); err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad_request"})
			return
		}
		if s.createOrder(w, r.PostForm) {
			// Created, but the answer never arrives.
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
					return
				}
			}
		}
	case "getOrder":
		s.getOrder(w, r.URL.Query().Get("order_number"))
	case "getTrackings":
		s.getTrackings(w, r.URL.Query())
	case "getProductStock":
		s.productStock(w, r.URL.Query())
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// rates is the fixed quote every destination gets; ids are accepted by
// setCreateOrder.
var rateIDs = map[string]bool{"145": true, "148": true}

func (s *Server) shippingPrices(w http.ResponseWriter, q url.Values) {
	if q.Get("address[country_code]") == "" {
		writeJSON(w, http.StatusOK, map[string]string{"error": "country_code_is_required"})
		return
	}
	if q.Get("products[0][sku]") == "" {
		writeJSON(w, http.StatusOK, map[string]string{"error": "product_error"})
		return
	}
	writeJSON(w, http.StatusOK, []map[string]any{
		{"id": 145, "delivery_time": 3, "company_name": "SEUR", "shipping_cost": json.Number("7.50"), "free_shipping": json.Number("150.00")},
		{"id": 148, "delivery_time": "2-3", "company_name": "GLS", "shipping_cost": json.Number("5.99"), "free_shipping": json.Number("150.00")},
	})
}

// fingerprint canonicalises the form (sorted keys and values).
func fingerprint(form url.Values) [32]byte {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		vals := append([]string(nil), form[k]...)
		sort.Strings(vals)
		h.Write([]byte(k))
		h.Write([]byte{0})
		for _, v := range vals {
			h.Write([]byte(v))
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// createOrder answers setCreateOrder; drop says the order was created and
// the connection must be dropped instead of answered.
func (s *Server) createOrder(w http.ResponseWriter, form url.Values) (drop bool) {
	fail := func(code string) { writeJSON(w, http.StatusOK, map[string]string{"error": code}) }
	switch form.Get("payment_method") {
	case "wallet", "banktransfer", "btscredit":
	default:
		fail("payment_method_error")
		return false
	}
	cc := form.Get("country_code")
	if cc == "" {
		fail("country_code_is_required")
		return false
	}
	if (cc == "US" || cc == "CA") && form.Get("state_code") == "" {
		fail("state_code_error")
		return false
	}
	for _, k := range []string{"client_name", "address", "postal_code", "city", "telephone"} {
		if form.Get(k) == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad_request"})
			return false
		}
	}
	if form.Get("products[0][sku]") == "" || form.Get("products[0][quantity]") == "" {
		fail("product_error")
		return false
	}
	if !rateIDs[form.Get("shipping_cost_id")] {
		fail("shipping_cost_code_error")
		return false
	}
	fp := fingerprint(form)
	status := "Paid"
	if form.Get("payment_method") == "banktransfer" {
		status = "Pending Payment"
	}

	s.mu.Lock()
	number := strconv.FormatInt(s.next, 10)
	s.next++
	s.orders[number] = order{number: number, status: status}
	now := s.cfg.Now()
	s.stats.Created++
	if s.stats.FirstCreate.IsZero() {
		s.stats.FirstCreate = now
	}
	s.stats.LastCreate = now
	if s.seen[fp] > 0 {
		s.stats.Duplicates++
	} else {
		s.stats.Distinct++
	}
	s.seen[fp]++
	name := form.Get("client_name")
	s.byName[name] = append(s.byName[name], number)
	drop = s.cfg.DropEvery > 0 && s.stats.Created%int64(s.cfg.DropEvery) == 0
	s.mu.Unlock()
	if drop {
		return true
	}

	writeJSON(w, http.StatusOK, map[string]any{
		"order_number": number, "order_total": "89.50", "order_status": status,
		"expected_dispatch_date": now.Add(24 * time.Hour).Format(time.DateTime),
	})
	return false
}

// lookup finds a created or seeded order.
func (s *Server) lookup(number string) (order, bool) {
	s.mu.Lock()
	o, ok := s.orders[number]
	s.mu.Unlock()
	if ok {
		return o, true
	}
	n, err := strconv.ParseInt(number, 10, 64)
	if err != nil || len(number) != 12 || n < s.seedFrom || n >= s.seedFrom+int64(s.cfg.SeedOrders) {
		return order{}, false
	}
	return order{number: number, status: "Shipped", company: "GLS", tracking: "GLS-" + strconv.FormatInt(n%10_000_000_000, 10)}, true
}

func (s *Server) getOrder(w http.ResponseWriter, number string) {
	o, ok := s.lookup(number)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "order_not_found"})
		return
	}
	var tracking any
	if o.tracking != "" {
		tracking = o.tracking
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"order_number": o.number, "order_status": o.status, "tracking": tracking, "order_total": "89.50",
		"shipping_company": o.company, "shipping_cost": "5.99", "country_code": "ES", "dropshipping": 1,
		"entry_date": "2026-11-25 10:00:00",
	})
}

func (s *Server) getTrackings(w http.ResponseWriter, q url.Values) {
	var out []map[string]any
	for k, v := range q {
		if !strings.HasPrefix(k, "order_number[") || len(v) == 0 {
			continue
		}
		if o, ok := s.lookup(v[0]); ok && o.tracking != "" {
			out = append(out, map[string]any{"order_number": o.number, "tracking": o.tracking})
		}
	}
	if len(out) == 0 {
		writeJSON(w, http.StatusOK, map[string]string{"error": "order_not_found"})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) productStock(w http.ResponseWriter, q url.Values) {
	products := map[string]any{}
	for k, v := range q {
		if strings.HasPrefix(k, "product_sku[") {
			for _, sku := range v {
				products[sku] = map[string]any{"stock": "500", "price": json.Number("19.99"), "availability": "in_stock"}
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"requested_skus": len(products), "found_skus": len(products), "products": products})
}
