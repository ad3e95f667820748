package schemagen

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Mutation is one way a generated value was broken.
type Mutation struct {
	// Pointer is the JSON pointer of the broken field, which a refusal
	// must name.
	Pointer string
	// Kind says how: missing, type, null, too_long, enum, bad_char,
	// too_many, too_few, too_big, unknown_field.
	Kind string
}

// site is a place in a value where a mutation can be applied.
type site struct {
	ptr    string
	s      *openapi3.Schema // the schema that governs members (resolved)
	orig   *openapi3.Schema // the schema as the parent states it (nullable, alternatives)
	parent any              // the map or slice holding the value (nil for the root)
	key    string           // map key, or the index for a slice
	value  any
}

// Break returns a copy of v (a value of schema s) with exactly one rule
// of the schema broken, and what was broken. ok is false when v offers
// nothing to break.
func (g *Gen) Break(s *openapi3.Schema, v any) (out any, m Mutation, ok bool) {
	out = deepCopy(v)
	var sites []site
	collect(s, out, "", nil, "", &sites)
	g.r.Shuffle(len(sites), func(i, j int) { sites[i], sites[j] = sites[j], sites[i] })
	for _, st := range sites {
		for _, kind := range g.kinds() {
			if nv, mut, ok := g.apply(st, kind); ok {
				if st.parent == nil {
					return nv, mut, true
				}
				set(st.parent, st.key, nv)
				return out, mut, true
			}
			if kind == "missing" {
				if mut, ok := g.remove(st); ok {
					return out, mut, true
				}
			}
		}
	}
	return v, Mutation{}, false
}

var allKinds = []string{"missing", "type", "null", "too_long", "enum", "bad_char", "too_many", "too_few", "too_big", "unknown_field"}

func (g *Gen) kinds() []string {
	k := slices.Clone(allKinds)
	g.r.Shuffle(len(k), func(i, j int) { k[i], k[j] = k[j], k[i] })
	return k
}

// collect lists every value in v with the schema that governs it.
func collect(s *openapi3.Schema, v any, ptr string, parent any, key string, out *[]site) {
	orig := s
	s = resolve(s, v)
	*out = append(*out, site{ptr: ptr, s: s, orig: orig, parent: parent, key: key, value: v})
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			if p := s.Properties[k]; p != nil {
				collect(p.Value, x[k], ptr+"/"+escape(k), x, k, out)
			}
		}
	case []any:
		if s.Items != nil {
			for i, e := range x {
				collect(s.Items.Value, e, ptr+"/"+strconv.Itoa(i), x, strconv.Itoa(i), out)
			}
		}
	}
}

// resolve picks the branch of a discriminated oneOf that v selects, and
// the single schema of an allOf, so that object and array values are
// walked with the schema that governs their members. anyOf over scalars
// stays as it is (the site is the scalar).
func resolve(s *openapi3.Schema, v any) *openapi3.Schema {
	if len(s.AllOf) == 1 && s.Type == nil {
		return resolve(s.AllOf[0].Value, v)
	}
	if d := s.Discriminator; d != nil {
		if m, ok := v.(map[string]any); ok {
			if name, ok := m[d.PropertyName].(string); ok {
				if ref, ok := d.Mapping[name]; ok {
					for _, b := range s.OneOf {
						if b.Ref == ref.Ref {
							return b.Value
						}
					}
				}
			}
		}
	}
	return s
}

// branches are the alternatives a schema allows (itself when it has none).
func branches(s *openapi3.Schema) []*openapi3.Schema {
	var out []*openapi3.Schema
	for _, l := range []openapi3.SchemaRefs{s.AnyOf, s.OneOf, s.AllOf} {
		for _, r := range l {
			out = append(out, branches(r.Value)...)
		}
	}
	if len(out) == 0 {
		out = append(out, s)
	}
	return out
}

func permitsNull(s *openapi3.Schema) bool {
	if s.PermitsNull() {
		return true
	}
	if len(s.AllOf) > 0 {
		return false // allOf: every member must accept null
	}
	for _, b := range append(slices.Clone(s.AnyOf), s.OneOf...) {
		if permitsNull(b.Value) {
			return true
		}
	}
	return false
}

func types(s *openapi3.Schema) map[string]bool {
	t := map[string]bool{}
	for _, b := range branches(s) {
		if b.Type == nil {
			if len(b.Properties) > 0 {
				t["object"] = true
				continue
			}
			for _, k := range []string{"object", "array", "string", "number", "integer", "boolean"} {
				t[k] = true // an empty schema accepts anything
			}
			continue
		}
		for _, k := range b.Type.Slice() {
			t[k] = true
		}
	}
	if t["integer"] {
		t["number-int"] = true
	}
	return t
}

// apply tries one kind of mutation on a site.
func (g *Gen) apply(st site, kind string) (any, Mutation, bool) {
	s := st.s
	mut := Mutation{Pointer: st.ptr, Kind: kind}
	switch kind {
	case "type":
		t := types(st.orig)
		cands := []struct {
			name string
			v    any
		}{{"object", map[string]any{"zz": 1}}, {"array", []any{1}}, {"string", "zz"}, {"boolean", true}, {"number", 7.5}}
		g.r.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
		for _, c := range cands {
			if c.name == "number" && (t["number"] || t["integer"]) {
				continue
			}
			if !t[c.name] {
				return c.v, mut, true
			}
		}
	case "null":
		if !permitsNull(st.orig) {
			return nil, mut, true
		}
	case "too_long":
		str, ok := st.value.(string)
		if !ok {
			return nil, mut, false
		}
		max := -1
		for _, b := range branches(s) {
			if b.Type.Is(openapi3.TypeString) {
				if b.MaxLength == nil {
					return nil, mut, false
				}
				max = max0(max, int(*b.MaxLength))
			}
		}
		if max < 0 {
			return nil, mut, false
		}
		return str + strings.Repeat("a", max+1), mut, true
	case "enum":
		if len(s.Enum) > 0 {
			return "zz-not-listed", mut, true
		}
	case "bad_char":
		str, ok := st.value.(string)
		if !ok {
			return nil, mut, false
		}
		for _, b := range branches(s) {
			if b.Type.Is(openapi3.TypeString) && !strings.Contains(b.Pattern, "\u202A") {
				return nil, mut, false // a string branch that does not refuse control characters
			}
		}
		bad := []string{"\x00", "\u202E", "\u2066", "\x1b", "\uFFFD", "\u0085"}
		c := bad[g.r.IntN(len(bad))]
		i := len(str) / 2
		for i > 0 && !isRuneStart(str[i]) {
			i--
		}
		return str[:i] + c + str[i:], mut, true
	case "too_many":
		a, ok := st.value.([]any)
		if !ok || s.MaxItems == nil || len(a) == 0 {
			return nil, mut, false
		}
		out := slices.Clone(a)
		for len(out) <= int(*s.MaxItems) {
			out = append(out, deepCopy(a[len(out)%len(a)]))
		}
		return out, mut, true
	case "too_few":
		if _, ok := st.value.([]any); ok && s.MinItems > 0 {
			return []any{}, mut, true
		}
	case "too_big":
		if _, ok := st.value.(float64); !ok {
			return nil, mut, false
		}
		max := math.Inf(-1)
		for _, b := range branches(s) {
			if b.Type.Is(openapi3.TypeNumber) || b.Type.Is(openapi3.TypeInteger) {
				if b.Max == nil {
					return nil, mut, false
				}
				max = math.Max(max, *b.Max)
			}
		}
		if math.IsInf(max, -1) || max >= 1<<53-2 {
			return nil, mut, false
		}
		return math.Floor(max) + 1, mut, true
	case "unknown_field":
		m, ok := st.value.(map[string]any)
		if ok && closed(s) {
			out := deepCopy(m).(map[string]any)
			out["zz_unknown"] = 1
			mut.Pointer = st.ptr + "/zz_unknown"
			return out, mut, true
		}
	}
	return nil, mut, false
}

// remove deletes a required property of an object site.
func (g *Gen) remove(st site) (Mutation, bool) {
	m, ok := st.value.(map[string]any)
	if !ok || len(st.s.Required) == 0 {
		return Mutation{}, false
	}
	req := slices.Clone(st.s.Required)
	g.r.Shuffle(len(req), func(i, j int) { req[i], req[j] = req[j], req[i] })
	for _, k := range req {
		if _, present := m[k]; present {
			delete(m, k)
			return Mutation{Pointer: st.ptr + "/" + escape(k), Kind: "missing"}, true
		}
	}
	return Mutation{}, false
}

func max0(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

func set(parent any, key string, v any) {
	switch p := parent.(type) {
	case map[string]any:
		p[key] = v
	case []any:
		i, _ := strconv.Atoi(key)
		p[i] = v
	}
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
