package handlers

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/flowbridge/flowbridge/problem"
)

// Contract validates requests with openapi.yaml itself (kin-openapi), so
// the published document is the only statement of what the service
// accepts: a generated client, a validating proxy or a gateway that
// enforces the spec agrees with the server in both directions. Rules a
// schema cannot state (a barcode's check digit, decimals per currency)
// are checked after it and refused with 422, never 400.
//
// A failing body is checked twice: once failing fast (the common, cheap
// answer for a valid body is the first pass alone), then once listing
// errors, on a copy whose arrays are cut just past the longest the spec
// allows, so a body of 130,000 bad items costs no more than one of 251.
// At most MaxFieldErrors are listed; the detail says how many there were.
type Contract struct {
	doc     *openapi3.T
	bodies  map[string]*openapi3.Schema // operationId → request body schema
	params  map[string]*openapi3.Schema // operationId + " " + in + " " + name
	maxList int                         // arrays are cut to this many items before listing errors
}

// MaxFieldErrors caps the field errors an answer lists.
const MaxFieldErrors = 50

// NewContract loads and validates the spec.
func NewContract(spec []byte) (*Contract, error) {
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("handlers: parse openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("handlers: openapi.yaml is invalid: %w", err)
	}
	c := &Contract{doc: doc, bodies: map[string]*openapi3.Schema{}, params: map[string]*openapi3.Schema{}}
	maxItems := uint64(0)
	for _, pi := range doc.Paths.Map() {
		for _, op := range pi.Operations() {
			params := append(openapi3.Parameters{}, pi.Parameters...)
			params = append(params, op.Parameters...)
			for _, p := range params {
				if p.Value != nil && p.Value.Schema != nil {
					c.params[op.OperationID+" "+p.Value.In+" "+p.Value.Name] = p.Value.Schema.Value
				}
			}
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
				c.bodies[op.OperationID] = mt.Schema.Value
			}
		}
	}
	for _, s := range doc.Components.Schemas {
		walkSchemas(s.Value, map[*openapi3.Schema]bool{}, func(s *openapi3.Schema) {
			if s.MaxItems != nil && *s.MaxItems > maxItems {
				maxItems = *s.MaxItems
			}
		})
	}
	c.maxList = int(maxItems) + 1
	return c, nil
}

func walkSchemas(s *openapi3.Schema, seen map[*openapi3.Schema]bool, fn func(*openapi3.Schema)) {
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	fn(s)
	for _, p := range s.Properties {
		walkSchemas(p.Value, seen, fn)
	}
	if s.Items != nil {
		walkSchemas(s.Items.Value, seen, fn)
	}
	for _, l := range []openapi3.SchemaRefs{s.AnyOf, s.OneOf, s.AllOf} {
		for _, r := range l {
			walkSchemas(r.Value, seen, fn)
		}
	}
}

// Doc returns the parsed spec.
func (c *Contract) Doc() *openapi3.T { return c.doc }

// Body validates a decoded JSON body (json.Number for numbers) against the
// request schema of the operation. The error is a 400 naming each field.
func (c *Contract) Body(operationID string, v any) error {
	s := c.bodies[operationID]
	if s == nil {
		return problem.New(problem.Internal, problem.CodeInternal, "no request schema for "+operationID)
	}
	if s.VisitJSON(v, openapi3.FailFast()) == nil {
		return nil
	}
	short, wasCut := cut(v, c.maxList)
	err := s.VisitJSON(short, openapi3.MultiErrors())
	fields := fieldErrors(err, "")
	if len(fields) == 0 { // cannot happen: the fast pass failed
		fields = []problem.Field{{Pointer: "", Message: "does not match the request schema"}}
	}
	return invalid(fields, wasCut)
}

// Param validates one path or query parameter given as a string.
func (c *Contract) Param(operationID, in, name, value string) error {
	s := c.params[operationID+" "+in+" "+name]
	if s == nil {
		return nil
	}
	err := s.VisitJSON(value, openapi3.MultiErrors())
	if err == nil {
		return nil
	}
	return invalid(fieldErrors(err, "/"+in+"/"+name), false)
}

// invalid builds the 400 for field errors, capped at MaxFieldErrors. The
// code names the most specific problem so a Flow Condition can branch on
// it: a bad order id, then a bad barcode, then a wrong JSON type, then the
// generic validation_failed.
//
// more says that items past an array's limit were not looked at, so the
// count is a lower bound.
func invalid(fields []problem.Field, more bool) *problem.Error {
	code, rank := problem.CodeValidation, 0
	for _, f := range fields {
		switch {
		case f.Pointer == "/order_id" && rank < 3:
			code, rank = CodeInvalidOrderID, 3
		case strings.HasSuffix(f.Pointer, "/barcode") && rank < 2:
			code, rank = CodeInvalidEAN, 2
		case strings.HasPrefix(f.Message, "must be a") && strings.Contains(f.Message, ", not ") && rank < 1:
			code, rank = problem.CodeInvalidJSON, 1
		}
	}
	total := len(fields)
	count := fmt.Sprint(total)
	if more {
		count = "at least " + count
	}
	detail := fmt.Sprintf("%s field(s) are invalid: %s %s", count, fields[0].Pointer, fields[0].Message)
	if total > MaxFieldErrors {
		fields = fields[:MaxFieldErrors]
		detail += fmt.Sprintf(", … (the first %d are listed)", MaxFieldErrors)
	} else if total > 1 {
		detail += ", …"
	}
	return problem.InvalidFields(code, detail, fields...)
}

// cut returns v with every array shortened to at most n items (a copy;
// v itself is not changed), and whether anything was cut.
func cut(v any, n int) (any, bool) {
	switch x := v.(type) {
	case []any:
		was := len(x) > n
		if was {
			x = x[:n]
		}
		out := make([]any, len(x))
		for i, e := range x {
			var c bool
			out[i], c = cut(e, n)
			was = was || c
		}
		return out, was
	case map[string]any:
		out := make(map[string]any, len(x))
		was := false
		for k, e := range x {
			var c bool
			out[k], c = cut(e, n)
			was = was || c
		}
		return out, was
	}
	return v, false
}

var quotedName = regexp.MustCompile(`property "([^"]*)"`)

// fieldErrors flattens kin-openapi's errors into pointer + message pairs,
// sorted by pointer. prefix replaces the empty pointer (for parameters).
func fieldErrors(err error, prefix string) []problem.Field {
	var out []problem.Field
	var walk func(error)
	walk = func(err error) {
		var me openapi3.MultiError
		if errors.As(err, &me) {
			for _, e := range me {
				walk(e)
			}
			return
		}
		var se *openapi3.SchemaError
		if !errors.As(err, &se) {
			out = append(out, problem.Field{Pointer: prefix, Message: "is invalid"})
			return
		}
		ptr := prefix + pointer(se.JSONPointer())
		msg := schemaMessage(se)
		switch se.SchemaField {
		case "properties", "additionalProperties":
			if m := quotedName.FindStringSubmatch(se.Reason); m != nil {
				ptr += "/" + escapePointer(m[1])
			}
			msg = "is not a field of this request"
		case "discriminator":
			if se.Schema.Discriminator != nil {
				ptr += "/" + escapePointer(se.Schema.Discriminator.PropertyName)
				msg = "must be one of: " + strings.Join(mappingKeys(se.Schema.Discriminator.Mapping), ", ")
			}
		}
		out = append(out, problem.Field{Pointer: ptr, Message: msg})
	}
	walk(err)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pointer < out[j].Pointer })
	return out
}

func mappingKeys(m map[string]openapi3.MappingRef) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func pointer(parts []string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("/" + escapePointer(p))
	}
	return b.String()
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// schemaMessage says what a value must be. A schema's own x-error wins
// (the spec states its messages); otherwise the keyword that failed is
// put into words.
func schemaMessage(se *openapi3.SchemaError) string {
	s := se.Schema
	switch se.SchemaField {
	case "required":
		return "is required"
	case "nullable":
		return "must not be null"
	case "type":
		return "must be " + typeWords(s) + ", not " + valueWords(se.Value)
	}
	if m, ok := s.Extensions["x-error"].(string); ok && m != "" {
		return m
	}
	switch se.SchemaField {
	case "maxLength":
		return fmt.Sprintf("must be at most %d characters", *s.MaxLength)
	case "minLength":
		if s.MinLength == 1 {
			return "must not be empty"
		}
		return fmt.Sprintf("must be at least %d characters", s.MinLength)
	case "maxItems":
		return fmt.Sprintf("must have at most %d items", *s.MaxItems)
	case "minItems":
		return fmt.Sprintf("must have at least %d item(s)", s.MinItems)
	case "maximum":
		return fmt.Sprintf("must be at most %v", *s.Max)
	case "minimum":
		return fmt.Sprintf("must be at least %v", *s.Min)
	case "enum":
		if len(s.Enum) <= 10 {
			words := make([]string, len(s.Enum))
			for i, e := range s.Enum {
				words[i] = fmt.Sprint(e)
			}
			return "must be one of: " + strings.Join(words, ", ")
		}
		return "is not one of the allowed values"
	case "pattern":
		return "has characters or a form this field does not allow"
	}
	return "is invalid"
}

func typeWords(s *openapi3.Schema) string {
	switch {
	case s.Type.Is(openapi3.TypeObject):
		return "an object"
	case s.Type.Is(openapi3.TypeArray):
		return "an array"
	case s.Type.Is(openapi3.TypeString):
		return "a string"
	case s.Type.Is(openapi3.TypeInteger):
		return "an integer"
	case s.Type.Is(openapi3.TypeNumber):
		return "a number"
	case s.Type.Is(openapi3.TypeBoolean):
		return "true or false"
	}
	return "of another type"
}

func valueWords(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a number"
}
