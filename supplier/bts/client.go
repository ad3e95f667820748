package bts

import (
	"context"
	"errors"
	"fmt"
	"github.com/flowbridge/flowbridge/supplier/resilient"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
)

// DefaultBaseURL is BTS's production API. There is no sandbox.
const DefaultBaseURL = "https://api.btswholesaler.com/v1/api"

// Payment methods accepted by setCreateOrder.
const (
	PaymentWallet       = "wallet"
	PaymentBankTransfer = "banktransfer"
	PaymentBTSCredit    = "btscredit"
)

// CodePaymentMethodRejected: BTS refused the configured payment method
// (payment_method_error). An operator must change the setting or the account.
const CodePaymentMethodRejected = "payment_method_rejected"

// CodeConfigInvalid is returned by New for an unusable Config.
const CodeConfigInvalid = "supplier_config_invalid"

// maxBody caps how much of an answer is read; BTS answers used here are small.
const maxBody = 4 << 20

// defaultRetryAfter is used when a 429 carries no usable Retry-After.
const defaultRetryAfter = 5 * time.Second

// operatorRetryAfter is suggested for problems an operator must fix
// (token, payment method): re-sending sooner only adds load.
const operatorRetryAfter = 60 * time.Second

// Config configures a Client.
type Config struct {
	// BaseURL is the API root; DefaultBaseURL when empty. A test server or
	// proxy can stand in.
	BaseURL string
	// Token is the JWT from the BTS portal (API section → Create Account
	// Service).
	Token string
	// HTTPClient sends the requests. The integrator passes the resilient
	// client; nil means a plain client with a 20 s timeout.
	HTTPClient *http.Client
	// PaymentMethod is wallet (default), banktransfer or btscredit. Test-mode
	// orders always use banktransfer.
	PaymentMethod string
	// Logger receives operational logs (never the token or customer data).
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// OnUnknownStatus, when set, is called with every raw order_status the
	// status table does not know, so it can be counted.
	OnUnknownStatus func(raw string)
}

// Client talks to BTS Wholesaler. It implements supplier.Supplier.
type Client struct {
	base      *url.URL
	token     string
	http      *http.Client
	payment   string
	log       *slog.Logger
	now       func() time.Time
	onUnknown func(raw string)
}

var _ supplier.Supplier = (*Client)(nil)

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	token := strings.TrimSpace(cfg.Token)
	if len(token) > 7 && strings.EqualFold(token[:7], "bearer ") {
		token = strings.TrimSpace(token[7:])
	}
	if token == "" {
		return nil, problem.New(problem.Invalid, CodeConfigInvalid, "BTS token is empty: set FLOWBRIDGE_BTS_TOKEN to the JWT from the BTS portal (API section, Create Account Service)")
	}
	if strings.ContainsAny(token, " \t\r\n") {
		return nil, problem.New(problem.Invalid, CodeConfigInvalid, "BTS token contains whitespace: paste the JWT as one piece")
	}

	raw := strings.TrimSpace(cfg.BaseURL)
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, problem.Newf(problem.Invalid, CodeConfigInvalid, "BTS base URL %q is not an absolute http(s) URL (default %s)", raw, DefaultBaseURL)
	}
	if base.RawQuery != "" || base.Fragment != "" {
		return nil, problem.Newf(problem.Invalid, CodeConfigInvalid, "BTS base URL %q must not carry a query or fragment", raw)
	}

	pm := strings.ToLower(strings.TrimSpace(cfg.PaymentMethod))
	switch pm {
	case "":
		pm = PaymentWallet
	case PaymentWallet, PaymentBankTransfer, PaymentBTSCredit:
	default:
		return nil, problem.Newf(problem.Invalid, CodeConfigInvalid, "BTS payment method %q is not one of wallet, banktransfer, btscredit", cfg.PaymentMethod)
	}

	c := &Client{
		base:      base,
		token:     token,
		http:      cfg.HTTPClient,
		payment:   pm,
		log:       cfg.Logger,
		now:       cfg.Now,
		onUnknown: cfg.OnUnknownStatus,
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 20 * time.Second}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Name implements supplier.Supplier.
func (c *Client) Name() string { return "bts" }

// PaymentMethod is the configured payment method for live orders.
func (c *Client) PaymentMethod() string { return c.payment }

// Capabilities implements supplier.Supplier.
func (c *Client) Capabilities() supplier.Capabilities {
	return supplier.Capabilities{
		ClientReference:   false,
		LookupByReference: false,
		ProductLookup:     true,
		TestMode:          true,
		TestModeHint: "BTS has no sandbox: test-mode orders are real orders paid by bank transfer; " +
			"they stay \"Pending Payment\", are not charged, and must be cancelled by your BTS account manager",
	}
}

// FindOrder implements supplier.Supplier. BTS accepts no client reference
// and cannot list orders, so an order can never be found by reference.
func (c *Client) FindOrder(context.Context, string) (supplier.Placed, bool, error) {
	return supplier.Placed{}, false, problem.New(problem.Internal, problem.CodeLookupUnsupported,
		"BTS cannot look orders up by reference: check the BTS portal")
}

// reply is a complete HTTP answer from BTS.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// sendError is a failure to get a complete answer. sent reports whether the
// request may have reached BTS (see the package doc).
type sendError struct {
	err  error
	sent bool
	// read: the status line arrived but the body could not be read.
	read bool
}

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// send performs one request. query goes in the URL; a non-nil form is sent
// as an url-encoded POST body.
func (c *Client) send(ctx context.Context, endpoint string, query, form url.Values) (*reply, *sendError) {
	if err := ctx.Err(); err != nil {
		return nil, &sendError{err: err}
	}
	// The endpoint name labels the span and the supplier metrics.
	ctx = resilient.WithOperation(ctx, endpoint)
	u := c.base.JoinPath(endpoint)
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}

	// WroteHeaders runs on the transport's writer goroutine.
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{
		WroteHeaders: func() { wrote.Store(true) },
	}
	ctx = httptrace.WithClientTrace(ctx, trace)

	method := http.MethodGet
	var body io.Reader
	if form != nil {
		method = http.MethodPost
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, &sendError{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}

	start := c.now()
	resp, err := c.http.Do(req)
	if err != nil {
		err = stripURL(endpoint, err)
		sent := wrote.Load() || !refusedBeforeSend(err)
		c.log.LogAttrs(ctx, slog.LevelWarn, "bts request failed",
			slog.String("endpoint", endpoint), slog.Bool("maybe_sent", sent), slog.String("error", redact(err, c.token)))
		return nil, &sendError{err: err, sent: sent}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err == nil && len(data) > maxBody {
		err = errors.New("answer larger than 4 MiB")
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "bts request",
		slog.String("endpoint", endpoint), slog.Int("status", resp.StatusCode),
		slog.Duration("duration", c.now().Sub(start)), slog.Int("bytes", len(data)))
	if err != nil {
		return nil, &sendError{err: err, sent: true, read: true}
	}
	return &reply{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// refusedBeforeSend reports whether a transport error proves the request
// never left: DNS and dial failures, or a problem raised by the transport
// itself (breaker open, rate limiter) — the caller combines this with the
// httptrace "headers written" signal, which is authoritative when it fired.
func refusedBeforeSend(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var pe *problem.Error
	return errors.As(err, &pe) && !supplier.IsOutcomeUnknown(err)
}

// stripURL drops the request URL from a *url.Error: query strings carry
// postcodes and the error may end up in logs.
func stripURL(endpoint string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, endpoint, ue.Err)
	}
	return err
}

// redact removes the token from an error text, should a transport ever
// echo a header.
func redact(err error, token string) string {
	return strings.ReplaceAll(err.Error(), token, "[redacted]")
}

// transportProblem turns a read's transport failure into a problem.
func transportProblem(endpoint string, se *sendError) *problem.Error {
	var pe *problem.Error
	if errors.As(se.err, &pe) {
		return pe
	}
	if se.read {
		return problem.Wrap(se.err, problem.Upstream, problem.CodeSupplierBadResponse,
			"BTS "+endpoint+": the answer could not be read completely")
	}
	if errors.Is(se.err, context.DeadlineExceeded) || errors.Is(se.err, context.Canceled) {
		return problem.Wrap(se.err, problem.Unavailable, problem.CodeSupplierUnavailable,
			"BTS "+endpoint+": no answer before the deadline").WithRetryAfter(defaultRetryAfter)
	}
	return problem.Wrap(se.err, problem.Unavailable, problem.CodeSupplierUnavailable,
		"BTS "+endpoint+": cannot reach the API").WithRetryAfter(defaultRetryAfter)
}
