// Package contract checks HTTP responses against flowbridge's openapi.yaml
// with kin-openapi, so a test fails when a handler returns a status, a
// header or a field the published contract does not declare.
package contract

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/flowbridge/flowbridge"
)

// Validator checks exchanges against the spec.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
}

// New parses and validates the embedded openapi.yaml.
func New() (*Validator, error) {
	doc, err := Load()
	if err != nil {
		return nil, err
	}
	// Route on paths only: tests run on random loopback ports, not on the
	// documented server URL.
	doc.Servers = nil
	r, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("contract: router: %w", err)
	}
	return &Validator{doc: doc, router: r}, nil
}

// Load parses the embedded spec and validates it as an OpenAPI document
// (including its examples against their schemas).
func Load() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(flowbridge.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("contract: parse openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("contract: openapi.yaml is invalid: %w", err)
	}
	return doc, nil
}

// ErrNoRoute is returned by Check when the spec has no operation for the request.
type ErrNoRoute struct{ Method, Path string }

func (e ErrNoRoute) Error() string {
	return fmt.Sprintf("contract: %s %s is not in openapi.yaml", e.Method, e.Path)
}

// Check validates one response (status, headers, content type and body)
// against the operation the request matches. The request itself is not
// validated: handler tests send invalid requests on purpose.
func (v *Validator) Check(req *http.Request, status int, header http.Header, body []byte) error {
	// Route on the path as sent: a URL-encoded GID in a path parameter
	// (gid%3A%2F%2F…) is one segment, as the server's router sees it.
	if req.URL.RawPath != "" {
		r2 := req.Clone(req.Context())
		r2.URL.Path = req.URL.RawPath
		r2.URL.RawPath = ""
		req = r2
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return ErrNoRoute{Method: req.Method, Path: req.URL.Path}
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		},
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("contract: %s %s → %d does not match openapi.yaml: %w\nbody: %s",
			req.Method, req.URL.Path, status, err, truncate(body))
	}
	// Headers the spec requires (Retry-After on 429/503) are checked here
	// explicitly: it is the part of the contract Flow relies on most.
	if rr := route.Operation.Responses.Status(status); rr != nil && rr.Value != nil {
		for name, h := range rr.Value.Headers {
			if h.Value != nil && h.Value.Required && header.Get(name) == "" {
				return fmt.Errorf("contract: %s %s → %d lacks required header %s", req.Method, req.URL.Path, status, name)
			}
		}
	}
	return nil
}

func truncate(b []byte) string {
	s := string(b)
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return strings.TrimSpace(s)
}

// Doc returns the parsed spec.
func (v *Validator) Doc() *openapi3.T { return v.doc }
