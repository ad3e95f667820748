package bigbuy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/flowbridge/flowbridge/supplier/resilient"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
)

// Known BigBuy hosts. Anything else (a test server, a proxy) is accepted as
// BaseURL but has no known peer environment.
const (
	ProductionBaseURL = "https://api.bigbuy.eu"
	SandboxBaseURL    = "https://api.sandbox.bigbuy.eu"
)

// Payment methods BigBuy accepts on create.
const (
	PaymentMoneybox = "moneybox"
	PaymentBankwire = "bankwire"
	PaymentPaypal   = "paypal"
)

// maxBody bounds every answer read into memory (catalogue pages are
// streamed and bounded separately).
const maxBody = 4 << 20

// Config configures a Client. Zero values get the documented defaults.
type Config struct {
	// BaseURL is the API root without "/rest" (a trailing "/rest" is
	// tolerated). Default ProductionBaseURL; SandboxBaseURL for the sandbox.
	BaseURL string
	// APIKey is the key of that environment (sandbox and production keys
	// differ). Sent as "Authorization: Bearer <key>".
	APIKey string
	// HTTPClient carries retries, breaker, shared rate limit and tracing
	// (supplier/resilient). Default http.DefaultClient, for tests only.
	HTTPClient *http.Client
	// PaymentMethod pays real orders. Default "moneybox" (prepaid balance).
	PaymentMethod string
	// TestPaymentMethod pays orders placed with supplier.Order.TestMode.
	// Default "bankwire": the order waits for a transfer, so it stays
	// pending and BigBuy can cancel it.
	TestPaymentMethod string
	// Language of the order (BigBuy "language", e.g. "en", "es").
	// Default "en". Also the isoCode of catalogue requests.
	Language string
	// Catalog maps EANs to BigBuy SKUs. Default: an in-memory index of the
	// product feed (see NewFeedCatalog), cached for CatalogTTL.
	Catalog Catalog
	// CatalogTTL is how long the default catalogue index is used before it
	// is rebuilt. Default 12 h (the feed is limited to ~10 calls per hour).
	CatalogTTL time.Duration
	// SKUFallback sends a line's own SKU as the BigBuy reference when its
	// EAN is not in the catalogue (stores that imported BigBuy products
	// keep BigBuy's SKU as the variant SKU).
	SKUFallback bool
	// PeerBaseURL is the other environment, asked only by
	// CheckCredentials to recognise a key of the wrong environment.
	// Default: the sandbox for production and vice versa; empty for
	// unknown hosts.
	PeerBaseURL string
	// OnUnknownStatus, when set, is called with every raw order status the
	// status table does not know (for a counter).
	OnUnknownStatus func(raw string)
	Logger          *slog.Logger
	Now             func() time.Time
}

// Client is the BigBuy adapter. It is safe for concurrent use.
type Client struct {
	base    string
	peer    string
	key     string
	hc      *http.Client
	pay     string
	testPay string
	lang    string
	catalog Catalog
	skuFB   bool
	unknown func(string)
	log     *slog.Logger
	now     func() time.Time

	// feed is the default catalogue (nil when Config.Catalog was given).
	feed *FeedCatalog
	// look caches tracking carriers and order statuses.
	look lookups
}

var _ supplier.Supplier = (*Client)(nil)

// New validates cfg and returns a Client. It makes no network call; use
// CheckCredentials at start-up.
func New(cfg Config) (*Client, error) {
	base, err := normaliseBase(cfg.BaseURL, ProductionBaseURL)
	if err != nil {
		return nil, err
	}
	// A trailing newline from a secret file is common and never part of
	// the key; anything else odd is reported by CheckCredentials.
	cfg.APIKey = strings.TrimSpace(cfg.APIKey)
	if cfg.APIKey == "" {
		return nil, problem.New(problem.Invalid, CodeConfigInvalid, "FLOWBRIDGE_BIGBUY_API_KEY is empty")
	}
	peer := cfg.PeerBaseURL
	if peer == "" {
		switch base {
		case ProductionBaseURL:
			peer = SandboxBaseURL
		case SandboxBaseURL:
			peer = ProductionBaseURL
		}
	}
	if peer != "" {
		if peer, err = normaliseBase(peer, ""); err != nil {
			return nil, err
		}
	}
	c := &Client{
		base:    base,
		peer:    peer,
		key:     cfg.APIKey,
		hc:      cfg.HTTPClient,
		pay:     orDefault(cfg.PaymentMethod, PaymentMoneybox),
		testPay: orDefault(cfg.TestPaymentMethod, PaymentBankwire),
		lang:    strings.ToLower(orDefault(cfg.Language, "en")),
		catalog: cfg.Catalog,
		skuFB:   cfg.SKUFallback,
		unknown: cfg.OnUnknownStatus,
		log:     cfg.Logger,
		now:     cfg.Now,
	}
	for _, m := range []string{c.pay, c.testPay} {
		switch m {
		case PaymentMoneybox, PaymentBankwire, PaymentPaypal:
		default:
			return nil, problem.Newf(problem.Invalid, CodeConfigInvalid, "unknown BigBuy payment method %q (moneybox, bankwire or paypal)", m)
		}
	}
	if c.hc == nil {
		c.hc = http.DefaultClient
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.catalog == nil {
		c.feed = NewFeedCatalog(c, cfg.CatalogTTL)
		c.catalog = c.feed.Lookup
	}
	return c, nil
}

func orDefault(s, def string) string {
	if s = strings.TrimSpace(s); s == "" {
		return def
	}
	return s
}

func normaliseBase(raw, def string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", problem.Newf(problem.Invalid, CodeConfigInvalid, "FLOWBRIDGE_BIGBUY_BASE_URL %q is not an http(s) URL", raw)
	}
	s := strings.TrimRight(u.String(), "/")
	s = strings.TrimSuffix(s, "/rest")
	return s, nil
}

// Name implements supplier.Supplier.
func (c *Client) Name() string { return "bigbuy" }

// Sandbox reports whether the client talks to BigBuy's sandbox.
func (c *Client) Sandbox() bool { return c.base == SandboxBaseURL }

// Capabilities implements supplier.Supplier.
func (c *Client) Capabilities() supplier.Capabilities {
	return supplier.Capabilities{
		ClientReference:   true,
		LookupByReference: true,
		ProductLookup:     true,
		TestMode:          true,
		TestModeHint: "test mode pays BigBuy orders by " + c.testPay +
			" so they stay pending until paid and can be cancelled; for a full dry run point FLOWBRIDGE_BIGBUY_BASE_URL at " +
			SandboxBaseURL + " with the sandbox key",
	}
}

// reply is one HTTP answer, read in full (bounded).
type reply struct {
	status int
	header http.Header
	body   []byte
	// readErr is set when the body could not be read to the end
	// (connection dropped mid-body, deadline); body then holds what came.
	readErr error
}

// sendError is a transport failure; sent reports whether the request may
// have reached BigBuy (only a failed dial proves it did not).
type sendError struct {
	err  error
	sent bool
}

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// send performs one request. payload, when non-nil, is JSON-encoded.
func (c *Client) send(ctx context.Context, base, method, path string, query url.Values, payload any) (*reply, error) {
	return c.sendLimit(ctx, base, method, path, query, payload, maxBody)
}

// sendLimit is send reading at most limit bytes of the answer.
func (c *Client) sendLimit(ctx context.Context, base, method, path string, query url.Values, payload any, limit int64) (*reply, error) {
	var body io.Reader
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return nil, problem.Wrap(err, problem.Internal, problem.CodeInternal, "encoding BigBuy request")
		}
		body = bytes.NewReader(b)
	}
	u := base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	ctx = resilient.WithOperation(ctx, operation(path))
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, problem.Wrap(err, problem.Internal, problem.CodeInternal, "building BigBuy request")
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, &sendError{err: err, sent: !isDialError(err) && !isUnsent(err)}
	}
	defer resp.Body.Close()
	b, rerr := io.ReadAll(io.LimitReader(resp.Body, limit))
	return &reply{status: resp.StatusCode, header: resp.Header, body: b, readErr: rerr}, nil
}

// unsent is implemented by errors of the HTTP client layer (e.g.
// supplier/resilient) that failed before the request was written: breaker
// open, rate-limit wait longer than the deadline. Such a create cannot
// have reached BigBuy, so it needs no reconciliation.
type unsent interface {
	error
	Unsent() bool
}

func isUnsent(err error) bool {
	u, ok := errors.AsType[unsent](err)
	return ok && u.Unsent()
}

// isDialError reports whether err happened before a connection existed, so
// the request cannot have reached the server.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// transportProblem turns a send failure into a problem for reads (and for
// creates that provably never left).
func (c *Client) transportProblem(ctx context.Context, err error) *problem.Error {
	if pe, ok := errors.AsType[*problem.Error](err); ok {
		return pe
	}
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return problem.Wrap(err, problem.Unavailable, problem.CodeDeadline, "BigBuy did not answer in time").WithRetryAfter(5 * time.Second)
	}
	return problem.Wrap(err, problem.Unavailable, problem.CodeSupplierUnavailable, "BigBuy could not be reached").WithRetryAfter(5 * time.Second)
}

func badResponse(format string, args ...any) *problem.Error {
	return problem.Newf(problem.Upstream, problem.CodeSupplierBadResponse, format, args...)
}

// decode parses a successful JSON body into v, reporting truncated or
// malformed bodies as supplier_bad_response.
func decode(r *reply, what string, v any) error {
	if r.readErr != nil {
		return problem.Wrap(r.readErr, problem.Upstream, problem.CodeSupplierBadResponse, fmt.Sprintf("BigBuy %s answer was cut off", what))
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		return problem.Wrap(err, problem.Upstream, problem.CodeSupplierBadResponse, fmt.Sprintf("BigBuy %s answer is not the expected JSON", what))
	}
	return nil
}

func emptyBody(b []byte) bool {
	s := bytes.TrimSpace(b)
	return len(s) == 0 || string(s) == "null" || string(s) == "[]" || string(s) == "{}"
}

// operation names a request for spans and metrics without its ids or
// references (they would make every order a label value):
// "/rest/order/reference/ABC.json" → "order/reference",
// "/rest/tracking/order/123.json" → "tracking/order".
func operation(path string) string {
	parts := strings.Split(strings.TrimSuffix(strings.Trim(path, "/"), ".json"), "/")
	var out []string
	for i := 0; i < len(parts); i++ {
		p := parts[i]
		switch {
		case p == "" || p == "rest":
			continue
		case strings.Trim(p, "0123456789") == "":
			continue
		}
		out = append(out, p)
		if p == "reference" {
			i++ // the caller's reference follows
		}
	}
	return strings.Join(out, "/")
}
