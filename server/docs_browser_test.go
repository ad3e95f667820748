package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/flowbridge/flowbridge/internal/apptest"
	"github.com/flowbridge/flowbridge/internal/browsertest"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

// TestDocsPageInBrowser opens /docs in real headless Chromium as a
// developer would: authorizes with the Flow key in the renderer's dialog,
// opens POST /rates, sends its example with "Try it out" and reads the
// answer on the page. The request must reach the service (the sandbox
// counts it) and come back 200; the page must show the Liquid template and
// the field table, load nothing from anywhere but the service (offline),
// and run without a CSP violation or script error under its strict CSP.
// It saves a screenshot to docs/docs-page.png on request.
func TestDocsPageInBrowser(t *testing.T) {
	sb := sandbox.New(sandbox.Config{})
	app := apptest.Start(t, apptest.Options{Supplier: sb})

	tctx := browsertest.Start(t, 1280, 1000, 60*time.Second)
	cctx, stopConsole := context.WithCancel(tctx)
	var problems []string
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		for m, err := range chromedp.Console(cctx) {
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
	op := "#operations-flow-postRates"
	must("open", chromedp.Do(tctx, chromedp.Navigate(app.URL+"/docs"), chromedp.WaitVisible(chromedp.CSS(op))))

	// Authorize: the dialog lists every key scheme; the Flow key goes into
	// flowKey's field.
	must("authorize dialog", chromedp.Do(tctx, chromedp.Click(chromedp.CSS(".scheme-container button.authorize")),
		chromedp.WaitVisible(chromedp.CSS(".auth-container input"))))
	_, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`(() => {
		for (const c of document.querySelectorAll(".auth-container")) {
			if (c.textContent.includes("flowKey")) {
				c.querySelector("input").id = "flow-key";
				c.querySelector("button.authorize").id = "flow-key-authorize";
				return true;
			}
		}
		return false;
	})()`))
	must("find the flowKey field", err)
	must("type the key", chromedp.Do(tctx, chromedp.SendKeys(chromedp.ID("flow-key"), app.APIKey),
		chromedp.Click(chromedp.ID("flow-key-authorize")), chromedp.Click(chromedp.CSS(".btn-done"))))

	// Open POST /rates, try it out with the example body, execute.
	must("open POST /rates", chromedp.Do(tctx, chromedp.Click(chromedp.CSS(op+" .opblock-summary")),
		chromedp.WaitVisible(chromedp.CSS(op+" .try-out__btn"))))
	described, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(op+" .opblock-description-wrapper")))
	must("description", err)
	must("schema tab", chromedp.Do(tctx, chromedp.Click(chromedp.CSS(op+` .opblock-section-request-body button[data-name="model"]`)),
		chromedp.WaitVisible(chromedp.CSS(op+" .opblock-section-request-body .model-box"))))
	fields, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(op+" .opblock-section-request-body .model-box")))
	must("field table", err)
	must("try it out", chromedp.Do(tctx, chromedp.Click(chromedp.CSS(op+" .try-out__btn")),
		chromedp.WaitVisible(chromedp.CSS(op+" .execute")), chromedp.Click(chromedp.CSS(op+" .execute")),
		chromedp.WaitVisible(chromedp.CSS(op+" .live-responses-table tbody .response-col_status"))))
	status, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(op+" .live-responses-table tbody .response-col_status")))
	must("status", err)
	answer, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(op+" .live-responses-table tbody .response-col_description")))
	must("answer", err)
	curl, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(op+" .curl-command")))
	must("curl", err)
	requested, err := chromedp.Run(tctx, chromedp.Evaluate[[]string](`[location.href].concat(performance.getEntriesByType("resource").map(e => e.name))`))
	must("resources", err)
	shot, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
	must("screenshot", err)
	stopConsole()
	<-consoleDone

	if !strings.Contains(status, "200") || !strings.Contains(answer, "shipping_cost_id") || !strings.Contains(answer, `"ok": true`) {
		t.Errorf("the page shows status %q and answer %.300q, want 200 with a chosen option", status, answer)
	}
	if st := sb.Stats(); st.RatesCalls != 1 {
		t.Errorf("the service's supplier saw %d rate calls, want the page's 1", st.RatesCalls)
	}
	if !strings.Contains(curl, "Authorization: Bearer "+app.APIKey) {
		t.Errorf("the curl snippet does not carry the Bearer key: %.300q", curl)
	}
	for _, want := range []string{"li.variant.barcode | json", "order.shippingAddress.countryCodeV2 | json"} {
		if !strings.Contains(described, want) {
			t.Errorf("POST /rates does not show the Liquid template (%q): %.400q", want, described)
		}
	}
	for _, want := range []string{"shipping_address", "line_items", "country_code", "maxItems"} {
		if !strings.Contains(fields, want) {
			t.Errorf("the request field table lacks %q: %.400q", want, fields)
		}
	}
	for _, u := range requested {
		if !strings.HasPrefix(u, app.URL+"/") {
			t.Errorf("the page requested %s: it must load only from the service (offline)", u)
		}
	}
	if len(problems) > 0 {
		t.Errorf("the page reported errors (CSP violations show here): %v", problems)
	}
	dir := t.TempDir()
	if os.Getenv("FLOWBRIDGE_SCREENSHOTS") != "" {
		dir = filepath.Join("..", "docs")
	}
	if err := os.WriteFile(filepath.Join(dir, "docs-page.png"), shot, 0o644); err != nil {
		t.Fatalf("save screenshot: %v", err)
	}
}
