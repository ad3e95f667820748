package console_test

import (
	"context"
	"github.com/flowbridge/flowbridge/internal/apptest"
	"github.com/flowbridge/flowbridge/internal/browsertest"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/flowbridge/flowbridge/handlers"
	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/stock"
	"github.com/flowbridge/flowbridge/store"
	"github.com/flowbridge/flowbridge/store/memstore"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
	"github.com/flowbridge/flowbridge/timeline"
)

const operatorKey = "op-key-for-the-browser-test-7f3a9c"

// consoleApp serves the console and the operator API over an in-process
// timeline, through the server's route table and operator-key check.
func consoleApp(t *testing.T) (*httptest.Server, *timeline.MemoryStore, func() []string) {
	t.Helper()
	tl := timeline.NewMemoryStore(timeline.Options{})
	seedOrders(t, tl)
	// Decisions go through a real orders service (sandbox supplier,
	// in-process store) whose observations a timeline.Recorder writes to
	// tl, as the server wires them: the resolved event the test reads is
	// the Recorder's, not the handler's.
	st := memstore.New(nil)
	svc, err := orders.New(orders.Config{Supplier: sandbox.New(sandbox.Config{}), Store: st, Observer: timeline.NewRecorder(tl, "default", nil)})
	if err != nil {
		t.Fatal(err)
	}
	// 5102 is held for review (seedOrders): its record says so too.
	held := store.Key{Shop: "demo.myshopify.com", OrderID: "5102", Purpose: orders.PurposePlace}
	if _, err := st.Transition(context.Background(), held, store.Transition{From: []store.State{store.StateAbsent}, To: store.StateNeedsReview, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var calls []string
	op := &handlers.Operator{
		Timeline: tl,
		Resolve: func(ctx context.Context, shop, orderID string, r orders.Resolution) error {
			mu.Lock()
			calls = append(calls, strings.Join([]string{shop, orderID, r.Action, r.SupplierOrderID}, "|"))
			mu.Unlock()
			_, err := svc.Resolve(ctx, shop, orderID, r)
			return err
		},
	}
	app := apptest.Start(t, apptest.Options{Operator: op, NoContract: true, Stock: &handlers.Stock{History: seedStock(t), Interval: "1h0m0s"},
		Env: map[string]string{"FLOWBRIDGE_OPERATOR_KEYS": operatorKey}})
	srv := httptest.NewServer(app.Server.Handler())
	t.Cleanup(srv.Close)
	return srv, tl, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), calls...)
	}
}

// seedStock records one stock sync run for the stock view.
func seedStock(t *testing.T) stock.History {
	t.Helper()
	h := stock.NewMemoryHistory(5)
	at := time.Now().UTC().Add(-10 * time.Minute)
	run := stock.Run{ID: "run-1", Trigger: "interval", Supplier: "bts", Status: stock.StatusPartial, Started: at, Finished: at.Add(42 * time.Second),
		DurationMS: 42000, Variants: 120, Matched: 117, Planned: 3, Applied: 2, Failed: 1, UnmatchedCount: 1, Vanished: 1, LowMargin: 1,
		Changes: []stock.Change{{EAN: "8400000000017", Title: "Ceramic mug <b>350</b>", From: 10, To: 248, Supplier: 250},
			{EAN: "8400000000062", Title: "Linen tablecloth", From: 4, To: 0, Vanished: true}},
		Failures:   []stock.Failure{{VariantID: "gid://shopify/ProductVariant/9", EAN: "8400000000031", Code: stock.CodeStale, Detail: "kept changing"}},
		Unmatched:  []stock.Unmatched{{Title: "Gift wrap", Barcode: "8400000000079", Reason: stock.ReasonUnknown, Detail: "the supplier has no product with barcode 8400000000079"}},
		LowMargins: []stock.Margin{{EAN: "8400000000055", Title: "Skillet", Percent: 4.5, Low: true}}}
	if err := h.Add(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	return h
}

func seedOrders(t *testing.T, tl timeline.Store) {
	t.Helper()
	ctx := context.Background()
	at := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	add := func(id string, evs ...timeline.Event) {
		for _, ev := range evs {
			at = at.Add(7 * time.Minute)
			ev.At = at
			if err := tl.Append(ctx, "demo.myshopify.com", id, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	quoted := timeline.Event{Kind: timeline.KindRatesQuoted, Op: "rates", Carrier: "GLS", Reason: "preferred: GLS is the first preferred carrier offered", Address: "ES 46***"}
	claimed := timeline.Event{Kind: timeline.KindPlacementClaimed, Op: "place"}
	check := func(status, raw string, n int) timeline.Event {
		return timeline.Event{Kind: timeline.KindTrackingChecked, Op: "tracking", Status: status, RawStatus: raw, TrackingNumbers: n}
	}
	add("5101", quoted, claimed,
		timeline.Event{Kind: timeline.KindOrderCreated, Op: "place", SupplierOrderID: "690005604133", Status: "pending", RawStatus: "Pending", Address: "ES 46***"},
		timeline.Event{Kind: timeline.KindOrderReplayed, Op: "place", SupplierOrderID: "690005604133", Status: "pending", RawStatus: "Pending"},
		check("processing", "Processing", 0), check("shipped", "Shipped", 1))
	add("5104", quoted, claimed,
		timeline.Event{Kind: timeline.KindOrderCreated, Op: "place", SupplierOrderID: "690005604188", Status: "pending", RawStatus: "Pending", Address: "PT 40***"},
		check("processing", "Processing", 0), check("processing", "Processing", 0), check("processing", "Processing", 0),
		check("processing", "Processing", 0), check("processing", "Processing", 0))
	add("5105", claimed,
		timeline.Event{Kind: timeline.KindOrderCreated, Op: "place", SupplierOrderID: "690005604190", Status: "pending", RawStatus: "Pending", Address: "FR 75***"},
		check("cancelled", "Cancelled by supplier", 0))
	add("5103", quoted, claimed,
		timeline.Event{Kind: timeline.KindOrderCreated, Op: "place", SupplierOrderID: "T-77", Status: "pending", RawStatus: "Awaiting transfer", TestMode: true, Address: "ES 28***"})
	add("5102", quoted, claimed,
		timeline.Event{Kind: timeline.KindError, Op: "place", Code: "in_flight", Note: "a duplicate call arrived while another was placing the order; answered 429 with Retry-After"},
		timeline.Event{Kind: timeline.KindError, Op: "place", Code: "outcome_unknown", Note: "the supplier may or may not have created the order"},
		timeline.Event{Kind: timeline.KindHeldForReview, Op: "place", Address: "ES 46***",
			Reason: "BTS cannot be asked for an order by reference. Look for order 5102 placed around 09:40 in the BTS portal."})
}

// TestConsoleInBrowser loads /console in headless Chromium, is refused
// with a wrong key, connects with the operator key, finds the order held
// for review, resolves it with the keyboard and the confirmation dialog,
// and sees its state change. It saves the screenshots under docs/.
func TestConsoleInBrowser(t *testing.T) {
	srv, tl, resolveCalls := consoleApp(t)

	tctx := browsertest.Start(t, 1366, 860, 60*time.Second)

	// Collect what the page reports (CSP violations, script errors, failed
	// loads) while the test drives it.
	cctx, stopConsole := context.WithCancel(tctx)
	messages := chromedp.Console(cctx)
	var problems []string
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				problems = append(problems, string(m.Type)+": "+m.Text)
			}
		}
	}()

	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("chromium, %s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel)))
		must("text of "+sel, err)
		return v
	}
	row := `#rows tr[data-order="5102"]`
	poll := func(expr string) {
		t.Helper()
		_, err := chromedp.Run(tctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(10*time.Second)))
		must("waiting for "+expr, err)
	}

	must("open", chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/console"), chromedp.WaitVisible(chromedp.ID("key"))))

	// A wrong key is refused and the page asks again.
	must("wrong key", chromedp.Do(tctx, chromedp.SendKeys(chromedp.ID("key"), "not-the-key"), chromedp.Click(chromedp.CSS("#key-form button[type=submit]"))))
	poll(`document.getElementById("status").textContent.includes("refused")`)
	statusAfterWrongKey := text("#status")

	must("connect", chromedp.Do(tctx, chromedp.SendKeys(chromedp.ID("key"), operatorKey+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(row))))
	rows, err := chromedp.Run(tctx, chromedp.Evaluate[int](`document.querySelectorAll("#rows tr").length`))
	must("rows", err)
	attentionRows, err := chromedp.Run(tctx, chromedp.Evaluate[int](`document.querySelectorAll("#rows tr.attention").length`))
	must("attention rows", err)
	heldBadge := text(row + " .badge")
	// hidden elements must really disappear (layout CSS must not override it).
	keyFormShown, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`getComputedStyle(document.getElementById("key-form")).display !== "none"`))
	must("key form", err)
	stored, err := chromedp.Run(tctx, chromedp.Evaluate[string](`sessionStorage.getItem("flowbridge.operatorKey")`))
	must("session storage", err)
	html, err := chromedp.Run(tctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	must("html", err)
	// The stock view shows the last run in full, as text (never HTML).
	poll(`document.getElementById("stock-lists").querySelectorAll("table").length === 4`)
	stockText := text("#stock")
	stockHTML, err := chromedp.Run(tctx, chromedp.Evaluate[string](`document.getElementById("stock").innerHTML`))
	must("stock html", err)
	listShot, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	must("list screenshot", err)

	// Open the held order with the keyboard, adopt the number found.
	must("open order", chromedp.Do(tctx, chromedp.Focus(chromedp.CSS(row+" button.order")), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.ID("resolve-form"))))
	resolveVisible, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`!document.getElementById("resolve-form").hidden`))
	must("resolve form", err)
	must("resolve", chromedp.Do(tctx, chromedp.SendKeys(chromedp.ID("number"), "690005604155"),
		chromedp.Click(chromedp.CSS(`#resolve-form button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("confirm"))))
	dialogOpen, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`document.getElementById("confirm").open`))
	must("dialog", err)
	dialogText := text("#confirm-text")
	confirmShot, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
	must("confirm screenshot", err)
	must("confirm", chromedp.Do(tctx, chromedp.Click(chromedp.ID("confirm-ok"))))
	poll(`document.querySelector('#rows tr[data-order="5102"] .badge').textContent === "placed"`)
	stateAfter := text(row + " .badge")
	rowStillFlagged, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`document.querySelector('#rows tr[data-order="5102"]').classList.contains("attention")`))
	must("flag", err)
	must("timeline", chromedp.Do(tctx, chromedp.WaitVisible(chromedp.CSS("#events li.k-resolved"))))
	statusAfter := text("#status")
	resolveStillShown, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`getComputedStyle(document.getElementById("resolve-form")).display !== "none"`))
	must("resolve form after", err)
	requested, err := chromedp.Run(tctx, chromedp.Evaluate[[]string](`[location.href].concat(performance.getEntriesByType("resource").map(e => e.name))`))
	must("resources", err)
	timelineShot, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	must("timeline screenshot", err)

	// The "needing a person" filter now lists the two others only.
	_, err = chromedp.Run(tctx, chromedp.Evaluate[bool](`(() => { const f = document.getElementById("filter"); f.value = "attention"; f.dispatchEvent(new Event("change")); return true; })()`))
	must("filter", err)
	poll(`document.querySelectorAll("#rows tr").length === 2`)
	filtered, err := chromedp.Run(tctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#rows tr")].map(r => r.dataset.order)`))
	must("filtered rows", err)
	stopConsole()
	<-consoleDone

	for _, want := range []string{"partly written", "2 of 3 planned", "10 → 248", "gone", "unknown_to_supplier", "8400000000079", "stock_quantity_stale", "4.5 %", "Not configured on this instance"} {
		if !strings.Contains(stockText, want) {
			t.Errorf("stock view lacks %q:\n%s", want, stockText)
		}
	}
	if strings.Contains(stockHTML, "<b>350</b>") {
		t.Error("a variant title was rendered as HTML")
	}
	if !strings.Contains(statusAfterWrongKey, "refused") {
		t.Errorf("wrong key: status %q", statusAfterWrongKey)
	}
	if rows != 5 || attentionRows != 3 || heldBadge != "needs review" {
		t.Errorf("list: %d rows, %d flagged, held order badge %q; want 5, 3 (review, cancelled, no tracking), needs review", rows, attentionRows, heldBadge)
	}
	if keyFormShown || resolveStillShown {
		t.Errorf("key form shown after connecting: %v; resolve form shown after resolving: %v", keyFormShown, resolveStillShown)
	}
	if stored != operatorKey {
		t.Errorf("key not kept in sessionStorage")
	}
	if strings.Contains(html, operatorKey) {
		t.Error("the operator key is in the page's HTML")
	}
	if !resolveVisible || !dialogOpen {
		t.Errorf("resolve form visible %v, confirmation dialog open %v", resolveVisible, dialogOpen)
	}
	if stateAfter != "placed" || rowStillFlagged {
		t.Errorf("after resolving: badge %q, still flagged %v", stateAfter, rowStillFlagged)
	}
	if len(requested) < 3 {
		t.Errorf("the page loaded %v; want the page, its stylesheet and its script", requested)
	}
	if calls := resolveCalls(); len(calls) != 1 || calls[0] != "demo.myshopify.com|5102|adopt|690005604155" {
		t.Errorf("resolve calls %v", calls)
	}
	o, err := tl.Get(context.Background(), "demo.myshopify.com", "5102")
	if err != nil {
		t.Fatal(err)
	}
	last := o.Events[len(o.Events)-1]
	if o.State != timeline.StatePlaced || last.Kind != timeline.KindResolved || last.Via != "console" || !strings.HasPrefix(last.Actor, "key ") {
		t.Errorf("timeline after resolving: state %s, last %+v", o.State, last)
	}
	if !strings.Contains(dialogText, "690005604155") || !strings.Contains(dialogText, "5102") {
		t.Errorf("confirmation text %q does not name the order and the number", dialogText)
	}
	if strings.Join(filtered, ",") != "5105,5104" {
		t.Errorf("attention filter lists %v, want 5105 (cancelled) and 5104 (no tracking)", filtered)
	}
	if !strings.Contains(statusAfter, "resolved") {
		t.Errorf("status after resolving: %q", statusAfter)
	}
	for _, u := range requested {
		if !strings.HasPrefix(u, srv.URL+"/") {
			t.Errorf("the page requested %s: it must load only from the service", u)
		}
	}
	for _, p := range problems {
		// The refused key's 401 is expected; anything else (a CSP
		// violation, a script error) is a failure.
		if !strings.Contains(p, "401") {
			t.Errorf("browser reported: %s", p)
		}
	}
	// The committed screenshots are refreshed only on request
	// (FLOWBRIDGE_SCREENSHOTS=1), so a test run leaves the tree clean.
	dir := t.TempDir()
	if os.Getenv("FLOWBRIDGE_SCREENSHOTS") != "" {
		dir = filepath.Join("..", "docs")
	}
	for name, shot := range map[string][]byte{"console-list.png": listShot, "console-timeline.png": timelineShot, "console-confirm.png": confirmShot} {
		if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
			t.Fatalf("save %s: %v", name, err)
		}
	}
}
