package adminschema

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// Problem is one reason a value does not fit its input type: the path into
// the value ("lineItemsByFulfillmentOrder", "0", "fulfillmentOrderId") and
// an explanation, as Shopify words them in errors[].extensions.problems.
type Problem struct {
	Path        []string
	Explanation string
}

func (p Problem) String() string {
	if len(p.Path) == 0 {
		return p.Explanation
	}
	return strings.Join(p.Path, ".") + ": " + p.Explanation
}

// InputError lists every problem of one value against one input type.
type InputError struct {
	Type     string // the GraphQL type, e.g. "FulfillmentInput!"
	Variable string // the variable name when coercing an operation's variables
	Problems []Problem
}

func (e *InputError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	who := "value"
	if e.Variable != "" {
		who = "variable $" + e.Variable
	}
	return fmt.Sprintf("%s of type %s: %s", who, e.Type, strings.Join(parts, "; "))
}

// Validate parses doc and validates it against the schema with GraphQL's
// validation rules (fields exist, arguments and their types, required
// arguments, variables used and defined, fragments).
func (s *Schema) Validate(doc string) (*ast.QueryDocument, error) {
	q, errs := gqlparser.LoadQueryWithRules(s.AST, doc, nil)
	if len(errs) > 0 {
		return nil, errs
	}
	return q, nil
}

// Operation validates doc, picks the operation called name (or the only
// one), and coerces vars (as decoded from JSON) against its variable
// definitions. It returns the operation and the variables with defaults
// applied. Coercion is as strict as Shopify's (graphql-ruby): enum values
// are case-sensitive, Int is a 32-bit whole number, no unknown input
// fields, @oneOf inputs take exactly one field.
func (s *Schema) Operation(doc, name string, vars map[string]any) (*ast.OperationDefinition, map[string]any, error) {
	q, err := s.Validate(doc)
	if err != nil {
		return nil, nil, err
	}
	op := q.Operations.ForName(name)
	if op == nil && name == "" && len(q.Operations) == 1 {
		op = q.Operations[0]
	}
	if op == nil {
		return nil, nil, fmt.Errorf("adminschema: no operation %q in document", name)
	}
	out := map[string]any{}
	for _, vd := range op.VariableDefinitions {
		v, ok := vars[vd.Variable]
		if !ok {
			if vd.DefaultValue != nil {
				dv, err := vd.DefaultValue.Value(nil)
				if err != nil {
					return nil, nil, err
				}
				out[vd.Variable] = dv
				continue
			}
			if vd.Type.NonNull {
				return nil, nil, &InputError{Type: vd.Type.String(), Variable: vd.Variable,
					Problems: []Problem{{Explanation: "Expected value to not be null"}}}
			}
			continue
		}
		var probs []Problem
		s.coerce(vd.Type, v, nil, &probs)
		if len(probs) > 0 {
			return nil, nil, &InputError{Type: vd.Type.String(), Variable: vd.Variable, Problems: probs}
		}
		out[vd.Variable] = v
	}
	for k := range vars {
		if op.VariableDefinitions.ForName(k) == nil {
			return nil, nil, &InputError{Variable: k, Problems: []Problem{{Explanation: "variable is not defined by the operation"}}}
		}
	}
	return op, out, nil
}

// CoerceInput checks value (as decoded from JSON, numbers as float64 or
// json.Number) against the input type typ, written as in GraphQL
// ("FulfillmentInput!", "[ID!]"). It is how tests check an Admin API
// mutation input that a workflow builds outside any GraphQL document, such
// as the Mutation inputs field of Flow's Send Admin API request.
func (s *Schema) CoerceInput(typ string, value any) error {
	t, err := s.parseType(typ)
	if err != nil {
		return err
	}
	var probs []Problem
	s.coerce(t, value, nil, &probs)
	if len(probs) > 0 {
		return &InputError{Type: typ, Problems: probs}
	}
	return nil
}

func (s *Schema) parseType(typ string) (*ast.Type, error) {
	named := strings.Trim(typ, "[]!")
	if s.AST.Types[named] == nil {
		return nil, fmt.Errorf("adminschema: unknown type %q", named)
	}
	var parse func(string) *ast.Type
	parse = func(t string) *ast.Type {
		nonNull := strings.HasSuffix(t, "!")
		t = strings.TrimSuffix(t, "!")
		if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
			return &ast.Type{Elem: parse(t[1 : len(t)-1]), NonNull: nonNull}
		}
		return &ast.Type{NamedType: t, NonNull: nonNull}
	}
	return parse(typ), nil
}

func (s *Schema) coerce(t *ast.Type, v any, path []string, probs *[]Problem) {
	add := func(format string, a ...any) {
		*probs = append(*probs, Problem{Path: append([]string(nil), path...), Explanation: fmt.Sprintf(format, a...)})
	}
	if v == nil {
		if t.NonNull {
			add("Expected value to not be null")
		}
		return
	}
	if t.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			// GraphQL coerces a single value to a one-element list.
			s.coerce(t.Elem, v, path, probs)
			return
		}
		for i, e := range list {
			s.coerce(t.Elem, e, append(path, strconv.Itoa(i)), probs)
		}
		return
	}
	def := s.AST.Types[t.NamedType]
	switch def.Kind {
	case ast.Enum:
		str, ok := v.(string)
		if !ok || def.EnumValues.ForName(str) == nil {
			add("Expected %s to be one of: %s", show(v), enumNames(def))
		}
	case ast.Scalar:
		if msg := scalarProblem(t.NamedType, v); msg != "" {
			add("%s", msg)
		}
	case ast.InputObject:
		m, ok := v.(map[string]any)
		if !ok {
			add("Expected %s to be a key-value object", show(v))
			return
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if def.Fields.ForName(k) == nil {
				*probs = append(*probs, Problem{Path: append(append([]string(nil), path...), k), Explanation: "Field is not defined on " + def.Name})
			}
		}
		if def.Directives.ForName("oneOf") != nil {
			set := 0
			for _, k := range keys {
				if m[k] != nil {
					set++
				}
			}
			if set != 1 {
				add("%s requires exactly one key (a @oneOf input), got %d", def.Name, set)
			}
		}
		for _, f := range def.Fields {
			fv, present := m[f.Name]
			if !present {
				if f.Type.NonNull && f.DefaultValue == nil {
					*probs = append(*probs, Problem{Path: append(append([]string(nil), path...), f.Name), Explanation: "Expected value to not be null"})
				}
				continue
			}
			s.coerce(f.Type, fv, append(path, f.Name), probs)
		}
	default:
		add("%s is not an input type", def.Name)
	}
}

func enumNames(def *ast.Definition) string {
	names := make([]string, 0, len(def.EnumValues))
	for _, v := range def.EnumValues {
		names = append(names, v.Name)
	}
	if len(names) > 12 {
		names = append(names[:12], "…")
	}
	return strings.Join(names, ", ")
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 60 {
		return string(b[:60]) + "…"
	}
	return string(b)
}

// number returns v as a float64 when it is a JSON number.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// scalarProblem says why v is not a valid input value of the scalar, or "".
// Built-in scalars follow the GraphQL spec strictly; Shopify's custom
// scalars are checked for the JSON kind Shopify documents for each.
func scalarProblem(scalar string, v any) string {
	_, isString := v.(string)
	n, isNumber := number(v)
	_, isBool := v.(bool)
	bad := func() string { return fmt.Sprintf("Could not coerce value %s to %s", show(v), scalar) }
	switch scalar {
	case "String", "DateTime", "Date", "URL", "HTML", "FormattedString", "Color", "ARN", "StorefrontID", "UtcOffset":
		if !isString {
			return bad()
		}
	case "ID":
		if !isString && !(isNumber && n == math.Trunc(n)) {
			return bad()
		}
	case "Int":
		if !isNumber || n != math.Trunc(n) || n > math.MaxInt32 || n < math.MinInt32 {
			return bad()
		}
	case "Float":
		if !isNumber {
			return bad()
		}
	case "Boolean":
		if !isBool {
			return bad()
		}
	case "Decimal", "Money", "UnsignedInt64", "BigInt":
		// Shopify serialises these as strings and accepts numbers too.
		if !isString && !isNumber {
			return bad()
		}
	case "JSON":
		// any JSON value
	default:
		if !isString && !isNumber && !isBool {
			return bad()
		}
	}
	return ""
}
