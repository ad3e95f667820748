// Package resilient is the outbound HTTP client every supplier adapter uses.
// It is an http.RoundTripper, so adapters keep speaking plain net/http; per
// request it layers, outer to inner:
//
//	retry (cenkalti/backoff/v5; only for contexts marked supplier.Retryable)
//	  └ circuit breaker (sony/gobreaker/v2; counts 5xx, timeouts, network errors)
//	      └ rate limiter (shared GCRA in Redis, or golang.org/x/time/rate locally)
//	          └ per-attempt timeout
//	              └ OpenTelemetry client span (otelhttp), credentials scrubbed
//	                  └ base transport
//
// Every attempt is a real request to the supplier, so every attempt passes
// the breaker and spends a rate-limit slot; that is why retry is outermost.
// Nothing waits past the request context's deadline: a limiter slot, a
// backoff or a supplier's Retry-After that would leave less than
// Config.MinAttemptTime for the attempt is not waited for.
//
// What adapters see:
//   - a response, whatever its status (including the last 429/5xx when
//     retries ran out or were not allowed); turn a 429 into an error with
//     RateLimited;
//   - a *problem.Error when the request was refused before anything was sent
//     (breaker open: supplier_unavailable; rate-limit slot too far away:
//     supplier_rate_limited; shared limiter unreachable: store_unavailable;
//     no time left: deadline_exceeded), all Kind Unavailable with RetryAfter,
//     and NotSent(err) reports true for them;
//   - otherwise the transport error (timeout, connection reset...).
package resilient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultKeyPrefix            = "flowbridge:ratelimit:"
	DefaultRatePerSecond        = 1.0
	DefaultBurst                = 1
	DefaultAttemptTimeout       = 10 * time.Second
	DefaultMinAttemptTime       = time.Second
	DefaultMaxAttempts          = 3
	DefaultMaxElapsed           = 25 * time.Second
	DefaultBackoffInitial       = 250 * time.Millisecond
	DefaultBackoffMax           = 4 * time.Second
	DefaultRateLimitWait        = 5 * time.Second
	DefaultBreakerFailures      = 5
	DefaultBreakerOpenFor       = 30 * time.Second
	defaultBackoffJitter        = 0.5
	defaultBackoffMultiplier    = 2.0
	defaultLimiterUnavailableRA = 5 * time.Second
)

// Config configures the client of one supplier. Zero fields take the
// Default* values above.
type Config struct {
	// Name is the supplier ("bts", "bigbuy"): it names the breaker, the
	// shared rate-limit key and the spans. Required.
	Name string
	// Base sends the requests; default a clone of http.DefaultTransport.
	Base http.RoundTripper
	// Redis, when set, holds the rate-limit budget shared by all replicas.
	// Nil means a limiter local to this process.
	Redis redis.UniversalClient
	// KeyPrefix prefixes the Redis key (the key is KeyPrefix+Name).
	KeyPrefix string
	// RatePerSecond and Burst are the request budget for this supplier
	// (every request counts: reads, creates and each retry).
	RatePerSecond float64
	Burst         int
	// PerOperation gives every operation (named with WithOperation) a
	// budget of its own of RatePerSecond and Burst, for suppliers that
	// limit each endpoint separately (BigBuy: about 1 request/second per
	// endpoint). Each is still shared by all replicas through Redis, under
	// the key KeyPrefix+Name+":"+operation. Requests without an operation
	// share one budget.
	PerOperation bool
	// AttemptTimeout bounds one attempt, reading the body included.
	AttemptTimeout time.Duration
	// MinAttemptTime is the least time an attempt must have before the
	// deadline to be started at all; waits (limiter, backoff, Retry-After)
	// that would leave less are not started.
	MinAttemptTime time.Duration
	// MaxAttempts bounds attempts of retryable requests (others get one).
	MaxAttempts int
	// MaxElapsed is the overall budget of a request whose context has no
	// deadline (a context deadline, when earlier, wins).
	MaxElapsed time.Duration
	// BackoffInitial and BackoffMax shape the exponential backoff (×2 per
	// retry, ±50 % jitter).
	BackoffInitial time.Duration
	BackoffMax     time.Duration
	// RateLimitWait is how long to wait after a 429 that names no time.
	RateLimitWait time.Duration
	// BreakerFailures consecutive failures (5xx, timeouts, network errors)
	// open the breaker for BreakerOpenFor; then one probe is let through.
	BreakerFailures uint32
	BreakerOpenFor  time.Duration
	// Telemetry; nil uses the otel globals (no-op unless the program set them).
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Propagators    propagation.TextMapPropagator
	// Logger receives retries and breaker changes (never headers, bodies
	// or query strings); nil discards.
	Logger *slog.Logger
	// Observer receives metric events; nil hooks are skipped.
	Observer Observer
}

// Observer is a set of optional metric hooks. They are called synchronously
// on the request path, so keep them cheap. BreakerChange runs while the
// breaker holds its lock: it must not call back into the Client.
type Observer struct {
	// Attempt follows every request sent; status is 0 when err is set.
	Attempt func(ctx context.Context, supplierName, operation string, attempt, status int, err error, took time.Duration)
	// Retry precedes a backoff; reason is "status_503", "rate_limited", "transport"...
	Retry func(ctx context.Context, supplierName, operation string, attempt int, wait time.Duration, reason string)
	// LimiterWait reports how long a request waited for its rate-limit slot.
	LimiterWait func(ctx context.Context, supplierName string, waited time.Duration)
	// BreakerChange reports breaker transitions ("closed", "half-open", "open").
	BreakerChange func(supplierName, from, to string)
}

// Client is the resilient RoundTripper of one supplier. It is safe for
// concurrent use; build one per supplier and process.
type Client struct {
	cfg     Config
	log     *slog.Logger
	limiter slotLimiter
	// shared is the one Redis limiter of a supplier without per-operation
	// budgets: the only one whose slot a caller can plan (PlanSlot).
	shared    *redisLimiter
	breaker   *gobreaker.CircuitBreaker[*http.Response]
	transport http.RoundTripper
	openedAt  atomic.Int64 // unix nanos of the last transition to open
}

// New builds the client of one supplier.
func New(cfg Config) (*Client, error) {
	if cfg.Name == "" {
		return nil, errors.New("resilient: Config.Name is required")
	}
	setDefaults(&cfg)
	if cfg.RatePerSecond <= 0 || cfg.Burst < 1 {
		return nil, fmt.Errorf("resilient: rate %v/s burst %d: both must be positive", cfg.RatePerSecond, cfg.Burst)
	}
	c := &Client{cfg: cfg, log: cfg.Logger}
	newLimiter := func(key string) slotLimiter {
		if cfg.Redis != nil {
			return newRedisLimiter(cfg.Redis, cfg.KeyPrefix+key, cfg.RatePerSecond, cfg.Burst)
		}
		return newLocalLimiter(cfg.RatePerSecond, cfg.Burst)
	}
	if cfg.PerOperation {
		c.limiter = &perOperation{name: cfg.Name, make: newLimiter, byOp: map[string]slotLimiter{}}
	} else {
		c.limiter = newLimiter(cfg.Name)
		c.shared, _ = c.limiter.(*redisLimiter)
	}
	c.breaker = gobreaker.NewCircuitBreaker[*http.Response](gobreaker.Settings{
		Name:        cfg.Name,
		MaxRequests: 1,
		Timeout:     cfg.BreakerOpenFor,
		ReadyToTrip: func(n gobreaker.Counts) bool {
			return n.ConsecutiveFailures >= cfg.BreakerFailures
		},
		// Refusals before sending and the caller's own cancellation say
		// nothing about the supplier's health.
		IsExcluded: func(err error) bool {
			var ns *notSentError
			var cc *callerCanceledError
			return errors.As(err, &ns) || errors.As(err, &cc)
		},
		OnStateChange: c.breakerChanged,
	})
	opts := []otelhttp.Option{
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return "supplier." + cfg.Name + " " + operation(r.Context(), r.Method)
		}),
	}
	if cfg.TracerProvider != nil {
		opts = append(opts, otelhttp.WithTracerProvider(cfg.TracerProvider))
	}
	if cfg.MeterProvider != nil {
		opts = append(opts, otelhttp.WithMeterProvider(cfg.MeterProvider))
	}
	if cfg.Propagators != nil {
		opts = append(opts, otelhttp.WithPropagators(cfg.Propagators))
	}
	c.transport = otelhttp.NewTransport(scrubSpan{next: cfg.Base, name: cfg.Name}, opts...)
	return c, nil
}

func setDefaults(cfg *Config) {
	if cfg.Base == nil {
		cfg.Base = http.DefaultTransport.(*http.Transport).Clone()
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = DefaultKeyPrefix
	}
	if cfg.RatePerSecond == 0 {
		cfg.RatePerSecond = DefaultRatePerSecond
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = DefaultAttemptTimeout
	}
	if cfg.MinAttemptTime <= 0 {
		cfg.MinAttemptTime = DefaultMinAttemptTime
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.MaxElapsed <= 0 {
		cfg.MaxElapsed = DefaultMaxElapsed
	}
	if cfg.BackoffInitial <= 0 {
		cfg.BackoffInitial = DefaultBackoffInitial
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.RateLimitWait <= 0 {
		cfg.RateLimitWait = DefaultRateLimitWait
	}
	if cfg.BreakerFailures == 0 {
		cfg.BreakerFailures = DefaultBreakerFailures
	}
	if cfg.BreakerOpenFor <= 0 {
		cfg.BreakerOpenFor = DefaultBreakerOpenFor
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
}

// HTTPClient returns an *http.Client sending through c. It has no
// Client.Timeout of its own: the request context's deadline and
// Config.AttemptTimeout bound every call.
func (c *Client) HTTPClient() *http.Client { return &http.Client{Transport: c} }

// Name returns the supplier name.
func (c *Client) Name() string { return c.cfg.Name }

// BreakerState returns "closed", "half-open" or "open", for metrics and
// health pages.
func (c *Client) BreakerState() string { return c.breaker.State().String() }

func (c *Client) breakerChanged(name string, from, to gobreaker.State) {
	if to == gobreaker.StateOpen {
		c.openedAt.Store(time.Now().UnixNano())
	}
	c.log.Warn("supplier circuit breaker changed", "supplier", name, "from", from.String(), "to", to.String())
	if f := c.cfg.Observer.BreakerChange; f != nil {
		f(name, from.String(), to.String())
	}
}

type operationKey struct{}

// WithOperation names the supplier operation ("rates", "create_order",
// "tracking") for span names (`supplier.<name> <operation>`), logs and
// metrics. Without it the HTTP method is used.
func WithOperation(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

func operation(ctx context.Context, method string) string {
	if op, ok := ctx.Value(operationKey{}).(string); ok && op != "" {
		return op
	}
	return method
}

// NotSent reports whether err guarantees the request never reached the
// supplier: it was refused here (breaker open, no rate-limit slot in time,
// limiter unreachable, no time left) or the connection could not even be
// dialled. For a create-order call that means no order was placed.
func NotSent(err error) bool {
	var ns *notSentError
	if errors.As(err, &ns) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// IsBreakerOpen reports whether err is the fail-fast refusal of an open (or
// probing half-open) circuit breaker.
func IsBreakerOpen(err error) bool {
	return errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests)
}

// notSentError marks the cause of a *problem.Error raised before sending.
type notSentError struct{ err error }

func (e *notSentError) Error() string { return "request not sent: " + e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

// Unsent lets adapters that test for an `Unsent() bool` method (bigbuy)
// recognise these errors without importing this package.
func (e *notSentError) Unsent() bool { return true }

func refused(kind problem.Kind, code, detail string, retryAfter time.Duration, cause error) *problem.Error {
	return &problem.Error{Kind: kind, Code: code, Detail: detail,
		RetryAfter: ceilSeconds(retryAfter), Err: &notSentError{err: cause}}
}

// callerCanceledError wraps a transport error caused by the caller
// cancelling its context, which the breaker must not count.
type callerCanceledError struct{ err error }

func (e *callerCanceledError) Error() string { return e.err.Error() }
func (e *callerCanceledError) Unwrap() error { return e.err }

// statusError marks a response the breaker counts as a failure (5xx) or the
// retry loop may re-send.
type statusError struct{ status int }

func (e *statusError) Error() string { return fmt.Sprintf("supplier answered %d", e.status) }

var errAttemptTimeout = errors.New("supplier attempt timed out")

// RoundTrip sends req through the layers described in the package doc.
func (c *Client) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	now := time.Now()
	end := now.Add(c.cfg.MaxElapsed)
	if dl, ok := ctx.Deadline(); ok && dl.Before(end) {
		end = dl
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	s := &call{c: c, req: req, end: end, op: operation(ctx, req.Method),
		retryable: supplier.IsRetryable(ctx) && replayable}
	defer s.closeUnusedBody()

	tries := uint(1)
	if s.retryable {
		tries = uint(c.cfg.MaxAttempts)
	}
	// backoff.Retry does not start a wait that ends past MaxElapsedTime
	// (measured from its start, i.e. now): stop so that the attempt after
	// the wait still has MinAttemptTime before the deadline.
	budget := end.Sub(now) - c.cfg.MinAttemptTime
	if budget <= 0 {
		budget = time.Nanosecond
	}
	bo := &backoff.ExponentialBackOff{
		InitialInterval:     c.cfg.BackoffInitial,
		RandomizationFactor: defaultBackoffJitter,
		Multiplier:          defaultBackoffMultiplier,
		MaxInterval:         c.cfg.BackoffMax,
	}
	resp, err := backoff.Retry(ctx, s.attempt,
		backoff.WithBackOff(bo),
		backoff.WithMaxTries(tries),
		backoff.WithMaxElapsedTime(budget),
		backoff.WithNotify(s.notify))
	if resp != nil {
		if err != nil && ctx.Err() != nil {
			// Cancelled during a backoff: the body is unreadable now.
			s.discardLast()
			return nil, context.Cause(ctx)
		}
		// Success, or the last 429/5xx once retries are spent or not
		// allowed: the adapter reads it like any other answer.
		return resp, nil
	}
	// Retry hands back a Permanent wrapper as is when it stops on MaxTries.
	var perm *backoff.PermanentError
	if errors.As(err, &perm) {
		err = perm.Err
	}
	return nil, err
}

// call is the state of one RoundTrip.
type call struct {
	c         *Client
	req       *http.Request
	end       time.Time
	op        string
	retryable bool
	n         int
	bodyUsed  bool
	last      *http.Response
}

func (s *call) closeUnusedBody() {
	if !s.bodyUsed && s.req.Body != nil {
		_ = s.req.Body.Close()
	}
}

// discardLast drains and closes the previous attempt's response, so its
// connection can be reused.
func (s *call) discardLast() {
	if s.last == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(s.last.Body, 64<<10))
	_ = s.last.Body.Close()
	s.last = nil
}

func (s *call) notify(err error, wait time.Duration) {
	reason := "transport"
	var se *statusError
	var ra *backoff.RetryAfterError
	switch {
	case errors.As(err, &ra):
		reason = "rate_limited"
	case errors.As(err, &se):
		reason = fmt.Sprintf("status_%d", se.status)
	}
	s.c.log.InfoContext(s.req.Context(), "supplier call retry",
		"supplier", s.c.cfg.Name, "operation", s.op, "attempt", s.n, "wait", wait, "reason", reason)
	if f := s.c.cfg.Observer.Retry; f != nil {
		f(s.req.Context(), s.c.cfg.Name, s.op, s.n, wait, reason)
	}
}

// attempt is one try as backoff.Retry sees it: the error decides whether
// another try follows (Permanent: no).
func (s *call) attempt() (*http.Response, error) {
	s.n++
	s.discardLast()
	resp, err := s.c.breaker.Execute(s.send)
	if resp == nil {
		switch {
		case IsBreakerOpen(err):
			return nil, backoff.Permanent(s.c.openError(err))
		case NotSent(err) && errors.As(err, new(*problem.Error)):
			return nil, backoff.Permanent(err)
		case !s.retryable || s.req.Context().Err() != nil:
			return nil, backoff.Permanent(err)
		}
		return nil, err
	}
	s.last = resp
	switch st := resp.StatusCode; {
	case !s.retryable:
		return resp, nil
	case st == http.StatusTooManyRequests:
		wait, ok := ParseRetryAfter(resp.Header, time.Now())
		if !ok {
			wait = s.c.cfg.RateLimitWait
		}
		return resp, &backoff.RetryAfterError{Duration: wait}
	case st == http.StatusBadGateway || st == http.StatusServiceUnavailable || st == http.StatusGatewayTimeout:
		// Gateways and overload are transient. A plain 500 is usually the
		// same bug on every try, so it is not re-sent (the breaker still
		// counts it).
		return resp, &statusError{status: st}
	}
	return resp, nil
}

// send waits for a rate-limit slot and makes one attempt, under the breaker.
func (s *call) send() (*http.Response, error) {
	ctx := s.req.Context()
	name := s.c.cfg.Name
	left := time.Until(s.end)
	if left < s.c.cfg.MinAttemptTime {
		return nil, refused(problem.Unavailable, problem.CodeDeadline,
			"not enough time left to call the supplier", time.Second, context.DeadlineExceeded)
	}
	waited, err := s.c.take(ctx, left-s.c.cfg.MinAttemptTime)
	if f := s.c.cfg.Observer.LimiterWait; f != nil {
		f(ctx, name, waited)
	}
	if err != nil {
		return nil, s.c.limiterError(err)
	}

	// Last moment before the request leaves: the caller may record that
	// it is being sent (the orders service marks its claim), or stop it.
	if err := supplier.Sending(ctx); err != nil {
		pe := problem.From(err)
		return nil, refused(problem.Unavailable, pe.Code, pe.Detail, max(pe.RetryAfter, time.Second), err)
	}

	body := s.req.Body
	if s.n > 1 && s.req.GetBody != nil {
		if body, err = s.req.GetBody(); err != nil {
			return nil, refused(problem.Internal, problem.CodeInternal, "request body cannot be replayed", 0, err)
		}
	}
	s.bodyUsed = true
	timeout := min(s.c.cfg.AttemptTimeout, time.Until(s.end))
	actx, cancel := context.WithTimeoutCause(withAttempt(ctx, s.n), timeout, errAttemptTimeout)
	r := s.req.Clone(actx)
	r.Body = body
	start := time.Now()
	resp, err := s.c.transport.RoundTrip(r)
	took := time.Since(start)
	if f := s.c.cfg.Observer.Attempt; f != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		f(ctx, name, s.op, s.n, status, err, took)
	}
	if err != nil {
		timedOut := errors.Is(context.Cause(actx), errAttemptTimeout)
		cancel()
		switch {
		case timedOut:
			return nil, fmt.Errorf("%w after %s: %w", errAttemptTimeout, timeout, err)
		case errors.Is(ctx.Err(), context.Canceled):
			return nil, &callerCanceledError{err: err}
		}
		return nil, err
	}
	// The attempt's deadline also bounds reading the body; release the
	// timer when the adapter closes it.
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	if resp.StatusCode >= 500 {
		return resp, &statusError{status: resp.StatusCode}
	}
	return resp, nil
}

// take gets a slot: the one the caller reserved ahead when the context
// carries it for this limiter (see PlanSlot), else from the limiter.
func (c *Client) take(ctx context.Context, maxWait time.Duration) (time.Duration, error) {
	if c.shared != nil {
		if r, ok := supplier.TakeReservation(ctx, c.shared.key); ok {
			return reserved(ctx, r)
		}
	}
	return c.limiter.take(ctx, maxWait)
}

// PlanSlot implements supplier.SlotPlanner: the slot the next request
// under ctx would take, with the same longest wait send would accept, so
// that a caller reading the same Redis anyway can reserve it in its own
// script and pass the outcome on with supplier.WithReservation. False
// without a shared limiter, with budgets per operation (which operation a
// call starts with is the adapter's business), or when too little time is
// left to call at all (send then refuses without a slot, as it would).
func (c *Client) PlanSlot(ctx context.Context) (supplier.SlotPlan, bool) {
	if c.shared == nil {
		return supplier.SlotPlan{}, false
	}
	left := c.cfg.MaxElapsed
	if dl, ok := ctx.Deadline(); ok {
		left = min(left, time.Until(dl))
	}
	if left < c.cfg.MinAttemptTime {
		return supplier.SlotPlan{}, false
	}
	r := c.shared.request(left - c.cfg.MinAttemptTime)
	return supplier.SlotPlan{Key: r.Key, Interval: r.Interval, Tolerance: r.Tolerance, MaxWait: r.MaxWait}, true
}

var _ supplier.SlotPlanner = (*Client)(nil)

func (c *Client) limiterError(err error) *problem.Error {
	var tl *tooLongError
	var se *limiterStoreError
	switch {
	case errors.As(err, &tl):
		return refused(problem.Unavailable, problem.CodeSupplierRateLimited,
			"the supplier's request budget is used up until after this call's deadline", tl.wait, err)
	case errors.As(err, &se):
		// Fail closed: without the shared budget a replica cannot know
		// whether sending would push the supplier past its limit (BigBuy
		// blocks accounts that keep exceeding it).
		c.log.Error("shared supplier rate limiter unreachable", "supplier", c.cfg.Name, "error", se.err)
		return refused(problem.Unavailable, problem.CodeStoreUnavailable,
			"the shared supplier rate limit cannot be checked", defaultLimiterUnavailableRA, err)
	}
	return refused(problem.Unavailable, problem.CodeDeadline,
		"the call ended while waiting for a rate-limit slot", time.Second, err)
}

func (c *Client) openError(err error) *problem.Error {
	wait := time.Second // half-open: a probe is in flight
	if errors.Is(err, gobreaker.ErrOpenState) {
		wait = c.cfg.BreakerOpenFor - time.Since(time.Unix(0, c.openedAt.Load()))
	}
	return refused(problem.Unavailable, problem.CodeSupplierUnavailable,
		"calls to supplier "+c.cfg.Name+" are paused after repeated failures", wait, err)
}

// cancelOnClose ends the attempt's context once the body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

type attemptKey struct{}

func withAttempt(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, attemptKey{}, n)
}

func attemptFrom(ctx context.Context) int {
	n, _ := ctx.Value(attemptKey{}).(int)
	return n
}
