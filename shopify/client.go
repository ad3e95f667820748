// Package shopify is the small slice of the Shopify Admin GraphQL API that
// flowbridge's `setup` and `doctor` commands need: who the shop is, which
// order metafield definitions exist, and creating the missing ones.
//
// It is deliberately not a general client. Every call goes through Do, which
// turns the ways the Admin API says "no" (HTTP 401/402/403/404/423, GraphQL
// `errors` such as ACCESS_DENIED and THROTTLED) into *problem.Error values
// whose Detail tells a merchant what to change. The access token is never
// written to an error, a log line or the client's printed form.
package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/flowbridge/flowbridge/problem"
)

// DefaultAPIVersion is the Admin API version flowbridge is written against.
// Flow itself evaluates workflows with 2026-01 (reference/flow.md §1.5).
const DefaultAPIVersion = "2026-01"

// Error codes of this package. They are stable: doctor prints fixes by code.
const (
	CodeUnauthorized = "shopify_unauthorized"   // 401: token wrong or revoked
	CodeForbidden    = "shopify_forbidden"      // 403: token lacks a scope
	CodeAccessDenied = "shopify_access_denied"  // GraphQL ACCESS_DENIED: missing scope for one field
	CodeShopNotFound = "shopify_shop_not_found" // 404: wrong shop domain or API version
	CodeShopLocked   = "shopify_shop_locked"    // 402/423: shop frozen, unpaid or locked
	CodeThrottled    = "shopify_throttled"      // still throttled after the bounded retries
	CodeUnavailable  = "shopify_unavailable"    // 5xx or network failure after retries
	CodeGraphQL      = "shopify_graphql_error"  // any other top-level GraphQL error
	CodeBadResponse  = "shopify_bad_response"   // an answer we cannot decode
	CodeInvalidShop  = "shopify_invalid_shop"   // the --shop value is not a shop domain
	CodeMissingToken = "shopify_missing_token"  // no access token given
	CodeUserErrors   = "shopify_user_errors"    // a mutation answered userErrors
)

// Client calls one shop's Admin GraphQL API with a custom-app access token.
// The zero value of the optional fields is usable.
type Client struct {
	// Shop is the shop's permanent domain, e.g. "example.myshopify.com".
	Shop string
	// Token is the Admin API access token (shpat_…). Never printed.
	Token string
	// APIVersion is the Admin API version, e.g. "2026-01" (DefaultAPIVersion when empty).
	APIVersion string
	// HTTP is the transport; a client with a 30 s timeout when nil.
	HTTP *http.Client
	// BaseURL replaces "https://{Shop}" (tests, proxies). The path
	// /admin/api/{version}/graphql.json is appended to it.
	BaseURL string
	// MaxAttempts bounds tries per call, first one included (5 when zero).
	MaxAttempts uint
	// MaxWait caps any single wait between tries (30 s when zero).
	MaxWait time.Duration
	// Sleep waits between tries; it must return early with ctx's error when
	// ctx ends. Tests replace it to run on a virtual clock.
	Sleep func(ctx context.Context, d time.Duration) error
}

// String hides the token so a client printed with %v or %+v is safe to log.
func (c Client) String() string {
	return fmt.Sprintf("shopify.Client{Shop:%q APIVersion:%q Token:%s}", c.Shop, c.version(), redact(c.Token))
}

// GoString does the same for %#v.
func (c Client) GoString() string { return c.String() }

func redact(token string) string {
	if token == "" {
		return "<empty>"
	}
	return "<redacted>"
}

func (c *Client) version() string {
	if c.APIVersion == "" {
		return DefaultAPIVersion
	}
	return c.APIVersion
}

// Endpoint is the URL every call is POSTed to.
func (c *Client) Endpoint() string {
	base := c.BaseURL
	if base == "" {
		base = "https://" + c.Shop
	}
	return strings.TrimRight(base, "/") + "/admin/api/" + c.version() + "/graphql.json"
}

var shopDomain = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*\.myshopify\.com$`)

// NormalizeShop accepts what merchants paste ("example", "Example.myshopify.com",
// "https://example.myshopify.com/admin") and returns "example.myshopify.com".
// Only *.myshopify.com domains are accepted: custom domains do not serve the
// Admin API, and a strict pattern keeps arbitrary hosts out of the URL.
func NormalizeShop(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", problem.New(problem.Invalid, CodeInvalidShop, "no shop given: pass --shop example.myshopify.com")
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", problem.Newf(problem.Invalid, CodeInvalidShop, "%q is not a shop domain", s)
		}
		s = u.Host
	} else if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	s = strings.ToLower(s)
	if !strings.Contains(s, ".") {
		s += ".myshopify.com"
	}
	if !shopDomain.MatchString(s) {
		return "", problem.Newf(problem.Invalid, CodeInvalidShop,
			"%q is not a *.myshopify.com domain: use the shop's permanent domain (Settings → Domains)", s)
	}
	return s, nil
}

// GraphQLError is one entry of a response's top-level "errors".
type GraphQLError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// Code is extensions.code ("THROTTLED", "ACCESS_DENIED", …) or "".
func (e GraphQLError) Code() string {
	s, _ := e.Extensions["code"].(string)
	return s
}

// ThrottleStatus is extensions.cost.throttleStatus: the shop's query-cost
// bucket for this app.
type ThrottleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

// Cost is extensions.cost.
type Cost struct {
	RequestedQueryCost float64         `json:"requestedQueryCost"`
	ActualQueryCost    *float64        `json:"actualQueryCost"`
	ThrottleStatus     *ThrottleStatus `json:"throttleStatus"`
}

type envelope struct {
	Data       json.RawMessage `json:"data"`
	Errors     json.RawMessage `json:"errors"`
	Extensions struct {
		Cost *Cost `json:"cost"`
	} `json:"extensions"`
}

// waitError asks the retry loop to wait a known time (Retry-After, throttle
// refill) before the next try.
type waitError struct {
	err  error
	wait time.Duration
}

func (w *waitError) Error() string { return w.err.Error() }
func (w *waitError) Unwrap() error { return w.err }

// Do sends one GraphQL document with its variables and decodes "data" into
// out (which may be nil). Throttling, 429 and 5xx answers are retried a
// bounded number of times; every other failure is returned at once.
//
// Retrying is safe for everything this package sends: queries are reads, and
// the one mutation (metafieldDefinitionCreate) answers TAKEN when repeated,
// which EnsureMetafieldDefinitions treats as "already there".
func (c *Client) Do(ctx context.Context, query string, vars map[string]any, out any) error {
	if c.Token == "" {
		return problem.New(problem.Unauthorized, CodeMissingToken,
			"no Admin API access token: pass --token or set SHOPIFY_ADMIN_TOKEN")
	}
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return problem.Wrap(err, problem.Internal, problem.CodeInternal, "encoding GraphQL request")
	}

	// backoff.Retry owns the attempt loop, the try limit, permanence and
	// context checks. Its own timer cannot be replaced from outside the
	// library, so it is given a zero back-off and the real wait happens at
	// the start of the next try through c.Sleep, which tests replace with a
	// virtual clock. The exponential policy still comes from the library.
	exp := backoff.NewExponentialBackOff()
	exp.InitialInterval = 500 * time.Millisecond
	exp.MaxInterval = c.maxWait()
	var pending time.Duration
	attempt := func() (json.RawMessage, error) {
		if pending > 0 {
			if err := c.sleep(ctx, pending); err != nil {
				return nil, backoff.Permanent(err)
			}
			pending = 0
		}
		return c.once(ctx, body)
	}
	notify := func(err error, _ time.Duration) {
		var w *waitError
		if errors.As(err, &w) && w.wait > 0 {
			pending = w.wait
		} else {
			pending = exp.NextBackOff()
		}
		pending = min(pending, c.maxWait())
	}
	data, err := backoff.Retry(ctx, attempt,
		backoff.WithBackOff(&backoff.ZeroBackOff{}),
		backoff.WithMaxTries(c.maxAttempts()),
		backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(notify))
	if err != nil {
		var w *waitError
		if errors.As(err, &w) {
			return w.err
		}
		return err
	}
	if out == nil || len(data) == 0 || string(data) == "null" {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return problem.Wrap(err, problem.Upstream, CodeBadResponse, "Shopify answered data of an unexpected shape")
	}
	return nil
}

func (c *Client) maxAttempts() uint {
	if c.MaxAttempts == 0 {
		return 5
	}
	return c.MaxAttempts
}

func (c *Client) maxWait() time.Duration {
	if c.MaxWait <= 0 {
		return 30 * time.Second
	}
	return c.MaxWait
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// once is one HTTP exchange. Errors wrapped in backoff.Permanent end the
// loop; the others are retried.
func (c *Client) once(ctx context.Context, body []byte) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint(), bytes.NewReader(body))
	if err != nil {
		return nil, backoff.Permanent(problem.Wrap(err, problem.Invalid, CodeInvalidShop, "cannot build the Admin API URL"))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Shopify-Access-Token", c.Token)
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, backoff.Permanent(ctx.Err())
		}
		// *url.Error carries the URL (no token: the token is a header).
		return nil, problem.Wrap(err, problem.Unavailable, CodeUnavailable,
			"cannot reach "+c.Shop+": check the shop domain and your network")
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, problem.Wrap(err, problem.Unavailable, CodeUnavailable, "reading the Admin API answer")
	}

	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		// A throttled GraphQL body (with cost figures) beats Retry-After.
		if env, ok := decodeEnvelope(raw); ok {
			if w, ok := throttleWait(env); ok {
				return nil, &waitError{err: throttledErr(), wait: w}
			}
		}
		return nil, &waitError{err: throttledErr(), wait: retryAfter(resp.Header.Get("Retry-After"))}
	case resp.StatusCode >= 500:
		return nil, problem.Newf(problem.Unavailable, CodeUnavailable,
			"Shopify answered HTTP %d; try again in a few minutes", resp.StatusCode)
	case resp.StatusCode >= 300:
		return nil, backoff.Permanent(statusError(resp.StatusCode, c.Shop, c.version(), raw))
	}

	env, ok := decodeEnvelope(raw)
	if !ok {
		return nil, backoff.Permanent(problem.New(problem.Upstream, CodeBadResponse,
			"the Admin API answer is not GraphQL JSON (is the shop domain right?)"))
	}
	if len(env.Errors) > 0 && string(env.Errors) != "null" {
		gerrs, err := parseErrors(env.Errors)
		if err != nil {
			return nil, backoff.Permanent(err)
		}
		for _, e := range gerrs {
			if e.Code() == "THROTTLED" {
				w, _ := throttleWait(env)
				return nil, &waitError{err: throttledErr(), wait: w}
			}
		}
		return nil, backoff.Permanent(graphQLError(gerrs))
	}
	return env.Data, nil
}

func decodeEnvelope(raw []byte) (envelope, bool) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return env, false
	}
	return env, len(env.Data) > 0 || len(env.Errors) > 0
}

// parseErrors reads "errors", which is normally a list of objects but is a
// plain string on some auth failures.
func parseErrors(raw json.RawMessage) ([]GraphQLError, error) {
	var list []GraphQLError
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []GraphQLError{{Message: s}}, nil
	}
	return nil, problem.New(problem.Upstream, CodeBadResponse, "the Admin API answered errors of an unexpected shape")
}

func throttledErr() *problem.Error {
	return problem.New(problem.Unavailable, CodeThrottled,
		"Shopify kept throttling the requests (query cost limit); wait a minute and run the command again")
}

// ThrottleWait is how long the cost bucket needs to refill enough for the
// request that was throttled: (requested − available) / restoreRate seconds,
// at least a quarter second. ok is false when the answer carried no figures.
func ThrottleWait(c Cost) (time.Duration, bool) {
	ts := c.ThrottleStatus
	if ts == nil || ts.RestoreRate <= 0 {
		return 0, false
	}
	deficit := c.RequestedQueryCost - ts.CurrentlyAvailable
	if deficit < 0 {
		deficit = 0
	}
	secs := deficit / ts.RestoreRate
	d := time.Duration(math.Ceil(secs*1000)) * time.Millisecond
	return max(d, 250*time.Millisecond), true
}

func throttleWait(env envelope) (time.Duration, bool) {
	if env.Extensions.Cost == nil {
		return 0, false
	}
	return ThrottleWait(*env.Extensions.Cost)
}

// retryAfter reads a Retry-After header: seconds (Shopify sends "2.0") or an
// HTTP date. Zero means "not given" and lets the exponential policy decide.
func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// statusError explains a final HTTP status in merchant terms. Shopify's
// own message (e.g. which scope needs approval) is kept when it is short
// plain text: it never contains the token.
func statusError(status int, shop, version string, raw []byte) *problem.Error {
	msg := shortMessage(raw)
	switch status {
	case http.StatusUnauthorized:
		return problem.New(problem.Unauthorized, CodeUnauthorized,
			"Shopify rejected the access token (HTTP 401): it is wrong, was revoked, or belongs to another shop. "+
				"Copy the Admin API access token again from Settings → Apps and sales channels → Develop apps → your app → API credentials")
	case http.StatusForbidden:
		return problem.New(problem.Unauthorized, CodeForbidden,
			"Shopify refused the request (HTTP 403): the token is missing an access scope"+withMsg(msg)+
				". Give the app the read_orders and write_orders scopes (Configuration → Admin API integration), save, and reinstall it")
	case http.StatusNotFound:
		return problem.Newf(problem.NotFound, CodeShopNotFound,
			"Shopify answered 404 for %s with API version %s: check the shop domain (its permanent *.myshopify.com name) and that the version exists", shop, version)
	case http.StatusPaymentRequired, http.StatusLocked:
		return problem.Newf(problem.Unavailable, CodeShopLocked,
			"the shop is frozen or locked (HTTP %d)%s: settle it in the Shopify admin first", status, withMsg(msg))
	default:
		return problem.Newf(problem.Upstream, CodeBadResponse, "Shopify answered HTTP %d%s", status, withMsg(msg))
	}
}

func withMsg(m string) string {
	if m == "" {
		return ""
	}
	return " (Shopify says: " + m + ")"
}

// shortMessage extracts {"errors":"…"} or {"errors":[{"message":"…"}]}.
func shortMessage(raw []byte) string {
	var env struct {
		Errors json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(raw, &env) != nil || len(env.Errors) == 0 {
		return ""
	}
	list, err := parseErrors(env.Errors)
	if err != nil || len(list) == 0 {
		return ""
	}
	m := strings.TrimSpace(list[0].Message)
	if len(m) > 200 {
		m = m[:200] + "…"
	}
	return m
}

func graphQLError(errs []GraphQLError) *problem.Error {
	for _, e := range errs {
		if e.Code() == "ACCESS_DENIED" {
			need, _ := e.Extensions["requiredAccess"].(string)
			detail := "the access token may not do this: " + e.Message
			if need != "" && !strings.Contains(e.Message, need) {
				detail += " (required: " + need + ")"
			}
			detail += ". Add the read_orders and write_orders scopes to the app, save, and reinstall it"
			return problem.New(problem.Unauthorized, CodeAccessDenied, detail)
		}
	}
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		m := e.Message
		if code := e.Code(); code != "" {
			m += " [" + code + "]"
		}
		msgs = append(msgs, m)
	}
	return problem.New(problem.Upstream, CodeGraphQL, "the Admin API answered: "+strings.Join(msgs, "; "))
}
