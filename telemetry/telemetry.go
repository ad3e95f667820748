// Package telemetry sets up OpenTelemetry tracing and metrics for flowbridge
// and the slog handler that stamps every log line with the active trace.
//
// Providers are returned, never installed globally: callers pass them to the
// instrumentation they build (otelhttp, redisotel, the supplier transport),
// which keeps tests free to run several instances side by side.
//
// Traces go wherever the standard OTEL_* variables say (OTEL_TRACES_EXPORTER
// otlp|console|none, OTEL_EXPORTER_OTLP_PROTOCOL grpc|http/protobuf, …); with
// OTEL_TRACES_EXPORTER unset nothing is exported unless the dev console
// exporter was asked for. Metrics are always served in Prometheus text format
// from a private registry, and can additionally be pushed over OTLP with
// OTEL_METRICS_EXPORTER=otlp.
package telemetry

import (
	"context"
	"errors"
	"net/http"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/exporters/autoexport"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
)

// Config selects exporters.
type Config struct {
	ServiceName string
	Version     string
	// Getenv reads the environment (os.Getenv in production). Only used to
	// decide whether OTEL_TRACES_EXPORTER is set; the exporters themselves
	// read the standard OTEL_* variables.
	Getenv func(string) string
	// ConsoleTraces writes spans to Stdout when no exporter is configured
	// (dev mode).
	ConsoleTraces bool
	// SpanExporter, when set, replaces every other trace exporter (tests use
	// an in-memory exporter).
	SpanExporter sdktrace.SpanExporter
	// SyncSpans exports spans synchronously (tests), instead of in batches.
	SyncSpans bool
}

// Telemetry holds the providers and the instruments flowbridge records.
type Telemetry struct {
	TracerProvider *sdktrace.TracerProvider
	MeterProvider  *sdkmetric.MeterProvider
	Propagator     propagation.TextMapPropagator
	Metrics        *Metrics
	registry       *promclient.Registry
}

// Setup builds the providers. Call Shutdown on exit to flush spans.
func Setup(ctx context.Context, cfg Config) (*Telemetry, error) {
	if cfg.ServiceName == "" {
		cfg.ServiceName = "flowbridge"
	}
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	res := resource.NewSchemaless(
		semconv.ServiceName(cfg.ServiceName),
		semconv.ServiceVersion(cfg.Version),
	)

	exp := cfg.SpanExporter
	if exp == nil {
		var err error
		exp, err = autoexport.NewSpanExporter(ctx, autoexport.WithFallbackSpanExporter(
			func(ctx context.Context) (sdktrace.SpanExporter, error) {
				if cfg.ConsoleTraces {
					return stdouttrace.New()
				}
				return noopExporter{}, nil
			}))
		if err != nil {
			return nil, err
		}
	}
	var spanOpt sdktrace.TracerProviderOption
	if cfg.SyncSpans {
		spanOpt = sdktrace.WithSyncer(exp)
	} else {
		spanOpt = sdktrace.WithBatcher(exp)
	}
	// With nothing to export, spans are not recorded at all (they still
	// carry trace ids, so logs keep trace_id and traceparent is passed
	// on); recording them cost ~6 % of CPU on the hot path for nothing.
	sampler := sdktrace.ParentBased(sdktrace.AlwaysSample())
	if _, none := exp.(noopExporter); none || autoexport.IsNoneSpanExporter(exp) {
		sampler = sdktrace.NeverSample()
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSampler(sampler), spanOpt)

	reg := promclient.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	promExp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, err
	}
	mopts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promExp)}
	if getenv("OTEL_METRICS_EXPORTER") != "" {
		r, err := autoexport.NewMetricReader(ctx)
		if err != nil {
			return nil, err
		}
		mopts = append(mopts, sdkmetric.WithReader(r))
	}
	mp := sdkmetric.NewMeterProvider(mopts...)
	m, err := newMetrics(mp.Meter("github.com/flowbridge/flowbridge"))
	if err != nil {
		return nil, err
	}
	return &Telemetry{
		TracerProvider: tp,
		MeterProvider:  mp,
		Propagator:     propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		Metrics:        m,
		registry:       reg,
	}, nil
}

// Tracer returns a named tracer from the provider.
func (t *Telemetry) Tracer(name string) trace.Tracer { return t.TracerProvider.Tracer(name) }

// Meter returns a named meter from the provider.
func (t *Telemetry) Meter(name string) metric.Meter { return t.MeterProvider.Meter(name) }

// MetricsHandler serves the Prometheus text format.
func (t *Telemetry) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{})
}

// Shutdown flushes and stops both providers.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	return errors.Join(t.TracerProvider.Shutdown(ctx), t.MeterProvider.Shutdown(ctx))
}

type noopExporter struct{}

func (noopExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (noopExporter) Shutdown(context.Context) error                             { return nil }
