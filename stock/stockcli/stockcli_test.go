package stockcli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/flowbridge/flowbridge/internal/apptest"
	"github.com/flowbridge/flowbridge/stock/stockcli"
	"github.com/flowbridge/flowbridge/stock/stocktest"
)

func fakeShop(t *testing.T) (*stocktest.Shop, map[string]string) {
	shop := stocktest.New(t)
	for _, bc := range []string{"8400000000017", "8400000000031", "8400000000079"} {
		shop.Add(stocktest.Item{Title: "Item " + bc, Barcode: stocktest.Barcode(bc), Tracked: true, Levels: map[string]int{stocktest.LevelLocation: 10}})
	}
	return shop, map[string]string{"SHOPIFY_SHOP": "example", "SHOPIFY_ADMIN_TOKEN": shop.Token, "SHOPIFY_ADMIN_BASE_URL": shop.URL}
}

func run(env map[string]string, args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	err := stockcli.Run(context.Background(), args, func(k string) string { return env[k] }, &out, &errb)
	return out.String(), errb.String(), err
}

func TestSyncDryRunThenSync(t *testing.T) {
	shop, env := fakeShop(t)
	out, _, err := run(env, "sync", "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DRY RUN", "Supplier warehouse", "10 → 250", "10 → 80", "unknown_to_supplier", "8400000000079", "dry_run"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if calls, _ := shop.SetCalls(); calls != 0 {
		t.Fatalf("the dry run wrote %d times", calls)
	}
	env["FLOWBRIDGE_STOCK_MAX_CHANGES"] = "1"
	if _, _, err := run(env, "sync"); err == nil || !strings.Contains(err.Error(), "stock_cap_tripped") {
		t.Errorf("over the cap: %v", err)
	}
	if out, _, err = run(env, "sync", "--allow-large"); err != nil || !strings.Contains(out, " ok: ") {
		t.Fatalf("%v\n%s", err, out)
	}
	if q, _ := shop.Available("gid://shopify/InventoryItem/1", stocktest.LevelLocation); q != 250 {
		t.Errorf("available %d after sync", q)
	}
}

func TestSyncNeedsShopCredentials(t *testing.T) {
	if _, _, err := run(map[string]string{}, "sync"); err == nil || !strings.Contains(err.Error(), "SHOPIFY_ADMIN_TOKEN") {
		t.Errorf("err = %v", err)
	}
}

func TestStatus(t *testing.T) {
	_, env := fakeShop(t)
	a := apptest.Start(t, apptest.Options{Env: env})
	if r := a.Do("POST", "/stock/sync", map[string]any{}); r.Status != 202 {
		t.Fatal(r.Status)
	}
	a.Server.Stock().Runner.Wait()
	out, _, err := run(map[string]string{"FLOWBRIDGE_URL": a.URL, "FLOWBRIDGE_OPERATOR_KEY": a.OperatorKey}, "status")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"configured=true", "(api, sandbox) ok", "changed 8400000000017", "10 → 250", "not synced 8400000000079"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := run(map[string]string{"FLOWBRIDGE_URL": a.URL, "FLOWBRIDGE_OPERATOR_KEY": a.APIKey}, "status"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("Flow key: %v", err)
	}
}
