// Package adminschema is the Shopify Admin GraphQL schema (API version
// 2026-01, as shipped by Shopify in npm @shopify/dev-mcp) as a test oracle
// and validator: it loads the checked-in SDL generated from Shopify's
// introspection, validates GraphQL documents, coerces operation variables
// and mutation inputs against the real input types, and resolves field paths
// (for Liquid and Run code input queries) through the real object types.
//
// The SDL is generated (go run ./internal/adminschema/prune) and never
// edited; TestCheckedInMatchesPackage fails when it and the package differ.
package adminschema

import (
	_ "embed"
	"sync"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

//go:embed admin_2026-01.graphql
var sdl string

// Schema is a loaded Admin schema. It is immutable and safe for concurrent use.
type Schema struct {
	AST *ast.Schema
}

// Parsing the 2,900-type schema takes a noticeable fraction of a second, and
// the result never changes, so every caller in a process shares one.
var load = sync.OnceValues(func() (*Schema, error) {
	s, err := Parse(sdl)
	if err != nil {
		return nil, err
	}
	return s, nil
})

// Load returns the checked-in Admin schema (parsed once per process).
func Load() (*Schema, error) { return load() }

// SDL returns the checked-in schema text.
func SDL() string { return sdl }

// Parse loads a schema from SDL (the checked-in file, or a test's slice).
func Parse(text string) (*Schema, error) {
	s, err := gqlparser.LoadSchema(&ast.Source{Name: SDLFile, Input: text})
	if err != nil {
		return nil, err
	}
	return &Schema{AST: s}, nil
}
