package flowsim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/flowtemplates"
	"github.com/flowbridge/flowbridge/internal/apptest"
	"github.com/flowbridge/flowbridge/stock/stocktest"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

// TestSimulatedStockSync runs the generated stock sync workflow against a
// real flowbridge (sandbox supplier, the stock tests' Admin API fake): an
// accepted call starts a run that GET /admin/stock reports and that set
// the stock; a refused call reaches the alert and starts nothing.
func TestSimulatedStockSync(t *testing.T) {
	cases := []struct {
		name string
		// badKey sends a key flowbridge does not know; noShop leaves the
		// stock sync unconfigured.
		badKey, noShop bool
		wantCode       string
	}{
		{name: "accepted"},
		{name: "wrong key", badKey: true, wantCode: "unauthorized"},
		{name: "not configured", noShop: true, wantCode: "stock_sync_not_configured"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewVirtualClock(simStart)
			shop := stocktest.New(t)
			shop.Add(stocktest.Item{Title: "Mug", Barcode: stocktest.Barcode("8400000000017"), Tracked: true,
				Levels: map[string]int{stocktest.LevelLocation: 3}})
			env := map[string]string{"SHOPIFY_SHOP": "example.myshopify.com", "SHOPIFY_ADMIN_TOKEN": shop.Token, "SHOPIFY_ADMIN_BASE_URL": shop.URL}
			if tc.noShop {
				env = nil
			}
			a := apptest.Start(t, apptest.Options{Supplier: sandbox.New(sandbox.Config{Now: clock.Now}), Now: clock.Now, Env: env})

			p := flowtemplates.Defaults()
			p.BaseURL = a.URL
			w, err := flowtemplates.BuildStockSync(p)
			if err != nil {
				t.Fatal(err)
			}
			if issues := Lint(w, nil); len(issues) > 0 {
				t.Fatalf("lint: %s", Summary(issues))
			}
			key := a.APIKey
			if tc.badKey {
				key = "not-" + key
			}
			sim := New(Options{Clock: clock, Secrets: map[string]string{p.SecretName: key}, HTTP: HTTPBehaviour{Timeout: 5 * time.Second}})
			store := &Store{}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := sim.Run(ctx, w, store)
			if err != nil || res.Failed {
				t.Fatalf("run: %v %+v", err, res)
			}
			if !tc.noShop {
				a.Server.Stock().Runner.Wait()
			}
			st := a.DoWith("GET", "/admin/stock", nil, map[string]string{"Authorization": "Bearer " + a.OperatorKey})
			runs, _ := st.JSON()["runs"].([]any)
			q, _ := shop.Available("gid://shopify/InventoryItem/1", stocktest.LevelLocation)

			if tc.wantCode == "" {
				if len(store.Emails) != 0 {
					t.Errorf("alert on an accepted call: %+v", store.Emails)
				}
				if len(runs) != 1 || runs[0].(map[string]any)["status"] != "ok" || runs[0].(map[string]any)["trigger"] != "api" {
					t.Fatalf("GET /admin/stock after the workflow: %s", st.Body)
				}
				if q != 250 {
					t.Errorf("available %d, want the sandbox's 250", q)
				}
				return
			}
			if len(store.Emails) != 1 || !strings.Contains(store.Emails[0].Subject, tc.wantCode) ||
				!strings.Contains(strings.Join(store.Emails[0].To, ","), p.AlertEmails[0]) {
				t.Fatalf("want one alert naming %s, got %+v", tc.wantCode, store.Emails)
			}
			if len(runs) != 0 || q != 3 {
				t.Errorf("a refused call changed something: runs %v, available %d", runs, q)
			}
		})
	}
}
