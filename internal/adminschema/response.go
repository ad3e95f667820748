package adminschema

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// CheckData checks an answer against the operation that asked for it:
// every selected field is present, non-null fields are not null, lists are
// lists, enum values are values of their enum and scalars have their JSON
// kind. data is the "data" object (as decoded from JSON, or as a fake
// builds it). A fake Admin API runs it on each answer so that a fixture
// cannot say what Shopify never would (e.g. a currencyCode of "euro").
func (s *Schema) CheckData(op *ast.OperationDefinition, data map[string]any) error {
	root := s.AST.Query
	if op.Operation == ast.Mutation {
		root = s.AST.Mutation
	}
	var probs []string
	s.checkSelection(root, op.SelectionSet, data, nil, &probs)
	if len(probs) > 0 {
		return fmt.Errorf("adminschema: answer does not fit the schema: %s", strings.Join(probs, "; "))
	}
	return nil
}

func (s *Schema) checkSelection(parent *ast.Definition, sel ast.SelectionSet, v map[string]any, path []string, probs *[]string) {
	for _, x := range sel {
		switch f := x.(type) {
		case *ast.Field:
			key := f.Alias
			if key == "" {
				key = f.Name
			}
			p := append(append([]string(nil), path...), key)
			val, ok := v[key]
			if !ok {
				*probs = append(*probs, strings.Join(p, ".")+": missing")
				continue
			}
			if f.Name == "__typename" {
				if _, ok := val.(string); !ok {
					*probs = append(*probs, strings.Join(p, ".")+": __typename is not a string")
				}
				continue
			}
			fd := parent.Fields.ForName(f.Name)
			if fd == nil {
				*probs = append(*probs, strings.Join(p, ".")+": no such field on "+parent.Name)
				continue
			}
			s.checkValue(fd.Type, f.SelectionSet, val, p, probs)
		case *ast.InlineFragment:
			// Only the fragment matching the value's type applies; a fake
			// answers concrete types, so check when it names its type.
			if tn, _ := v["__typename"].(string); tn == "" || tn == f.TypeCondition || parent.Name == f.TypeCondition {
				cond := s.AST.Types[f.TypeCondition]
				if tn != "" && s.AST.Types[tn] != nil {
					cond = s.AST.Types[tn]
				}
				if cond != nil {
					s.checkSelection(cond, f.SelectionSet, v, path, probs)
				}
			}
		case *ast.FragmentSpread:
			if f.Definition != nil {
				if cond := s.AST.Types[f.Definition.TypeCondition]; cond != nil {
					s.checkSelection(cond, f.Definition.SelectionSet, v, path, probs)
				}
			}
		}
	}
}

func (s *Schema) checkValue(t *ast.Type, sel ast.SelectionSet, v any, path []string, probs *[]string) {
	where := strings.Join(path, ".")
	if v == nil {
		if t.NonNull {
			*probs = append(*probs, where+": null for non-null "+t.String())
		}
		return
	}
	if t.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			*probs = append(*probs, fmt.Sprintf("%s: %T for list %s", where, v, t.String()))
			return
		}
		for i, e := range list {
			s.checkValue(t.Elem, sel, e, append(append([]string(nil), path...), strconv.Itoa(i)), probs)
		}
		return
	}
	def := s.AST.Types[t.NamedType]
	switch def.Kind {
	case ast.Enum:
		str, ok := v.(string)
		if !ok || def.EnumValues.ForName(str) == nil {
			*probs = append(*probs, fmt.Sprintf("%s: %s is not a %s value", where, show(v), def.Name))
		}
	case ast.Scalar:
		if msg := scalarProblem(def.Name, v); msg != "" {
			*probs = append(*probs, where+": "+msg)
		}
	case ast.Object, ast.Interface, ast.Union:
		m, ok := v.(map[string]any)
		if !ok {
			*probs = append(*probs, fmt.Sprintf("%s: %T for object %s", where, v, def.Name))
			return
		}
		s.checkSelection(def, sel, m, path, probs)
	}
}
