package bigbuy

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/bigbuy/bigbuyfake"
	"github.com/flowbridge/flowbridge/supplier/carrierlink"
)

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// Catalogue used by most tests: three EANs known to the fake.
var testEANs = map[string]string{
	"8400000000017": "V1300179",
	"8400000000024": "F1505138",
	"0012345678905": "S0000003",
}

func newClient(t *testing.T, f *fakeBigBuy, mods ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: f.srv.URL, APIKey: f.key, HTTPClient: f.client(), Catalog: StaticCatalog(testEANs),
		Now: func() time.Time { return testNow }}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func line(ean string, qty int) supplier.Line {
	return supplier.Line{EAN: ean, Quantity: qty, UnitPrice: supplier.Money{Minor: 1999, Currency: "EUR"}}
}

func order(ref string, lines ...supplier.Line) supplier.Order {
	return supplier.Order{
		Reference: ref, Name: "#1001", Email: "a@example.com", Phone: "+34600000000",
		ShipTo: supplier.Address{FirstName: "Ana", LastName: "García", Address1: "Calle 1", Address2: "2B",
			City: "Valencia", PostalCode: "46005", CountryCode: "es"},
		Lines: lines, ShippingRateID: "gls",
	}
}

// wantProblem checks kind, code and (when given) the field pointers.
func wantProblem(t *testing.T, err error, kind problem.Kind, code string, pointers ...string) *problem.Error {
	t.Helper()
	var pe *problem.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is not a *problem.Error", err)
	}
	if pe.Kind != kind || pe.Code != code {
		t.Fatalf("got %s/%s (%s), want %s/%s", pe.Kind, pe.Code, pe.Detail, kind, code)
	}
	if len(pointers) > 0 {
		var got []string
		for _, f := range pe.Fields {
			got = append(got, f.Pointer)
		}
		if !slices.Equal(got, pointers) {
			t.Fatalf("fields %v, want %v", got, pointers)
		}
	}
	return pe
}

func TestRatesWireFormat(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	rates, err := c.Rates(context.Background(), supplier.RateRequest{CountryCode: "es", PostalCode: "46005",
		Lines: []supplier.Line{line("8400000000017", 1), line("0012345678905", 2), line("8400000000017", 1)}})
	if err != nil {
		t.Fatal(err)
	}
	want := []supplier.Rate{
		{ID: "gls", Carrier: "GLS", Service: "GLS", Price: supplier.Money{Minor: 495, Currency: "EUR"}, MinDays: 2, MaxDays: 3},
		{ID: "correos", Carrier: "Correos", Service: "Correos", Price: supplier.Money{Minor: 350, Currency: "EUR"}, MinDays: 1, MaxDays: 2},
		{ID: "chrono", Carrier: "Chrono", Service: "Chrono", Price: supplier.Money{Minor: 720, Currency: "EUR"}, MinDays: 1, MaxDays: 2},
	}
	if !slices.Equal(rates, want) {
		t.Fatalf("rates\n got %+v\nwant %+v", rates, want)
	}
	q := f.Body("POST /rest/shipping/orders.json")
	if d, _ := q["order"].(map[string]any)["delivery"].(map[string]any); d["isoCountry"] != "ES" || d["postcode"] != "46005" {
		t.Errorf("delivery %+v", d)
	}
	// Same SKU twice is merged into one product line.
	if got := f.sentProducts("POST /rest/shipping/orders.json"); !slices.Equal(got, []string{"V1300179×2", "S0000003×2"}) {
		t.Errorf("products %+v", got)
	}
	if !f.retryable["POST /rest/shipping/orders.json"] {
		t.Error("shipping quote must be marked retryable")
	}
}

func TestRatesErrors(t *testing.T) {
	reset := testNow.Add(7 * time.Second)
	tests := []struct {
		name      string
		hook      http.HandlerFunc
		postcode  string
		kind      problem.Kind
		code      string
		pointers  []string
		retryWant time.Duration
	}{
		{name: "429 plain text with reset", hook: rateLimited(reset), kind: problem.Unavailable, code: problem.CodeSupplierRateLimited, retryWant: 7 * time.Second},
		{name: "rate limit text with 200", hook: status(200, rateLimitText), kind: problem.Unavailable, code: problem.CodeSupplierRateLimited, retryWant: time.Second},
		{name: "401 invalid token", hook: jsonStatus(401, map[string]string{"message": "Invalid Token"}), kind: problem.Unavailable, code: problem.CodeSupplierAuth},
		{name: "500 json", hook: jsonStatus(500, map[string]any{"code": 500, "message": "An error has occurred. Please try again later."}), kind: problem.Unavailable, code: problem.CodeSupplierUnavailable},
		{name: "502 html", hook: status(502, "<html><body><h1>502 Bad Gateway</h1></body></html>"), kind: problem.Unavailable, code: problem.CodeSupplierUnavailable},
		{name: "200 carrying an HTTP 500", hook: status(200, "HTTP/1.0 500 Internal Server Error\r\nContent-Type: application/json\r\n\r\n{\"error\":\"Information is not available right now\"}"), kind: problem.Unavailable, code: problem.CodeSupplierUnavailable},
		{name: "ER010 with 200 is no option", hook: jsonStatus(200, erBody("ER010", "No carriers available", nil)), kind: problem.Rejected, code: problem.CodeNoShippingOption},
		{name: "soft 409 in a 200", hook: jsonStatus(200, map[string]any{"code": 409, "message": "Something went wrong 5678"}), kind: problem.Rejected, code: problem.CodeSupplierRejected},
		{name: "validation: blank postcode", postcode: "-", kind: problem.Rejected, code: problem.CodeInvalidAddress, pointers: []string{"/shipping_address/zip"}},
		{name: "malformed json", hook: status(200, `{"shippingOptions":[{"cost":`), kind: problem.Upstream, code: problem.CodeSupplierBadResponse},
		{name: "truncated body", hook: truncated(200, `{"shippingOptions":[`), kind: problem.Upstream, code: problem.CodeSupplierBadResponse},
		{name: "options without cost", hook: jsonStatus(200, map[string]any{"shippingOptions": []any{map[string]any{"shippingService": map[string]any{"name": "x"}}}}), kind: problem.Upstream, code: problem.CodeSupplierBadResponse},
		{name: "unknown product ER001 names the line", hook: jsonStatus(200, erBody("ER001", "Product not found", map[string]any{"skus": []string{"F1505138"}})), kind: problem.Rejected, code: problem.CodeUnknownProduct, pointers: []string{"/line_items/1/barcode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			c := newClient(t, f)
			if tt.hook != nil {
				f.on("POST /rest/shipping/orders.json", tt.hook)
			}
			pc := "46005"
			if tt.postcode == "-" {
				pc = ""
			}
			_, err := c.Rates(context.Background(), supplier.RateRequest{CountryCode: "ES", PostalCode: pc,
				Lines: []supplier.Line{line("8400000000017", 1), line("8400000000024", 1)}})
			pe := wantProblem(t, err, tt.kind, tt.code, tt.pointers...)
			if tt.retryWant != 0 && pe.RetryAfter != tt.retryWant {
				t.Errorf("RetryAfter %v, want %v", pe.RetryAfter, tt.retryWant)
			}
		})
	}
}

func TestRatesEmptyBodyIsNoOption(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	f.on("POST /rest/shipping/orders.json", status(200, ""))
	rates, err := c.Rates(context.Background(), supplier.RateRequest{CountryCode: "ES", PostalCode: "46005", Lines: []supplier.Line{line("8400000000017", 1)}})
	if err != nil || len(rates) != 0 {
		t.Fatalf("rates %v err %v, want none", rates, err)
	}
	_, err = supplier.Choose(rates, []string{"GLS"})
	wantProblem(t, err, problem.Rejected, problem.CodeNoShippingOption)
}

func TestEANMapping(t *testing.T) {
	tests := []struct {
		name     string
		lines    []supplier.Line
		fallback bool
		code     string
		pointers []string
		products []string
	}{
		{name: "all matched, UPC-A matches its EAN-13 form", lines: []supplier.Line{line("012345678905", 1), line("8400000000017", 3)},
			products: []string{"S0000003×1", "V1300179×3"}},
		{name: "two unmatched lines are both named", lines: []supplier.Line{line("4006381333931", 1), line("8400000000017", 1), line("5901234123457", 2)},
			code: problem.CodeUnmatchedEAN, pointers: []string{"/line_items/0/barcode", "/line_items/2/barcode"}},
		{name: "missing barcode is unmatched", lines: []supplier.Line{{SKU: "V1300179", Quantity: 1}},
			code: problem.CodeUnmatchedEAN, pointers: []string{"/line_items/0/barcode"}},
		{name: "SKU fallback when configured", fallback: true, lines: []supplier.Line{{EAN: "4006381333931", SKU: "F1505138", Quantity: 1}},
			products: []string{"F1505138×1"}},
		{name: "fallback without SKU still unmatched", fallback: true, lines: []supplier.Line{line("4006381333931", 1)},
			code: problem.CodeUnmatchedEAN, pointers: []string{"/line_items/0/barcode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			c := newClient(t, f, func(c *Config) { c.SKUFallback = tt.fallback })
			_, err := c.CreateOrder(context.Background(), order("1001", tt.lines...))
			if tt.code != "" {
				wantProblem(t, err, problem.Rejected, tt.code, tt.pointers...)
				if supplier.IsOutcomeUnknown(err) {
					t.Error("an unmatched order was never sent: outcome is known")
				}
				if n := f.count("POST /rest/order/create.json"); n != 0 {
					t.Errorf("create called %d times; a partial order must never be sent", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.sentProducts("POST /rest/order/create.json"); !slices.Equal(got, tt.products) {
				t.Errorf("products %+v, want %+v", got, tt.products)
			}
		})
	}
}

func TestCreateOrderWireFormat(t *testing.T) {
	for _, testMode := range []bool{false, true} {
		f := newFake(t)
		c := newClient(t, f, func(c *Config) { c.Language = "ES" })
		o := order("1001", line("8400000000017", 2))
		o.TestMode = testMode
		p, err := c.CreateOrder(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if p.SupplierOrderID != "690005604001" || p.Status != supplier.StatusPending {
			t.Fatalf("placed %+v", p)
		}
		got := f.Body("POST /rest/order/create.json")["order"].(map[string]any)
		pay := map[bool]string{false: "moneybox", true: "bankwire"}[testMode]
		addr := got["shippingAddress"].(map[string]any)
		wantAddr := map[string]any{"firstName": "Ana", "lastName": "García", "country": "ES", "postcode": "46005", "town": "Valencia",
			"address": "Calle 1, 2B", "phone": "+34600000000", "email": "a@example.com", "comment": ""}
		for k, v := range wantAddr {
			if addr[k] != v {
				t.Errorf("shippingAddress.%s = %v, want %v", k, addr[k], v)
			}
		}
		carriers, _ := got["carriers"].([]any)
		if got["internalReference"] != "1001" || got["language"] != "es" || got["paymentMethod"] != pay ||
			len(carriers) != 1 || carriers[0].(map[string]any)["name"] != "gls" {
			t.Fatalf("order sent %+v", got)
		}
		if p := f.sentProducts("POST /rest/order/create.json"); !slices.Equal(p, []string{"V1300179×2"}) {
			t.Fatalf("products %v", p)
		}
		if f.retryable["POST /rest/order/create.json"] {
			t.Error("create must never be marked retryable")
		}
	}
}

func TestCreateOrderErrors(t *testing.T) {
	lines := []supplier.Line{line("8400000000017", 1), line("8400000000024", 1), line("0012345678905", 1)}
	tests := []struct {
		name     string
		hook     http.HandlerFunc
		kind     problem.Kind
		code     string
		unknown  bool
		pointers []string
		detail   string
	}{
		{name: "ER001 unknown product", hook: jsonStatus(409, erBody("ER001", "Product not found", map[string]any{"skus": []string{"S0000003"}})), kind: problem.Rejected, code: problem.CodeUnknownProduct, pointers: []string{"/line_items/2/barcode"}},
		{name: "ER002 incorrect reference", hook: jsonStatus(409, erBody("ER002", "Incorrect reference", map[string]any{"skus": []string{"V1300179"}})), kind: problem.Rejected, code: problem.CodeUnknownProduct, pointers: []string{"/line_items/0/barcode"}},
		{name: "ER003 no stock names lines (HTTP 200!)", hook: jsonStatus(200, erBody("ER003", "No stock", map[string]any{"skus": []string{"F1505138", "V1300179"}})), kind: problem.Rejected, code: problem.CodeNoStock, pointers: []string{"/line_items/0/barcode", "/line_items/1/barcode"}},
		{name: "ER004 zip format with example", hook: jsonStatus(409, erBody("ER004", "Zipcode format", map[string]any{"zipExample": "NNNNN"})), kind: problem.Rejected, code: problem.CodeInvalidAddress, pointers: []string{"/shipping_address/zip"}, detail: `"NNNNN"`},
		{name: "ER005 moneybox too low", hook: jsonStatus(409, erBody("ER005", "Moneybox", map[string]any{"moneyBoxAmount": 0.00, "totalOrder": 25.43})), kind: problem.Rejected, code: problem.CodeInsufficientFunds, detail: "25.43"},
		{name: "ER007 below minimum", hook: jsonStatus(409, erBody("ER007", "Too low", map[string]any{"minimunPurchase": 50, "totalOrder": 25.43})), kind: problem.Rejected, code: problem.CodeBelowMinimum, detail: "50"},
		{name: "ER009 temporary", hook: jsonStatus(409, erBody("ER009", "Temporary error", nil)), kind: problem.Unavailable, code: problem.CodeSupplierUnavailable},
		{name: "ER010 no carrier on create", hook: jsonStatus(409, erBody("ER010", "No carrier", nil)), kind: problem.Rejected, code: problem.CodeInvalidShippingRate},
		{name: "ER011 payment", hook: jsonStatus(409, erBody("ER011", "Invalid payment", nil)), kind: problem.Unavailable, code: CodePaymentConfig},
		{name: "ER012 bankwire too low", hook: jsonStatus(409, erBody("ER012", "Bankwire", map[string]any{"minBankwire": 100})), kind: problem.Rejected, code: problem.CodeInsufficientFunds},
		{name: "unknown ER code keeps raw code", hook: jsonStatus(409, erBody("ER099", "Something new", nil)), kind: problem.Rejected, code: problem.CodeSupplierRejected, detail: "ER099"},
		{name: "409 products error", hook: jsonStatus(409, map[string]any{"code": 409, "message": `{"info":"Products error.","data":[{"sku":"F1505138","message":"Inactive product."}]}`}), kind: problem.Rejected, code: problem.CodeUnknownProduct, pointers: []string{"/line_items/1/barcode"}},
		{name: "validation on address", hook: jsonStatus(400, map[string]any{"code": 400, "message": "Validation Failed", "errors": map[string]any{"children": map[string]any{
			"internalReference": []any{}, "shippingAddress": map[string]any{"children": map[string]any{"firstName": []any{}, "address": map[string]any{"errors": []string{`This value "Calle 1, 2B" is too long.`}}}}}}}),
			kind: problem.Rejected, code: problem.CodeInvalidAddress, pointers: []string{"/shipping_address/address1"}},
		{name: "401", hook: jsonStatus(401, map[string]string{"message": "Invalid Token"}), kind: problem.Unavailable, code: problem.CodeSupplierAuth},
		{name: "429 before processing is known", hook: rateLimited(testNow.Add(2 * time.Second)), kind: problem.Unavailable, code: problem.CodeSupplierRateLimited},
		{name: "422 generic", hook: jsonStatus(422, map[string]any{"code": 422, "message": "Unprocessable"}), kind: problem.Rejected, code: problem.CodeSupplierRejected},
		{name: "500 is outcome unknown", hook: jsonStatus(500, map[string]any{"code": 500, "message": "An error has occurred"}), kind: problem.Unavailable, code: problem.CodeSupplierUnavailable, unknown: true},
		{name: "503 html is outcome unknown", hook: status(503, "<html>down</html>"), kind: problem.Unavailable, code: problem.CodeSupplierUnavailable, unknown: true},
		{name: "201 without Location", hook: status(201, ""), kind: problem.Upstream, code: problem.CodeSupplierBadResponse, unknown: true},
		{name: "201 with unreadable Location", hook: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Location", "/rest/order/")
			w.WriteHeader(201)
		}, kind: problem.Upstream, code: problem.CodeSupplierBadResponse, unknown: true},
		{name: "200 truncated without Location", hook: truncated(200, `{"id":`), kind: problem.Upstream, code: problem.CodeSupplierBadResponse, unknown: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			c := newClient(t, f)
			f.on("POST /rest/order/create.json", tt.hook)
			_, err := c.CreateOrder(context.Background(), order("1001", lines...))
			pe := wantProblem(t, err, tt.kind, tt.code, tt.pointers...)
			if got := supplier.IsOutcomeUnknown(err); got != tt.unknown {
				t.Errorf("IsOutcomeUnknown = %v, want %v", got, tt.unknown)
			}
			if tt.detail != "" && !strings.Contains(pe.Detail, tt.detail) {
				t.Errorf("detail %q lacks %q", pe.Detail, tt.detail)
			}
			for _, fl := range pe.Fields {
				if strings.Contains(fl.Message, "Calle") {
					t.Errorf("customer data echoed in %q", fl.Message)
				}
			}
		})
	}
}

func TestCreateLocationForms(t *testing.T) {
	for loc, want := range map[string]string{
		"/rest/order/119123":                           "119123",
		"/rest/order/119123.json":                      "119123",
		"https://api.bigbuy.eu/rest/order/119123":      "119123",
		"https://api.bigbuy.eu/rest/order/119123.json": "119123",
	} {
		f := newFake(t)
		c := newClient(t, f)
		f.on("POST /rest/order/create.json", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Location", loc)
			w.WriteHeader(201)
		})
		p, err := c.CreateOrder(context.Background(), order("1", line("8400000000017", 1)))
		if err != nil || p.SupplierOrderID != want {
			t.Errorf("Location %q: placed %+v err %v", loc, p, err)
		}
	}
}

// Accept-then-drop: BigBuy writes the order and the connection dies. The
// create is outcome-unknown; the lookup finds the order; a re-sent create
// is answered ER008 and adopted — one order in total.
func TestCreateAcceptThenDropReconciles(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	var createdID string
	f.on("POST /rest/order/create.json", hangUp(t, func() {
		createdID = f.seed("1001", "Pending payment")
	}))
	o := order("1001", line("8400000000017", 1))
	_, err := c.CreateOrder(context.Background(), o)
	if !supplier.IsOutcomeUnknown(err) {
		t.Fatalf("want outcome unknown, got %v", err)
	}
	wantProblem(t, err, problem.Unavailable, problem.CodeSupplierUnavailable)

	p, found, err := c.FindOrder(context.Background(), "1001")
	if err != nil || !found || p.SupplierOrderID != createdID || p.Status != supplier.StatusPending || p.RawStatus != "Pending payment" {
		t.Fatalf("FindOrder = %+v %v %v, want %s", p, found, err, createdID)
	}
	if p.Total == nil || p.Total.Minor != 2543 {
		t.Errorf("total %+v", p.Total)
	}
	if !f.retryable["GET /rest/order/reference/1001.json"] {
		t.Error("lookup must be marked retryable")
	}

	p, err = c.CreateOrder(context.Background(), o)
	if err != nil || p.SupplierOrderID != createdID {
		t.Fatalf("re-sent create: %+v %v, want adoption of %s", p, err, createdID)
	}
	if n := len(f.Orders()); n != 1 {
		t.Fatalf("%d orders at BigBuy, want exactly 1", n)
	}
}

func TestCreateSlowPastDeadline(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.on("POST /rest/order/create.json", stall(release))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.CreateOrder(ctx, order("1001", line("8400000000017", 1)))
	if !supplier.IsOutcomeUnknown(err) {
		t.Fatalf("want outcome unknown, got %v", err)
	}
	wantProblem(t, err, problem.Unavailable, problem.CodeDeadline)
}

func TestCreateUnreachableIsKnown(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	f.srv.Close() // nothing listens: the dial fails, no byte left
	_, err := c.CreateOrder(context.Background(), order("1001", line("8400000000017", 1)))
	if supplier.IsOutcomeUnknown(err) {
		t.Fatalf("a refused connection cannot have created an order: %v", err)
	}
	wantProblem(t, err, problem.Unavailable, problem.CodeSupplierUnavailable)
}

// unsentErr stands for the resilient client's "never sent" failures.
type unsentErr struct{}

func (unsentErr) Error() string { return "circuit breaker open" }
func (unsentErr) Unsent() bool  { return true }

type failingTransport struct{ err error }

func (ft failingTransport) RoundTrip(*http.Request) (*http.Response, error) { return nil, ft.err }

func TestCreateNotSentByClientLayerIsKnown(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, func(c *Config) { c.HTTPClient = &http.Client{Transport: failingTransport{unsentErr{}}} })
	_, err := c.CreateOrder(context.Background(), order("1001", line("8400000000017", 1)))
	if supplier.IsOutcomeUnknown(err) {
		t.Fatalf("an unsent create is not outcome-unknown: %v", err)
	}
	wantProblem(t, err, problem.Unavailable, problem.CodeSupplierUnavailable)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c = newClient(t, f)
	_, err = c.CreateOrder(ctx, order("1001", line("8400000000017", 1)))
	if supplier.IsOutcomeUnknown(err) || f.count("POST /rest/order/create.json") != 0 {
		t.Fatalf("a cancelled create must not be sent: %v", err)
	}
	// Any other transport failure may have reached BigBuy.
	c = newClient(t, f, func(c *Config) {
		c.HTTPClient = &http.Client{Transport: failingTransport{errors.New("connection reset by peer")}}
	})
	_, err = c.CreateOrder(context.Background(), order("1001", line("8400000000017", 1)))
	if !supplier.IsOutcomeUnknown(err) {
		t.Fatalf("want outcome unknown, got %v", err)
	}
}

func TestSuccessCodeInBodyIsNoError(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	f.on("POST /rest/order/create.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", "/rest/order/77")
		writeJSON(w, 201, map[string]any{"code": 201, "message": "Created"})
	})
	p, err := c.CreateOrder(context.Background(), order("1001", line("8400000000017", 1)))
	if err != nil || p.SupplierOrderID != "77" {
		t.Fatalf("%+v %v", p, err)
	}
}

func TestCreateRejectsMissingRequiredData(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	o := order("1001", line("8400000000017", 1))
	o.Email, o.Phone, o.ShippingRateID = "", "", ""
	_, err := c.CreateOrder(context.Background(), o)
	wantProblem(t, err, problem.Invalid, problem.CodeValidation, "/shipping_cost_id", "/email", "/phone")
	if f.count("POST /rest/order/create.json") != 0 {
		t.Error("nothing should be sent")
	}
}

func TestER008WithoutOrderIDIsUnknown(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	f.on("POST /rest/order/create.json", jsonStatus(409, erBody("ER008", "Order already exists", map[string]any{})))
	_, err := c.CreateOrder(context.Background(), order("1001", line("8400000000017", 1)))
	if !supplier.IsOutcomeUnknown(err) {
		t.Fatalf("want outcome unknown, got %v", err)
	}
}

func TestFindOrder(t *testing.T) {
	tests := []struct {
		name  string
		hook  http.HandlerFunc
		seed  bool
		found bool
		kind  problem.Kind
		code  string
	}{
		{name: "404 from BigBuy is a confirmed none", found: false},
		{name: "found", seed: true, found: true},
		{name: "500 proves nothing (sandbox behaviour)", hook: jsonStatus(500, map[string]any{"code": 500, "message": "An error has occurred. Please try again later."}), kind: problem.Unavailable, code: problem.CodeSupplierUnavailable},
		{name: "404 without BigBuy's body proves nothing", hook: status(404, "<html>Not Found</html>"), kind: problem.Unavailable, code: problem.CodeSupplierUnavailable},
		{name: "404 JSON without code proves nothing", hook: jsonStatus(404, map[string]any{"message": "No route found"}), kind: problem.Unavailable, code: problem.CodeSupplierUnavailable},
		{name: "empty 200 proves nothing", hook: status(200, ""), kind: problem.Unavailable, code: problem.CodeSupplierUnavailable},
		{name: "429", hook: rateLimited(testNow.Add(3 * time.Second)), kind: problem.Unavailable, code: problem.CodeSupplierRateLimited},
		{name: "401", hook: jsonStatus(401, map[string]string{"message": "Invalid Token"}), kind: problem.Unavailable, code: problem.CodeSupplierAuth},
		{name: "400 proves nothing", hook: jsonStatus(400, map[string]any{"code": 400, "message": "Bad request"}), kind: problem.Unavailable, code: problem.CodeSupplierUnavailable},
		{name: "truncated", hook: truncated(200, `{"id":69`), kind: problem.Upstream, code: problem.CodeSupplierBadResponse},
		{name: "another reference", hook: jsonStatus(200, map[string]any{"id": 5, "internalReference": "999", "status": "Shipped"}), kind: problem.Upstream, code: problem.CodeSupplierBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			c := newClient(t, f)
			var id string
			if tt.seed {
				id = f.seed("1001", "Shipped")
			}
			if tt.hook != nil {
				f.on("GET /rest/order/reference/1001.json", tt.hook)
			}
			p, found, err := c.FindOrder(context.Background(), "1001")
			if tt.code != "" {
				wantProblem(t, err, tt.kind, tt.code)
				if found {
					t.Error("found must be false on error")
				}
				return
			}
			if err != nil || found != tt.found {
				t.Fatalf("found %v err %v, want %v", found, err, tt.found)
			}
			if tt.found && (p.SupplierOrderID != id || p.Status != supplier.StatusShipped) {
				t.Fatalf("placed %+v", p)
			}
		})
	}
}

func TestTracking(t *testing.T) {
	// BigBuy's tracking entries name the carrier by id only and carry no
	// URL (PyBigBuy types.py); names come from tracking/carriers.
	gls := bigbuyfake.Parcel{Number: "GLS123", CarrierID: "5", Description: "In transit", Date: "2026-11-26 10:00:00"}
	correos := bigbuyfake.Parcel{Number: "PQ9", CarrierID: "2"}
	glsLink, _ := carrierlink.Lookup("GLS")
	correosLink, _ := carrierlink.Lookup("Correos")
	glsP := supplier.Parcel{Carrier: "GLS", Number: "GLS123", URL: glsLink.Link("GLS123")}
	correosP := supplier.Parcel{Carrier: "Correos", Number: "PQ9", URL: correosLink.Link("PQ9")}
	tests := []struct {
		name        string
		status      string
		trackings   []bigbuyfake.Parcel
		hookTrack   http.HandlerFunc
		want        supplier.Status
		parcels     []supplier.Parcel
		trackCalls  int
		unknownSeen bool
	}{
		{name: "pending asks no tracking", status: "Pending payment", want: supplier.StatusPending},
		{name: "processing without parcels", status: "Processing", want: supplier.StatusProcessing, trackCalls: 1},
		{name: "processing with two parcels is shipped", status: "Processing", trackings: []bigbuyfake.Parcel{gls, correos, gls}, want: supplier.StatusShipped, trackCalls: 1,
			parcels: []supplier.Parcel{glsP, correosP}},
		{name: "delivered", status: "DELIVERED", trackings: []bigbuyfake.Parcel{correos}, want: supplier.StatusDelivered, trackCalls: 1, parcels: []supplier.Parcel{correosP}},
		{name: "pending invoice is a real status", status: "PENDING INVOICE", want: supplier.StatusProcessing, trackCalls: 1},
		{name: "cancelled", status: "Cancelled", want: supplier.StatusCancelled},
		{name: "unknown raw status is surfaced, not guessed", status: "Awaiting customs", trackings: []bigbuyfake.Parcel{correos}, want: supplier.StatusUnknown, trackCalls: 1, unknownSeen: true,
			parcels: []supplier.Parcel{correosP}},
		{name: "tracking answers empty 200", status: "Shipped", hookTrack: status(200, ""), want: supplier.StatusShipped, trackCalls: 1},
		{name: "tracking list with other orders", status: "Shipped", hookTrack: jsonStatus(200, []any{
			map[string]any{"id": 1, "reference": "x", "trackings": []any{map[string]any{"trackingNumber": "GLS123", "carrier": map[string]any{"id": "5"}}}},
			map[string]any{"id": 690005604001, "reference": "1001", "trackings": []any{map[string]any{"trackingNumber": "PQ9", "carrier": map[string]any{"id": "2"}}}}}),
			want: supplier.StatusShipped, trackCalls: 1, parcels: []supplier.Parcel{correosP}},
		{name: "carrier id BigBuy does not list", status: "Shipped", trackings: []bigbuyfake.Parcel{{Number: "ZZ1", CarrierID: "99"}}, want: supplier.StatusShipped, trackCalls: 1,
			parcels: []supplier.Parcel{{Number: "ZZ1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			var unknown []string
			var mu sync.Mutex
			c := newClient(t, f, func(c *Config) {
				c.OnUnknownStatus = func(raw string) { mu.Lock(); unknown = append(unknown, raw); mu.Unlock() }
			})
			id := f.seed("1001", tt.status, tt.trackings...)
			if tt.hookTrack != nil {
				f.on("GET /rest/tracking/order/"+id+".json", tt.hookTrack)
			}
			tr, err := c.Tracking(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Status != tt.want || tr.RawStatus != tt.status || tr.SupplierOrderID != id || !slices.Equal(tr.Parcels, tt.parcels) {
				t.Fatalf("tracking %+v, want %s %+v", tr, tt.want, tt.parcels)
			}
			if n := f.count("GET /rest/tracking/order/" + id + ".json"); n != tt.trackCalls {
				t.Errorf("%d tracking calls, want %d", n, tt.trackCalls)
			}
			if got := len(unknown) > 0; got != tt.unknownSeen || (got && unknown[0] != tt.status) {
				t.Errorf("unknown statuses reported: %v", unknown)
			}
			if !f.retryable["GET /rest/order/"+id+".json"] {
				t.Error("order read must be marked retryable")
			}
		})
	}
}

func TestTrackingErrors(t *testing.T) {
	tests := []struct {
		name string
		id   string
		hook http.HandlerFunc
		kind problem.Kind
		code string
	}{
		{name: "404", id: "123", kind: problem.NotFound, code: problem.CodeOrderNotFound},
		{name: "empty 200 instead of 404", id: "123", hook: status(200, ""), kind: problem.NotFound, code: problem.CodeOrderNotFound},
		{name: "not a number", id: "../user/purse", kind: problem.NotFound, code: problem.CodeOrderNotFound},
		{name: "500", id: "123", hook: jsonStatus(500, map[string]any{"code": 500, "message": "x"}), kind: problem.Unavailable, code: problem.CodeSupplierUnavailable},
		{name: "malformed", id: "123", hook: status(200, `{"id":123,"status":`), kind: problem.Upstream, code: problem.CodeSupplierBadResponse},
		{name: "429", id: "123", hook: rateLimited(testNow.Add(time.Second)), kind: problem.Unavailable, code: problem.CodeSupplierRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			c := newClient(t, f)
			if tt.hook != nil {
				f.on("GET /rest/order/"+tt.id+".json", tt.hook)
			}
			_, err := c.Tracking(context.Background(), tt.id)
			wantProblem(t, err, tt.kind, tt.code)
		})
	}
}

func TestTrackingSlowReadHonoursDeadline(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.on("GET /rest/order/5.json", stall(release))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.Tracking(ctx, "5")
	wantProblem(t, err, problem.Unavailable, problem.CodeDeadline)
}

func TestCheckCredentials(t *testing.T) {
	t.Run("ok", func(t *testing.T) {
		f := newFake(t)
		if err := newClient(t, f).CheckCredentials(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		f := newFake(t)
		c := newClient(t, f, func(c *Config) { c.APIKey = "Nm9XbW5oZ2ZkZXJ0eXVpb3BsaGdm" })
		pe := wantProblem(t, c.CheckCredentials(context.Background()), problem.Unavailable, problem.CodeSupplierAuth)
		if strings.Contains(pe.Detail, "Nm9X") {
			t.Error("the key must never appear in errors")
		}
	})
	t.Run("case-mangled key", func(t *testing.T) {
		f := newFake(t)
		c := newClient(t, f, func(c *Config) { c.APIKey = strings.ToLower(f.key) })
		pe := wantProblem(t, c.CheckCredentials(context.Background()), problem.Unavailable, problem.CodeSupplierAuth)
		if !strings.Contains(pe.Detail, "case") {
			t.Errorf("detail %q should say the key looks case-mangled", pe.Detail)
		}
	})
	t.Run("sandbox key on production", func(t *testing.T) {
		prod, sandbox := newFake(t), newFake(t, func(c *bigbuyfake.Config) { c.Key = "U2FuZGJveEtleUZvclRlc3RpbmdPbmx5" })

		c := newClient(t, prod, func(c *Config) { c.APIKey = sandbox.key; c.PeerBaseURL = sandbox.srv.URL })
		wantProblem(t, c.CheckCredentials(context.Background()), problem.Unavailable, CodeWrongEnvironment)
	})
	t.Run("purse 500", func(t *testing.T) {
		f := newFake(t)
		f.on("GET /rest/user/purse.json", jsonStatus(500, map[string]any{"code": 500, "message": "x"}))
		wantProblem(t, newClient(t, f).CheckCredentials(context.Background()), problem.Unavailable, problem.CodeSupplierUnavailable)
	})
}

func TestNewConfig(t *testing.T) {
	c, err := New(Config{APIKey: " key\n"})
	if err != nil {
		t.Fatal(err)
	}
	if c.base != ProductionBaseURL || c.peer != SandboxBaseURL || c.key != "key" || c.pay != PaymentMoneybox || c.testPay != PaymentBankwire || c.lang != "en" {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = New(Config{APIKey: "k", BaseURL: "https://api.sandbox.bigbuy.eu/rest/"})
	if err != nil || c.base != SandboxBaseURL || !c.Sandbox() || c.peer != ProductionBaseURL {
		t.Fatalf("sandbox base: %+v %v", c, err)
	}
	for _, bad := range []Config{{}, {APIKey: "k", BaseURL: "ftp://x"}, {APIKey: "k", PaymentMethod: "cash"}} {
		if _, err := New(bad); err == nil {
			t.Errorf("New(%+v) accepted", bad)
		}
	}
	caps := c.Capabilities()
	if !caps.ClientReference || !caps.LookupByReference || !caps.ProductLookup || !caps.TestMode || caps.TestModeHint == "" {
		t.Errorf("capabilities %+v", caps)
	}
}

func TestOperationLabel(t *testing.T) {
	for path, want := range map[string]string{
		"/rest/order/reference/1001.json":  "order/reference",
		"/rest/order/reference/ABC-7.json": "order/reference",
		"/rest/order/123456.json":          "order",
		"/rest/tracking/order/123456.json": "tracking/order",
		"/rest/shipping/orders.json":       "shipping/orders",
		"/rest/order/create.json":          "order/create",
		"/rest/user/purse.json":            "user/purse",
		"/rest/catalog/products.json":      "catalog/products",
	} {
		if got := operation(path); got != want {
			t.Errorf("operation(%q) = %q, want %q", path, got, want)
		}
	}
}
