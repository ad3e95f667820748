package adminschema

import (
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// Field is one step of a resolved path.
type Field struct {
	Parent string // the object or interface type it is on
	Def    *ast.FieldDefinition
	Type   *ast.Type // its type as Flow exposes it (connections flattened)
	List   bool      // whether a list (or connection) was crossed to reach it
}

// Path resolves a dot path of field names from the object type root, the
// way Shopify Flow exposes the Admin API to Liquid and to Run code input
// queries: a connection (a type with `nodes`) reads as the list of its
// nodes, since "Flow handles the edges and nodes" (Run code reference), and
// list fields read as their element (Liquid's `for` and the field-array
// trick). It returns every step, the last being the leaf.
//
//	s.Path("Order", "lineItems.currentQuantity") // LineItem.currentQuantity: Int!
func (s *Schema) Path(root, path string) ([]Field, error) {
	def := s.AST.Types[root]
	if def == nil {
		return nil, fmt.Errorf("adminschema: unknown type %q", root)
	}
	var out []Field
	list := false
	for _, name := range strings.Split(path, ".") {
		if def == nil || (def.Kind != ast.Object && def.Kind != ast.Interface) {
			return out, fmt.Errorf("adminschema: %s: %s has no fields (at %q)", path, typeName(def), name)
		}
		fd := def.Fields.ForName(name)
		if fd == nil {
			return out, fmt.Errorf("adminschema: %s: %s has no field %q", path, def.Name, name)
		}
		t := fd.Type
		for t.Elem != nil {
			t, list = t.Elem, true
		}
		next := s.AST.Types[t.NamedType]
		if next != nil && next.Kind == ast.Object && strings.HasSuffix(next.Name, "Connection") {
			if nodes := next.Fields.ForName("nodes"); nodes != nil {
				t, list = nodes.Type, true
				for t.Elem != nil {
					t = t.Elem
				}
				next = s.AST.Types[t.NamedType]
			}
		}
		out = append(out, Field{Parent: def.Name, Def: fd, Type: t, List: list})
		def = next
	}
	return out, nil
}

func typeName(d *ast.Definition) string {
	if d == nil {
		return "a scalar"
	}
	return d.Name
}

// Deprecation returns the deprecation reason of a field definition, or ""
// when it is not deprecated.
func Deprecation(fd *ast.FieldDefinition) string {
	d := fd.Directives.ForName("deprecated")
	if d == nil {
		return ""
	}
	if a := d.Arguments.ForName("reason"); a != nil {
		return a.Value.Raw
	}
	return "deprecated"
}

// RequiredAccess returns Shopify's access note for a field ("`read_orders`
// access scope…"), or "" when the schema states none.
func RequiredAccess(fd *ast.FieldDefinition) string {
	d := fd.Directives.ForName("requiredAccess")
	if d == nil {
		return ""
	}
	return d.Arguments.ForName("text").Value.Raw
}
