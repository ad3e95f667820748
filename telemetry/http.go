package telemetry

import (
	"context"
	"net/http"
	"strings"
	"sync"

	"github.com/felixge/httpsnoop"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
)

// UnmatchedRoute labels requests that matched no route (scanners, typos).
// Using the raw path instead would let anyone on the internet create a new
// time series per URL they try.
const UnmatchedRoute = "unmatched"

type routeKey struct{}

// routeSlot is filled in by the router (SetRoute) while the request runs and
// read by HTTPMiddleware when it finishes.
type routeSlot struct {
	method string
	span   trace.Span // the server span
	mu     sync.Mutex
	route  string
}

// HTTPMiddleware wraps the whole service handler (the Echo instance, or any
// http.Handler). For every request it
//   - continues the caller's W3C trace context (traceparent) or starts a
//     trace, and opens one server span (otelhttp, with this Telemetry's
//     providers and propagator, never the otel globals);
//   - names the span "METHOD route" and sets http.route once the router
//     reports the route through SetRoute (Echo) or r.Pattern (net/http's
//     ServeMux);
//   - records flowbridge.http.server.duration by method, route and status.
//
// otelhttp records method, path, status, peer and user agent; it records no
// request headers (so not Authorization) and no body.
func (t *Telemetry) HTTPMiddleware(next http.Handler) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slot := &routeSlot{method: r.Method, span: trace.SpanFromContext(r.Context())}
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, slot))
		m := httpsnoop.CaptureMetrics(next, w, r)
		slot.mu.Lock()
		route := slot.route
		slot.mu.Unlock()
		if route == "" {
			// net/http's ServeMux sets Pattern on the request it was given.
			route = patternRoute(r.Pattern)
		}
		if route == "" {
			route = UnmatchedRoute
		}
		t.Metrics.httpRequest(r.Context(), r.Method, route, m.Code, m.Duration.Seconds())
	})
	return otelhttp.NewHandler(inner, "http.server",
		otelhttp.WithTracerProvider(t.TracerProvider),
		// The server's duration is recorded once, above, with the route
		// template the alerts use; otelhttp's own copy of it (by method and
		// status only) cost ~2 % of the CPU of a replayed order (bench/).
		otelhttp.WithMeterProvider(noop.NewMeterProvider()),
		otelhttp.WithPropagators(t.Propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if p := patternRoute(r.Pattern); p != "" {
				return r.Method + " " + p
			}
			return r.Method
		}),
	)
}

// SetRoute tells HTTPMiddleware which route template (e.g. "/tracking/:id")
// served the request. Call it from the router as soon as the route is known;
// with Echo that is a middleware registered with e.Use doing
// telemetry.SetRoute(c.Request().Context(), c.Path()). It renames the server
// span to "METHOD route", sets http.route on it and on otelhttp's request
// metrics, and labels flowbridge.http.server.duration. Outside
// HTTPMiddleware it only sets http.route on the span in ctx, if any.
func SetRoute(ctx context.Context, route string) {
	if route == "" {
		return
	}
	if l, ok := otelhttp.LabelerFromContext(ctx); ok {
		l.Add(semconv.HTTPRoute(route))
	}
	slot, ok := ctx.Value(routeKey{}).(*routeSlot)
	if !ok {
		trace.SpanFromContext(ctx).SetAttributes(semconv.HTTPRoute(route))
		return
	}
	slot.mu.Lock()
	slot.route = route
	slot.mu.Unlock()
	// The server span, even when ctx already carries a child span.
	slot.span.SetAttributes(semconv.HTTPRoute(route))
	slot.span.SetName(slot.method + " " + route)
}

// patternRoute turns a ServeMux pattern ("POST /orders/{id}") into its path.
func patternRoute(p string) string {
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[i:]
	}
	return ""
}

// SpanAttributes adds low-cardinality business attributes (order id,
// supplier, idempotency outcome…) to the span in ctx. Never pass credentials,
// addresses, names, e-mails or phone numbers.
func SpanAttributes(ctx context.Context, kv ...attribute.KeyValue) {
	trace.SpanFromContext(ctx).SetAttributes(kv...)
}
