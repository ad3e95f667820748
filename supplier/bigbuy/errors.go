package bigbuy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowbridge/flowbridge/problem"
)

// Adapter-specific codes (the shared ones live in package problem).
const (
	// CodePaymentConfig: BigBuy refused the configured payment method
	// (ER011). The operator must change it; nothing was created. Same code
	// as the BTS adapter, so one Flow condition serves both.
	CodePaymentConfig = "payment_method_rejected"
	// CodeConfigInvalid: New was given an unusable Config (same code as
	// the BTS adapter).
	CodeConfigInvalid = "supplier_config_invalid"
	// CodeWrongEnvironment: the key belongs to the other BigBuy
	// environment (sandbox key on production or the reverse).
	CodeWrongEnvironment = "supplier_wrong_environment"
)

const rateLimitText = "You exceeded the rate limit"

// fault is a BigBuy error answer, whatever its HTTP status.
type fault struct {
	status int
	// code is "ER003", "404", … ("" for bodies without one, like 401).
	code string
	// info is the human message (the nested "info" for ER codes).
	info string
	// data is the nested "data" of ER codes / product errors.
	data json.RawMessage
	// detail is error_detail (the warehouses of a split cart).
	detail json.RawMessage
	// fields holds flattened validation errors: path → messages.
	fields []vfield
	// rateLimited marks the plain-text 429; reset is X-RateLimit-Reset.
	rateLimited bool
	reset       string
}

type vfield struct {
	path string
	msgs []string
}

type errBody struct {
	Code    json.RawMessage `json:"code"`
	Message *string         `json:"message"`
	Errors  json.RawMessage `json:"errors"`
	Error   string          `json:"error"`
	Detail  json.RawMessage `json:"error_detail"`
}

// parseFault returns nil when r is a success. BigBuy also reports errors
// with HTTP 200, so bodies are checked whatever the status.
func parseFault(r *reply) *fault {
	text := bytes.TrimSpace(r.body)
	if r.status == http.StatusTooManyRequests || string(text) == rateLimitText {
		return &fault{status: r.status, rateLimited: true, reset: r.header.Get("X-RateLimit-Reset"), info: "rate limit"}
	}
	// A 200 whose body is another HTTP response (seen: "HTTP/1.0 500 …").
	if bytes.HasPrefix(text, []byte("HTTP/1.")) {
		st := 502
		if f := strings.Fields(string(text)); len(f) > 1 {
			if n, err := strconv.Atoi(f[1]); err == nil {
				st = n
			}
		}
		return &fault{status: st, code: strconv.Itoa(st), info: "embedded error response"}
	}
	var eb errBody
	isObj := len(text) > 0 && text[0] == '{' && json.Unmarshal(text, &eb) == nil
	ok2xx := r.status >= 200 && r.status < 300
	if isObj && ok2xx && is2xxCode(rawCode(eb.Code)) {
		return nil // {"code":200,…} is a success, whatever the message
	}
	if isObj && eb.Message != nil && (len(eb.Code) > 0 || !ok2xx) {
		f := &fault{status: r.status, info: *eb.Message, detail: eb.Detail}
		f.code = rawCode(eb.Code)
		if strings.HasPrefix(f.code, "ER") || strings.HasPrefix(strings.TrimSpace(f.info), "{") {
			// The message is itself JSON: {"info": "...", "data": {...}}.
			var nested struct {
				Info string          `json:"info"`
				Data json.RawMessage `json:"data"`
			}
			if json.Unmarshal([]byte(f.info), &nested) == nil {
				f.info, f.data = nested.Info, nested.Data
			}
		}
		if len(eb.Errors) > 0 && eb.Errors[0] == '{' {
			var ve struct {
				Children json.RawMessage `json:"children"`
			}
			if json.Unmarshal(eb.Errors, &ve) == nil && len(ve.Children) > 0 {
				flattenChildren("", ve.Children, &f.fields)
			}
		}
		if f.code == "" && !ok2xx {
			f.code = strconv.Itoa(r.status)
		}
		return f
	}
	if isObj && eb.Error != "" && !ok2xx {
		return &fault{status: r.status, code: strconv.Itoa(r.status), info: eb.Error}
	}
	if ok2xx {
		return nil
	}
	return &fault{status: r.status, code: strconv.Itoa(r.status), info: http.StatusText(r.status)}
}

func is2xxCode(code string) bool {
	n, err := strconv.Atoi(code)
	return err == nil && n >= 200 && n < 300
}

func rawCode(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// flattenChildren walks Symfony-style form errors
// ({"children":{"a":{"errors":[…]},"b":{"children":{…}}}}) into paths.
func flattenChildren(prefix string, raw json.RawMessage, out *[]vfield) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return
	}
	if raw[0] == '[' {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			return
		}
		for i, el := range list {
			walkNode(join(prefix, strconv.Itoa(i)), el, out)
		}
		return
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		walkNode(join(prefix, k), m[k], out)
	}
}

func walkNode(path string, raw json.RawMessage, out *[]vfield) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return // [] means "no error here"
	}
	var n struct {
		Errors   []string        `json:"errors"`
		Children json.RawMessage `json:"children"`
	}
	if json.Unmarshal(raw, &n) != nil {
		return
	}
	if len(n.Errors) > 0 {
		*out = append(*out, vfield{path: path, msgs: n.Errors})
	}
	if len(n.Children) > 0 {
		flattenChildren(path, n.Children, out)
	}
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// pointers maps BigBuy field paths to the Flow request's JSON pointers.
var pointers = map[string]string{
	"shippingAddress.firstName":   "/shipping_address/first_name",
	"shippingAddress.lastName":    "/shipping_address/last_name",
	"shippingAddress.companyName": "/shipping_address/company",
	"shippingAddress.country":     "/shipping_address/country_code",
	"shippingAddress.postcode":    "/shipping_address/zip",
	"shippingAddress.town":        "/shipping_address/city",
	"shippingAddress.address":     "/shipping_address/address1",
	"shippingAddress.phone":       "/shipping_address/phone",
	"shippingAddress.email":       "/email",
	"delivery.postcode":           "/shipping_address/zip",
	"delivery.isoCountry":         "/shipping_address/country_code",
}

func pointerFor(path string) string {
	if p, ok := pointers[path]; ok {
		return p
	}
	if strings.HasPrefix(path, "products") {
		return "/line_items"
	}
	return "/supplier/" + strings.ReplaceAll(path, ".", "/")
}

// quoted strips double-quoted values out of supplier messages: validation
// messages may echo what was sent, which is customer data.
var quoted = regexp.MustCompile(`"[^"]*"`)

func scrub(s string) string {
	s = quoted.ReplaceAllString(s, `"…"`)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// op says which call failed; some BigBuy codes mean different things.
type op int

const (
	opRead op = iota
	opRates
	opCreate
)

// errCtx carries what is needed to name the request lines at fault.
type errCtx struct {
	op op
	// skuLines maps a BigBuy SKU to the indexes of the lines sent with it.
	skuLines map[string][]int
}

// toProblem maps a fault to flowbridge's error. ER008 is handled by the
// caller before this (it is a success for creates).
func (c *Client) toProblem(f *fault, ec errCtx) *problem.Error {
	switch {
	case f.rateLimited:
		return problem.New(problem.Unavailable, problem.CodeSupplierRateLimited,
			"BigBuy's rate limit was exceeded; try again after the reset").WithRetryAfter(c.retryAfterReset(f.reset))
	case f.status == http.StatusUnauthorized || f.code == "401":
		return problem.New(problem.Unavailable, problem.CodeSupplierAuth,
			"BigBuy rejected the API key (Invalid Token); check FLOWBRIDGE_BIGBUY_API_KEY and that it belongs to this environment").WithRetryAfter(5 * time.Minute)
	case strings.HasPrefix(f.code, "ER"):
		return c.orderError(f, ec)
	case len(f.fields) > 0:
		return validationProblem(f)
	case f.code == "409" && strings.HasPrefix(strings.ToLower(f.info), "products error"):
		return productsError(f, ec)
	case ec.op == opRates && (f.code == "404" || f.status == http.StatusNotFound):
		// "No shipping options found": the cart cannot go there.
		return problem.New(problem.Rejected, problem.CodeNoShippingOption, "BigBuy has no shipping option for this cart to this destination")
	case f.code == "404" || f.status == http.StatusNotFound:
		return problem.New(problem.NotFound, problem.CodeOrderNotFound, "BigBuy does not know this order")
	}
	if n, err := strconv.Atoi(f.code); err == nil && n >= 500 || f.status >= 500 {
		return problem.Newf(problem.Unavailable, problem.CodeSupplierUnavailable, "BigBuy failed (HTTP %d)", f.status).WithRetryAfter(30 * time.Second)
	}
	return problem.Newf(problem.Rejected, problem.CodeSupplierRejected, "BigBuy refused the request (HTTP %d, code %s)", f.status, scrub(f.code))
}

// retryAfterReset turns X-RateLimit-Reset (Unix seconds; small values are
// taken as seconds from now) into a wait of at least one second.
func (c *Client) retryAfterReset(h string) time.Duration {
	n, err := strconv.ParseInt(strings.TrimSpace(h), 10, 64)
	if err != nil || n <= 0 {
		return time.Second
	}
	var d time.Duration
	if n < 1_000_000_000 {
		d = time.Duration(n) * time.Second
	} else {
		d = time.Unix(n, 0).Sub(c.now())
	}
	// Round up: Retry-After is whole seconds and early is useless.
	d = time.Duration(math.Ceil(d.Seconds())) * time.Second
	return max(d, time.Second)
}

func validationProblem(f *fault) *problem.Error {
	code := problem.CodeSupplierRejected
	fields := make([]problem.Field, 0, len(f.fields))
	for _, vf := range f.fields {
		if strings.HasPrefix(vf.path, "shippingAddress") || strings.HasPrefix(vf.path, "delivery") {
			code = problem.CodeInvalidAddress
		}
		msgs := make([]string, len(vf.msgs))
		for i, m := range vf.msgs {
			msgs[i] = scrub(m)
		}
		fields = append(fields, problem.Field{Pointer: pointerFor(vf.path), Message: strings.Join(msgs, " ")})
	}
	return &problem.Error{Kind: problem.Rejected, Code: code, Detail: "BigBuy rejected the order data (Validation Failed)", Fields: fields}
}

// productsError handles 409 {"info":"Products error.","data":[{"sku","message"}]}.
func productsError(f *fault, ec errCtx) *problem.Error {
	var items []struct {
		SKU     string `json:"sku"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(f.data, &items)
	msgs := map[string]string{}
	skus := make([]string, 0, len(items))
	for _, it := range items {
		skus = append(skus, it.SKU)
		msgs[it.SKU] = scrub(it.Message)
	}
	pe := problem.New(problem.Rejected, problem.CodeUnknownProduct, "BigBuy cannot sell some products of this order")
	pe.Fields = lineFields(ec, skus, func(sku string) string { return "BigBuy: " + orDefault(msgs[sku], "product error") + " (" + sku + ")" })
	return pe
}

// orderError maps BigBuy's ERxxx order codes.
func (c *Client) orderError(f *fault, ec errCtx) *problem.Error {
	var data struct {
		SKUs            []string    `json:"skus"`
		ZipExample      string      `json:"zipExample"`
		MoneyBoxAmount  json.Number `json:"moneyBoxAmount"`
		TotalOrder      json.Number `json:"totalOrder"`
		MinimumPurchase json.Number `json:"minimunPurchase"` // sic, BigBuy's spelling
		MinBankwire     json.Number `json:"minBankwire"`
	}
	if len(f.data) > 0 && f.data[0] == '{' {
		_ = json.Unmarshal(f.data, &data)
	}
	switch f.code {
	case "ER001", "ER002":
		pe := problem.New(problem.Rejected, problem.CodeUnknownProduct, "BigBuy does not know some product references of this order")
		pe.Fields = lineFields(ec, data.SKUs, func(sku string) string { return "BigBuy does not sell reference " + sku })
		return pe
	case "ER003":
		pe := problem.New(problem.Rejected, problem.CodeNoStock, "BigBuy has not enough stock for some lines of this order")
		pe.Fields = lineFields(ec, data.SKUs, func(sku string) string { return "no stock at BigBuy for " + sku })
		return pe
	case "ER004":
		d := "BigBuy rejected the postcode format for this country"
		if data.ZipExample != "" {
			d += fmt.Sprintf(" (expected format like %q)", data.ZipExample)
		}
		return &problem.Error{Kind: problem.Rejected, Code: problem.CodeInvalidAddress, Detail: d,
			Fields: []problem.Field{{Pointer: "/shipping_address/zip", Message: d}}}
	case "ER005":
		return problem.Newf(problem.Rejected, problem.CodeInsufficientFunds, "the BigBuy moneybox balance (%s EUR) does not cover the order (%s EUR); top it up", orDefault(data.MoneyBoxAmount.String(), "?"), orDefault(data.TotalOrder.String(), "?"))
	case "ER012":
		return problem.Newf(problem.Rejected, problem.CodeInsufficientFunds, "the order is below BigBuy's minimum for bank transfer (%s EUR)", orDefault(data.MinBankwire.String(), "?"))
	case "ER007":
		if total, err := data.TotalOrder.Float64(); err == nil && total == 0 {
			// A zero total means BigBuy dropped the lines: sold out.
			pe := problem.New(problem.Rejected, problem.CodeNoStock, "BigBuy dropped the order's products (ER007 with a total of 0): they are sold out")
			pe.Fields = lineFields(ec, data.SKUs, func(sku string) string { return "sold out at BigBuy: " + sku })
			return pe
		}
		return problem.Newf(problem.Rejected, problem.CodeBelowMinimum, "the order total (%s EUR) is below BigBuy's minimum purchase (%s EUR)", orDefault(data.TotalOrder.String(), "?"), orDefault(data.MinimumPurchase.String(), "?"))
	case "ER009":
		// Assumption: a "temporary order error" created nothing.
		return problem.New(problem.Unavailable, problem.CodeSupplierUnavailable, "BigBuy reported a temporary order error (ER009)").WithRetryAfter(30 * time.Second)
	case "ER010":
		if ec.op == opCreate {
			return problem.New(problem.Rejected, problem.CodeInvalidShippingRate, "BigBuy has no carrier for the chosen shipping option and this address (ER010); quote rates again")
		}
		return problem.New(problem.Rejected, problem.CodeNoShippingOption, "BigBuy has no carrier for this destination and cart (ER010)")
	case "ER011":
		return problem.Newf(problem.Unavailable, CodePaymentConfig, "BigBuy refused the payment method %q (ER011); change the BigBuy payment settings", c.pay).WithRetryAfter(5 * time.Minute)
	}
	return problem.Newf(problem.Rejected, problem.CodeSupplierRejected, "BigBuy refused the order with code %s", scrub(f.code))
}

// lineFields names the request lines sent with the given SKUs. SKUs
// BigBuy names that match no line (or no SKU list at all) name every line,
// so nothing at fault goes unnamed.
func lineFields(ec errCtx, skus []string, msg func(sku string) string) []problem.Field {
	type named struct {
		i   int
		sku string
	}
	var hits []named
	seen := map[int]bool{}
	add := func(sku string, idx []int) {
		for _, i := range idx {
			if !seen[i] {
				seen[i] = true
				hits = append(hits, named{i, sku})
			}
		}
	}
	for _, sku := range skus {
		add(sku, ec.skuLines[sku])
	}
	if len(hits) == 0 {
		for sku, idx := range ec.skuLines {
			add(sku, idx)
		}
	}
	slices.SortFunc(hits, func(a, b named) int { return a.i - b.i })
	out := make([]problem.Field, len(hits))
	for k, h := range hits {
		out[k] = problem.Field{Pointer: fmt.Sprintf("/line_items/%d/barcode", h.i), Message: msg(h.sku)}
	}
	return out
}
