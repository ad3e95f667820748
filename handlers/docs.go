package handlers

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
)

// The /docs page is rendered once, at start-up, from the same openapi.yaml
// the service serves, by html/template with embedded CSS: no JavaScript, no
// CDN, so it works offline and behind strict proxies.

//go:embed docs/page.html.tmpl docs/style.css
var docsFS embed.FS

type docOperation struct {
	Method, Path, Anchor, Summary string
	Description                   template.HTML
	Auth                          bool
	Params                        []docParam
	Request                       string
	Liquid                        string
	Responses                     []docResponse
	order                         float64
}

type docParam struct{ Name, In, Description string }

type docResponse struct {
	Status, Example, Headers string
	Description              template.HTML
}

type docPage struct {
	Title, Version string
	Description    template.HTML
	Operations     []docOperation
}

func renderDocs(spec []byte) ([]byte, error) {
	if len(spec) == 0 {
		return nil, fmt.Errorf("docs: no OpenAPI document given")
	}
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("docs: parse openapi.yaml: %w", err)
	}
	page := docPage{Title: doc.Info.Title, Version: doc.Info.Version, Description: prose(doc.Info.Description)}
	paths := doc.Paths.Keys()
	sort.Strings(paths)
	for _, p := range paths {
		item := doc.Paths.Value(p)
		methods := make([]string, 0, 4)
		for m := range item.Operations() {
			methods = append(methods, m)
		}
		slices.Sort(methods)
		for _, m := range methods {
			op := item.Operations()[m]
			d := docOperation{Method: m, Path: p, Summary: op.Summary, Description: prose(op.Description),
				Anchor: strings.ToLower(m) + strings.NewReplacer("/", "-", "{", "", "}", "").Replace(p)}
			sec := doc.Security
			if op.Security != nil {
				sec = *op.Security
			}
			d.Auth = len(sec) > 0 && len(sec[0]) > 0
			for _, pr := range op.Parameters {
				if pr.Value != nil {
					d.Params = append(d.Params, docParam{Name: pr.Value.Name, In: pr.Value.In, Description: pr.Value.Description})
				}
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil {
					d.Request = example(mt)
				}
			}
			// Flow endpoints first, in the order a workflow calls them.
			d.order = 1000
			if o, ok := op.Extensions["x-order"].(float64); ok {
				d.order = o
			}
			if l, ok := op.Extensions["x-flow-liquid"].(string); ok {
				d.Liquid = l
			}
			codes := op.Responses.Keys()
			sort.Strings(codes)
			for _, code := range codes {
				r := op.Responses.Value(code)
				if r == nil || r.Value == nil {
					continue
				}
				dr := docResponse{Status: code}
				if r.Value.Description != nil {
					dr.Description = inline(*r.Value.Description)
				}
				for _, mtName := range []string{"application/json", "application/problem+json", "application/yaml", "text/html"} {
					if mt := r.Value.Content.Get(mtName); mt != nil {
						dr.Example = example(mt)
						if dr.Example != "" {
							break
						}
					}
				}
				var hs []string
				for h := range r.Value.Headers {
					hs = append(hs, h)
				}
				sort.Strings(hs)
				dr.Headers = strings.Join(hs, ", ")
				d.Responses = append(d.Responses, dr)
			}
			page.Operations = append(page.Operations, d)
		}
	}
	sort.SliceStable(page.Operations, func(i, j int) bool { return page.Operations[i].order < page.Operations[j].order })
	tmpl, err := template.ParseFS(docsFS, "docs/page.html.tmpl")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, page); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// example returns the media type's example (or its first named one) as
// indented JSON.
func example(mt *openapi3.MediaType) string {
	v := mt.Example
	if v == nil && len(mt.Examples) > 0 {
		names := make([]string, 0, len(mt.Examples))
		for n := range mt.Examples {
			names = append(names, n)
		}
		sort.Strings(names)
		if ex := mt.Examples[names[0]]; ex != nil && ex.Value != nil {
			v = ex.Value.Value
		}
	}
	if v == nil {
		return ""
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}

// prose renders a spec description: paragraphs split on blank lines, each
// rendered by inline.
func prose(s string) template.HTML {
	var b strings.Builder
	for _, para := range strings.Split(strings.TrimSpace(s), "\n\n") {
		if strings.TrimSpace(para) == "" {
			continue
		}
		b.WriteString("<p>" + string(inline(para)) + "</p>")
	}
	return template.HTML(b.String())
}

// inline escapes s and turns `code` spans into <code> elements.
func inline(s string) template.HTML {
	var b strings.Builder
	parts := strings.Split(s, "`")
	for i, part := range parts {
		esc := template.HTMLEscapeString(part)
		if i%2 == 1 && i < len(parts)-1 {
			b.WriteString("<code>" + esc + "</code>")
		} else {
			b.WriteString(esc)
		}
	}
	return template.HTML(b.String())
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
