package bts

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/bts/btsfake"
)

func checkProblem(t *testing.T, err error, kind problem.Kind, code string, unknown bool) *problem.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s/%s, got nil error", kind, code)
	}
	var pe *problem.Error
	if !errors.As(err, &pe) {
		t.Fatalf("want *problem.Error, got %T %v", err, err)
	}
	if pe.Kind != kind || pe.Code != code {
		t.Fatalf("want %s/%s, got %s/%s (%v)", kind, code, pe.Kind, pe.Code, err)
	}
	if got := supplier.IsOutcomeUnknown(err); got != unknown {
		t.Fatalf("IsOutcomeUnknown = %v, want %v (%v)", got, unknown, err)
	}
	if strings.Contains(err.Error(), fakeToken) || strings.Contains(pe.Detail, fakeToken) {
		t.Fatalf("error leaks the token: %v", err)
	}
	return pe
}

func TestNewValidatesConfig(t *testing.T) {
	cases := []struct {
		name    string
		cfg     Config
		wantErr string
		check   func(*testing.T, *Client)
	}{
		{name: "defaults", cfg: Config{Token: "a.b.c"}, check: func(t *testing.T, c *Client) {
			mustf(t, c.base.String() == DefaultBaseURL, "base %s", c.base)
			mustf(t, c.PaymentMethod() == PaymentWallet, "payment %s", c.PaymentMethod())
		}},
		{name: "bearer prefix dropped", cfg: Config{Token: "  Bearer a.b.c "}, check: func(t *testing.T, c *Client) {
			mustf(t, c.token == "a.b.c", "token %q", c.token)
		}},
		{name: "payment case-insensitive", cfg: Config{Token: "a.b.c", PaymentMethod: "BTSCredit"}, check: func(t *testing.T, c *Client) {
			mustf(t, c.PaymentMethod() == PaymentBTSCredit, "payment %s", c.PaymentMethod())
		}},
		{name: "trailing slash", cfg: Config{Token: "a.b.c", BaseURL: "http://127.0.0.1:9/v1/api/"}, check: func(t *testing.T, c *Client) {
			mustf(t, c.base.String() == "http://127.0.0.1:9/v1/api", "base %s", c.base)
		}},
		{name: "no token", cfg: Config{}, wantErr: "FLOWBRIDGE_BTS_TOKEN"},
		{name: "blank token", cfg: Config{Token: "  "}, wantErr: "empty"},
		{name: "token with space", cfg: Config{Token: "a.b c"}, wantErr: "whitespace"},
		{name: "relative URL", cfg: Config{Token: "a.b.c", BaseURL: "api.btswholesaler.com/v1/api"}, wantErr: "absolute"},
		{name: "bad scheme", cfg: Config{Token: "a.b.c", BaseURL: "ftp://x/v1/api"}, wantErr: "absolute"},
		{name: "unparseable", cfg: Config{Token: "a.b.c", BaseURL: "http://[::1"}, wantErr: "absolute"},
		{name: "query", cfg: Config{Token: "a.b.c", BaseURL: "https://x/v1/api?x=1"}, wantErr: "query"},
		{name: "payment unknown", cfg: Config{Token: "a.b.c", PaymentMethod: "paypal"}, wantErr: "payment method"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.cfg)
			if tc.wantErr != "" {
				pe := checkProblem(t, err, problem.Invalid, CodeConfigInvalid, false)
				mustf(t, strings.Contains(pe.Detail, tc.wantErr), "detail %q lacks %q", pe.Detail, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestCapabilitiesAndFindOrder(t *testing.T) {
	f := newFake(t)
	c := newTestClient(t, f, nil)
	caps := c.Capabilities()
	mustf(t, !caps.ClientReference && !caps.LookupByReference && caps.TestMode && caps.ProductLookup, "caps %+v", caps)
	mustf(t, strings.Contains(caps.TestModeHint, "bank transfer"), "hint %q", caps.TestModeHint)
	mustf(t, c.Name() == "bts", "name")
	_, found, err := c.FindOrder(context.Background(), "123")
	mustf(t, !found, "found")
	mustf(t, problem.Is(err, problem.CodeLookupUnsupported), "err %v", err)
	mustf(t, len(f.Requests()) == 0, "FindOrder must not call BTS")
}

func TestRates(t *testing.T) {
	for _, asObject := range []bool{false, true} {
		name := "documented array"
		if asObject {
			name = "observed object keyed by index, strings, euro sign"
		}
		t.Run(name, func(t *testing.T) {
			f := newFake(t, func(c *btsfake.Config) {
				c.RatesAsObject = asObject
				c.Rates = []btsfake.Rate{
					{ID: 145, Carrier: "SEUR", Cost: "7.50", Days: 3},
					{ID: 148, Carrier: "GLS", Cost: "4.95", Days: 5},
					{ID: 150, Carrier: "FedEx", Cost: "12.00", Days: 2},
				}
			})
			c := newTestClient(t, f, nil)
			rates, err := c.Rates(context.Background(), supplier.RateRequest{CountryCode: "es", PostalCode: "46005",
				Lines: []supplier.Line{{EAN: "8411061123456", Quantity: 2}, {EAN: "3614272049529", Quantity: 1}}})
			if err != nil {
				t.Fatal(err)
			}
			want := []supplier.Rate{
				{ID: "145", Carrier: "SEUR", Price: supplier.Money{Minor: 750, Currency: "EUR"}, MinDays: 3, MaxDays: 3},
				{ID: "148", Carrier: "GLS", Price: supplier.Money{Minor: 495, Currency: "EUR"}, MinDays: 5, MaxDays: 5},
				{ID: "150", Carrier: "FedEx", Price: supplier.Money{Minor: 1200, Currency: "EUR"}, MinDays: 2, MaxDays: 2},
			}
			mustf(t, len(rates) == len(want), "rates %+v", rates)
			for i := range want {
				mustf(t, rates[i] == want[i], "rate %d = %+v, want %+v", i, rates[i], want[i])
			}
			calls := f.calls("getShippingPrices")
			mustf(t, len(calls) == 1, "calls %d", len(calls))
			q := calls[0].Query
			for k, v := range map[string]string{
				"address[country_code]": "ES", "address[postal_code]": "46005",
				"products[0][sku]": "8411061123456", "products[0][quantity]": "2",
				"products[1][sku]": "3614272049529", "products[1][quantity]": "1",
			} {
				mustf(t, q.Get(k) == v, "query %s = %q, want %q", k, q.Get(k), v)
			}
			mustf(t, calls[0].Auth == "Bearer "+fakeToken, "auth %q", calls[0].Auth)
		})
	}
}

func TestRatesEmptyAndSkipped(t *testing.T) {
	cases := []struct {
		name  string
		body  string
		want  int
		code  string
		kind  problem.Kind
		erred bool
	}{
		{name: "empty array", body: `[]`, want: 0},
		{name: "empty object", body: `{}`, want: 0},
		{name: "null", body: `null`, want: 0},
		{name: "one unusable option skipped", body: `[{"id":1,"company_name":"GLS","shipping_cost":"abc"},{"id":2,"company_name":"SEUR","shipping_cost":"3,10","delivery_time":"2-3"}]`, want: 1},
		{name: "all unusable", body: `[{"company_name":"GLS","shipping_cost":"4.95"}]`, erred: true, kind: problem.Upstream, code: problem.CodeSupplierBadResponse},
		{name: "scalar", body: `42`, erred: true, kind: problem.Upstream, code: problem.CodeSupplierBadResponse},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.handle("getShippingPrices", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, tc.body)
			})
			c := newTestClient(t, f, nil)
			rates, err := c.Rates(context.Background(), supplier.RateRequest{CountryCode: "ES", PostalCode: "46005",
				Lines: []supplier.Line{{EAN: "8411061123456", Quantity: 1}}})
			if tc.erred {
				checkProblem(t, err, tc.kind, tc.code, false)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			mustf(t, len(rates) == tc.want, "got %d rates %+v", len(rates), rates)
			if tc.want == 1 {
				mustf(t, rates[0].Price.Minor == 310 && rates[0].MinDays == 2 && rates[0].MaxDays == 3, "rate %+v", rates[0])
			}
		})
	}
}

func TestRatesValidation(t *testing.T) {
	f := newFake(t)
	c := newTestClient(t, f, nil)
	_, err := c.Rates(context.Background(), supplier.RateRequest{PostalCode: "1", Lines: []supplier.Line{{EAN: "1", Quantity: 1}}})
	checkProblem(t, err, problem.Invalid, problem.CodeValidation, false)
	_, err = c.Rates(context.Background(), supplier.RateRequest{CountryCode: "ES", Lines: []supplier.Line{{EAN: "", Quantity: 0}}})
	pe := checkProblem(t, err, problem.Invalid, problem.CodeValidation, false)
	mustf(t, len(pe.Fields) == 2, "fields %+v", pe.Fields)
	mustf(t, len(f.Requests()) == 0, "invalid input must not reach BTS")
}

// TestReadErrors covers HTTP statuses and broken bodies on every read.
func TestReadErrors(t *testing.T) {
	type resp struct {
		status int
		header map[string]string
		body   string
	}
	cases := []struct {
		name       string
		resp       resp
		kind       problem.Kind
		code       string
		retryAfter time.Duration
	}{
		{"401", resp{401, nil, `{"message":"Unauthorized"}`}, problem.Unavailable, problem.CodeSupplierAuth, operatorRetryAfter},
		{"403", resp{403, nil, `Forbidden`}, problem.Unavailable, problem.CodeSupplierAuth, operatorRetryAfter},
		{"404 html", resp{404, nil, `<html>Not Found</html>`}, problem.Upstream, problem.CodeSupplierBadResponse, 0},
		{"429 retry-after seconds", resp{429, map[string]string{"Retry-After": "7"}, `Too Many Requests`}, problem.Unavailable, problem.CodeSupplierRateLimited, 7 * time.Second},
		{"429 no header", resp{429, nil, ``}, problem.Unavailable, problem.CodeSupplierRateLimited, 5 * time.Second},
		{"429 garbage header", resp{429, map[string]string{"Retry-After": "soon"}, ``}, problem.Unavailable, problem.CodeSupplierRateLimited, 5 * time.Second},
		{"500", resp{500, nil, `{"error":"internal"}`}, problem.Unavailable, problem.CodeSupplierUnavailable, 5 * time.Second},
		{"503", resp{503, nil, `Service Unavailable`}, problem.Unavailable, problem.CodeSupplierUnavailable, 5 * time.Second},
		{"400 unknown", resp{400, nil, `{"error":"weird_thing"}`}, problem.Rejected, problem.CodeSupplierRejected, 0},
		{"200 malformed", resp{200, nil, `{"id": 1,,}`}, problem.Upstream, problem.CodeSupplierBadResponse, 0},
		{"200 truncated", resp{200, nil, `[{"id":145,"company_name":"SEU`}, problem.Upstream, problem.CodeSupplierBadResponse, 0},
		{"200 html", resp{200, nil, `<html><body>maintenance</body></html>`}, problem.Upstream, problem.CodeSupplierBadResponse, 0},
		{"200 empty", resp{200, nil, ``}, problem.Upstream, problem.CodeSupplierBadResponse, 0},
		{"200 trailing garbage", resp{200, nil, `[] []`}, problem.Upstream, problem.CodeSupplierBadResponse, 0},
		{"200 body shorter than announced", resp{200, map[string]string{"Content-Length": "100"}, `[{"id":1`}, problem.Upstream, problem.CodeSupplierBadResponse, 0},
	}
	reads := []struct {
		endpoint string
		call     func(*Client) error
	}{
		{"getShippingPrices", func(c *Client) error {
			_, err := c.Rates(context.Background(), supplier.RateRequest{CountryCode: "ES", PostalCode: "46005", Lines: []supplier.Line{{EAN: "8411061123456", Quantity: 1}}})
			return err
		}},
		{"getOrder", func(c *Client) error {
			_, err := c.Tracking(context.Background(), "743799256961")
			return err
		}},
		{"getProductStock", func(c *Client) error {
			_, err := c.Products(context.Background(), []string{"8411061123456"})
			return err
		}},
		{"getCountries", func(c *Client) error { return c.CheckCredentials(context.Background()) }},
	}
	for _, rd := range reads {
		for _, tc := range cases {
			t.Run(rd.endpoint+"/"+tc.name, func(t *testing.T) {
				f := newFake(t)
				f.handle(rd.endpoint, func(w http.ResponseWriter, r *http.Request) {
					for k, v := range tc.resp.header {
						w.Header().Set(k, v)
					}
					w.WriteHeader(tc.resp.status)
					io.WriteString(w, tc.resp.body)
				})
				c := newTestClient(t, f, nil)
				err := rd.call(c)
				pe := checkProblem(t, err, tc.kind, tc.code, false)
				mustf(t, pe.RetryAfter == tc.retryAfter, "RetryAfter %v, want %v", pe.RetryAfter, tc.retryAfter)
			})
		}
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	h := http.Header{"Retry-After": {now.Add(30 * time.Second).Format(http.TimeFormat)}}
	mustf(t, retryAfter(h, now) == 30*time.Second, "got %v", retryAfter(h, now))
	h = http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}
	mustf(t, retryAfter(h, now) == defaultRetryAfter, "past date: %v", retryAfter(h, now))
}

// TestReadPastDeadline: BTS does not answer before the caller's deadline.
// The handler blocks until the client goes away (or the test ends), so the
// test does not depend on timing beyond the deadline itself.
func TestReadPastDeadline(t *testing.T) {
	f := newFake(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	entered := make(chan struct{}, 1)
	f.handle("getShippingPrices", func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	c := newTestClient(t, f, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.Rates(ctx, supplier.RateRequest{CountryCode: "ES", PostalCode: "46005", Lines: []supplier.Line{{EAN: "8411061123456", Quantity: 1}}})
	checkProblem(t, err, problem.Unavailable, problem.CodeSupplierUnavailable, false)
	mustf(t, errors.Is(err, context.DeadlineExceeded), "cause should be the deadline: %v", err)
	mustf(t, !strings.Contains(err.Error(), "46005"), "error carries the postcode: %v", err)
	select {
	case <-entered:
	default:
		t.Fatal("the request never reached the fake")
	}
}

func TestBusinessErrorsOnReads(t *testing.T) {
	cases := []struct {
		body   string
		status int
		code   string
		kind   problem.Kind
	}{
		{`{"error":"product_error"}`, 200, problem.CodeUnknownProduct, problem.Rejected},
		{`"not_found"`, 404, problem.CodeUnknownProduct, problem.Rejected},
		{`{"error":"country_code_is_required"}`, 400, problem.CodeInvalidAddress, problem.Rejected},
		{`no_stock`, 422, problem.CodeNoStock, problem.Rejected},
	}
	for _, tc := range cases {
		t.Run(tc.body, func(t *testing.T) {
			f := newFake(t)
			f.handle("getShippingPrices", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			c := newTestClient(t, f, nil)
			_, err := c.Rates(context.Background(), supplier.RateRequest{CountryCode: "ES", PostalCode: "1", Lines: []supplier.Line{{EAN: "1", Quantity: 1}}})
			checkProblem(t, err, tc.kind, tc.code, false)
		})
	}
	// Unknown EAN through the fake's own logic.
	f := newFake(t)
	c := newTestClient(t, f, nil)
	_, err := c.Rates(context.Background(), supplier.RateRequest{CountryCode: "ES", PostalCode: "1", Lines: []supplier.Line{{EAN: "0000000000000", Quantity: 1}}})
	checkProblem(t, err, problem.Rejected, problem.CodeUnknownProduct, false)
}

func TestCreateOrder(t *testing.T) {
	cases := []struct {
		name       string
		bare       bool
		payment    string
		testMode   bool
		wantPM     string
		wantStatus supplier.Status
		wantRaw    string
		wantTotal  bool
	}{
		{name: "documented object, wallet", wantPM: "wallet", wantStatus: supplier.StatusProcessing, wantRaw: "Paid", wantTotal: true},
		{name: "observed bare string", bare: true, wantPM: "wallet", wantStatus: supplier.StatusPending},
		{name: "btscredit configured", payment: "btscredit", wantPM: "btscredit", wantStatus: supplier.StatusProcessing, wantRaw: "Paid", wantTotal: true},
		{name: "test mode sends banktransfer", payment: "wallet", testMode: true, wantPM: "banktransfer", wantStatus: supplier.StatusPending, wantRaw: "Pending Payment", wantTotal: true},
		{name: "test mode bare", payment: "btscredit", testMode: true, bare: true, wantPM: "banktransfer", wantStatus: supplier.StatusPending},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(c *btsfake.Config) { c.BareCreate = tc.bare })
			c := newTestClient(t, f, func(cfg *Config) { cfg.PaymentMethod = tc.payment })
			o := testOrder()
			o.TestMode = tc.testMode
			p, err := c.CreateOrder(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			mustf(t, p.SupplierOrderID == "743799256961", "order %q", p.SupplierOrderID)
			mustf(t, p.Status == tc.wantStatus && p.RawStatus == tc.wantRaw, "status %q raw %q", p.Status, p.RawStatus)
			if tc.wantTotal {
				mustf(t, p.Total != nil && p.Total.Minor == 8950 && p.Total.Currency == "EUR", "total %+v", p.Total)
			} else {
				mustf(t, p.Total == nil, "total %+v", p.Total)
			}
			calls := f.calls("setCreateOrder")
			mustf(t, len(calls) == 1, "calls %d", len(calls))
			got := calls[0]
			mustf(t, got.Method == http.MethodPost && got.ContentType == "application/x-www-form-urlencoded", "method %s ct %s", got.Method, got.ContentType)
			mustf(t, len(got.Query) == 0, "create must not use the query string: %v", got.Query)
			want := map[string]string{
				"payment_method": tc.wantPM, "shipping_cost_id": "148", "client_name": "Ana García",
				"address": "Calle 1, Piso 2", "postal_code": "46005", "city": "Valencia", "country_code": "ES",
				"telephone": "+34611111111", "dropshipping": "1",
				"products[0][sku]": "8411061123456", "products[0][quantity]": "2",
				"products[1][sku]": "3614272049529", "products[1][quantity]": "1",
			}
			for k, v := range want {
				mustf(t, got.Form.Get(k) == v, "form %s = %q, want %q", k, got.Form.Get(k), v)
			}
			mustf(t, len(got.Form) == len(want), "unexpected form fields: %v", got.Form)
		})
	}
}

func TestCreateOrderAddressRules(t *testing.T) {
	f := newFake(t)
	c := newTestClient(t, f, nil)

	us := testOrder()
	us.ShipTo.CountryCode, us.ShipTo.ProvinceCode, us.ShipTo.Address2 = "US", "ny", ""
	if _, err := c.CreateOrder(context.Background(), us); err != nil {
		t.Fatal(err)
	}
	form := f.calls("setCreateOrder")[0].Form
	mustf(t, form.Get("state_code") == "NY" && form.Get("address") == "Calle 1", "form %v", form)

	// Missing data BTS requires fails before anything is sent.
	bad := testOrder()
	bad.ShipTo.CountryCode, bad.ShipTo.ProvinceCode = "CA", ""
	bad.ShipTo.Phone, bad.Phone = "", ""
	_, err := c.CreateOrder(context.Background(), bad)
	pe := checkProblem(t, err, problem.Rejected, problem.CodeInvalidAddress, false)
	mustf(t, len(pe.Fields) == 2, "fields %+v", pe.Fields)
	mustf(t, len(f.calls("setCreateOrder")) == 1, "invalid order reached BTS")

	// The order phone stands in for a missing address phone; the company
	// for a missing name.
	alt := testOrder()
	alt.ShipTo.Phone, alt.ShipTo.FirstName, alt.ShipTo.LastName, alt.ShipTo.Company = "", "", "", "ACME SL"
	if _, err := c.CreateOrder(context.Background(), alt); err != nil {
		t.Fatal(err)
	}
	form = f.calls("setCreateOrder")[1].Form
	mustf(t, form.Get("telephone") == "+34600000000" && form.Get("client_name") == "ACME SL", "form %v", form)
	_, hasState := form["state_code"]
	mustf(t, !hasState, "state_code sent for ES")
}

// TestCreateOrderBusinessErrors: every documented error string, in several
// body shapes and HTTP statuses, is a distinct definite (not unknown) problem.
func TestCreateOrderBusinessErrors(t *testing.T) {
	tokens := []struct {
		token string
		kind  problem.Kind
		code  string
	}{
		{"no_stock", problem.Rejected, problem.CodeNoStock},
		{"shipping_cost_code_error", problem.Rejected, problem.CodeInvalidShippingRate},
		{"product_error", problem.Rejected, problem.CodeUnknownProduct},
		{"no_enough_money", problem.Rejected, problem.CodeInsufficientFunds},
		{"no_enough_credit", problem.Rejected, problem.CodeInsufficientFunds},
		{"country_code_is_required", problem.Rejected, problem.CodeInvalidAddress},
		{"state_code_error", problem.Rejected, problem.CodeInvalidAddress},
		{"payment_method_error", problem.Unavailable, CodePaymentMethodRejected},
	}
	shapes := []struct {
		name   string
		status int
		body   func(string) string
	}{
		{"200 object", 200, func(s string) string { return `{"error":"` + s + `"}` }},
		{"400 object message", 400, func(s string) string { return `{"status":"error","message":"` + s + `"}` }},
		{"200 bare JSON string", 200, func(s string) string { return `"` + s + `"` }},
		{"422 plain text", 422, func(s string) string { return s }},
		{"500 with string", 500, func(s string) string { return `{"error":{"code":"` + s + `"}}` }},
		{"200 nested list", 200, func(s string) string { return `{"errors":["` + s + `"]}` }},
	}
	for _, tk := range tokens {
		for _, sh := range shapes {
			t.Run(tk.token+"/"+sh.name, func(t *testing.T) {
				f := newFake(t)
				f.handle("setCreateOrder", func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(sh.status)
					io.WriteString(w, sh.body(tk.token))
				})
				c := newTestClient(t, f, nil)
				_, err := c.CreateOrder(context.Background(), testOrder())
				checkProblem(t, err, tk.kind, tk.code, false)
			})
		}
	}
	// The same strings produced by the fake's own validation.
	t.Run("fake rejects unknown rate id", func(t *testing.T) {
		f := newFake(t)
		c := newTestClient(t, f, nil)
		o := testOrder()
		o.ShippingRateID = "999"
		_, err := c.CreateOrder(context.Background(), o)
		checkProblem(t, err, problem.Rejected, problem.CodeInvalidShippingRate, false)
	})
	t.Run("fake rejects quantity above stock", func(t *testing.T) {
		f := newFake(t)
		c := newTestClient(t, f, nil)
		o := testOrder()
		o.Lines[1].Quantity = 4
		_, err := c.CreateOrder(context.Background(), o)
		checkProblem(t, err, problem.Rejected, problem.CodeNoStock, false)
	})
}

// TestCreateOrderOutcome: which failures leave the outcome unknown.
func TestCreateOrderOutcome(t *testing.T) {
	cases := []struct {
		name    string
		handler http.HandlerFunc
		kind    problem.Kind
		code    string
		unknown bool
	}{
		{"500 empty", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, problem.Unavailable, problem.CodeSupplierUnavailable, true},
		{"502 html", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			io.WriteString(w, "<html>Bad Gateway</html>")
		}, problem.Unavailable, problem.CodeSupplierUnavailable, true},
		{"200 not JSON", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>ok</html>") }, problem.Upstream, problem.CodeSupplierBadResponse, true},
		{"200 truncated object", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"order_number":"7437992`) }, problem.Upstream, problem.CodeSupplierBadResponse, true},
		{"200 object without number", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"order_status":"Paid"}`) }, problem.Upstream, problem.CodeSupplierBadResponse, true},
		{"200 odd string", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `"ok"`) }, problem.Upstream, problem.CodeSupplierBadResponse, true},
		{"200 true", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `true`) }, problem.Upstream, problem.CodeSupplierBadResponse, true},
		{"200 short body (content-length lies)", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, `"743799`)
		}, problem.Unavailable, problem.CodeSupplierUnavailable, true},
		{"accepted then connection dropped", func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm() // the whole order arrived
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				panic(err)
			}
			conn.Close()
		}, problem.Unavailable, problem.CodeSupplierUnavailable, true},
		{"401", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) }, problem.Unavailable, problem.CodeSupplierAuth, false},
		{"429", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(429) }, problem.Unavailable, problem.CodeSupplierRateLimited, false},
		{"404", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }, problem.Upstream, problem.CodeSupplierBadResponse, false},
		{"400 unknown error", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
			io.WriteString(w, `{"error":"bad_request"}`)
		}, problem.Rejected, problem.CodeSupplierRejected, false},
		{"200 unknown error", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"error":"something_new"}`) }, problem.Rejected, problem.CodeSupplierRejected, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.handle("setCreateOrder", tc.handler)
			c := newTestClient(t, f, nil)
			_, err := c.CreateOrder(context.Background(), testOrder())
			pe := checkProblem(t, err, tc.kind, tc.code, tc.unknown)
			if tc.unknown {
				mustf(t, strings.Contains(pe.Detail, "portal"), "detail should send the operator to the portal: %q", pe.Detail)
			}
			mustf(t, len(f.calls("setCreateOrder")) == 1, "create must be sent exactly once, got %d", len(f.calls("setCreateOrder")))
		})
	}
}

func TestCreateOrderPastDeadline(t *testing.T) {
	f := newFake(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.handle("setCreateOrder", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	c := newTestClient(t, f, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.CreateOrder(ctx, testOrder())
	checkProblem(t, err, problem.Unavailable, problem.CodeSupplierUnavailable, true)
	mustf(t, len(f.calls("setCreateOrder")) == 1, "calls")
}

func TestCreateOrderNotSent(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		f := newFake(t)
		c := newTestClient(t, f, nil)
		f.srv.Close() // nothing listens any more
		_, err := c.CreateOrder(context.Background(), testOrder())
		pe := checkProblem(t, err, problem.Unavailable, problem.CodeSupplierUnavailable, false)
		mustf(t, strings.Contains(pe.Detail, "not sent"), "detail %q", pe.Detail)
	})
	t.Run("context already done", func(t *testing.T) {
		f := newFake(t)
		c := newTestClient(t, f, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.CreateOrder(ctx, testOrder())
		checkProblem(t, err, problem.Unavailable, problem.CodeSupplierUnavailable, false)
		mustf(t, len(f.calls("setCreateOrder")) == 0, "sent")
	})
	t.Run("transport refuses with a problem", func(t *testing.T) {
		f := newFake(t)
		refusing := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
			return nil, problem.New(problem.Unavailable, "circuit_open", "breaker open")
		})}
		c := newTestClient(t, f, func(cfg *Config) { cfg.HTTPClient = refusing })
		_, err := c.CreateOrder(context.Background(), testOrder())
		checkProblem(t, err, problem.Unavailable, "circuit_open", false)
	})
	t.Run("opaque transport error is unknown", func(t *testing.T) {
		f := newFake(t)
		opaque := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
			return nil, errors.New("something broke")
		})}
		c := newTestClient(t, f, func(cfg *Config) { cfg.HTTPClient = opaque })
		_, err := c.CreateOrder(context.Background(), testOrder())
		checkProblem(t, err, problem.Unavailable, problem.CodeSupplierUnavailable, true)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRetryableMarking: reads are marked for the resilient transport,
// setCreateOrder never.
func TestRetryableMarking(t *testing.T) {
	f := newFake(t)
	f.addOrder(&fakeOrder{Number: "743799256900", Status: "Paid"})
	var mu sync.Mutex
	marked := map[string]bool{}
	base := f.srv.Client().Transport
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		marked[r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]] = supplier.IsRetryable(r.Context())
		mu.Unlock()
		return base.RoundTrip(r)
	})}
	c := newTestClient(t, f, func(cfg *Config) { cfg.HTTPClient = hc })
	ctx := context.Background()
	if _, err := c.Rates(ctx, supplier.RateRequest{CountryCode: "ES", PostalCode: "1", Lines: []supplier.Line{{EAN: "8411061123456", Quantity: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateOrder(ctx, testOrder()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Tracking(ctx, "743799256900"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Products(ctx, []string{"8411061123456"}); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckCredentials(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"getShippingPrices": true, "setCreateOrder": false, "getOrder": true, "getTrackings": true, "getProductStock": true, "getCountries": true}
	for k, v := range want {
		got, ok := marked[k]
		mustf(t, ok && got == v, "%s: called=%v retryable=%v, want %v", k, ok, got, v)
	}
}

func TestTracking(t *testing.T) {
	cases := []struct {
		name         string
		order        fakeOrder
		getTrackings http.HandlerFunc
		status       supplier.Status
		parcels      []supplier.Parcel
		trackingsHit int
	}{
		{
			name:   "documented example: prefix names the carrier",
			order:  fakeOrder{Status: "Shipped", Tracking: "GLS-9876543210", Company: "SEUR"},
			status: supplier.StatusShipped,
			parcels: []supplier.Parcel{{Carrier: "GLS", Number: "9876543210",
				URL: "https://gls-group.eu/EU/en/parcel-tracking?match=9876543210"}},
		},
		{
			name:   "plain number, carrier from shipping_company",
			order:  fakeOrder{Status: "Delivered", Tracking: "1Z999AA10123456784", Company: "ups"},
			status: supplier.StatusDelivered,
			parcels: []supplier.Parcel{{Carrier: "UPS", Number: "1Z999AA10123456784",
				URL: "https://www.ups.com/track?tracknum=1Z999AA10123456784"}},
		},
		{
			name:   "split shipment, comma and space, duplicates dropped",
			order:  fakeOrder{Status: "Shipped", Tracking: "SEUR-111, SEUR-222 222 SEUR-111", Company: "SEUR"},
			status: supplier.StatusShipped,
			parcels: []supplier.Parcel{
				{Carrier: "SEUR", Number: "111", URL: "https://www.seur.com/livetracking/?segOnlineIdentificador=111"},
				{Carrier: "SEUR", Number: "222", URL: "https://www.seur.com/livetracking/?segOnlineIdentificador=222"},
			},
		},
		{
			name:    "unknown carrier keeps number, no URL",
			order:   fakeOrder{Status: "Shipped", Tracking: "XYZ-123", Company: "Paquetería Rápida"},
			status:  supplier.StatusShipped,
			parcels: []supplier.Parcel{{Carrier: "Paquetería Rápida", Number: "XYZ-123"}},
		},
		{
			name:         "paid, tracking null, getTrackings order_not_found = none yet",
			order:        fakeOrder{Status: "Paid", Tracking: nil, Company: "GLS"},
			status:       supplier.StatusProcessing,
			trackingsHit: 1,
		},
		{
			name:  "shipped, tracking empty in getOrder, found by getTrackings",
			order: fakeOrder{Status: "Shipped", Tracking: "", Company: "GLS Spain"},
			getTrackings: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 200, map[string]any{"0": map[string]any{"order_number": r.URL.Query().Get("order_number[0]"), "tracking": "GLS-555"}})
			},
			status:       supplier.StatusShipped,
			trackingsHit: 1,
			parcels:      []supplier.Parcel{{Carrier: "GLS", Number: "555", URL: "https://gls-group.eu/EU/en/parcel-tracking?match=555"}},
		},
		{
			name:  "getTrackings failing does not fail tracking",
			order: fakeOrder{Status: "Shipped", Tracking: nil, Company: "GLS"},
			getTrackings: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(503)
			},
			status:       supplier.StatusShipped,
			trackingsHit: 1,
		},
		{
			name:   "cancelled with tracking null: no getTrackings",
			order:  fakeOrder{Status: "Cancelled", Tracking: nil},
			status: supplier.StatusCancelled,
		},
		{
			name:   "pending payment: no getTrackings",
			order:  fakeOrder{Status: "Pending Payment", Tracking: "null"},
			status: supplier.StatusPending,
		},
		{
			name:   "spanish status",
			order:  fakeOrder{Status: "Enviado", Tracking: "AB12", Company: "Correos Express"},
			status: supplier.StatusShipped,
			parcels: []supplier.Parcel{{Carrier: "Correos Express", Number: "AB12",
				URL: "https://s.correosexpress.com/search?shippingNumber=AB12"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			o := tc.order
			o.Number = "743799256961"
			f.addOrder(&o)
			if tc.getTrackings != nil {
				f.handle("getTrackings", tc.getTrackings)
			}
			now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
			c := newTestClient(t, f, func(cfg *Config) { cfg.Now = func() time.Time { return now } })
			tr, err := c.Tracking(context.Background(), " 743799256961 ")
			if err != nil {
				t.Fatal(err)
			}
			mustf(t, tr.SupplierOrderID == "743799256961" && tr.Status == tc.status && tr.RawStatus == tc.order.Status,
				"tracking %+v", tr)
			mustf(t, tr.UpdatedAt.Equal(now), "updated %v", tr.UpdatedAt)
			mustf(t, len(tr.Parcels) == len(tc.parcels), "parcels %+v, want %+v", tr.Parcels, tc.parcels)
			for i := range tc.parcels {
				mustf(t, tr.Parcels[i] == tc.parcels[i], "parcel %d = %+v, want %+v", i, tr.Parcels[i], tc.parcels[i])
			}
			calls := f.calls("getTrackings")
			mustf(t, len(calls) == tc.trackingsHit, "getTrackings calls %d, want %d", len(calls), tc.trackingsHit)
			if len(calls) > 0 {
				mustf(t, calls[0].Query.Get("order_number[0]") == "743799256961", "query %v", calls[0].Query)
			}
			gq := f.calls("getOrder")[0].Query
			mustf(t, gq.Get("order_number") == "743799256961", "getOrder query %v", gq)
		})
	}
}

func TestTrackingNotFoundAndUnknown(t *testing.T) {
	f := newFake(t)
	var seen []string
	c := newTestClient(t, f, func(cfg *Config) { cfg.OnUnknownStatus = func(raw string) { seen = append(seen, raw) } })

	_, err := c.Tracking(context.Background(), "111111111111")
	checkProblem(t, err, problem.NotFound, problem.CodeOrderNotFound, false)

	_, err = c.Tracking(context.Background(), "12; DROP")
	checkProblem(t, err, problem.NotFound, problem.CodeOrderNotFound, false)
	mustf(t, len(f.calls("getOrder")) == 1, "a malformed id must not reach BTS")

	f.addOrder(&fakeOrder{Number: "222222222222", Status: "On Hold (stock)"})
	tr, err := c.Tracking(context.Background(), "222222222222")
	if err != nil {
		t.Fatal(err)
	}
	mustf(t, tr.Status == supplier.StatusUnknown && tr.RawStatus == "On Hold (stock)", "tracking %+v", tr)
	mustf(t, len(seen) == 1 && seen[0] == "On Hold (stock)", "observer saw %v", seen)

	for _, body := range []string{`{}`, `[]`, `null`, `{"error":"order_not_found"}`} {
		f.handle("getOrder", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })
		_, err = c.Tracking(context.Background(), "333333333333")
		checkProblem(t, err, problem.NotFound, problem.CodeOrderNotFound, false)
	}
	f.handle("getOrder", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"order_number":"999999999999","order_status":"Paid"}`)
	})
	_, err = c.Tracking(context.Background(), "333333333333")
	checkProblem(t, err, problem.Upstream, problem.CodeSupplierBadResponse, false)
}

func TestProducts(t *testing.T) {
	f := newFake(t)
	c := newTestClient(t, f, nil)
	eans := []string{"8411061123456", "8005610711768", "0000000000000"}
	got, err := c.Products(context.Background(), eans)
	if err != nil {
		t.Fatal(err)
	}
	want := []Product{
		{EAN: "8411061123456", Found: true, Stock: 150, Price: &supplier.Money{Minor: 6599, Currency: "EUR"}, Availability: "in_stock"},
		{EAN: "8005610711768", Found: true, Stock: 0, Price: &supplier.Money{Minor: 2999, Currency: "EUR"}, Availability: "out_of_stock"},
		{EAN: "0000000000000", Found: false, Availability: "not_found"},
	}
	mustf(t, len(got) == len(want), "got %+v", got)
	for i := range want {
		g, w := got[i], want[i]
		samePrice := (g.Price == nil && w.Price == nil) || (g.Price != nil && w.Price != nil && *g.Price == *w.Price)
		mustf(t, g.EAN == w.EAN && g.Found == w.Found && g.Stock == w.Stock && g.Availability == w.Availability && samePrice,
			"product %d = %+v (price %v), want %+v", i, g, g.Price, w)
	}
	q := f.calls("getProductStock")[0].Query
	mustf(t, q.Get("product_sku[0]") == eans[0] && q.Get("product_sku[2]") == eans[2], "query %v", q)

	// Batches of 100.
	many := make([]string, 230)
	for i := range many {
		many[i] = "8411061123456"
	}
	got, err = c.Products(context.Background(), many)
	if err != nil {
		t.Fatal(err)
	}
	mustf(t, len(got) == 230, "got %d", len(got))
	mustf(t, len(f.calls("getProductStock")) == 4, "batches %d", len(f.calls("getProductStock"))-1)

	// Tolerated list shape.
	f.handle("getProductStock", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"products":[{"ean":"8411061123456","stock":"7","price":"1,50 €"}]}`)
	})
	got, err = c.Products(context.Background(), []string{"8411061123456"})
	if err != nil {
		t.Fatal(err)
	}
	mustf(t, got[0].Found && got[0].Stock == 7 && got[0].Price.Minor == 150 && got[0].Availability == "in_stock", "got %+v", got[0])
}

func jwtWith(header, payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(payload)) + ".c2ln"
}

func TestCheckCredentials(t *testing.T) {
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	valid := jwtWith(`{"alg":"HS256"}`, `{"sub":"1","exp":4102444800}`)
	expired := jwtWith(`{"alg":"HS256"}`, `{"sub":"1","exp":1700000000}`)
	cases := []struct {
		name     string
		token    string
		serverOK string // the token the fake accepts
		local    bool   // base URL is the fake (non-production host)
		want     []string
	}{
		{name: "ok", token: valid, serverOK: valid},
		{name: "not a JWT", token: "abcdef", serverOK: valid, want: []string{"does not look like a JWT"}},
		{name: "upper-cased", token: strings.ToUpper(valid), serverOK: valid, want: []string{"case-mangled"}},
		{name: "first letters changed case", token: "EyJ" + valid[3:], serverOK: valid, want: []string{"case-mangled"}},
		{name: "expired", token: expired, serverOK: valid, want: []string{"expired on 2023-11-14"}},
		{name: "garbled payload", token: strings.Split(valid, ".")[0] + ".bm90LWpzb24.c2ln", serverOK: valid, want: []string{"not readable"}},
		{name: "plain wrong token", token: jwtWith(`{"alg":"HS256"}`, `{"sub":"2"}`), serverOK: valid, want: []string{"wrong or revoked"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(c *btsfake.Config) { c.Token = tc.serverOK })
			// Pretend production by routing the production host to the fake.
			prodURL := DefaultBaseURL
			hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				r = r.Clone(r.Context())
				r.URL.Scheme, r.URL.Host = "http", f.srv.Listener.Addr().String()
				return http.DefaultTransport.RoundTrip(r)
			})}
			c, err := New(Config{BaseURL: prodURL, Token: tc.token, HTTPClient: hc, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			err = c.CheckCredentials(context.Background())
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			pe := checkProblem(t, err, problem.Unavailable, problem.CodeSupplierAuth, false)
			for _, w := range tc.want {
				mustf(t, strings.Contains(pe.Detail, w), "detail %q lacks %q", pe.Detail, w)
			}
			mustf(t, !strings.Contains(pe.Detail, "not BTS production"), "production host flagged: %q", pe.Detail)
			mustf(t, !strings.Contains(pe.Detail, tc.token), "detail leaks token")
		})
	}
	t.Run("wrong environment", func(t *testing.T) {
		f := newFake(t)
		c := newTestClient(t, f, func(cfg *Config) { cfg.Token = fakeToken + "x" })
		pe := checkProblem(t, c.CheckCredentials(context.Background()), problem.Unavailable, problem.CodeSupplierAuth, false)
		mustf(t, strings.Contains(pe.Detail, "not BTS production"), "detail %q", pe.Detail)
	})
	t.Run("wrong base path", func(t *testing.T) {
		f := newFake(t)
		c := newTestClient(t, f, func(cfg *Config) { cfg.BaseURL = f.srv.URL + "/v2/api" })
		pe := checkProblem(t, c.CheckCredentials(context.Background()), problem.Upstream, problem.CodeSupplierBadResponse, false)
		mustf(t, strings.Contains(pe.Detail, "FLOWBRIDGE_BTS_BASE_URL"), "detail %q", pe.Detail)
	})
	t.Run("documented array shape", func(t *testing.T) {
		f := newFake(t)
		f.handle("getCountries", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `[{"country_code":"ES","country_name":"Spain"}]`)
		})
		c := newTestClient(t, f, nil)
		if err := c.CheckCredentials(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestMapStatus(t *testing.T) {
	cases := []struct {
		raw  string
		want supplier.Status
		ok   bool
	}{
		{"Pending Payment", supplier.StatusPending, true},
		{"pending_payment", supplier.StatusPending, true},
		{"  Pendiente de pago ", supplier.StatusPending, true},
		{"Zahlung ausstehend", supplier.StatusPending, true},
		{"Paid", supplier.StatusProcessing, true},
		{"PAGADO", supplier.StatusProcessing, true},
		{"Bezahlt", supplier.StatusProcessing, true},
		{"Payé", supplier.StatusProcessing, true},
		{"Shipped", supplier.StatusShipped, true},
		{"Enviado", supplier.StatusShipped, true},
		{"Versandt", supplier.StatusShipped, true},
		{"Expédié", supplier.StatusShipped, true},
		{"Spedito", supplier.StatusShipped, true},
		{"Delivered", supplier.StatusDelivered, true},
		{"Entregado", supplier.StatusDelivered, true},
		{"Zugestellt", supplier.StatusDelivered, true},
		{"Livrée", supplier.StatusDelivered, true},
		{"Cancelled", supplier.StatusCancelled, true},
		{"Canceled", supplier.StatusCancelled, true},
		{"Cancelado", supplier.StatusCancelled, true},
		{"Storniert", supplier.StatusCancelled, true},
		{"Annulé", supplier.StatusCancelled, true},
		{"Annullato", supplier.StatusCancelled, true},
		{"", supplier.StatusUnknown, false},
		{"Refunded", supplier.StatusUnknown, false},
		{"Shipped partially", supplier.StatusUnknown, false},
	}
	for _, tc := range cases {
		got, ok := MapStatus(tc.raw)
		mustf(t, got == tc.want && ok == tc.ok, "MapStatus(%q) = %q,%v want %q,%v", tc.raw, got, ok, tc.want, tc.ok)
	}
}

func TestParseEUR(t *testing.T) {
	cases := []struct {
		in   any
		want int64
		err  bool
	}{
		{"4.95", 495, false}, {"4,95", 495, false}, {"4.95 €", 495, false}, {"€4,95", 495, false},
		{"4.95EUR", 495, false}, {"5", 500, false}, {"0", 0, false}, {"7.5", 750, false},
		{"1.234,50", 123450, false}, {"1,234.50", 123450, false}, {"1.234.567", 123456700, false},
		{"4.995", 500, false}, {"4.994", 499, false}, {",5", 50, false}, {"-1.00", -100, false},
		{"30.10€", 3010, false},
		{"", 0, true}, {"abc", 0, true}, {"4.9.5,1,2", 0, true}, {"1-2", 0, true}, {"4$", 0, true},
		{nil, 0, true}, {"9999999999999999", 0, true},
	}
	for _, tc := range cases {
		got, err := parseEUR(tc.in)
		if tc.err {
			mustf(t, err != nil, "parseEUR(%v) = %d, want error", tc.in, got)
			continue
		}
		mustf(t, err == nil && got == tc.want, "parseEUR(%v) = %d, %v want %d", tc.in, got, err, tc.want)
	}
}

func TestParseDays(t *testing.T) {
	cases := []struct {
		in     any
		lo, hi int
		ok     bool
	}{
		{"3", 3, 3, true}, {"2-3", 2, 3, true}, {"5 days", 5, 5, true}, {"4-2", 2, 4, true},
		{"", 0, 0, false}, {"soon", 0, 0, false}, {"1-2-3", 0, 0, false},
	}
	for _, tc := range cases {
		lo, hi, ok := parseDays(tc.in)
		mustf(t, lo == tc.lo && hi == tc.hi && ok == tc.ok, "parseDays(%v) = %d,%d,%v", tc.in, lo, hi, ok)
	}
}

// TestLogsCarryNoSecrets runs successes and failures with debug logging and
// checks that neither the token nor customer data reach the log.
func TestLogsCarryNoSecrets(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFake(t)
	f.addOrder(&fakeOrder{Number: "743799256900", Status: "Mystery", Tracking: "GLS-1"})
	c := newTestClient(t, f, func(cfg *Config) { cfg.Logger = log })
	ctx := context.Background()
	rr := supplier.RateRequest{CountryCode: "ES", PostalCode: "46005", Lines: []supplier.Line{{EAN: "8411061123456", Quantity: 1}}}
	_, _ = c.Rates(ctx, rr)
	_, _ = c.CreateOrder(ctx, testOrder())
	_, _ = c.Tracking(ctx, "743799256900")
	f.handle("setCreateOrder", func(w http.ResponseWriter, r *http.Request) {
		conn, _, _ := http.NewResponseController(w).Hijack()
		conn.Close()
	})
	_, _ = c.CreateOrder(ctx, testOrder())
	f.srv.Close()
	_, _ = c.Rates(ctx, rr)
	_, _ = c.CreateOrder(ctx, testOrder())
	out := buf.String()
	mustf(t, strings.Contains(out, "bts request failed") && strings.Contains(out, "Mystery"), "expected logs missing:\n%s", out)
	for _, secret := range []string{fakeToken, "46005", "Ana", "Garc", "Calle", "Valencia", "+346", "a@example.com"} {
		mustf(t, !strings.Contains(out, secret), "log carries %q:\n%s", secret, out)
	}
}
