package telemetry

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Metrics are the instruments an operator alerts on. Attribute values are
// low-cardinality by construction: never an order id, never customer data.
type Metrics struct {
	supplierCalls   metric.Float64Histogram
	supplierErrors  metric.Int64Counter
	idempotency     metric.Int64Counter
	limiterWait     metric.Float64Histogram
	redisErrors     metric.Int64Counter
	unknownStatuses metric.Int64Counter
	retries         metric.Int64Counter
	breakerChanges  metric.Int64Counter
	httpDuration    metric.Float64Histogram
	redisCmdErrors  metric.Int64Counter
	redisRoundTrips metric.Int64Counter
	timelineFolded  metric.Int64Counter
	// Precomputed attribute sets, [kind][source]: the round-trip count runs
	// on every Redis call, so it should not build a set each time.
	rtSets [2][2]metric.AddOption

	mu           sync.Mutex
	breakerState map[string]int64 // supplier → 0 closed, 1 half-open, 2 open
	needsReview  func(context.Context) (int64, error)
}

func newMetrics(m metric.Meter) (*Metrics, error) {
	var err error
	mt := &Metrics{breakerState: map[string]int64{}}
	for k, kind := range []string{"command", "pipeline"} {
		for src, source := range []string{"service", "scrape"} {
			mt.rtSets[k][src] = metric.WithAttributeSet(attribute.NewSet(
				attribute.String("kind", kind), attribute.String("source", source)))
		}
	}
	buckets := metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30)
	if mt.supplierCalls, err = m.Float64Histogram("flowbridge.supplier.call.duration", metric.WithUnit("s"),
		metric.WithDescription("Supplier API call latency by supplier, operation and outcome."), buckets); err != nil {
		return nil, err
	}
	if mt.supplierErrors, err = m.Int64Counter("flowbridge.supplier.errors",
		metric.WithDescription("Supplier API calls that failed, by supplier, operation and error code.")); err != nil {
		return nil, err
	}
	if mt.idempotency, err = m.Int64Counter("flowbridge.idempotency.outcomes",
		metric.WithDescription("Order placement outcomes: won, replayed, in_flight, reconciled, recorded, needs_review, unknown_outcome, rejected.")); err != nil {
		return nil, err
	}
	if mt.limiterWait, err = m.Float64Histogram("flowbridge.supplier.ratelimit.wait", metric.WithUnit("s"),
		metric.WithDescription("Time requests waited for the shared supplier rate limit."), buckets); err != nil {
		return nil, err
	}
	if mt.redisErrors, err = m.Int64Counter("flowbridge.store.errors",
		metric.WithDescription("Errors talking to the store (Redis), by operation.")); err != nil {
		return nil, err
	}
	if mt.unknownStatuses, err = m.Int64Counter("flowbridge.supplier.unknown_status",
		metric.WithDescription("Supplier statuses flowbridge could not map, by supplier.")); err != nil {
		return nil, err
	}
	if mt.retries, err = m.Int64Counter("flowbridge.supplier.retries",
		metric.WithDescription("Supplier read requests re-sent, by supplier.")); err != nil {
		return nil, err
	}
	if mt.breakerChanges, err = m.Int64Counter("flowbridge.supplier.breaker.transitions",
		metric.WithDescription("Circuit breaker state changes by supplier and new state; counts opens a scrape interval would miss.")); err != nil {
		return nil, err
	}
	if mt.httpDuration, err = m.Float64Histogram("flowbridge.http.server.duration", metric.WithUnit("s"),
		metric.WithDescription("Flow-facing request latency by method, route template and status code."), buckets); err != nil {
		return nil, err
	}
	if mt.redisCmdErrors, err = m.Int64Counter("flowbridge.redis.command.errors",
		metric.WithDescription("Redis commands that failed (not counting a missing key), by command and kind: timeout, network, server.")); err != nil {
		return nil, err
	}
	if mt.redisRoundTrips, err = m.Int64Counter("flowbridge.redis.round_trips",
		metric.WithDescription("Redis round trips this process made, by kind: command (one command on its own, a script call included) or pipeline (a pipeline or MULTI/EXEC block, however many commands it holds); and by source: scrape for the reads a /metrics scrape makes to count orders needing review, service for everything else.")); err != nil {
		return nil, err
	}
	if mt.timelineFolded, err = m.Int64Counter("flowbridge.timeline.folded",
		metric.WithDescription("Timeline events not written because they repeat the order's last written event within the fold window (a replayed placement or review, a tracking answer from the cache), by kind; the next written event of the order carries the count.")); err != nil {
		return nil, err
	}
	if _, err = m.Int64ObservableGauge("flowbridge.supplier.breaker.state",
		metric.WithDescription("Circuit breaker state by supplier: 0 closed, 1 half-open, 2 open."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			mt.mu.Lock()
			defer mt.mu.Unlock()
			for s, v := range mt.breakerState {
				o.Observe(v, metric.WithAttributes(attribute.String("supplier", s)))
			}
			return nil
		})); err != nil {
		return nil, err
	}
	if _, err = m.Int64ObservableGauge("flowbridge.orders.needs_review",
		metric.WithDescription("Orders held for a person to review (outcome unknown at a supplier that cannot be asked)."),
		metric.WithInt64Callback(func(ctx context.Context, o metric.Int64Observer) error {
			mt.mu.Lock()
			f := mt.needsReview
			mt.mu.Unlock()
			if f == nil {
				return nil
			}
			// Its Redis reads are the scrape's, not the service's: marked
			// so the round-trip count can tell them apart.
			n, err := f(context.WithValue(ctx, scrapeKey{}, true))
			if err != nil {
				return err
			}
			o.Observe(n)
			return nil
		})); err != nil {
		return nil, err
	}
	return mt, nil
}

// SupplierCall records one supplier API call. code is "" on success.
func (m *Metrics) SupplierCall(ctx context.Context, supplier, op, code string, d time.Duration) {
	outcome := "ok"
	if code != "" {
		outcome = "error"
	}
	m.supplierCall(ctx, supplier, op, outcome, code, d)
}

// supplierCall records the latency with its outcome (ok, rejected, error)
// and, for errors, counts the error code.
func (m *Metrics) supplierCall(ctx context.Context, supplier, op, outcome, code string, d time.Duration) {
	m.supplierCalls.Record(ctx, d.Seconds(), metric.WithAttributes(
		attribute.String("supplier", supplier), attribute.String("operation", op), attribute.String("outcome", outcome)))
	if outcome == "error" {
		m.supplierErrors.Add(ctx, 1, metric.WithAttributes(
			attribute.String("supplier", supplier), attribute.String("operation", op), attribute.String("code", code)))
	}
}

// Idempotency counts one placement outcome.
func (m *Metrics) Idempotency(ctx context.Context, outcome string) {
	m.idempotency.Add(ctx, 1, metric.WithAttributes(attribute.String("outcome", outcome)))
}

// LimiterWait records time spent waiting for the shared rate limit.
func (m *Metrics) LimiterWait(ctx context.Context, supplier string, d time.Duration) {
	m.limiterWait.Record(ctx, d.Seconds(), metric.WithAttributes(attribute.String("supplier", supplier)))
}

// StoreError counts a failed store operation.
func (m *Metrics) StoreError(ctx context.Context, op string) {
	m.redisErrors.Add(ctx, 1, metric.WithAttributes(attribute.String("operation", op)))
}

// TimelineFolded counts a timeline event folded into the order's last
// one (timeline.Recorder.Folded).
func (m *Metrics) TimelineFolded(ctx context.Context, kind string) {
	m.timelineFolded.Add(ctx, 1, metric.WithAttributes(attribute.String("kind", kind)))
}

// UnknownStatus counts a raw supplier status that has no mapping.
func (m *Metrics) UnknownStatus(ctx context.Context, supplier string) {
	m.unknownStatuses.Add(ctx, 1, metric.WithAttributes(attribute.String("supplier", supplier)))
}

// Retry counts a re-sent supplier read.
func (m *Metrics) Retry(ctx context.Context, supplier string) {
	m.retries.Add(ctx, 1, metric.WithAttributes(attribute.String("supplier", supplier)))
}

// BreakerState records a circuit breaker state ("closed", "half-open", "open").
func (m *Metrics) BreakerState(supplier, state string) {
	v := int64(0)
	switch state {
	case "half-open":
		v = 1
	case "open":
		v = 2
	}
	m.mu.Lock()
	m.breakerState[supplier] = v
	m.mu.Unlock()
}

// ObserveNeedsReview sets the function that counts orders needing review;
// it is called at scrape time.
func (m *Metrics) ObserveNeedsReview(f func(context.Context) (int64, error)) {
	m.mu.Lock()
	m.needsReview = f
	m.mu.Unlock()
}

// httpRequest records one Flow-facing request.
func (m *Metrics) httpRequest(ctx context.Context, method, route string, status int, seconds float64) {
	m.httpDuration.Record(ctx, seconds, metric.WithAttributes(
		attribute.String("method", method), attribute.String("route", route),
		attribute.String("status", strconv.Itoa(status))))
}

// The methods below have the signatures of supplier/resilient's Observer
// hooks, so wiring is
//
//	Observer: resilient.Observer{
//		Attempt:       tel.Metrics.SupplierAttempt,
//		Retry:         tel.Metrics.SupplierRetry,
//		LimiterWait:   tel.Metrics.SupplierLimiterWait,
//		BreakerChange: tel.Metrics.SupplierBreakerChange,
//	}

// SupplierAttempt records one HTTP attempt at a supplier. 5xx, 429, timeouts
// and transport failures are errors (they feed the error-ratio alert);
// other 4xx are "rejected": the supplier answered, and said no.
func (m *Metrics) SupplierAttempt(ctx context.Context, supplierName, operation string, _ int, status int, err error, took time.Duration) {
	outcome, code := classifyAttempt(status, err)
	m.supplierCall(ctx, supplierName, operation, outcome, code, took)
}

func classifyAttempt(status int, err error) (outcome, code string) {
	var ne net.Error
	switch {
	case err != nil && (errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())):
		return "error", "timeout"
	case err != nil:
		return "error", "transport"
	case status == http.StatusTooManyRequests:
		return "error", "rate_limited"
	case status >= 500:
		return "error", "status_" + strconv.Itoa(status)
	case status >= 400:
		return "rejected", ""
	}
	return "ok", ""
}

// SupplierRetry counts a re-sent supplier request.
func (m *Metrics) SupplierRetry(ctx context.Context, supplierName, _ string, _ int, _ time.Duration, _ string) {
	m.Retry(ctx, supplierName)
}

// SupplierLimiterWait records a wait for the shared rate limit.
func (m *Metrics) SupplierLimiterWait(ctx context.Context, supplierName string, waited time.Duration) {
	m.LimiterWait(ctx, supplierName, waited)
}

// SupplierBreakerChange records a breaker transition and the new state. It
// has no context: the breaker calls it under its lock, outside a request.
func (m *Metrics) SupplierBreakerChange(supplierName, _, to string) {
	m.BreakerState(supplierName, to)
	m.breakerChanges.Add(context.Background(), 1, metric.WithAttributes(
		attribute.String("supplier", supplierName), attribute.String("state", to)))
}

// scrapeKey marks the context of work a /metrics scrape does itself.
type scrapeKey struct{}

// redisRoundTrip counts one Redis round trip: a command sent on its own
// (pipeline false) or a whole pipeline.
func (m *Metrics) redisRoundTrip(ctx context.Context, pipeline bool) {
	k, src := 0, 0
	if pipeline {
		k = 1
	}
	if ctx.Value(scrapeKey{}) != nil {
		src = 1
	}
	m.redisRoundTrips.Add(ctx, 1, m.rtSets[k][src])
}

// redisCommandError counts a failed Redis command.
func (m *Metrics) redisCommandError(ctx context.Context, command, kind string) {
	m.redisCmdErrors.Add(ctx, 1, metric.WithAttributes(
		attribute.String("command", command), attribute.String("kind", kind)))
}
