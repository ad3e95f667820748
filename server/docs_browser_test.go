package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/flowbridge/flowbridge/internal/apptest"
)

// TestDocsPageInBrowser opens /docs in real headless Chromium, checks that
// the page renders from the spec with its embedded stylesheet and loads
// nothing from anywhere but the service itself (it must work offline), and
// saves a screenshot to docs/docs-page.png for a person to look at.
// scripts/test installs chromium; a missing browser fails the test.
func TestDocsPageInBrowser(t *testing.T) {
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Fatal("no chromium on PATH: install it (apt-get install -y chromium) or run scripts/test, which does")
	}
	app := apptest.Start(t, apptest.Options{})

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 45*time.Second)
	defer cancelTimeout()

	var mu sync.Mutex
	var requested []string
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requested = append(requested, e.Request.URL)
			mu.Unlock()
		}
	})

	var title, h1, headerBG, rates string
	var sections int
	var shot []byte
	err := chromedp.Run(ctx,
		network.Enable(),
		chromedp.Navigate(app.URL+"/docs"),
		chromedp.WaitVisible("#post-rates", chromedp.ByQuery),
		chromedp.Title(&title),
		chromedp.Text("h1", &h1, chromedp.ByQuery),
		chromedp.Evaluate(`getComputedStyle(document.querySelector("header")).backgroundColor`, &headerBG),
		chromedp.Evaluate(`document.querySelectorAll("section.op").length`, &sections),
		chromedp.Text("#post-rates", &rates, chromedp.ByQuery),
		chromedp.FullScreenshot(&shot, 90),
	)
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
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
	mu.Lock()
	for _, u := range requested {
		if !strings.HasPrefix(u, app.URL+"/") {
			t.Errorf("the page requested %s: it must load only from the service (offline)", u)
		}
	}
	mu.Unlock()
	out := filepath.Join("..", "docs", "docs-page.png")
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatalf("save screenshot: %v", err)
	}
}
