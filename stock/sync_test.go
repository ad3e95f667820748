package stock_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/shopify"
	"github.com/flowbridge/flowbridge/stock"
	"github.com/flowbridge/flowbridge/stock/stocktest"
	"github.com/flowbridge/flowbridge/supplier/bts"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

const loc = stocktest.LevelLocation

// world is a fake shop selling the sandbox catalogue, behind Shopify's cost
// gate, and a syncer between them.
type world struct {
	shop  *stocktest.Shop
	gate  *stocktest.Gate
	clock *stocktest.Clock
	sup   *sandbox.Supplier
	hist  *stock.MemoryHistory
	sync  *stock.Syncer
	admin *stock.AdminShop
}

func item(barcode string, avail int) stocktest.Item {
	return stocktest.Item{Title: "Product " + barcode, Barcode: stocktest.Barcode(barcode), Price: "9.99", Tracked: true,
		Levels: map[string]int{loc: avail}}
}

func newWorld(t *testing.T, items ...stocktest.Item) *world {
	t.Helper()
	w := &world{shop: stocktest.New(t), clock: stocktest.NewClock(), sup: sandbox.New(sandbox.Config{}), hist: stock.NewMemoryHistory(10)}
	w.shop.Add(items...)
	w.gate = stocktest.NewGate(t, w.shop, stocktest.Standard, w.clock)
	client := &shopify.Client{Shop: "example.myshopify.com", Token: w.shop.Token, BaseURL: w.gate.URL, Sleep: w.clock.Sleep}
	w.admin = &stock.AdminShop{Client: client, PollEvery: 1}
	w.sync = &stock.Syncer{Shop: w.admin, Source: w.sup, Supplier: "sandbox", History: w.hist, Now: w.clock.Now}
	return w
}

func (w *world) avail(t *testing.T, itemID string) int {
	t.Helper()
	q, ok := w.shop.Available(itemID, loc)
	if !ok {
		t.Fatalf("%s not stocked", itemID)
	}
	return q
}

// Sandbox catalogue: mug 250, tote 500, bottle 80, skillet 2, tablecloth 0.
func catalogueItems() []stocktest.Item {
	return []stocktest.Item{
		item("8400000000017", 10),  // mug: 250 at the supplier
		item("8400000000024", 500), // tote: already right with no buffer
		item("84 0000000005 5", 9), // skillet, typed with spaces: 2
		item("8400000000062", 4),   // tablecloth: sold out at the supplier
		item("8400000000079", 6),   // valid GTIN the supplier does not sell
		item("8400000000018", 6),   // wrong check digit
		{Title: "Gift card", Tracked: false, Levels: map[string]int{loc: 0}},
	}
}

func TestFirstSyncThenNoOp(t *testing.T) {
	w := newWorld(t, catalogueItems()...)
	ctx := context.Background()
	run, pl, err := w.sync.Run(ctx, stock.Options{Trigger: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"gid://shopify/InventoryItem/1": 250, "gid://shopify/InventoryItem/2": 500,
		"gid://shopify/InventoryItem/3": 2, "gid://shopify/InventoryItem/4": 0,
		"gid://shopify/InventoryItem/5": 6, "gid://shopify/InventoryItem/6": 6}
	for id, q := range want {
		if got := w.avail(t, id); got != q {
			t.Errorf("%s: available %d, want %d", id, got, q)
		}
	}
	if run.Status != stock.StatusOK || run.Applied != 3 || run.Planned != 3 || run.Matched != 4 || run.Unchanged != 1 || run.NoBarcode != 1 {
		t.Errorf("run = %+v", run)
	}
	reasons := map[string]bool{}
	for _, u := range pl.Unmatched {
		reasons[u.Barcode+" "+u.Reason] = true
	}
	if !reasons["8400000000079 "+stock.ReasonUnknown] || !reasons["8400000000018 "+stock.ReasonInvalidBarcode] || len(pl.Unmatched) != 2 {
		t.Errorf("unmatched = %+v", pl.Unmatched)
	}
	for _, s := range w.shop.Sets() {
		if s.LocationID != loc || !strings.HasPrefix(s.Reference, "gid://flowbridge/StockSync/") {
			t.Errorf("set %+v", s)
		}
	}
	for _, r := range w.shop.Requests() {
		if l, ok := r.Variables["location"]; ok && l != loc {
			t.Errorf("asked about location %v", l)
		}
	}

	calls, _ := w.shop.SetCalls()
	run2, _, err := w.sync.Run(ctx, stock.Options{Trigger: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	if c2, _ := w.shop.SetCalls(); c2 != calls || run2.Planned != 0 || run2.Applied != 0 || run2.Status != stock.StatusOK {
		t.Errorf("second sync wrote: calls %d → %d, run %+v", calls, c2, run2)
	}
	runs, _ := w.hist.Runs(ctx, 5)
	if len(runs) != 2 || runs[0].ID != run2.ID {
		t.Errorf("history = %d runs", len(runs))
	}
}

func TestBufferAndMargins(t *testing.T) {
	w := newWorld(t, item("8400000000017", 0), item("8400000000055", 0))
	w.sync.Policy = stock.Policy{Buffer: 2, MinMarginPercent: 30}
	_, pl, err := w.sync.Run(context.Background(), stock.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := w.avail(t, "gid://shopify/InventoryItem/1"), w.avail(t, "gid://shopify/InventoryItem/2"); a != 248 || b != 0 {
		t.Errorf("with buffer 2: %d, %d; want 248, 0", a, b)
	}
	// Price 9.99 EUR against sandbox costs 4.99 (50 %) and 39.99 (−300 %).
	if len(pl.Margins) != 2 || pl.LowMargin != 1 || !pl.Margins[0].Low || pl.Margins[0].EAN != "8400000000055" {
		t.Errorf("margins = %+v", pl.Margins)
	}
}

func TestConcurrentSaleIsKept(t *testing.T) {
	w := newWorld(t, item("8400000000017", 10), item("8400000000031", 5))
	// A customer buys 3 mugs between the sync's read and its write.
	w.shop.OnSet(func(call int, sell func(string, string, int)) {
		if call == 1 {
			sell("gid://shopify/InventoryItem/1", loc, 3)
		}
	})
	run, _, err := w.sync.Run(context.Background(), stock.Options{})
	if err != nil {
		t.Fatal(err)
	}
	calls, stale := w.shop.SetCalls()
	if calls != 2 || stale != 1 || run.Retries != 1 {
		t.Errorf("calls %d, stale %d, retries %d; want 2, 1, 1", calls, stale, run.Retries)
	}
	// The supplier's 250 does not know the sale yet: 247 stay sellable.
	if got := w.avail(t, "gid://shopify/InventoryItem/1"); got != 247 {
		t.Errorf("mug: %d, want 247 (the sale kept)", got)
	}
	if got := w.avail(t, "gid://shopify/InventoryItem/2"); got != 80 {
		t.Errorf("bottle: %d, want 80", got)
	}
	if run.Status != stock.StatusOK || run.Applied != 2 {
		t.Errorf("run = %+v", run)
	}
}

func TestGuardGivesUpOnABusyItem(t *testing.T) {
	w := newWorld(t, item("8400000000017", 10))
	w.shop.OnSet(func(_ int, sell func(string, string, int)) { sell("gid://shopify/InventoryItem/1", loc, 1) })
	w.sync.Attempts = 3
	run, _, err := w.sync.Run(context.Background(), stock.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != stock.StatusPartial || run.Failed != 1 || run.Failures[0].Code != stock.CodeStale {
		t.Errorf("run = %+v", run)
	}
	if got := w.avail(t, "gid://shopify/InventoryItem/1"); got != 7 {
		t.Errorf("available %d, want 7 (three sales, nothing overwritten)", got)
	}
}

func TestCapTripped(t *testing.T) {
	w := newWorld(t, item("8400000000017", 1), item("8400000000024", 1), item("8400000000031", 1))
	w.sync.Policy.MaxChanges = 2
	run, pl, err := w.sync.Run(context.Background(), stock.Options{})
	if !problem.Is(err, stock.CodeCapTripped) {
		t.Fatalf("err = %v, want %s", err, stock.CodeCapTripped)
	}
	if calls, _ := w.shop.SetCalls(); calls != 0 {
		t.Errorf("%d writes after the cap tripped", calls)
	}
	if run.Status != stock.StatusCapTripped || len(run.Changes) != 3 || !pl.CapTripped || !strings.Contains(run.Error, "cap of 2") {
		t.Errorf("run = %+v", run)
	}
	run, _, err = w.sync.Run(context.Background(), stock.Options{AllowLarge: true})
	if err != nil || run.Applied != 3 {
		t.Errorf("allow-large: %v %+v", err, run)
	}
}

func TestVanishedProductGoesToZero(t *testing.T) {
	w := newWorld(t, item("8400000000017", 1), item("8400000000079", 4))
	ctx := context.Background()
	if _, _, err := w.sync.Run(ctx, stock.Options{}); err != nil {
		t.Fatal(err)
	}
	w.sup.SetStock("8400000000017", -1) // discontinued
	run, pl, err := w.sync.Run(ctx, stock.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.avail(t, "gid://shopify/InventoryItem/1"); got != 0 {
		t.Errorf("vanished product shows %d", got)
	}
	if run.Vanished != 1 || len(run.Changes) != 1 || !run.Changes[0].Vanished || run.Changes[0].From != 250 {
		t.Errorf("run = %+v", run)
	}
	// Never known to the supplier: left alone, listed.
	if got := w.avail(t, "gid://shopify/InventoryItem/2"); got != 4 || len(pl.Unmatched) != 1 {
		t.Errorf("unknown barcode: %d, unmatched %+v", got, pl.Unmatched)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	w := newWorld(t, catalogueItems()...)
	run, pl, err := w.sync.Run(context.Background(), stock.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if calls, _ := w.shop.SetCalls(); calls != 0 || len(pl.Changes) != 3 || run.Status != stock.StatusDryRun {
		t.Errorf("calls %d, plan %+v", calls, pl)
	}
	var b strings.Builder
	stock.WriteTable(&b, pl)
	for _, want := range []string{"8400000000017", "10 → 250", "unknown_to_supplier"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	known, _ := w.hist.Known(context.Background())
	if len(known) != 0 {
		t.Errorf("a dry run remembered %d barcodes", len(known))
	}
}

func TestBulkOperationForLargeCatalogues(t *testing.T) {
	w := newWorld(t, catalogueItems()...)
	w.admin.BulkThreshold = 5
	run, _, err := w.sync.Run(context.Background(), stock.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if w.shop.BulkRuns() != 1 || w.shop.Count("productVariants") != 0 || run.Applied != 3 || run.Variants != 7 {
		t.Errorf("bulk runs %d, pages %d, run %+v", w.shop.BulkRuns(), w.shop.Count("productVariants"), run)
	}
}

func TestBulkBusyFallsBackToPages(t *testing.T) {
	w := newWorld(t, catalogueItems()...)
	w.admin.BulkThreshold = 5
	w.shop.BulkBusy(true)
	run, _, err := w.sync.Run(context.Background(), stock.Options{})
	if err != nil || run.Applied != 3 || w.shop.BulkRuns() != 0 || w.shop.Count("productVariants") != 1 {
		t.Errorf("err %v, run %+v, bulk %d, pages %d", err, run, w.shop.BulkRuns(), w.shop.Count("productVariants"))
	}
}

func TestMissingScopeIsExplained(t *testing.T) {
	w := newWorld(t, catalogueItems()...)
	w.shop.SetScopes("read_products", "read_inventory", "read_locations")
	_, _, err := w.sync.Run(context.Background(), stock.Options{})
	if !problem.Is(err, shopify.CodeAccessDenied) || !strings.Contains(err.Error(), "write_inventory") {
		t.Errorf("err = %v", err)
	}
}

func TestTwoReplicasOneRunner(t *testing.T) {
	srv := redistest.Start(t)
	prefix := redistest.Prefix(t)
	w := newWorld(t, catalogueItems()...)
	runners := make([]*stock.Runner, 2)
	for i := range runners {
		rdb := redistest.ClientFor(t, srv.URL())
		s := *w.sync
		s.History = stock.NewRedisHistory(rdb, prefix, 10)
		runners[i] = &stock.Runner{Syncer: &s, Lease: stock.NewRedisLease(rdb, prefix), Interval: 3600e9}
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	ran := make([]bool, 2)
	errs := make([]error, 2)
	start := make(chan struct{})
	for i, r := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ran[i], errs[i] = r.Tick(ctx)
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if ran[0] == ran[1] {
		t.Fatalf("ran = %v, want exactly one runner", ran)
	}
	// A replica whose ticker fires later in the same round does nothing.
	for _, r := range runners {
		if again, err := r.Tick(ctx); again || err != nil {
			t.Errorf("second tick in the round ran: %v %v", again, err)
		}
	}
	runs, err := runners[0].Syncer.History.Runs(ctx, 10)
	if err != nil || len(runs) != 1 || runs[0].Trigger != "interval" || runs[0].Applied != 3 {
		t.Errorf("shared history: %v %+v", err, runs)
	}
	if calls, _ := w.shop.SetCalls(); calls != 1 {
		t.Errorf("%d writes, want 1", calls)
	}
	// A manual run while another holds the run lease is refused as busy.
	rdb := redistest.ClientFor(t, srv.URL())
	lease := stock.NewRedisLease(rdb, prefix)
	if ok, _, err := lease.Acquire(ctx, "run", "other-run", 60e9); !ok || err != nil {
		t.Fatal(ok, err)
	}
	_, _, err = runners[1].RunNow(ctx, stock.Options{Trigger: "cli"})
	if !problem.Is(err, stock.CodeRunning) || !strings.Contains(err.Error(), "other-run") {
		t.Errorf("RunNow under another's lease: %v", err)
	}
	id, running, err := runners[0].Start(ctx, ctx, stock.Options{Trigger: "api"})
	if err != nil || !running || id != "other-run" {
		t.Errorf("Start under another's lease: %q %v %v", id, running, err)
	}
	if errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

// The BTS adapter on the wire: batches of 100, paced, margins from its prices.
func TestSyncFromBTSWire(t *testing.T) {
	items, levels := catalogue(300)
	w := newWorld(t, items...)
	sup := stocktest.NewBTS(t, w.clock, 5, levels)
	client, err := bts.New(bts.Config{BaseURL: sup.URL + "/v1/api", Token: sup.Token,
		HTTPClient: &http.Client{Transport: &stocktest.Pacer{Clock: w.clock, Rate: 5}}})
	if err != nil {
		t.Fatal(err)
	}
	w.sync.Source, w.sync.Supplier = client, "bts"
	w.sync.Policy = stock.Policy{MinMarginPercent: 70}
	run, pl, err := w.sync.Run(context.Background(), stock.Options{AllowLarge: true})
	if err != nil {
		t.Fatal(err)
	}
	calls, tooFast, maxBatch := sup.Calls()
	if calls != 3 || tooFast != 0 || maxBatch != 100 {
		t.Errorf("BTS calls %d (too fast %d, largest %d); want 3 batches of ≤100", calls, tooFast, maxBatch)
	}
	if run.Applied != 288 || run.UnmatchedCount != 6 || run.NoBarcode != 6 {
		t.Errorf("run = applied %d unmatched %d no barcode %d", run.Applied, run.UnmatchedCount, run.NoBarcode)
	}
	for i, it := range items[:60] {
		if it.Barcode == nil {
			continue
		}
		want, sold := levels[*it.Barcode]
		got := w.avail(t, fmt.Sprintf("gid://shopify/InventoryItem/%d", i+1))
		if sold && got != want || !sold && got != 0 {
			t.Errorf("%s: %d, want %d", *it.Barcode, got, want)
		}
	}
	// BTS cost 7.10 EUR against a price of 19.90: 64.3 %, below 70.
	if pl.LowMargin != 288 || pl.Margins[0].Percent != 64.3 {
		t.Errorf("margins: %d low, first %+v", pl.LowMargin, pl.Margins[0])
	}
}

func TestSpans(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	w := newWorld(t, catalogueItems()...)
	w.sync.Tracer = tp.Tracer("test")
	if _, _, err := w.sync.Run(context.Background(), stock.Options{Trigger: "cli"}); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	var root tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		names[s.Name] = true
		if s.Name == "stock.sync" {
			root = s
		}
	}
	for _, n := range []string{"stock.sync", "stock.read_shopify", "stock.read_supplier", "stock.write"} {
		if !names[n] {
			t.Errorf("no span %s (have %v)", n, names)
		}
	}
	attrs := map[string]string{}
	for _, a := range root.Attributes {
		attrs[string(a.Key)] = a.Value.String()
	}
	if attrs["stock.status"] != "ok" || attrs["stock.applied"] != "3" || attrs["stock.trigger"] != "cli" {
		t.Errorf("root span attributes %v", attrs)
	}
}
