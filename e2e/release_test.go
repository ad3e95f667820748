package e2e

import (
	"net/http"
	"testing"

	"github.com/flowbridge/flowbridge/internal/apptest"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

// Releasing an order's cached tracking makes the next check ask the
// supplier again; without it the cached answer is served.
func TestReleaseCacheAsksTheSupplierAgain(t *testing.T) {
	eachBackend(t, func(t *testing.T, redisURL string) {
		clk := newClock()
		sb := sandbox.New(sandbox.Config{Now: clk.Now})
		app := apptest.Start(t, apptest.Options{Supplier: sb, Now: clk.Now, RedisURL: redisURL,
			Env: map[string]string{"FLOWBRIDGE_SHOP": shop}})
		c := newClient(t, app)
		q := c.flow(http.MethodPost, "/rates", ratesBody("7301"))
		rate, _ := q.JSON()["shipping_cost_id"].(string)
		if r := c.flow(http.MethodPost, "/orders", orderBody("7301", rate, "")); r.Status != http.StatusOK {
			t.Fatalf("place: %d %s", r.Status, r.Body)
		}
		track := func() {
			t.Helper()
			if r := c.flow(http.MethodGet, "/tracking/7301?by=shopify_order", nil); r.Status != http.StatusOK {
				t.Fatalf("tracking: %d %s", r.Status, r.Body)
			}
		}
		track()
		track()
		if n := sb.Stats().TrackingCalls; n != 1 {
			t.Fatalf("supplier asked %d times for two checks within the cache's freshness; want 1", n)
		}
		if r := c.operator(http.MethodPost, "/admin/orders/7301/release-cache", map[string]any{}); r.Status != http.StatusOK {
			t.Fatalf("release-cache: %d %s", r.Status, r.Body)
		}
		track()
		if n := sb.Stats().TrackingCalls; n != 2 {
			t.Fatalf("supplier asked %d times after the release; want 2", n)
		}
	})
}
