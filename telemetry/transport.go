package telemetry

import (
	"context"
	"errors"
	"github.com/flowbridge/flowbridge/internal/redact"
	"net/http"
	"net/url"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

// Transport instruments outbound calls: one client span per request (child
// of the span in the request's context), W3C traceparent injected into the
// outgoing headers, and otelhttp's client metrics.
//
// otelhttp records url.full including the query string, and suppliers such
// as BigBuy-like APIs take keys there. So otelhttp is handed a copy of the
// request whose URL has every query value and any user info replaced by
// REDACTED (query keys stay, so a trace still shows which parameters were
// sent), and the layer below puts the target URL back just before base sends
// it. No header is recorded (otelhttp records none by default and no
// header-capturing option is set), so Authorization and API-key headers
// stay out of spans. Errors from base are scrubbed of the raw query too.
//
// supplier/resilient builds its own otelhttp transport: give it this
// Telemetry's providers (TracerProvider, MeterProvider, Propagator) instead
// of wrapping it again, or each attempt would get two client spans.
func (t *Telemetry) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	ot := otelhttp.NewTransport(restoreURL{next: base},
		otelhttp.WithTracerProvider(t.TracerProvider),
		otelhttp.WithMeterProvider(t.MeterProvider),
		otelhttp.WithPropagators(t.Propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return "HTTP " + r.Method + " " + r.URL.Host
		}),
	)
	return redactURL{next: ot}
}

type targetURLKey struct{}

// redactURL sits above otelhttp and hides secrets in the URL from it.
type redactURL struct{ next http.RoundTripper }

func (t redactURL) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL == nil || (r.URL.RawQuery == "" && r.URL.User == nil && r.URL.Fragment == "") {
		return t.next.RoundTrip(r)
	}
	target := r.URL
	shown := r.Clone(context.WithValue(r.Context(), targetURLKey{}, target))
	shown.URL = SafeURL(target)
	// resp.Request is the request restoreURL sent, with the target URL, so
	// http.Client's redirect handling sees the true location.
	return t.next.RoundTrip(shown)
}

// restoreURL sits below otelhttp and sends the request to the target URL.
type restoreURL struct{ next http.RoundTripper }

func (t restoreURL) RoundTrip(r *http.Request) (*http.Response, error) {
	target, ok := r.Context().Value(targetURLKey{}).(*url.URL)
	if !ok {
		return t.next.RoundTrip(r)
	}
	// r is otelhttp's clone (it carries the injected traceparent); it is
	// ours to change.
	r.URL = target
	resp, err := t.next.RoundTrip(r)
	if err != nil && target.RawQuery != "" && strings.Contains(err.Error(), target.RawQuery) {
		// otelhttp records the error text on the span.
		err = errors.New(strings.ReplaceAll(err.Error(), target.RawQuery, SafeURL(target).RawQuery))
	}
	return resp, err
}

// SafeURL returns a copy of u without user info or fragment and with every
// query value replaced by REDACTED. Use it for anything that logs a URL.
func SafeURL(u *url.URL) *url.URL { return redact.URL(u) }
