package flowbridge_test

import (
	"testing"

	"github.com/flowbridge/flowbridge/internal/contract"
)

// TestSpecValidates parses openapi.yaml and validates it, including every
// example against its schema.
func TestSpecValidates(t *testing.T) {
	doc, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/rates", "/orders", "/tracking/{id}", "/healthz", "/readyz", "/openapi.yaml", "/docs"} {
		if doc.Paths.Value(p) == nil {
			t.Errorf("path %s missing from openapi.yaml", p)
		}
	}
	// Every Flow endpoint publishes its Liquid request and the statuses
	// Flow's retry rules depend on.
	for _, p := range []string{"/rates", "/orders", "/tracking/{id}"} {
		for _, op := range doc.Paths.Value(p).Operations() {
			if _, ok := op.Extensions["x-flow-liquid"].(string); !ok {
				t.Errorf("%s: no x-flow-liquid example", p)
			}
			for _, code := range []int{200, 400, 401, 429, 500, 503} {
				if op.Responses.Status(code) == nil {
					t.Errorf("%s: status %d not declared", p, code)
				}
			}
			for _, code := range []int{429, 503} {
				if op.Responses.Status(code).Value.Headers["Retry-After"] == nil {
					t.Errorf("%s: %d without Retry-After header", p, code)
				}
			}
		}
	}
}
