package resilient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/resilient"
)

// An adapter takes the *http.Client; reads mark their context Retryable,
// creates do not, and every 429 / refusal becomes a *problem.Error.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/rest/order/create.json" {
			w.Header().Set("X-RateLimit-Reset", fmt.Sprint(time.Now().Add(3*time.Second).Unix()))
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, "You exceeded the rate limit")
			return
		}
		_, _ = io.WriteString(w, `{"shippingOptions":[]}`)
	}))
	defer srv.Close()

	// Wiring (the server does this once per supplier, with its Redis client).
	c, err := resilient.New(resilient.Config{Name: "bigbuy", RatePerSecond: 50, Burst: 5})
	if err != nil {
		panic(err)
	}
	hc := c.HTTPClient()

	// A read: marked, so 429/502/503/504 and network errors are re-sent.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rctx := resilient.WithOperation(supplier.Retryable(ctx), "rates")
	req, _ := http.NewRequestWithContext(rctx, http.MethodPost, srv.URL+"/rest/shipping/orders.json", strings.NewReader(`{}`))
	resp, err := hc.Do(req)
	if err != nil {
		panic(err)
	}
	_ = resp.Body.Close()
	fmt.Println("rates:", resp.StatusCode)

	// A create: not marked, sent once; a 429 comes back as a response.
	cctx := resilient.WithOperation(ctx, "create_order")
	req, _ = http.NewRequestWithContext(cctx, http.MethodPost, srv.URL+"/rest/order/create.json", strings.NewReader(`{}`))
	resp, err = hc.Do(req)
	switch {
	case err != nil && resilient.NotSent(err):
		// Refused before sending (breaker open, no rate-limit slot in time,
		// limiter down): a *problem.Error to return as is; no order exists.
		var pe *problem.Error
		errors.As(err, &pe)
		fmt.Println("not sent:", pe.Code)
	case err != nil:
		// May have reached the supplier: outcome unknown, reconcile.
		fmt.Println("unknown outcome")
	case resp.StatusCode == http.StatusTooManyRequests:
		_ = resp.Body.Close()
		pe := resilient.RateLimited(resp, 5*time.Second)
		fmt.Println("create:", pe.Code, pe.Kind, pe.RetryAfter > 0)
	}
	// Output:
	// rates: 200
	// create: supplier_rate_limited unavailable true
}
