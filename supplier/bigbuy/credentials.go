package bigbuy

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
)

// CheckCredentials makes one cheap authenticated call
// (GET /rest/user/purse.json, the moneybox balance) and explains a
// refusal as precisely as BigBuy lets us:
//
//   - the key works on the other environment → CodeWrongEnvironment
//     (sandbox key on production or the reverse; one extra call to the
//     peer host, only after a 401);
//   - the key looks damaged (quotes, "Bearer " prefix, all one letter
//     case although BigBuy keys are mixed-case and case-sensitive) →
//     CodeSupplierAuth with that hint;
//   - otherwise → CodeSupplierAuth "wrong or revoked key".
//
// BigBuy answers every bad key with the same 401 {"message":"Invalid
// Token"}, so "case-mangled" is a heuristic on the key's shape.
func (c *Client) CheckCredentials(ctx context.Context) error {
	r, err := c.send(supplier.Retryable(ctx), c.base, http.MethodGet, "/rest/user/purse.json", nil, nil)
	if err != nil {
		return c.transportProblem(ctx, err)
	}
	f := parseFault(r)
	if f == nil {
		if bal, ok := parseMoney(r.body); ok && bal == 0 && c.pay == PaymentMoneybox {
			c.log.Warn("bigbuy: the moneybox balance is 0.00; orders paid by moneybox will fail with insufficient_funds until it is topped up")
		}
		return nil
	}
	if f.status != http.StatusUnauthorized {
		return c.toProblem(f, errCtx{op: opRead})
	}
	here, there := "production", "sandbox"
	if c.Sandbox() {
		here, there = there, here
	}
	if c.peer != "" {
		pr, perr := c.send(supplier.Retryable(ctx), c.peer, http.MethodGet, "/rest/user/purse.json", nil, nil)
		if perr == nil && parseFault(pr) == nil {
			return problem.Newf(problem.Unavailable, CodeWrongEnvironment,
				"the BigBuy key is a %s key but FLOWBRIDGE_BIGBUY_BASE_URL points at %s (%s); use the %s key or change the base URL", there, here, c.base, here).WithRetryAfter(5 * time.Minute)
		}
	}
	d := "BigBuy rejected the API key (401 Invalid Token): wrong or revoked key for " + here
	if hint := keyHint(c.key); hint != "" {
		d = "BigBuy rejected the API key (401 Invalid Token); the key " + hint
	}
	return problem.New(problem.Unavailable, problem.CodeSupplierAuth, d).WithRetryAfter(5 * time.Minute)
}

// keyHint names a visible defect of a key, without echoing it.
func keyHint(k string) string {
	switch {
	case strings.HasPrefix(strings.ToLower(k), "bearer "):
		return `starts with "Bearer "; set only the key itself`
	case strings.ContainsAny(k[:1]+k[len(k)-1:], `"'`):
		return "is wrapped in quotes; remove them"
	case strings.ContainsFunc(k, unicode.IsSpace):
		return "contains spaces; copy it again without line breaks"
	}
	var lower, upper int
	for _, r := range k {
		switch {
		case unicode.IsLower(r):
			lower++
		case unicode.IsUpper(r):
			upper++
		}
	}
	if len(k) >= 20 && lower+upper >= 8 && (lower == 0 || upper == 0) {
		return "is all one letter case, but BigBuy keys are mixed-case and case-sensitive: it looks case-mangled (copy it again exactly)"
	}
	return ""
}
