package resilient

import (
	"github.com/flowbridge/flowbridge/internal/redact"
	"net/http"
	"net/url"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// scrubSpan sits just under otelhttp. otelhttp records the full request
// URL (url.full), query string included, and a supplier may take a key or
// a customer's data there; this layer overwrites that attribute with a copy
// whose query values and user info are removed, and adds the supplier name
// and attempt number. Headers (Authorization) are never recorded by
// otelhttp's defaults, and this package sets no header-capturing option.
type scrubSpan struct {
	next http.RoundTripper
	name string
}

func (s scrubSpan) RoundTrip(r *http.Request) (*http.Response, error) {
	if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
		span.SetAttributes(
			attribute.String("url.full", safeURL(r.URL)),
			attribute.String("supplier.name", s.name),
			attribute.Int("supplier.attempt", attemptFrom(r.Context())),
		)
	}
	return s.next.RoundTrip(r)
}

// safeURL is u as a trace may show it (see redact.URL).
func safeURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	return redact.URL(u).String()
}
