package server_test

import (
	"github.com/flowbridge/flowbridge/internal/browsertest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/flowbridge/flowbridge/internal/apptest"
)

// TestDocsPageInBrowser opens /docs in real headless Chromium, checks that
// the page renders from the spec with its embedded stylesheet and loads
// nothing from anywhere but the service itself (it must work offline), and
// saves a screenshot to docs/docs-page.png for a person to look at.
// scripts/test installs chromium; a missing browser fails the test.
func TestDocsPageInBrowser(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})

	tctx := browsertest.Start(t, 1280, 900, 45*time.Second)

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("chromium: %v", err)
		}
	}
	must(chromedp.Do(tctx, chromedp.Navigate(app.URL+"/docs"), chromedp.WaitVisible(chromedp.CSS("#post-rates"))))
	title, err := chromedp.Run(tctx, chromedp.Title())
	must(err)
	h1, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("h1")))
	must(err)
	headerBG, err := chromedp.Run(tctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("header")).backgroundColor`))
	must(err)
	sections, err := chromedp.Run(tctx, chromedp.Evaluate[int](`document.querySelectorAll("section.op").length`))
	must(err)
	rates, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("#post-rates")))
	must(err)
	// Every resource the page loaded (the browser's own record).
	requested, err := chromedp.Run(tctx, chromedp.Evaluate[[]string](`[location.href].concat(performance.getEntriesByType("resource").map(e => e.name))`))
	must(err)
	// The first screen (viewport) as PNG: what a person sees on opening the page.
	shot, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
	must(err)

	if !strings.Contains(title, "flowbridge") || !strings.Contains(h1, "flowbridge") {
		t.Errorf("title %q / h1 %q do not name the service", title, h1)
	}
	// The stylesheet is embedded and served by the binary: if it did not
	// load, the header would have no background.
	if headerBG != "rgb(18, 38, 63)" {
		t.Errorf("header background = %q: the embedded stylesheet did not apply", headerBG)
	}
	if sections < 7 {
		t.Errorf("%d operations rendered, want every endpoint of the spec", sections)
	}
	for _, want := range []string{"shipping_cost_id", "order.shippingAddress.countryCodeV2 | json", "429"} {
		if !strings.Contains(rates, want) {
			t.Errorf("POST /rates section lacks %q", want)
		}
	}
	if len(requested) < 2 {
		t.Errorf("the page loaded no resources (%v); the stylesheet should be one", requested)
	}
	for _, u := range requested {
		if !strings.HasPrefix(u, app.URL+"/") {
			t.Errorf("the page requested %s: it must load only from the service (offline)", u)
		}
	}
	// The committed screenshot is refreshed only on request, so a test run
	// leaves the work tree as it found it.
	dir := t.TempDir()
	if os.Getenv("FLOWBRIDGE_SCREENSHOTS") != "" {
		dir = filepath.Join("..", "docs")
	}
	out := filepath.Join(dir, "docs-page.png")
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatalf("save screenshot: %v", err)
	}
}
