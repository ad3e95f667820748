package bts

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/flowbridge/flowbridge/problem"
)

// Business error strings BTS puts in response bodies (vendor doc §7.1, plus
// the not-found strings seen by clients). Longer tokens first is not needed:
// matching is on whole words where '_' is a word character, so "not_found"
// never matches inside "order_not_found".
const (
	errOrderNotFound      = "order_not_found"
	errNotFound           = "not_found"
	errCountryRequired    = "country_code_is_required"
	errShippingCost       = "shipping_cost_code_error"
	errStateCode          = "state_code_error"
	errPaymentMethod      = "payment_method_error"
	errNoMoney            = "no_enough_money"
	errNoCredit           = "no_enough_credit"
	errProduct            = "product_error"
	errNoStock            = "no_stock"
	endpointOrder         = "getOrder"
	endpointTrackings     = "getTrackings"
	endpointRates         = "getShippingPrices"
	endpointCreate        = "setCreateOrder"
	endpointStock         = "getProductStock"
	endpointCountries     = "getCountries"
	maxPlainTextErrorBody = 512
)

// knownErrors lists the strings looked for, in priority order.
func knownErrors() []string {
	return []string{
		errOrderNotFound, errCountryRequired, errShippingCost, errStateCode,
		errPaymentMethod, errNoMoney, errNoCredit, errProduct, errNoStock, errNotFound,
	}
}

// businessError is the one table from a BTS error string to a problem.
// ok is false for strings whose meaning depends on the endpoint
// (order_not_found, not_found), which callers handle.
func businessError(token string) (*problem.Error, bool) {
	switch token {
	case errNoStock:
		return problem.New(problem.Rejected, problem.CodeNoStock, "BTS has not enough stock for at least one product (no_stock)"), true
	case errShippingCost:
		return problem.New(problem.Rejected, problem.CodeInvalidShippingRate, "the shipping_cost_id does not match the destination country and postcode; quote rates again for this address (shipping_cost_code_error)"), true
	case errProduct:
		return problem.New(problem.Rejected, problem.CodeUnknownProduct, "BTS does not know at least one product EAN (product_error)"), true
	case errNoMoney:
		return problem.New(problem.Rejected, problem.CodeInsufficientFunds, "the BTS wallet balance is too low; top it up or change the payment method (no_enough_money)"), true
	case errNoCredit:
		return problem.New(problem.Rejected, problem.CodeInsufficientFunds, "the BTS credit limit is exhausted (no_enough_credit)"), true
	case errCountryRequired:
		return problem.New(problem.Rejected, problem.CodeInvalidAddress, "the shipping address has no country code (country_code_is_required)"), true
	case errStateCode:
		return problem.New(problem.Rejected, problem.CodeInvalidAddress, "US and CA addresses need a state/province code (state_code_error)"), true
	case errPaymentMethod:
		return problem.New(problem.Unavailable, CodePaymentMethodRejected, "BTS refused the configured payment method for this account (payment_method_error); change FLOWBRIDGE_BTS_PAYMENT_METHOD or ask BTS to enable it").WithRetryAfter(operatorRetryAfter), true
	default:
		return nil, false
	}
}

// errorKeys are the object fields searched for an error string. The body
// shape of BTS errors is undocumented (see the package doc).
func errorKeys() []string {
	return []string{"error", "message", "msg", "code", "status", "result", "errors", "error_code", "error_message"}
}

// errorCandidates collects the strings of a body that may name an error.
func errorCandidates(v any, decoded bool, body []byte) []string {
	if !decoded {
		if len(body) <= maxPlainTextErrorBody {
			return []string{string(body)}
		}
		return nil
	}
	var out []string
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		switch t := v.(type) {
		case string:
			out = append(out, t)
		case []any:
			if depth < 2 {
				for _, e := range t {
					walk(e, depth+1)
				}
			}
		case map[string]any:
			if depth < 2 {
				for _, k := range errorKeys() {
					if e, ok := t[k]; ok {
						walk(e, depth+1)
					}
				}
			}
		}
	}
	walk(v, 0)
	return out
}

// findToken returns the first known error string present as a whole word in
// any candidate.
func findToken(cands []string) string {
	for _, tok := range knownErrors() {
		for _, c := range cands {
			if containsWord(strings.ToLower(c), tok) {
				return tok
			}
		}
	}
	return ""
}

func containsWord(s, word string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(word)
		if (start == 0 || !wordChar(s[start-1])) && (end == len(s) || !wordChar(s[end])) {
			return true
		}
		i = start + 1
	}
}

func wordChar(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// verdict is what an answer means before endpoint-specific parsing.
type verdict struct {
	value   any   // decoded JSON (nil when not JSON)
	jsonErr error // why the body is not JSON
	token   string
	// prob is set when the answer is a failure. Callers still check token
	// for the endpoint-specific strings.
	prob *problem.Error
}

// judge classifies an answer: business string first (whatever the status),
// then HTTP status, then an explicit "error" field in a 2xx object.
func (c *Client) judge(endpoint string, r *reply) verdict {
	var vd verdict
	vd.value, vd.jsonErr = decodeJSON(r.body)
	vd.token = findToken(errorCandidates(vd.value, vd.jsonErr == nil, r.body))
	if vd.token != "" {
		if pe, ok := businessError(vd.token); ok {
			vd.prob = pe
			return vd
		}
		switch vd.token {
		case errNotFound:
			vd.prob = problem.New(problem.Rejected, problem.CodeUnknownProduct, "BTS does not know at least one product EAN (not_found)")
		case errOrderNotFound:
			vd.prob = problem.New(problem.NotFound, problem.CodeOrderNotFound, "BTS does not know this order number")
		}
		return vd
	}
	switch {
	case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
		vd.prob = c.authProblem(r.status)
	case r.status == http.StatusTooManyRequests:
		vd.prob = problem.New(problem.Unavailable, problem.CodeSupplierRateLimited,
			"BTS is rate-limiting requests").WithRetryAfter(retryAfter(r.header, c.now()))
	case r.status == http.StatusNotFound:
		vd.prob = problem.Newf(problem.Upstream, problem.CodeSupplierBadResponse,
			"BTS %s answered 404, which BTS documents as \"check endpoint or feed disabled\": check FLOWBRIDGE_BTS_BASE_URL (now %s, default %s) and ask BTS whether the endpoint is enabled for your account",
			endpoint, c.base.Redacted(), DefaultBaseURL)
	case r.status >= 500:
		vd.prob = problem.Newf(problem.Unavailable, problem.CodeSupplierUnavailable,
			"BTS %s failed with HTTP %d", endpoint, r.status).WithRetryAfter(defaultRetryAfter)
	case r.status >= 400:
		vd.prob = problem.Newf(problem.Rejected, problem.CodeSupplierRejected,
			"BTS %s refused the request with HTTP %d%s", endpoint, r.status, quoted(safeErrorText(vd.value)))
	case r.status < 200 || r.status >= 300:
		vd.prob = problem.Newf(problem.Upstream, problem.CodeSupplierBadResponse,
			"BTS %s answered with unexpected HTTP %d", endpoint, r.status)
	default:
		if msg, ok := explicitError(vd.value); ok {
			vd.prob = problem.Newf(problem.Rejected, problem.CodeSupplierRejected,
				"BTS %s refused the request%s", endpoint, quoted(msg))
		}
	}
	return vd
}

// explicitError reports whether a 2xx object carries a non-empty "error".
func explicitError(v any) (string, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return "", false
	}
	e, ok := m["error"]
	if !ok {
		return "", false
	}
	switch t := e.(type) {
	case nil:
		return "", false
	case bool:
		if !t {
			return "", false
		}
	case string:
		s := strings.ToLower(strings.TrimSpace(t))
		if s == "" || s == "0" || s == "false" {
			return "", false
		}
	case json.Number:
		if t.String() == "0" {
			return "", false
		}
	case map[string]any:
		if len(t) == 0 {
			return "", false
		}
	case []any:
		if len(t) == 0 {
			return "", false
		}
	}
	return safeErrorText(v), true
}

// safeErrorText returns an error string from the answer only when it looks
// like a code (short, no spaces beyond a few words, no '@' or digits runs
// that could be customer data); otherwise "".
func safeErrorText(v any) string {
	for _, c := range errorCandidates(v, true, nil) {
		c = strings.TrimSpace(c)
		if c == "" || len(c) > 64 {
			continue
		}
		ok := true
		for _, r := range c {
			if !(r == '_' || r == ' ' || r == '-' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				ok = false
				break
			}
		}
		if ok {
			return c
		}
	}
	return ""
}

func quoted(s string) string {
	if s == "" {
		return ""
	}
	return " (" + strconv.Quote(s) + ")"
}

// retryAfter reads Retry-After as seconds or an HTTP date; 5 s otherwise.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return defaultRetryAfter
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d.Round(time.Second)
		}
	}
	return defaultRetryAfter
}
