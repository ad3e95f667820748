package adminschema

import (
	"sort"

	"github.com/vektah/gqlparser/v2/ast"
)

// Differences lists how a hand-written schema slice departs from the real
// schema: types that do not exist or have another kind, fields, arguments
// and input fields that do not exist or have another type, enum values that
// do not exist, and required input fields or arguments the slice leaves out.
// A fake built on such a slice accepts what Shopify refuses (or the other
// way round); an empty result means the slice is a faithful subset.
func (s *Schema) Differences(slice *Schema) []string {
	var out []string
	add := func(msg string) { out = append(out, msg) }
	names := make([]string, 0, len(slice.AST.Types))
	for n, d := range slice.AST.Types {
		if !d.BuiltIn {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		d := slice.AST.Types[n]
		real := s.AST.Types[n]
		if real == nil {
			add(n + ": no such type")
			continue
		}
		if real.Kind != d.Kind {
			add(n + ": is " + string(real.Kind) + ", not " + string(d.Kind))
			continue
		}
		for _, f := range d.Fields {
			rf := real.Fields.ForName(f.Name)
			if rf == nil {
				add(n + "." + f.Name + ": no such field")
				continue
			}
			if rf.Type.String() != f.Type.String() {
				add(n + "." + f.Name + ": is " + rf.Type.String() + ", not " + f.Type.String())
			}
			for _, a := range f.Arguments {
				ra := rf.Arguments.ForName(a.Name)
				if ra == nil {
					add(n + "." + f.Name + "(" + a.Name + "): no such argument")
				} else if ra.Type.String() != a.Type.String() {
					add(n + "." + f.Name + "(" + a.Name + "): is " + ra.Type.String() + ", not " + a.Type.String())
				}
			}
			for _, ra := range rf.Arguments {
				if ra.Type.NonNull && ra.DefaultValue == nil && f.Arguments.ForName(ra.Name) == nil {
					add(n + "." + f.Name + "(" + ra.Name + "): required argument missing from the slice")
				}
			}
			if (Deprecation(rf) != "") != (Deprecation(f) != "") {
				add(n + "." + f.Name + ": deprecation differs")
			}
		}
		if d.Kind == ast.InputObject {
			for _, rf := range real.Fields {
				if rf.Type.NonNull && rf.DefaultValue == nil && d.Fields.ForName(rf.Name) == nil {
					add(n + "." + rf.Name + ": required input field missing from the slice")
				}
			}
		}
		for _, v := range d.EnumValues {
			if real.EnumValues.ForName(v.Name) == nil {
				add(n + "." + v.Name + ": no such enum value")
			}
		}
	}
	return out
}
