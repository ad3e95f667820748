package handlers

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
)

// The /docs page is Swagger UI (npm swagger-ui-dist, vendored by
// scripts/vendor-docs-ui into docs/vendor and served from the binary, so
// it works offline): field tables from the schemas, a request console
// that sends the Bearer key given in its Authorize dialog, curl snippets.
// It renders a docs variant of openapi.yaml, made once on first use:
// without the servers list (so "Try it out" calls the service that serves
// the page) and with each operation's x-flow-liquid template shown in its
// description. The page runs under a strict CSP: scripts and styles only
// from the service, no inline script, requests only to the service.

//go:embed docs/index.html docs/init.js docs/style.css docs/vendor/swagger-ui-bundle.js.gz docs/vendor/swagger-ui.css.gz
var docsFS embed.FS

// DocsCSP is the Content-Security-Policy of every /docs response.
const DocsCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

type docAsset struct {
	file, contentType string
	gzipped           bool
}

var docAssets = map[string]docAsset{
	"":                     {"docs/index.html", "text/html; charset=utf-8", false},
	"init.js":              {"docs/init.js", "text/javascript; charset=utf-8", false},
	"style.css":            {"docs/style.css", "text/css; charset=utf-8", false},
	"swagger-ui-bundle.js": {"docs/vendor/swagger-ui-bundle.js.gz", "text/javascript; charset=utf-8", true},
	"swagger-ui.css":       {"docs/vendor/swagger-ui.css.gz", "text/css; charset=utf-8", true},
}

// renderDocs returns the docs variant of the spec as JSON.
func renderDocs(spec []byte) ([]byte, error) {
	if len(spec) == 0 {
		return nil, fmt.Errorf("docs: no OpenAPI document given")
	}
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("docs: parse openapi.yaml: %w", err)
	}
	doc.Servers = nil
	for _, pi := range doc.Paths.Map() {
		for _, op := range pi.Operations() {
			liquid, ok := op.Extensions["x-flow-liquid"].(string)
			if !ok {
				continue
			}
			op.Description += "\n\n**Shopify Flow: the Send HTTP request step** (Liquid, from `x-flow-liquid`):\n\n```liquid\n" + liquid + "\n```"
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("docs: encode: %w", err)
	}
	return b, nil
}

// Docs handles GET /docs: the reference page.
func (h *Handlers) Docs(c echo.Context) error {
	return h.serveDoc(c, "")
}

// DocsAsset handles GET /docs/:asset: the page's script, styles, the
// vendored renderer and the docs variant of the spec (openapi.json).
func (h *Handlers) DocsAsset(c echo.Context) error {
	name := c.Param("asset")
	if name == "openapi.json" {
		b, err := h.docsSpec()
		if err != nil {
			return err
		}
		docsHeaders(c)
		return c.Blob(http.StatusOK, "application/json", b)
	}
	if name == "" {
		name = "style.css" // the route of older builds
	}
	if _, ok := docAssets[name]; !ok {
		return echo.ErrNotFound
	}
	return h.serveDoc(c, name)
}

func docsHeaders(c echo.Context) {
	hd := c.Response().Header()
	hd.Set("Content-Security-Policy", DocsCSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
}

func (h *Handlers) serveDoc(c echo.Context, name string) error {
	a := docAssets[name]
	b, err := docsFS.ReadFile(a.file)
	if err != nil {
		return err
	}
	docsHeaders(c)
	hd := c.Response().Header()
	if name != "" {
		hd.Set("Cache-Control", "public, max-age=3600")
	}
	if a.gzipped {
		hd.Add("Vary", "Accept-Encoding")
		if strings.Contains(c.Request().Header.Get("Accept-Encoding"), "gzip") {
			hd.Set("Content-Encoding", "gzip")
			return c.Blob(http.StatusOK, a.contentType, b)
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return err
		}
		if b, err = io.ReadAll(zr); err != nil {
			return err
		}
	}
	return c.Blob(http.StatusOK, a.contentType, b)
}
