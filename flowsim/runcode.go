package flowsim

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// RunCode executes a Run code step's script the way Flow does: the input
// query selects data from the workflow environment, main(input) runs in an
// embedded JavaScript engine without network, modules, timers, randomness
// or clock, and its return value must match the output schema.
type RunCode struct {
	// Timeout bounds one execution (a runaway loop fails the step).
	Timeout time.Duration
}

// Run executes script with the data query selects from env, and checks the
// result against the SDL schema. The result is JSON-shaped (maps, []any,
// float64, string, bool, nil).
func (r RunCode) Run(query, script, schema string, env map[string]any) (map[string]any, error) {
	sel, err := parseSelection(query)
	if err != nil {
		return nil, err
	}
	types, err := parseSDL(schema)
	if err != nil {
		return nil, err
	}
	input := project(env, sel)
	inJSON, err := json.Marshal(input)
	if err != nil {
		return nil, fmt.Errorf("run code: input: %w", err)
	}
	out, err := r.exec(script, string(inJSON))
	if err != nil {
		return nil, err
	}
	var result map[string]any
	if err := json.Unmarshal([]byte(out), &result); err != nil {
		return nil, fmt.Errorf("run code: main must return an object: %w", err)
	}
	if err := checkType(types, "Output", result, "output"); err != nil {
		return nil, err
	}
	return result, nil
}

func (r RunCode) exec(script, inputJSON string) (string, error) {
	// Flow scripts are ES modules; goja runs scripts, so the export is
	// rewritten into a plain function declaration.
	exportDefault := regexp.MustCompile(`(?m)^\s*export\s+default\s+function\s+main\s*\(`)
	if !exportDefault.MatchString(script) {
		return "", fmt.Errorf("run code: script must declare `export default function main(input)`")
	}
	for _, banned := range []string{"fetch(", "import ", "require(", "setTimeout", "setInterval", "Promise", "async ", "await "} {
		if strings.Contains(script, banned) {
			return "", fmt.Errorf("run code: %q is not available in Flow's Run code", strings.TrimSpace(banned))
		}
	}
	src := exportDefault.ReplaceAllString(script, "function main(")
	vm := goja.New()
	// Flow forbids clock- and randomness-based code; make it fail loudly.
	if _, err := vm.RunString(`Math.random = function () { throw new Error("Math.random is not available in Flow's Run code"); };
Date.now = function () { throw new Error("Date.now is not available in Flow's Run code"); };`); err != nil {
		return "", err
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	timer := time.AfterFunc(timeout, func() { vm.Interrupt("run code: timed out") })
	defer timer.Stop()
	if _, err := vm.RunString(src); err != nil {
		return "", fmt.Errorf("run code: %w", err)
	}
	if err := vm.Set("__input", inputJSON); err != nil {
		return "", err
	}
	v, err := vm.RunString(`JSON.stringify(main(JSON.parse(__input)))`)
	if err != nil {
		return "", fmt.Errorf("run code: %w", err)
	}
	s, ok := v.Export().(string)
	if !ok {
		return "", fmt.Errorf("run code: main returned nothing")
	}
	return s, nil
}

// selection is a GraphQL selection set: field name → sub-selection (nil
// for a leaf).
type selection map[string]selection

// parseSelection reads the Run code input query ("query { order { name } }"
// or "{ ... }"). Arguments, aliases and fragments are not supported: Flow's
// environment queries do not need them.
func parseSelection(q string) (selection, error) {
	toks := gqlTokens(q)
	i := 0
	if i < len(toks) && toks[i] == "query" {
		i++
		if i < len(toks) && toks[i] != "{" {
			i++ // operation name
		}
	}
	if i >= len(toks) || toks[i] != "{" {
		return nil, fmt.Errorf("run code: input must be a GraphQL query with a selection set")
	}
	sel, next, err := parseSet(toks, i+1)
	if err != nil {
		return nil, err
	}
	if next != len(toks) {
		return nil, fmt.Errorf("run code: input: unexpected %q after the query", toks[next])
	}
	return sel, nil
}

func parseSet(toks []string, i int) (selection, int, error) {
	sel := selection{}
	for i < len(toks) {
		t := toks[i]
		switch {
		case t == "}":
			if len(sel) == 0 {
				return nil, 0, fmt.Errorf("run code: input: empty selection")
			}
			return sel, i + 1, nil
		case t == "{" || t == "(" || t == ":" || t == "...":
			return nil, 0, fmt.Errorf("run code: input: unsupported %q", t)
		default:
			i++
			if i < len(toks) && toks[i] == "{" {
				sub, next, err := parseSet(toks, i+1)
				if err != nil {
					return nil, 0, err
				}
				sel[t] = sub
				i = next
			} else {
				sel[t] = nil
			}
		}
	}
	return nil, 0, fmt.Errorf("run code: input: missing }")
}

func gqlTokens(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == ',':
			i++
		case strings.HasPrefix(s[i:], "..."):
			out = append(out, "...")
			i += 3
		case strings.ContainsRune("{}():!", rune(c)) || c == '[' || c == ']':
			out = append(out, string(c))
			i++
		default:
			j := i
			for j < len(s) && (isIdentByte(s[j]) || (s[j] >= '0' && s[j] <= '9')) {
				j++
			}
			if j == i {
				j = i + 1
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out
}

// project keeps only the selected fields of v; lists are mapped.
func project(v any, sel selection) any {
	if sel == nil {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, sub := range sel {
			out[k] = project(x[k], sub)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = project(it, sel)
		}
		return out
	}
	return nil
}

// gqlType is a field type from SDL: a named type or a list, each maybe
// non-null.
type gqlType struct {
	name    string
	elem    *gqlType
	nonNull bool
}

func (t gqlType) String() string {
	s := t.name
	if t.elem != nil {
		s = "[" + t.elem.String() + "]"
	}
	if t.nonNull {
		s += "!"
	}
	return s
}

// parseSDL reads "type X { field: Type }" blocks; descriptions ("…" or
// """…""") and # comments are skipped.
func parseSDL(src string) (map[string]map[string]gqlType, error) {
	src = stripDescriptions(src)
	toks := gqlTokens(src)
	types := map[string]map[string]gqlType{}
	for i := 0; i < len(toks); {
		if toks[i] != "type" || i+2 >= len(toks) || toks[i+2] != "{" {
			return nil, fmt.Errorf("run code: output schema: expected `type Name {`, got %q", toks[i])
		}
		name := toks[i+1]
		fields := map[string]gqlType{}
		i += 3
		for i < len(toks) && toks[i] != "}" {
			if i+2 >= len(toks) || toks[i+1] != ":" {
				return nil, fmt.Errorf("run code: output schema: bad field in type %s", name)
			}
			fname := toks[i]
			t, next, err := parseGQLType(toks, i+2)
			if err != nil {
				return nil, err
			}
			fields[fname] = t
			i = next
		}
		if i >= len(toks) {
			return nil, fmt.Errorf("run code: output schema: type %s not closed", name)
		}
		types[name] = fields
		i++
	}
	if _, ok := types["Output"]; !ok {
		return nil, fmt.Errorf("run code: output schema must define `type Output`")
	}
	return types, nil
}

func stripDescriptions(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], `"""`) {
			end := strings.Index(s[i+3:], `"""`)
			if end < 0 {
				return b.String()
			}
			i += end + 6
			continue
		}
		if s[i] == '"' {
			j := i + 1
			for j < len(s) && s[j] != '"' && s[j] != '\n' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			i = j + 1
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

func parseGQLType(toks []string, i int) (gqlType, int, error) {
	if i >= len(toks) {
		return gqlType{}, i, fmt.Errorf("run code: output schema: missing type")
	}
	var t gqlType
	if toks[i] == "[" {
		elem, next, err := parseGQLType(toks, i+1)
		if err != nil {
			return t, next, err
		}
		if next >= len(toks) || toks[next] != "]" {
			return t, next, fmt.Errorf("run code: output schema: missing ]")
		}
		t.elem = &elem
		i = next + 1
	} else {
		t.name = toks[i]
		i++
	}
	if i < len(toks) && toks[i] == "!" {
		t.nonNull = true
		i++
	}
	return t, i, nil
}

func checkType(types map[string]map[string]gqlType, name string, v map[string]any, path string) error {
	fields := types[name]
	for k := range v {
		if _, ok := fields[k]; !ok {
			return fmt.Errorf("run code: %s.%s is not declared in the output schema", path, k)
		}
	}
	for f, t := range fields {
		if err := checkValue(types, t, v[f], path+"."+f); err != nil {
			return err
		}
	}
	return nil
}

func checkValue(types map[string]map[string]gqlType, t gqlType, v any, path string) error {
	if v == nil {
		if t.nonNull {
			return fmt.Errorf("run code: %s is %s but the script returned null/undefined", path, t)
		}
		return nil
	}
	if t.elem != nil {
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("run code: %s must be a list (%s)", path, t)
		}
		for i, it := range list {
			if err := checkValue(types, *t.elem, it, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
	ok := false
	switch t.name {
	case "String", "ID":
		_, ok = v.(string)
	case "Boolean":
		_, ok = v.(bool)
	case "Float":
		_, ok = v.(float64)
	case "Int":
		f, isNum := v.(float64)
		ok = isNum && f == math.Trunc(f) && math.Abs(f) <= math.MaxInt32
	default:
		obj, isObj := v.(map[string]any)
		if _, known := types[t.name]; !known {
			return fmt.Errorf("run code: output schema: unknown type %s", t.name)
		}
		if isObj {
			return checkType(types, t.name, obj, path)
		}
	}
	if !ok {
		return fmt.Errorf("run code: %s must be %s, got %T", path, t, v)
	}
	return nil
}
