package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/bigbuy"
	"github.com/flowbridge/flowbridge/supplier/bts"
	"github.com/flowbridge/flowbridge/supplier/resilient"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
	"github.com/flowbridge/flowbridge/telemetry"
)

// SupplierDeps are what a real adapter's outbound client needs besides the
// configuration. Every field is optional: nil Redis gives a rate limit local
// to this process, nil telemetry records nothing.
type SupplierDeps struct {
	Logger *slog.Logger
	// Redis holds the rate-limit budget shared by every replica.
	Redis          redis.UniversalClient
	KeyPrefix      string
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Propagators    propagation.TextMapPropagator
	Metrics        *telemetry.Metrics
}

// defaultRate is each supplier's request budget when
// FLOWBRIDGE_SUPPLIER_RATE_LIMIT is not set. BigBuy documents about one
// request per second on its order, shipping and tracking endpoints; 0.8
// leaves room for network jitter so two requests never land in one of
// BigBuy's seconds. BTS publishes no figure; 5/s is a polite guess.
func defaultRate(name string) float64 {
	switch name {
	case "bigbuy":
		return 0.8
	case "bts":
		return 5
	}
	return 0
}

// NewSupplier builds the configured supplier adapter. Real adapters get
// the resilient outbound client: retries for reads only, a circuit breaker,
// the shared rate limit and a span per call.
func NewSupplier(cfg Config, deps SupplierDeps) (supplier.Supplier, error) {
	sup, _, err := NewSupplierSlots(cfg, deps)
	return sup, err
}

// NewSupplierSlots is NewSupplier that also returns the planner of the
// supplier's shared rate-limit slots (nil for the sandbox): with it the
// orders service reserves a tracking call's slot in the same Redis script
// as its cache read (Stores.Slots).
func NewSupplierSlots(cfg Config, deps SupplierDeps) (supplier.Supplier, supplier.SlotPlanner, error) {
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch cfg.Supplier {
	case "sandbox", "":
		if cfg.SandboxShipAfter > 0 && cfg.SandboxProcessingAfter >= cfg.SandboxShipAfter {
			return nil, nil, errors.New("FLOWBRIDGE_SANDBOX_PROCESSING_AFTER must be shorter than FLOWBRIDGE_SANDBOX_SHIP_AFTER; e.g. 1m and 3m")
		}
		return sandbox.New(sandbox.Config{ProcessingAfter: cfg.SandboxProcessingAfter, ShipAfter: cfg.SandboxShipAfter,
			DisableLookup: cfg.SandboxDisableLookup}), nil, nil
	case "bts", "bigbuy":
	default:
		return nil, nil, fmt.Errorf("FLOWBRIDGE_SUPPLIER=%s: unknown supplier; use one of %s", cfg.Supplier, strings.Join(SupplierNames(), ", "))
	}

	rate := cfg.SupplierRateLimit
	if rate == 0 {
		rate = defaultRate(cfg.Supplier)
	}
	rc, err := outboundClient(cfg, deps, log, rate)
	if err != nil {
		return nil, nil, err
	}
	hc := rc.HTTPClient()
	unknown := func(raw string) {
		log.Warn("supplier status not mapped", slog.String("supplier", cfg.Supplier), slog.String("raw_status", raw))
		if deps.Metrics != nil {
			deps.Metrics.UnknownStatus(context.Background(), cfg.Supplier)
		}
	}
	var sup supplier.Supplier
	switch cfg.Supplier {
	case "bts":
		sup, err = bts.New(bts.Config{BaseURL: cfg.BTSBaseURL, Token: cfg.BTSToken, HTTPClient: hc,
			PaymentMethod: cfg.BTSPaymentMethod, Logger: log, OnUnknownStatus: unknown})
	default:
		sup, err = bigbuy.New(bigbuy.Config{BaseURL: cfg.BigBuyBaseURL, APIKey: cfg.BigBuyAPIKey, HTTPClient: hc,
			PaymentMethod: cfg.BigBuyPaymentMethod, SKUFallback: cfg.BigBuySKUFallback, Logger: log, OnUnknownStatus: unknown})
	}
	if err != nil {
		return nil, nil, err
	}
	return sup, rc, nil
}

func outboundClient(cfg Config, deps SupplierDeps, log *slog.Logger, rate float64) (*resilient.Client, error) {
	obs := resilient.Observer{}
	if m := deps.Metrics; m != nil {
		// The telemetry adapters tell business refusals (a 4xx the adapter
		// turns into no_stock…) from supplier failures, so the error-ratio
		// alert does not page on refused orders.
		obs = resilient.Observer{Attempt: m.SupplierAttempt, Retry: m.SupplierRetry,
			LimiterWait: m.SupplierLimiterWait, BreakerChange: m.SupplierBreakerChange}
		m.BreakerState(cfg.Supplier, "closed")
	}
	rc, err := resilient.New(resilient.Config{
		Name:           cfg.Supplier,
		Redis:          deps.Redis,
		KeyPrefix:      deps.KeyPrefix,
		RatePerSecond:  rate,
		Burst:          cfg.SupplierBurst,
		AttemptTimeout: cfg.SupplierAttemptTimeout,
		TracerProvider: deps.TracerProvider,
		MeterProvider:  deps.MeterProvider,
		Propagators:    deps.Propagators,
		Logger:         log,
		Observer:       obs,

		// BigBuy limits each endpoint on its own (about 1/s each).
		PerOperation: cfg.Supplier == "bigbuy",
	})
	if err != nil {
		return nil, err
	}
	return rc, nil
}
