package stock

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Metrics are the stock sync's instruments. Labels are low-cardinality:
// status, trigger and supplier only.
type Metrics struct {
	runs     metric.Int64Counter
	duration metric.Float64Histogram
	changes  metric.Int64Counter
	errors   metric.Int64Counter

	mu          sync.Mutex
	lastSuccess float64 // Unix seconds of the last run that wrote (or had nothing to write)
	unmatched   int64
	known       bool
}

// NewMetrics registers the instruments on m.
func NewMetrics(m metric.Meter) (*Metrics, error) {
	mt := &Metrics{}
	var err error
	if mt.runs, err = m.Int64Counter("flowbridge.stock.sync.runs",
		metric.WithDescription("Stock sync runs by status (ok, partial, failed, cap_tripped, dry_run) and trigger.")); err != nil {
		return nil, err
	}
	if mt.duration, err = m.Float64Histogram("flowbridge.stock.sync.duration", metric.WithUnit("s"),
		metric.WithDescription("Stock sync run duration."),
		metric.WithExplicitBucketBoundaries(1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600)); err != nil {
		return nil, err
	}
	if mt.changes, err = m.Int64Counter("flowbridge.stock.sync.changes",
		metric.WithDescription("Available quantities written to Shopify, by supplier.")); err != nil {
		return nil, err
	}
	if mt.errors, err = m.Int64Counter("flowbridge.stock.sync.errors",
		metric.WithDescription("Variants a run could not write (after compare-guard retries).")); err != nil {
		return nil, err
	}
	if _, err = m.Float64ObservableGauge("flowbridge.stock.sync.last_success", metric.WithUnit("s"),
		metric.WithDescription("Unix time of the last stock sync that completed (status ok)."),
		metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
			mt.mu.Lock()
			defer mt.mu.Unlock()
			if mt.lastSuccess > 0 {
				o.Observe(mt.lastSuccess)
			}
			return nil
		})); err != nil {
		return nil, err
	}
	if _, err = m.Int64ObservableGauge("flowbridge.stock.unmatched",
		metric.WithDescription("Variants with a barcode that the last run could not sync (unknown to the supplier, invalid, duplicate, untracked)."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			mt.mu.Lock()
			defer mt.mu.Unlock()
			if mt.known {
				o.Observe(mt.unmatched)
			}
			return nil
		})); err != nil {
		return nil, err
	}
	return mt, nil
}

// Record counts one finished run. A nil Metrics records nothing.
func (m *Metrics) Record(ctx context.Context, r Run) { m.record(ctx, r) }

func (m *Metrics) record(ctx context.Context, r Run) {
	if m == nil {
		return
	}
	attrs := metric.WithAttributes(attribute.String("status", r.Status), attribute.String("trigger", r.Trigger), attribute.String("supplier", r.Supplier))
	m.runs.Add(ctx, 1, attrs)
	m.duration.Record(ctx, float64(r.DurationMS)/1000, metric.WithAttributes(attribute.String("supplier", r.Supplier)))
	sup := metric.WithAttributes(attribute.String("supplier", r.Supplier))
	if !r.DryRun {
		m.changes.Add(ctx, int64(r.Applied), sup)
	}
	m.errors.Add(ctx, int64(r.Failed), sup)
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.Status == StatusOK {
		m.lastSuccess = float64(r.Finished.UnixMilli()) / 1000
	}
	if r.Status != StatusFailed {
		m.unmatched, m.known = int64(r.UnmatchedCount), true
	}
}
