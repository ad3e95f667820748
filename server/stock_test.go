package server_test

import (
	"strings"
	"testing"

	"github.com/flowbridge/flowbridge/internal/apptest"
	"github.com/flowbridge/flowbridge/server"
	"github.com/flowbridge/flowbridge/stock/stocktest"
)

func TestStockSyncOverHTTP(t *testing.T) {
	shop := stocktest.New(t)
	shop.Add(stocktest.Item{Title: "Mug", Barcode: stocktest.Barcode("8400000000017"), Tracked: true,
		Levels: map[string]int{stocktest.LevelLocation: 3}})
	a := apptest.Start(t, apptest.Options{Env: map[string]string{
		"SHOPIFY_SHOP": "example.myshopify.com", "SHOPIFY_ADMIN_TOKEN": shop.Token, "SHOPIFY_ADMIN_BASE_URL": shop.URL,
		"FLOWBRIDGE_STOCK_BUFFER": "1",
	}})
	if r := a.DoWith("POST", "/stock/sync", map[string]any{}, nil); r.Status != 401 {
		t.Fatalf("no key: %d", r.Status)
	}
	if r := a.DoWith("POST", "/stock/sync", map[string]any{}, map[string]string{"Authorization": "Bearer " + a.OperatorKey}); r.Status != 401 {
		t.Errorf("operator key on a Flow route: %d", r.Status)
	}
	// Hold the run at its first write, to see it from outside while it runs.
	reached, release := make(chan struct{}), make(chan struct{})
	shop.OnSet(func(call int, _ func(string, string, int)) {
		if call == 1 {
			close(reached)
			<-release
		}
	})
	r := a.Do("POST", "/stock/sync", map[string]any{})
	if r.Status != 202 || r.JSON()["state"] != "started" || r.JSON()["run_id"] == "" {
		t.Fatalf("POST /stock/sync: %d %s", r.Status, r.Body)
	}
	<-reached
	// A re-send (Flow, a second schedule) starts nothing and names the run.
	again := a.Do("POST", "/stock/sync", map[string]any{})
	if again.Status != 202 || again.JSON()["state"] != "already_running" || again.JSON()["run_id"] != r.JSON()["run_id"] {
		t.Errorf("POST during a run: %d %s", again.Status, again.Body)
	}
	during := a.DoWith("GET", "/admin/stock", nil, map[string]string{"Authorization": "Bearer " + a.OperatorKey})
	if during.JSON()["running"] != r.JSON()["run_id"] || len(during.JSON()["runs"].([]any)) != 0 {
		t.Errorf("status during the run: %s", during.Body)
	}
	close(release)
	a.Server.Stock().Runner.Wait()
	if q, _ := shop.Available("gid://shopify/InventoryItem/1", stocktest.LevelLocation); q != 249 {
		t.Errorf("available %d, want 249 (250 minus the buffer)", q)
	}

	if r := a.Do("GET", "/admin/stock", nil); r.Status != 401 {
		t.Errorf("Flow key on /admin/stock: %d", r.Status)
	}
	st := a.DoWith("GET", "/admin/stock", nil, map[string]string{"Authorization": "Bearer " + a.OperatorKey})
	runs, _ := st.JSON()["runs"].([]any)
	if st.Status != 200 || len(runs) != 1 || st.JSON()["configured"] != true || st.JSON()["running"] != "" {
		t.Fatalf("GET /admin/stock: %d %s", st.Status, st.Body)
	}
	run := runs[0].(map[string]any)
	if run["id"] != r.JSON()["run_id"] || run["status"] != "ok" || run["trigger"] != "api" || run["applied"] != float64(1) {
		t.Errorf("run = %v", run)
	}
	if bad := a.DoWith("GET", "/admin/stock?limit=0", nil, map[string]string{"Authorization": "Bearer " + a.OperatorKey}); bad.Status != 400 {
		t.Errorf("limit=0: %d", bad.Status)
	}
}

func TestStockSyncNotConfigured(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	r := a.Do("POST", "/stock/sync", map[string]any{})
	if r.Status != 422 || r.Code() != "stock_sync_not_configured" {
		t.Errorf("%d %s", r.Status, r.Body)
	}
	st := a.DoWith("GET", "/admin/stock", nil, map[string]string{"Authorization": "Bearer " + a.OperatorKey})
	if st.Status != 200 || st.JSON()["configured"] != false {
		t.Errorf("%d %s", st.Status, st.Body)
	}
}

func TestStockSettings(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	if _, _, err := server.LoadConfig(nil, env("FLOWBRIDGE_STOCK_SYNC_INTERVAL", "1h")); err == nil || !strings.Contains(err.Error(), "SHOPIFY_ADMIN_TOKEN") {
		t.Errorf("interval without credentials: %v", err)
	}
	if _, _, err := server.LoadConfig(nil, env("FLOWBRIDGE_STOCK_SYNC_INTERVAL", "1m", "SHOPIFY_SHOP", "x", "SHOPIFY_ADMIN_TOKEN", "shpat_x")); err == nil || !strings.Contains(err.Error(), "at least 5m") {
		t.Errorf("1m interval: %v", err)
	}
	cfg, warn, err := server.LoadConfig(nil, env("FLOWBRIDGE_SUPPLIER", "bigbuy", "FLOWBRIDGE_BIGBUY_API_KEY", "k-AbCdEfGh12345678",
		"FLOWBRIDGE_STOCK_SYNC_INTERVAL", "10m", "SHOPIFY_SHOP", "shop", "SHOPIFY_ADMIN_TOKEN", "shpat_x", "FLOWBRIDGE_STOCK_BUFFER", "2"))
	if err != nil || cfg.ShopifyShop != "shop.myshopify.com" || cfg.StockBuffer != 2 || cfg.StockMaxChanges != 500 || !strings.Contains(strings.Join(warn, " "), "10 stock-list calls an hour") {
		t.Errorf("cfg %+v warnings %v err %v", cfg, warn, err)
	}
	if _, _, err := server.LoadConfig(nil, env("FLOWBRIDGE_STOCK_BUFFER", "-1")); err == nil || !strings.Contains(err.Error(), "FLOWBRIDGE_STOCK_BUFFER") {
		t.Errorf("negative buffer: %v", err)
	}
}
