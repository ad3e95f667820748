package handlers

import (
	"embed"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
)

// The /docs page is rendered from the same openapi.yaml the service
// serves, by html/template with embedded CSS: no JavaScript, no CDN, so it
// works offline and behind strict proxies. It is rendered ahead of time
// (docs/page.html, kept current by TestDocsPageIsCurrent), not at start-up.
//
//go:generate go test -run ^TestDocsPageIsCurrent$ -update .

//go:embed docs/page.html docs/style.css
var docsFS embed.FS

// renderDocs returns the /docs page for spec: the committed rendering of
// openapi.yaml.
func renderDocs(spec []byte) ([]byte, error) {
	if len(spec) == 0 {
		return nil, errors.New("docs: no OpenAPI document given")
	}
	return docsFS.ReadFile("docs/page.html")
}

// DocsAsset serves the embedded stylesheet of /docs.
func (h *Handlers) DocsAsset(c echo.Context) error {
	css, err := docsFS.ReadFile("docs/style.css")
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", css)
}
