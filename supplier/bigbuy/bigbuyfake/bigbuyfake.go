// Package bigbuyfake is a stand-alone simulator of BigBuy's REST API, built
// from what BigBuy documents and what others observed against it (sources in
// docs/supplier-bigbuy.md), never from flowbridge's adapter: it imports
// nothing of supplier/bigbuy and reads request bodies by JSON path through
// map[string]any, so a field the adapter names wrongly is a field the fake
// does not see.
//
// It answers with BigBuy's shapes and statuses: 201 + Location on create,
// {"code","message"} errors whose ERxxx messages are themselves JSON,
// Symfony-style validation trees, the 409 "different warehouses" answer with
// error_detail.warehouses, multishipping check/create with partial success,
// slim reference lookups, tracking lists whose carriers are ids only, and a
// plain-text 429 with X-RateLimit-* headers counted per endpoint.
package bigbuyfake

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// RateLimitText is BigBuy's plain-text 429 body.
const RateLimitText = "You exceeded the rate limit"

// DifferentWarehouses starts the message of BigBuy's 409 for a cart whose
// products ship from more than one warehouse.
const DifferentWarehouses = "This cart contains products from different warehouses"

// Product is one catalogue SKU.
type Product struct {
	SKU       string
	EAN       string
	Stock     int
	Warehouse int
	// Price is the unit price charged, tax included.
	Price float64
	// Countries the product ships to; empty means everywhere.
	Countries []string
	// Dropped: the product was dropped as sold out, so check and create
	// answer ER007 with totalOrder 0 (the line was dropped).
	Dropped bool
	// Taxonomy is the first-level taxonomy (default 19653).
	Taxonomy int
	// SellsOutAtCreate: a check passes but the create finds no stock (a
	// race with other buyers).
	SellsOutAtCreate bool
}

// Service is one shipping service as the Shipping API names it, with the
// carrier code the Order API expects for it (they differ: BigBuy's guide).
type Service struct {
	ID    string
	Name  string // shippingService.name, e.g. "GLS"
	Code  string // the create code, e.g. "gls"
	Delay string // "2-3 days"
	Cost  float64
	// TrackingCarrier is the carrier id tracking entries carry.
	TrackingCarrier string
	// Countries served; empty means everywhere.
	Countries []string
}

// Parcel is one tracking entry of an order.
type Parcel struct {
	Number, CarrierID, Description, Date string
}

// Order is a created order, as the fake holds it.
type Order struct {
	ID            int
	Reference     string
	Status        string
	Warehouse     int
	Carrier       string
	Payment       string
	Address       map[string]any
	Lines         []Line
	Parcels       []Parcel
	TotalTaxIncl  float64
	ShippingTotal float64
}

// Line is one ordered product.
type Line struct {
	SKU      string
	Quantity int
}

// Config configures a Server. Zero values take Default*.
type Config struct {
	Key      string
	Products []Product
	Services []Service
	// TrackingCarriers: id → name (GET /rest/tracking/carriers.json).
	TrackingCarriers map[string]string
	// Statuses: GET /rest/order/orderstatuses.json, id → name.
	Statuses map[int]string
	// NewStatus is the status of a created order.
	NewStatus string
	// PerEndpointPerSecond caps requests per endpoint per second (0: no
	// limit). Every endpoint has its own budget, as BigBuy documents.
	PerEndpointPerSecond int
	// RequireParentTaxonomy answers catalogue lists without the
	// parentTaxonomy parameter 400 (as the sandbox did); NoCatalogue
	// answers them 400 even with it (the sandbox has no catalogue).
	RequireParentTaxonomy bool
	NoCatalogue           bool
	// Taxonomies are the first-level taxonomies, id → name.
	Taxonomies map[int]string
	// Feed replaces the rows of catalog/products (default: one row per
	// Product); Variations are the rows of catalog/productsvariations.
	Feed       []map[string]any
	Variations []map[string]any
	Now        func() time.Time
	FirstID    int
	Purse      string
}

// Default catalogue: two warehouses, the carriers of BigBuy's guide.
func DefaultConfig() Config {
	return Config{
		Key: "ZjQwNGQyNDJmYjA1NzhkOTAyM2U2ZmNh",
		Products: []Product{
			{SKU: "V1300179", EAN: "8400000000017", Stock: 10, Warehouse: 1, Price: 12.10},
			{SKU: "F1505138", EAN: "8400000000024", Stock: 1, Warehouse: 1, Price: 8.50},
			{SKU: "S0000003", EAN: "0012345678905", Stock: 5, Warehouse: 1, Price: 3.20},
			{SKU: "S7106391", EAN: "8400000000031", Stock: 4, Warehouse: 3, Price: 40.00},
		},
		Services: []Service{
			{ID: "7", Name: "GLS", Code: "gls", Delay: "2-3 days", Cost: 4.95, TrackingCarrier: "5"},
			{ID: "9", Name: "Correos", Code: "correos", Delay: "24/48h", Cost: 3.50, TrackingCarrier: "2", Countries: []string{"ES", "PT"}},
			{ID: "43", Name: "Chrono", Code: "chrono", Delay: "1-2 days", Cost: 7.20, TrackingCarrier: "8"},
		},
		TrackingCarriers: map[string]string{"2": "Correos", "5": "GLS", "8": "Chronopost", "11": "Poste Italiane"},
		Statuses: map[int]string{1: "Pending payment", 2: "Payment accepted", 3: "Processing in progress",
			4: "Shipped", 5: "Delivered", 6: "Cancelled", 20: "PENDING INVOICE"},
		NewStatus:  "Pending payment",
		FirstID:    690005604000,
		Taxonomies: map[int]string{19653: "Electronics", 19656: "Home & Kitchen"},
		Purse:      "10000.00",
	}
}

// Server is the simulator; it is an http.Handler and safe for concurrent use.
type Server struct {
	cfg Config

	mu     sync.Mutex
	stock  map[string]int
	orders map[int]*Order
	byRef  map[string][]int
	next   int
	calls  map[string]int
	bodies map[string]map[string]any
	hooks  map[string][]http.HandlerFunc
	window map[string]windowCount
	feed   []map[string]any
	vars   []map[string]any
}

type windowCount struct {
	sec int64
	n   int
}

// New returns a Server for cfg.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewStatus == "" {
		cfg.NewStatus = "Pending payment"
	}
	if cfg.Purse == "" {
		cfg.Purse = "10000.00"
	}
	s := &Server{cfg: cfg, stock: map[string]int{}, orders: map[int]*Order{}, byRef: map[string][]int{},
		next: cfg.FirstID, calls: map[string]int{}, bodies: map[string]map[string]any{},
		hooks: map[string][]http.HandlerFunc{}, window: map[string]windowCount{}}
	for _, p := range cfg.Products {
		s.stock[p.SKU] = p.Stock
	}
	s.feed, s.vars = cfg.Feed, cfg.Variations
	if s.feed == nil {
		for _, p := range cfg.Products {
			var ean any = p.EAN
			if p.EAN == "" {
				ean = nil
			}
			s.feed = append(s.feed, map[string]any{"id": len(s.feed) + 1, "sku": p.SKU, "ean13": ean, "wholesalePrice": p.Price, "taxonomy": 19653})
		}
	}
	return s
}

// Key is the API key the server accepts.
func (s *Server) Key() string { return s.cfg.Key }

// On queues a one-shot handler for "METHOD /path" (exact path), answered
// after authentication and rate limiting, instead of the simulation.
func (s *Server) On(route string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks[route] = append(s.hooks[route], h)
}

// Count is how many requests reached "METHOD /path".
func (s *Server) Count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

// Body is the last JSON body received on "METHOD /path" (nil if none).
func (s *Server) Body(route string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[route]
}

// Orders returns a copy of every order, in id order.
func (s *Server) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Order, 0, len(s.orders))
	for _, o := range s.orders {
		out = append(out, *o)
	}
	slices.SortFunc(out, func(a, b Order) int { return a.ID - b.ID })
	return out
}

// Seed adds an existing order and returns its id.
func (s *Server) Seed(ref, status string, parcels ...Parcel) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.addLocked(ref, status, 1, "gls", nil)
	o.Parcels = parcels
	return strconv.Itoa(o.ID)
}

// SetCatalog replaces the rows of the product and variation feeds.
func (s *Server) SetCatalog(products, variations []map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.feed, s.vars = products, variations
}

// SetStatus changes an order's status.
func (s *Server) SetStatus(id, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.orders[atoi(id)]; o != nil {
		o.Status = status
	}
}

// Ship adds a parcel to an order and marks it shipped.
func (s *Server) Ship(id string, p Parcel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.orders[atoi(id)]; o != nil {
		o.Parcels = append(o.Parcels, p)
		o.Status = "Shipped"
	}
}

func (s *Server) addLocked(ref, status string, warehouse int, carrier string, lines []Line) *Order {
	s.next++
	o := &Order{ID: s.next, Reference: ref, Status: status, Warehouse: warehouse, Carrier: carrier, Lines: lines, TotalTaxIncl: 25.43}
	s.orders[o.ID] = o
	s.byRef[ref] = append(s.byRef[ref], o.ID)
	return o
}

// endpoint names a route with its ids replaced, for per-endpoint limits:
// "GET /rest/order/{id}.json".
func endpoint(method, path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		base := strings.TrimSuffix(p, ".json")
		if i > 0 && (parts[i-1] == "reference" || (base != "" && strings.Trim(base, "0123456789") == "")) {
			parts[i] = "{id}.json"
		}
	}
	return method + " " + strings.Join(parts, "/")
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + r.URL.Path
	var body map[string]any
	var bodyErr error
	if r.Body != nil && (r.Method == http.MethodPost || r.Method == http.MethodPut) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if len(b) > 0 {
			bodyErr = json.Unmarshal(b, &body)
		}
	}
	s.mu.Lock()
	s.calls[route]++
	if body != nil {
		s.bodies[route] = body
	}
	var hook http.HandlerFunc
	if q := s.hooks[route]; len(q) > 0 {
		hook, s.hooks[route] = q[0], q[1:]
	}
	limited, reset := s.overLimitLocked(endpoint(r.Method, r.URL.Path))
	s.mu.Unlock()

	if r.Header.Get("Authorization") != "Bearer "+s.cfg.Key {
		WriteJSON(w, http.StatusUnauthorized, map[string]any{"message": "Invalid Token"})
		return
	}
	if limited {
		RateLimited(reset)(w, r)
		return
	}
	if hook != nil {
		hook(w, r)
		return
	}
	p := r.URL.Path
	if !strings.HasPrefix(p, "/rest/") || !strings.HasSuffix(p, ".json") {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "<html><body>Not Found</body></html>")
		return
	}
	if bodyErr != nil || (r.Method == http.MethodPost && body == nil) {
		WriteJSON(w, http.StatusBadRequest, map[string]any{"code": 400, "message": "Bad request"})
		return
	}
	if r.Method == http.MethodPost && r.Header.Get("Content-Type") != "application/json" {
		WriteJSON(w, http.StatusUnsupportedMediaType, map[string]any{"code": 415, "message": "Invalid Content-Type header"})
		return
	}
	p = strings.TrimSuffix(strings.TrimPrefix(p, "/rest/"), ".json")
	get, post := r.Method == http.MethodGet, r.Method == http.MethodPost
	switch {
	case post && p == "shipping/orders":
		s.shipping(w, body)
	case post && (p == "order/check" || p == "order/create"):
		s.order(w, body, p == "order/create")
	case post && (p == "order/check/multishipping" || p == "order/create/multishipping"):
		s.multi(w, body, p == "order/create/multishipping")
	case get && p == "order/orderstatuses":
		list := []map[string]any{}
		for id, name := range s.cfg.Statuses {
			list = append(list, map[string]any{"id": id, "name": name})
		}
		slices.SortFunc(list, func(a, b map[string]any) int { return a["id"].(int) - b["id"].(int) })
		WriteJSON(w, 200, list)
	case get && strings.HasPrefix(p, "order/reference/"):
		s.byReference(w, strings.TrimPrefix(p, "order/reference/"))
	case get && strings.HasPrefix(p, "order/"):
		s.writeOrder(w, strings.TrimPrefix(p, "order/"))
	case get && p == "tracking/carriers":
		list := []map[string]any{}
		for id, name := range s.cfg.TrackingCarriers {
			list = append(list, map[string]any{"id": id, "name": name})
		}
		slices.SortFunc(list, func(a, b map[string]any) int { return strings.Compare(a["id"].(string), b["id"].(string)) })
		WriteJSON(w, 200, list)
	case get && strings.HasPrefix(p, "tracking/order/"):
		s.tracking(w, strings.TrimPrefix(p, "tracking/order/"))
	case get && p == "user/purse":
		WriteJSON(w, 200, s.cfg.Purse)
	case get && p == "catalog/taxonomies":
		list := []map[string]any{}
		for id, name := range s.cfg.Taxonomies {
			list = append(list, map[string]any{"id": id, "name": name, "parentTaxonomy": 0, "isoCode": r.URL.Query().Get("isoCode")})
		}
		slices.SortFunc(list, func(a, b map[string]any) int { return a["id"].(int) - b["id"].(int) })
		WriteJSON(w, 200, list)
	case get && (p == "catalog/products" || p == "catalog/productsvariations"):
		s.catalog(w, r, p == "catalog/products")
	case get && (p == "catalog/productsstockbyhandlingdays" || p == "catalog/productsvariationsstockbyhandlingdays"):
		s.stockList(w, r, p == "catalog/productsstockbyhandlingdays")
	// catalog/productsstockbyreference (POST) and catalog/productsstock were
	// removed by BigBuy (PyBigBuy CHANGELOG 3.20.0): they fall through to
	// the unknown-route 404 below, as any removed route does.
	default:
		WriteJSON(w, http.StatusNotFound, map[string]any{"code": 404, "message": "No route found for \"" + r.Method + " " + r.URL.Path + "\""})
	}
}

func (s *Server) overLimitLocked(ep string) (bool, time.Time) {
	if s.cfg.PerEndpointPerSecond <= 0 {
		return false, time.Time{}
	}
	now := s.cfg.Now()
	sec := now.Unix()
	wc := s.window[ep]
	if wc.sec != sec {
		wc = windowCount{sec: sec}
	}
	wc.n++
	s.window[ep] = wc
	return wc.n > s.cfg.PerEndpointPerSecond, time.Unix(sec+1, 0)
}

// JSON path helpers: the fake reads bodies by name, like a PHP backend.

func at(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	return ""
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// lines reads order.products[{reference, quantity}]; bad entries are
// reported as validation children.
func lines(order any) ([]Line, bool) {
	list, ok := at(order, "products").([]any)
	if !ok || len(list) == 0 {
		return nil, false
	}
	var out []Line
	for _, e := range list {
		ref := str(at(e, "reference"))
		q, isNum := at(e, "quantity").(float64)
		if ref == "" || !isNum || q < 1 || q != float64(int(q)) {
			return nil, false
		}
		out = append(out, Line{SKU: ref, Quantity: int(q)})
	}
	return out, true
}

func (s *Server) product(sku string) (Product, bool) {
	for _, p := range s.cfg.Products {
		if p.SKU == sku {
			return p, true
		}
	}
	return Product{}, false
}

func (s *Server) service(code string) (Service, bool) {
	for _, sv := range s.cfg.Services {
		if sv.Code == code {
			return sv, true
		}
	}
	return Service{}, false
}

func serves(list []string, country string) bool {
	return len(list) == 0 || slices.Contains(list, strings.ToUpper(country))
}

// warehouses groups lines by warehouse, in first-seen order.
func (s *Server) warehouses(ls []Line) ([]int, map[int][]Line) {
	var order []int
	by := map[int][]Line{}
	for _, l := range ls {
		p, _ := s.product(l.SKU)
		if _, ok := by[p.Warehouse]; !ok {
			order = append(order, p.Warehouse)
		}
		by[p.Warehouse] = append(by[p.Warehouse], l)
	}
	return order, by
}

func (s *Server) splitAnswer(w http.ResponseWriter, ids []int, by map[int][]Line) {
	var whs []map[string]any
	for _, id := range ids {
		var refs []string
		for _, l := range by[id] {
			refs = append(refs, l.SKU)
		}
		whs = append(whs, map[string]any{"id": id, "references": refs})
	}
	WriteJSON(w, http.StatusConflict, map[string]any{"code": 409,
		"message":      DifferentWarehouses + ". You must send separate requests for each set of product references to obtain the shipping costs for each set of products. You can find more info in the field \"error_detail\" in this response",
		"error_detail": map[string]any{"warehouses": whs}})
}

func (s *Server) unknownSKUs(ls []Line) []string {
	var out []string
	for _, l := range ls {
		if _, ok := s.product(l.SKU); !ok {
			out = append(out, l.SKU)
		}
	}
	return out
}

func (s *Server) shipping(w http.ResponseWriter, body map[string]any) {
	order := at(body, "order")
	country, postcode := str(at(order, "delivery", "isoCountry")), str(at(order, "delivery", "postcode"))
	ls, okLines := lines(order)
	if country == "" || postcode == "" || !okLines {
		WriteJSON(w, http.StatusBadRequest, validation(map[string]any{
			"delivery": map[string]any{"children": map[string]any{
				"isoCountry": blankIf(country == ""), "postcode": blankIf(postcode == "")}},
			"products": blankIf(!okLines)}))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if unknown := s.unknownSKUs(ls); len(unknown) > 0 {
		WriteJSON(w, http.StatusConflict, ERBody("ER001", "Product not found", map[string]any{"skus": unknown}))
		return
	}
	if ids, by := s.warehouses(ls); len(ids) > 1 {
		s.splitAnswer(w, ids, by)
		return
	}
	var opts []map[string]any
	for _, sv := range s.cfg.Services {
		if !serves(sv.Countries, country) {
			continue
		}
		ok := true
		for _, l := range ls {
			p, _ := s.product(l.SKU)
			ok = ok && serves(p.Countries, country)
		}
		if ok {
			opts = append(opts, map[string]any{"cost": sv.Cost, "weight": 1.2,
				"shippingService": map[string]any{"id": sv.ID, "name": sv.Name, "delay": sv.Delay}})
		}
	}
	if len(opts) == 0 {
		WriteJSON(w, http.StatusNotFound, map[string]any{"code": 404, "message": "No shipping options found"})
		return
	}
	WriteJSON(w, 200, map[string]any{"shippingOptions": opts})
}

func blankIf(bad bool) any {
	if bad {
		return map[string]any{"errors": []string{"This value should not be blank."}}
	}
	return []any{}
}

func validation(children map[string]any) map[string]any {
	return map[string]any{"code": 400, "message": "Validation Failed", "errors": map[string]any{"children": children}}
}

// addressFields are shippingAddress's children in BigBuy's form.
var addressFields = []string{"firstName", "lastName", "country", "postcode", "town", "address", "phone", "email", "comment", "vatNumber", "companyName"}

// checkOrder validates an order body like BigBuy's form; it returns the
// answer to send on failure (nil when valid).
func (s *Server) checkOrder(order any) (int, map[string]any, []Line) {
	addr := at(order, "shippingAddress")
	kids := map[string]any{}
	bad := false
	for _, f := range addressFields {
		v := str(at(addr, f))
		switch {
		case (f == "firstName" || f == "country" || f == "postcode" || f == "town" || f == "address" || f == "phone" || f == "email") && strings.TrimSpace(v) == "":
			kids[f] = map[string]any{"errors": []string{"This value should not be blank."}}
			bad = true
		case f == "address" && utf8.RuneCountInString(v) > 70:
			kids[f] = map[string]any{"errors": []string{"This value is too long. It should have 70 characters or less."}}
			bad = true
		default:
			kids[f] = []any{}
		}
	}
	ls, okLines := lines(order)
	carriers, _ := at(order, "carriers").([]any)
	pay := str(at(order, "paymentMethod"))
	children := map[string]any{
		"internalReference": blankIf(str(at(order, "internalReference")) == ""),
		"language":          blankIf(str(at(order, "language")) == ""),
		"paymentMethod":     blankIf(pay == ""),
		"shippingAddress":   map[string]any{"children": kids},
		"carriers":          blankIf(len(carriers) == 0),
		"products":          blankIf(!okLines),
	}
	if bad || !okLines || len(carriers) == 0 || pay == "" || str(at(order, "internalReference")) == "" || str(at(order, "language")) == "" {
		return http.StatusBadRequest, validation(children), nil
	}
	switch pay {
	case "moneybox", "bankwire", "paypal":
	default:
		return http.StatusConflict, ERBody("ER011", "Invalid payment method", nil), nil
	}
	if unknown := s.unknownSKUs(ls); len(unknown) > 0 {
		return http.StatusConflict, ERBody("ER001", "Product not found", map[string]any{"skus": unknown}), nil
	}
	return 0, nil, ls
}

// pickCarrier returns the first requested carrier code serving country.
func (s *Server) pickCarrier(order any, country string) (Service, bool) {
	carriers, _ := at(order, "carriers").([]any)
	for _, c := range carriers {
		if sv, ok := s.service(str(at(c, "name"))); ok && serves(sv.Countries, country) {
			return sv, true
		}
	}
	return Service{}, false
}

// part checks one warehouse's lines; ok=false carries the error answer.
func (s *Server) part(ls []Line, country string, create bool) (total float64, code string, answer map[string]any) {
	var short []string
	for _, l := range ls {
		p, _ := s.product(l.SKU)
		if create && p.SellsOutAtCreate {
			short = append(short, l.SKU)
		}
		if p.Dropped {
			return 0, "ER007", ERBody("ER007", "The order does not reach the minimum purchase", map[string]any{"minimunPurchase": 0.01, "totalOrder": 0})
		}
		if s.stock[l.SKU] < l.Quantity {
			short = append(short, l.SKU)
		}
		if !serves(p.Countries, country) {
			return 0, "ER010", ERBody("ER010", "No carriers available for this order", nil)
		}
		total += p.Price * float64(l.Quantity)
	}
	if len(short) > 0 {
		return 0, "ER003", ERBody("ER003", "Not enough stock", map[string]any{"skus": short})
	}
	return total, "", nil
}

func (s *Server) order(w http.ResponseWriter, body map[string]any, create bool) {
	order := at(body, "order")
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ans, ls := s.checkOrder(order)
	if ans != nil {
		WriteJSON(w, st, ans)
		return
	}
	country := str(at(order, "shippingAddress", "country"))
	ref := str(at(order, "internalReference"))
	if ids, by := s.warehouses(ls); len(ids) > 1 {
		s.splitAnswer(w, ids, by)
		return
	}
	sv, ok := s.pickCarrier(order, country)
	if !ok {
		WriteJSON(w, http.StatusConflict, ERBody("ER010", "No carriers available for this order", nil))
		return
	}
	if create {
		if ids := s.byRef[ref]; len(ids) > 0 {
			WriteJSON(w, http.StatusConflict, ERBody("ER008", "Order already exists", map[string]any{"orderId": ids[0]}))
			return
		}
	}
	total, _, fail := s.part(ls, country, create)
	if fail != nil {
		WriteJSON(w, http.StatusConflict, fail)
		return
	}
	if !create {
		WriteJSON(w, 200, map[string]any{"totalWithoutTaxesAndWithoutShippingCost": round2(total / 1.21),
			"totalWithoutTaxes": round2((total + sv.Cost) / 1.21), "total": round2(total + sv.Cost)})
		return
	}
	wh := 0
	if len(ls) > 0 {
		p, _ := s.product(ls[0].SKU)
		wh = p.Warehouse
	}
	o := s.create(order, ref, wh, sv, ls, total)
	w.Header().Set("Location", "/rest/order/"+strconv.Itoa(o.ID))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

func (s *Server) create(order any, ref string, wh int, sv Service, ls []Line, total float64) *Order {
	for _, l := range ls {
		s.stock[l.SKU] -= l.Quantity
	}
	o := s.addLocked(ref, s.cfg.NewStatus, wh, sv.Code, ls)
	o.Payment = str(at(order, "paymentMethod"))
	o.Address, _ = at(order, "shippingAddress").(map[string]any)
	o.ShippingTotal = sv.Cost
	o.TotalTaxIncl = round2(total + sv.Cost)
	return o
}

func round2(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 2, 64), 64)
	return v
}

// multi serves order/check|create/multishipping: one part per warehouse,
// answered as {"orders":[…],"errors":[…]} — a create may partly succeed.
func (s *Server) multi(w http.ResponseWriter, body map[string]any, create bool) {
	order := at(body, "order")
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ans, ls := s.checkOrder(order)
	if ans != nil {
		WriteJSON(w, st, ans)
		return
	}
	country := str(at(order, "shippingAddress", "country"))
	ref := str(at(order, "internalReference"))
	sv, ok := s.pickCarrier(order, country)
	if !ok {
		WriteJSON(w, http.StatusConflict, ERBody("ER010", "No carriers available for this order", nil))
		return
	}
	if create {
		if ids := s.byRef[ref]; len(ids) > 0 {
			WriteJSON(w, http.StatusConflict, ERBody("ER008", "Order already exists", map[string]any{"orderId": ids[0]}))
			return
		}
	}
	ids, by := s.warehouses(ls)
	orders, errs := []map[string]any{}, []map[string]any{}
	for _, wh := range ids {
		var refs []string
		for _, l := range by[wh] {
			refs = append(refs, l.SKU)
		}
		total, code, fail := s.part(by[wh], country, create)
		if fail != nil {
			errs = append(errs, map[string]any{"warehouse": wh, "productReferences": refs, "code": code, "message": fail["message"]})
			continue
		}
		if !create {
			orders = append(orders, map[string]any{"productReferences": refs, "warehouse": wh,
				"totalWithoutTaxesAndWithoutShippingCost": round2(total / 1.21), "totalWithoutTaxes": round2((total + sv.Cost) / 1.21), "total": round2(total + sv.Cost)})
			continue
		}
		o := s.create(order, ref, wh, sv, by[wh], total)
		orders = append(orders, map[string]any{"productReferences": refs, "id": strconv.Itoa(o.ID), "warehouse": wh,
			"url": "/rest/order/" + strconv.Itoa(o.ID)})
	}
	WriteJSON(w, 200, map[string]any{"orders": orders, "errors": errs})
}

// byReference answers the slim {id, totalPaidTaxIncl} (strings). For a
// multishipping order only one of its orders is returned.
func (s *Server) byReference(w http.ResponseWriter, ref string) {
	s.mu.Lock()
	ids := s.byRef[ref]
	var o *Order
	if len(ids) > 0 {
		o = s.orders[ids[len(ids)-1]]
	}
	s.mu.Unlock()
	if o == nil {
		WriteJSON(w, http.StatusNotFound, map[string]any{"code": 404, "message": "No order found with refOrder: " + ref})
		return
	}
	WriteJSON(w, 200, map[string]any{"id": strconv.Itoa(o.ID), "totalPaidTaxIncl": strconv.FormatFloat(o.TotalTaxIncl, 'f', 2, 64)})
}

func (s *Server) writeOrder(w http.ResponseWriter, id string) {
	s.mu.Lock()
	o := s.orders[atoi(id)]
	var cp Order
	if o != nil {
		cp = *o
	}
	s.mu.Unlock()
	if o == nil {
		WriteJSON(w, http.StatusNotFound, map[string]any{"code": 404, "message": "Order not found"})
		return
	}
	products := []map[string]any{}
	for _, l := range cp.Lines {
		p, _ := s.product(l.SKU)
		products = append(products, map[string]any{"id": l.SKU, "reference": l.SKU, "quantity": l.Quantity, "name": l.SKU,
			"priceTaxIncl": p.Price, "priceTaxExcl": round2(p.Price / 1.21)})
	}
	WriteJSON(w, 200, map[string]any{
		"id": strconv.Itoa(cp.ID), "internalReference": cp.Reference, "dateAdd": "2026-11-25 12:00:00",
		"totalPaidTaxIncl": cp.TotalTaxIncl, "totalPaidTaxExcl": round2(cp.TotalTaxIncl / 1.21),
		"totalShippingTaxIncl": cp.ShippingTotal, "totalShippingTaxExcl": round2(cp.ShippingTotal / 1.21),
		"status": cp.Status, "carriers": []map[string]any{{"id": "1", "name": cp.Carrier, "price": cp.ShippingTotal}},
		"shippingAddress": cp.Address, "products": products,
	})
}

// tracking answers a list of {id, reference, trackings[…]}; carriers are
// ids only, and there is no tracking URL.
func (s *Server) tracking(w http.ResponseWriter, id string) {
	s.mu.Lock()
	o := s.orders[atoi(id)]
	var cp Order
	if o != nil {
		cp = *o
	}
	s.mu.Unlock()
	if o == nil {
		WriteJSON(w, http.StatusNotFound, map[string]any{"code": 404, "message": "Order not found"})
		return
	}
	ts := []map[string]any{}
	for _, p := range cp.Parcels {
		ts = append(ts, map[string]any{"trackingNumber": p.Number, "statusDescription": p.Description, "statusDate": p.Date,
			"carrier": map[string]any{"id": p.CarrierID}, "descriptionTranslated": p.Description})
	}
	WriteJSON(w, 200, []map[string]any{{"id": cp.ID, "reference": cp.Reference, "trackings": ts}})
}

func (s *Server) catalog(w http.ResponseWriter, r *http.Request, products bool) {
	q := r.URL.Query()
	page, err1 := strconv.Atoi(q.Get("page"))
	size, err2 := strconv.Atoi(q.Get("pageSize"))
	parent := q.Get("parentTaxonomy")
	if err1 != nil || err2 != nil || size <= 0 || s.cfg.NoCatalogue || (s.cfg.RequireParentTaxonomy && parent == "") {
		WriteJSON(w, http.StatusBadRequest, map[string]any{"code": 400, "message": "Bad request"})
		return
	}
	s.mu.Lock()
	rows := s.vars
	if products {
		rows = s.feed
	}
	if parent != "" {
		rows = s.inTaxonomy(rows, atoi(parent))
	}
	s.mu.Unlock()
	lo, hi := min(page*size, len(rows)), min((page+1)*size, len(rows))
	if lo == hi {
		w.WriteHeader(200) // past the last page: an empty 200
		return
	}
	WriteJSON(w, 200, rows[lo:hi])
}

// stockList answers the stock lists by handling days: the same paging as
// the product and variation feeds, one row per feed row, {id, sku,
// stocks:[{quantity, minHandlingDays, maxHandlingDays, warehouse}]}
// (PyBigBuy types BBProductStockByHandlingDaysDict). Every product has two
// bands, 0–1 and 1–2 days, in its warehouse, zero rows included, as
// measured in production (WonZo LEVERANCIER.md §7); the live stock is
// split across them so a reader that takes only one band is wrong.
func (s *Server) stockList(w http.ResponseWriter, r *http.Request, products bool) {
	q := r.URL.Query()
	page, err1 := strconv.Atoi(q.Get("page"))
	size, err2 := strconv.Atoi(q.Get("pageSize"))
	parent := q.Get("parentTaxonomy")
	if err1 != nil || err2 != nil || size <= 0 || s.cfg.NoCatalogue || (s.cfg.RequireParentTaxonomy && parent == "") {
		WriteJSON(w, http.StatusBadRequest, map[string]any{"code": 400, "message": "Bad request"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := s.vars
	if products {
		rows = s.feed
	}
	if parent != "" {
		rows = s.inTaxonomy(rows, atoi(parent))
	}
	lo, hi := min(page*size, len(rows)), min((page+1)*size, len(rows))
	if lo == hi {
		w.WriteHeader(200) // past the last page: an empty 200
		return
	}
	out := make([]map[string]any, 0, hi-lo)
	for _, row := range rows[lo:hi] {
		sku := str(row["sku"])
		wh := 1
		for _, p := range s.cfg.Products {
			if p.SKU == sku && p.Warehouse != 0 {
				wh = p.Warehouse
			}
		}
		n := s.stock[sku]
		out = append(out, map[string]any{"id": row["id"], "sku": sku, "stocks": []map[string]any{
			{"quantity": n - n/2, "minHandlingDays": 0, "maxHandlingDays": 1, "warehouse": wh},
			{"quantity": n / 2, "minHandlingDays": 1, "maxHandlingDays": 2, "warehouse": wh},
		}})
	}
	WriteJSON(w, 200, out)
}

// inTaxonomy keeps the rows whose SKU's product (a variation's SKU starts
// with its product's) is in the first-level taxonomy.
func (s *Server) inTaxonomy(rows []map[string]any, top int) []map[string]any {
	var out []map[string]any
	for _, row := range rows {
		sku := str(row["sku"])
		tax := 19653
		for _, p := range s.cfg.Products {
			if p.Taxonomy != 0 && strings.HasPrefix(sku, p.SKU) {
				tax = p.Taxonomy
			}
		}
		if tax == top {
			out = append(out, row)
		}
	}
	return out
}

// WriteJSON writes v as a JSON answer with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ERBody is BigBuy's ERxxx error: the message is itself JSON with info and data.
func ERBody(code, info string, data any) map[string]any {
	m, _ := json.Marshal(map[string]any{"info": info, "data": data})
	return map[string]any{"code": code, "message": string(m)}
}

// RateLimited answers BigBuy's 429: plain text, X-RateLimit-* headers,
// reset as Unix seconds, no Retry-After.
func RateLimited(reset time.Time) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "1")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, RateLimitText)
	}
}

// SoftConflict is the 200 {"code":409,"message":"Something went wrong …"}
// seen on create: it says nothing about whether the order exists.
func SoftConflict(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, 200, map[string]any{"code": 409, "message": "Something went wrong 0a1b2c3d4e5f60718293a4b5c6d7e8f9"})
}
