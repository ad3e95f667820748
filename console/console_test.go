package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/flowbridge/flowbridge/console"
	"github.com/flowbridge/flowbridge/internal/apptest"
)

func get(t *testing.T, srv *httptest.Server, method, path string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func servers(t *testing.T) map[string]*httptest.Server {
	plain := httptest.NewServer(console.Handler())
	t.Cleanup(plain.Close)
	// and as the server's route table mounts it
	viaServer := httptest.NewServer(apptest.Start(t, apptest.Options{NoContract: true}).Server.Handler())
	t.Cleanup(viaServer.Close)
	return map[string]*httptest.Server{"http.Handler": plain, "server": viaServer}
}

func checkHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
}

func TestServesPageAndAssetsWithSecurityHeaders(t *testing.T) {
	for name, srv := range servers(t) {
		t.Run(name, func(t *testing.T) {
			for _, c := range []struct{ path, ctype, contains string }{
				{"/console", "text/html; charset=utf-8", "<h1>flowbridge"},
				{"/console/app.js", "text/javascript; charset=utf-8", "function api("},
				{"/console/style.css", "text/css; charset=utf-8", ":focus-visible"},
			} {
				res, body := get(t, srv, "GET", c.path)
				if res.StatusCode != 200 || res.Header.Get("Content-Type") != c.ctype || !strings.Contains(body, c.contains) {
					t.Errorf("GET %s: %d %q, body has %q: %v", c.path, res.StatusCode, res.Header.Get("Content-Type"), c.contains, strings.Contains(body, c.contains))
				}
				checkHeaders(t, c.path, res.Header)
				if res, body := get(t, srv, "HEAD", c.path); res.StatusCode != 200 || body != "" {
					t.Errorf("HEAD %s: %d", c.path, res.StatusCode)
				}
			}
			res, _ := get(t, srv, "GET", "/console/")
			if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/console" {
				t.Errorf("/console/: %d to %q", res.StatusCode, res.Header.Get("Location"))
			}
			res, _ = get(t, srv, "GET", "/console/../../etc/passwd")
			if res.StatusCode == 200 {
				t.Errorf("path escape served something")
			}
			res, _ = get(t, srv, "GET", "/console/secret.txt")
			if res.StatusCode != 404 {
				t.Errorf("unknown asset: %d", res.StatusCode)
			}
			checkHeaders(t, "404", res.Header)
		})
	}
	res, _ := get(t, servers(t)["http.Handler"], "POST", "/console")
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /console: %d", res.StatusCode)
	}
}

// The page must work under the CSP (nothing inline) and must carry no
// secret or data: it is served without a key.
func TestPageHasNothingInlineAndNoSecret(t *testing.T) {
	srv := servers(t)["http.Handler"]
	_, html := get(t, srv, "GET", "/console")
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)<script(?:\s+type="module")?>`),       // inline script
		regexp.MustCompile(`(?i)<style`),                              // inline style element
		regexp.MustCompile(`(?i)\sstyle=`),                            // style attribute
		regexp.MustCompile(`(?i)\son[a-z]+=`),                         // inline event handler
		regexp.MustCompile(`(?i)javascript:`),                         // script URL
		regexp.MustCompile(`(?i)https?://`),                           // any external URL (no CDN)
		regexp.MustCompile(`(?i)(bearer\s+[a-z0-9_-]{8,}|api_?key=)`), // a key baked in
	} {
		if m := bad.FindString(html); m != "" {
			t.Errorf("page contains %q", m)
		}
	}
	for _, ref := range regexp.MustCompile(`(?:src|href)="([^"#]+)"`).FindAllStringSubmatch(html, -1) {
		res, _ := get(t, srv, "GET", "/"+ref[1])
		if res.StatusCode != 200 {
			t.Errorf("the page refers to %s, which is %d", ref[1], res.StatusCode)
		}
	}
	_, js := get(t, srv, "GET", "/console/app.js")
	if strings.Contains(js, "innerHTML") || strings.Contains(js, "eval(") || strings.Contains(js, "localStorage") {
		t.Error("app.js uses innerHTML, eval or localStorage")
	}
}
