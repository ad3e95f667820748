package bigbuy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/supplier"
)

// fakeBigBuy is an httptest server speaking BigBuy's wire format: Bearer
// key, paths ending in .json, {"order": …} envelopes decoded strictly,
// 201 + Location on create, BigBuy's error shapes. Tests queue one-shot
// overrides with on() to inject quirks.
type fakeBigBuy struct {
	t   *testing.T
	srv *httptest.Server
	key string

	mu        sync.Mutex
	stock     map[string]int // sku → units
	feed      []map[string]any
	variants  []map[string]any
	options   []map[string]any
	orders    map[string]*fakeOrder
	byRef     map[string]string
	nextID    int
	calls     map[string]int
	hooks     map[string][]http.HandlerFunc
	lastOrder wireOrder
	lastQuery wireShippingQuery
	retryable map[string]bool
}

type fakeOrder struct {
	id, ref, status string
	trackings       []map[string]any
}

func newFake(t *testing.T) *fakeBigBuy {
	t.Helper()
	f := &fakeBigBuy{
		t:   t,
		key: "ZjQwNGQyNDJmYjA1NzhkOTAyM2U2ZmNh",
		stock: map[string]int{
			"V1300179": 10, "F1505138": 1, "S0000003": 5,
		},
		orders:    map[string]*fakeOrder{},
		byRef:     map[string]string{},
		nextID:    690005604000,
		calls:     map[string]int{},
		hooks:     map[string][]http.HandlerFunc{},
		retryable: map[string]bool{},
		options: []map[string]any{
			{"cost": "4.95", "weight": 1.2, "shippingService": map[string]any{"id": 7, "name": "Standard", "delay": "2-3 days", "serviceName": "gls"}},
			{"cost": 3.5, "weight": 1.2, "shippingService": map[string]any{"id": 9, "name": "Economy", "delay": "24/48h", "serviceName": "correos"}},
		},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// recorder is the client side of the fake: it notes which requests the
// adapter marked retryable (the mark lives in the client's context).
type recorder struct {
	f    *fakeBigBuy
	next http.RoundTripper
}

func (rt recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	route := r.Method + " " + r.URL.Path
	rt.f.mu.Lock()
	rt.f.retryable[route] = rt.f.retryable[route] || supplier.IsRetryable(r.Context())
	rt.f.mu.Unlock()
	return rt.next.RoundTrip(r)
}

func (f *fakeBigBuy) client() *http.Client {
	return &http.Client{Transport: recorder{f: f, next: f.srv.Client().Transport}}
}

// on queues a one-shot handler for "METHOD /path".
func (f *fakeBigBuy) on(route string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hooks[route] = append(f.hooks[route], h)
}

func (f *fakeBigBuy) count(route string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[route]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// erBody builds BigBuy's ERxxx error: the message is itself JSON.
func erBody(code, info string, data any) map[string]any {
	m, _ := json.Marshal(map[string]any{"info": info, "data": data})
	return map[string]any{"code": code, "message": string(m)}
}

func (f *fakeBigBuy) serve(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + r.URL.Path
	f.mu.Lock()
	f.calls[route]++
	var hook http.HandlerFunc
	if q := f.hooks[route]; len(q) > 0 {
		hook, f.hooks[route] = q[0], q[1:]
	}
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+f.key {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Invalid Token"})
		return
	}
	if hook != nil {
		hook(w, r)
		return
	}
	p := r.URL.Path
	if !strings.HasPrefix(p, "/rest/") || !strings.HasSuffix(p, ".json") {
		http.Error(w, "<html>not found</html>", http.StatusNotFound)
		return
	}
	p = strings.TrimSuffix(strings.TrimPrefix(p, "/rest/"), ".json")
	switch {
	case r.Method == http.MethodPost && p == "shipping/orders":
		f.shipping(w, r)
	case r.Method == http.MethodPost && p == "order/create":
		f.create(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(p, "order/reference/"):
		f.mu.Lock()
		id, ok := f.byRef[strings.TrimPrefix(p, "order/reference/")]
		f.mu.Unlock()
		if !ok {
			writeJSON(w, 404, map[string]any{"code": 404, "message": "No order found with refOrder: " + strings.TrimPrefix(p, "order/reference/")})
			return
		}
		f.writeOrder(w, id)
	case r.Method == http.MethodGet && strings.HasPrefix(p, "order/"):
		f.writeOrder(w, strings.TrimPrefix(p, "order/"))
	case r.Method == http.MethodGet && strings.HasPrefix(p, "tracking/order/"):
		id := strings.TrimPrefix(p, "tracking/order/")
		f.mu.Lock()
		o, ok := f.orders[id]
		f.mu.Unlock()
		if !ok {
			writeJSON(w, 404, map[string]any{"code": 404, "message": "Order not found"})
			return
		}
		n, _ := strconv.ParseInt(id, 10, 64)
		writeJSON(w, 200, map[string]any{"id": n, "trackings": o.trackings})
	case r.Method == http.MethodGet && p == "user/purse":
		writeJSON(w, 200, "10000.00")
	case r.Method == http.MethodGet && p == "catalog/products":
		f.page(w, r, f.feed)
	case r.Method == http.MethodGet && p == "catalog/productsvariations":
		f.page(w, r, f.variants)
	default:
		writeJSON(w, 404, map[string]any{"code": 404, "message": "No route found"})
	}
}

func (f *fakeBigBuy) page(w http.ResponseWriter, r *http.Request, rows []map[string]any) {
	page, err1 := strconv.Atoi(r.URL.Query().Get("page"))
	size, err2 := strconv.Atoi(r.URL.Query().Get("pageSize"))
	if err1 != nil || err2 != nil || size <= 0 {
		writeJSON(w, 400, map[string]any{"code": 400, "message": "Bad request"})
		return
	}
	lo, hi := min(page*size, len(rows)), min((page+1)*size, len(rows))
	if lo == hi {
		w.WriteHeader(200) // BigBuy: empty 200 instead of an empty list
		return
	}
	writeJSON(w, 200, rows[lo:hi])
}

func strictDecode[T any](r *http.Request, v *T) error {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		return fmt.Errorf("content type %q", ct)
	}
	var env struct {
		Order json.RawMessage `json:"order"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return err
	}
	inner := json.NewDecoder(strings.NewReader(string(env.Order)))
	inner.DisallowUnknownFields()
	return inner.Decode(v)
}

func (f *fakeBigBuy) unknownSKUs(ps []wireProduct) (unknown, short []string) {
	for _, p := range ps {
		n, ok := f.stock[p.Reference]
		switch {
		case !ok:
			unknown = append(unknown, p.Reference)
		case n < p.Quantity:
			short = append(short, p.Reference)
		}
	}
	return unknown, short
}

func (f *fakeBigBuy) shipping(w http.ResponseWriter, r *http.Request) {
	var q wireShippingQuery
	if err := strictDecode(r, &q); err != nil {
		writeJSON(w, 400, map[string]any{"code": 400, "message": "Bad request: " + err.Error()})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastQuery = q
	if q.Delivery.Postcode == "" {
		writeJSON(w, 400, map[string]any{"code": 400, "message": "Validation Failed", "errors": map[string]any{"children": map[string]any{
			"delivery": map[string]any{"children": map[string]any{"isoCountry": []any{}, "postcode": map[string]any{"errors": []string{"This value should not be blank."}}}},
			"products": []any{},
		}}})
		return
	}
	if unknown, _ := f.unknownSKUs(q.Products); len(unknown) > 0 {
		writeJSON(w, 200, erBody("ER001", "Product not found", map[string]any{"skus": unknown}))
		return
	}
	writeJSON(w, 200, map[string]any{"shippingOptions": f.options})
}

func (f *fakeBigBuy) create(w http.ResponseWriter, r *http.Request) {
	var o wireOrder
	if err := strictDecode(r, &o); err != nil {
		writeJSON(w, 400, map[string]any{"code": 400, "message": "Bad request: " + err.Error()})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastOrder = o
	if len(o.Carriers) == 0 || o.ShippingAddress.Email == "" || o.ShippingAddress.Phone == "" {
		writeJSON(w, 400, map[string]any{"code": 400, "message": "Validation Failed", "errors": map[string]any{"children": map[string]any{
			"shippingAddress": map[string]any{"children": map[string]any{"email": map[string]any{"errors": []string{"This value should not be blank."}}}},
		}}})
		return
	}
	if id, dup := f.byRef[o.InternalReference]; dup {
		n, _ := strconv.ParseInt(id, 10, 64)
		writeJSON(w, 409, erBody("ER008", "Order already exists", map[string]any{"orderId": n}))
		return
	}
	unknown, short := f.unknownSKUs(o.Products)
	if len(unknown) > 0 {
		writeJSON(w, 409, erBody("ER001", "Product not found", map[string]any{"skus": unknown}))
		return
	}
	if len(short) > 0 {
		writeJSON(w, 409, erBody("ER003", "No stock", map[string]any{"skus": short}))
		return
	}
	id := f.createLocked(o.InternalReference, "Pending payment")
	w.Header().Set("Location", "/rest/order/"+id)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

func (f *fakeBigBuy) createLocked(ref, status string) string {
	f.nextID++
	id := strconv.Itoa(f.nextID)
	f.orders[id] = &fakeOrder{id: id, ref: ref, status: status}
	f.byRef[ref] = id
	return id
}

// seed adds an existing order.
func (f *fakeBigBuy) seed(ref, status string, trackings ...map[string]any) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.createLocked(ref, status)
	f.orders[id].trackings = trackings
	return id
}

func (f *fakeBigBuy) writeOrder(w http.ResponseWriter, id string) {
	f.mu.Lock()
	o, ok := f.orders[id]
	f.mu.Unlock()
	if !ok {
		writeJSON(w, 404, map[string]any{"code": 404, "message": "Order not found"})
		return
	}
	n, _ := strconv.ParseInt(o.id, 10, 64)
	writeJSON(w, 200, map[string]any{"id": n, "internalReference": o.ref, "status": o.status, "total": "25.43",
		"paymentMethod": "moneybox", "products": []any{}})
}

// Quirk handlers.

func rateLimited(reset time.Time) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "1")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, rateLimitText)
	}
}

func status(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if strings.HasPrefix(body, "{") || strings.HasPrefix(body, "[") || strings.HasPrefix(body, `"`) {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

func jsonStatus(code int, v any) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, code, v) }
}

// truncated promises more bytes than it sends, so the body read fails.
func truncated(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)+100))
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// hangUp drops the connection without an answer, after run (which may
// create the order: accept-then-drop).
func hangUp(t *testing.T, run func()) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if run != nil {
			run()
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			t.Error("no hijacker")
			return
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		_ = conn.Close()
	}
}

// stall blocks until the client gives up or the test ends.
func stall(release <-chan struct{}) http.HandlerFunc {
	return func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
}
