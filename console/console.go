// Package console serves flowbridge's operator console: one static page
// (HTML, CSS and a small JavaScript module embedded in the binary, no CDN,
// no build step) that talks to the operator API under /admin with the
// operator key the person types in. The page holds no secret and no data:
// everything it shows comes from /admin, which refuses requests without
// an operator key.
package console

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"time"
)

// The assets are compiled in; embed needs a package-level variable.
//
//go:embed assets
var assets embed.FS

// CSP allows only this origin's own script, style and API calls, no
// inline code, no framing, no forms posting anywhere, no <base> tricks.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// Path is where the page is served.
const Path = "/console"

type asset struct {
	body        []byte
	contentType string
}

// Handler serves GET/HEAD /console and its assets with the security
// headers; anything else under /console is 404.
func Handler() http.Handler {
	files := map[string]asset{}
	for name, ct := range map[string]string{
		"index.html":  "text/html; charset=utf-8",
		"app.js":      "text/javascript; charset=utf-8",
		"style.css":   "text/css; charset=utf-8",
		"favicon.svg": "image/svg+xml",
	} {
		b, err := fs.ReadFile(assets, "assets/"+name)
		if err != nil {
			// The files are embedded at build time; a missing one is a
			// build mistake that tests catch.
			panic("console: " + err.Error())
		}
		files[name] = asset{body: b, contentType: ct}
	}
	routes := map[string]asset{
		Path:                  files["index.html"],
		Path + "/app.js":      files["app.js"],
		Path + "/style.css":   files["style.css"],
		Path + "/favicon.svg": files["favicon.svg"],
	}
	modTime := time.Time{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		SecurityHeaders(h)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Path == Path+"/" {
			http.Redirect(w, r, Path, http.StatusMovedPermanently)
			return
		}
		a, ok := routes[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h.Set("Content-Type", a.contentType)
		// The page is tiny and changes with the binary: always revalidate.
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "", modTime, bytes.NewReader(a.body))
	})
}

// SecurityHeaders sets the headers every console response carries.
func SecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
}
