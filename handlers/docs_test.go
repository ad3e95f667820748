package handlers

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/flowbridge/flowbridge"
)

// The docs variant of the spec is made on first use, not by New (a
// replica that never serves /docs keeps neither it nor its parse), and
// once: concurrent first calls get the same bytes.
func TestDocsVariantIsRenderedOnFirstUseOnly(t *testing.T) {
	h, err := New(Config{Spec: flowbridge.OpenAPI()})
	if err != nil {
		t.Fatal(err)
	}
	if h.docs != nil {
		t.Fatal("New rendered the docs variant; it must wait for the first GET /docs/openapi.json")
	}
	const n = 8
	got := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			b, err := h.docsSpec()
			if err != nil {
				t.Error(err)
			}
			got[i] = b
		})
	}
	wg.Wait()
	for i := range got {
		if len(got[i]) == 0 || !bytes.Equal(got[i], got[0]) || &got[i][0] != &got[0][0] {
			t.Fatalf("call %d: %d bytes, not the one rendering of call 0 (%d bytes)", i, len(got[i]), len(got[0]))
		}
	}
	if !strings.Contains(string(got[0]), "x-flow-liquid") && !strings.Contains(string(got[0]), "Shopify Flow: the Send HTTP request step") {
		t.Fatal("the docs variant lacks the Liquid templates")
	}
}

// A Contract given in Config is used as is: the spec is not parsed again
// (server.Assemble parses openapi.yaml once for every handler).
func TestNewUsesTheGivenContract(t *testing.T) {
	c, err := NewContract(flowbridge.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Spec: []byte("not: [an openapi document"), Contract: c})
	if err != nil {
		t.Fatalf("New parsed the spec although a contract was given: %v", err)
	}
	if h.contract != c {
		t.Fatal("New built its own contract")
	}
	if _, err := New(Config{Spec: []byte("not: [an openapi document")}); err == nil {
		t.Fatal("New accepted a spec that does not parse")
	}
}
