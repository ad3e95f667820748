package resilient_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/resilient"
)

func TestSpansCarryNoCredentials(t *testing.T) {
	const token, key, email = "tok-SECRET-1234", "key-SECRET-5678", "ana@example.com"
	f := newFake(t, failOnce(status(503)))
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	cfg := fastConfig()
	cfg.Name = "bigbuy"
	cfg.TracerProvider = tp
	hc := newClient(t, cfg).HTTPClient()

	u := strings.Replace(f.srv.URL, "http://", "http://user:"+key+"@", 1) + "/rest/shipping/orders.json?api_key=" + key + "&email=" + email
	ctx := resilient.WithOperation(supplier.Retryable(context.Background()), "rates")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()

	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want one per attempt (2)", len(spans))
	}
	for i, s := range spans {
		if s.Name != "supplier.bigbuy rates" {
			t.Errorf("span name %q", s.Name)
		}
		dump := fmt.Sprintf("%s %v %v %v %v", s.Name, s.Attributes, s.Events, s.Status, s.Links)
		for _, secret := range []string{token, key, email, "Bearer"} {
			if strings.Contains(dump, secret) {
				t.Errorf("span %d carries %q: %s", i, secret, dump)
			}
		}
		attrs := map[string]string{}
		for _, a := range s.Attributes {
			attrs[string(a.Key)] = a.Value.String()
		}
		if want := "/rest/shipping/orders.json?api_key=REDACTED&email=REDACTED"; !strings.HasSuffix(attrs["url.full"], want) {
			t.Errorf("url.full = %q, want it to end in %q", attrs["url.full"], want)
		}
		if attrs["supplier.name"] != "bigbuy" || attrs["supplier.attempt"] != fmt.Sprint(i+1) {
			t.Errorf("span %d attributes %v", i, attrs)
		}
	}
}
