// Package schemagen generates JSON values from an OpenAPI (kin-openapi)
// schema, and breaks them in ways the schema forbids, for the property
// test that holds the server to openapi.yaml: every generated value must
// be accepted, every broken one refused naming the field that was broken.
//
// The generator knows only the schema keywords: types, nullable, enum,
// anyOf/oneOf (with a discriminator) and a single allOf, required and
// optional properties, minItems/maxItems, minLength/maxLength, minimum/
// maximum and patterns (strings are drawn from the regular expression's
// syntax tree). It never looks at flowbridge's handlers.
package schemagen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// Gen draws values. It is not safe for concurrent use.
type Gen struct {
	r  *rand.Rand
	re map[string]*regexp.Regexp
	sy map[string]*syntax.Regexp
}

// New returns a generator seeded with seed (runs are reproducible).
func New(seed uint64) *Gen {
	return &Gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), re: map[string]*regexp.Regexp{}, sy: map[string]*syntax.Regexp{}}
}

// Value returns a value the schema accepts.
func (g *Gen) Value(s *openapi3.Schema) any {
	return g.value(s, 0)
}

func (g *Gen) chance(p float64) bool { return g.r.Float64() < p }

func (g *Gen) value(s *openapi3.Schema, depth int) any {
	if s.PermitsNull() && g.chance(0.1) {
		return nil
	}
	if len(s.Enum) > 0 {
		return s.Enum[g.r.IntN(len(s.Enum))]
	}
	switch {
	case len(s.AnyOf) > 0:
		return g.value(s.AnyOf[g.r.IntN(len(s.AnyOf))].Value, depth+1)
	case len(s.OneOf) > 0:
		return g.value(s.OneOf[g.r.IntN(len(s.OneOf))].Value, depth+1)
	case len(s.AllOf) == 1:
		return g.value(s.AllOf[0].Value, depth+1)
	case len(s.AllOf) > 1:
		panic("schemagen: allOf with several schemas is not supported")
	}
	switch {
	case s.Type.Is(openapi3.TypeObject), s.Type == nil && len(s.Properties) > 0:
		return g.object(s, depth)
	case s.Type.Is(openapi3.TypeArray):
		return g.array(s, depth)
	case s.Type.Is(openapi3.TypeString):
		return g.str(s)
	case s.Type.Is(openapi3.TypeInteger):
		lo, hi := bounds(s, 0, 1e6)
		return lo + float64(g.r.Int64N(int64(hi-lo)+1))
	case s.Type.Is(openapi3.TypeNumber):
		lo, hi := bounds(s, 0, 1e6)
		v := lo + g.r.Float64()*(hi-lo)
		if g.chance(0.7) {
			v = math.Floor(v*100) / 100
		}
		return v
	case s.Type.Is(openapi3.TypeBoolean):
		return g.chance(0.5)
	}
	// An empty schema accepts anything.
	return map[string]any{}
}

func bounds(s *openapi3.Schema, lo, hi float64) (float64, float64) {
	if s.Min != nil {
		lo = *s.Min
	}
	if s.Max != nil {
		hi = *s.Max
	} else if hi < lo {
		hi = lo + 1e6
	}
	// Keep JSON numbers exact in a float64.
	hi = math.Min(hi, 1<<53-1)
	return lo, hi
}

func (g *Gen) object(s *openapi3.Schema, depth int) map[string]any {
	out := map[string]any{}
	for _, name := range sortedKeys(s.Properties) {
		p := s.Properties[name].Value
		if slices.Contains(s.Required, name) || g.chance(0.6) {
			out[name] = g.value(p, depth+1)
		}
	}
	if closed(s) {
		return out
	}
	if g.chance(0.1) {
		out["x_extra_field"] = "a merchant's own field"
	}
	return out
}

// closed reports whether the object refuses unknown properties.
func closed(s *openapi3.Schema) bool {
	ap := s.AdditionalProperties
	return ap.Has != nil && !*ap.Has
}

func (g *Gen) array(s *openapi3.Schema, depth int) []any {
	lo := int(s.MinItems)
	hi := lo + 3
	if s.MaxItems != nil && int(*s.MaxItems) < hi {
		hi = int(*s.MaxItems)
	}
	n := lo + g.r.IntN(hi-lo+1)
	if s.MaxItems != nil && g.chance(0.005) {
		n = int(*s.MaxItems) // the limit itself is valid
	}
	out := make([]any, n)
	for i := range out {
		if s.Items == nil {
			out[i] = "x"
			continue
		}
		out[i] = g.value(s.Items.Value, depth+1)
	}
	return out
}

func (g *Gen) str(s *openapi3.Schema) string {
	lo := int(s.MinLength)
	hi := lo + 12
	if s.MaxLength != nil && int(*s.MaxLength) < hi {
		hi = int(*s.MaxLength)
	}
	if s.Pattern == "" {
		n := lo + g.r.IntN(hi-lo+1)
		if s.MaxLength != nil && g.chance(0.05) {
			n = int(*s.MaxLength)
		}
		var b strings.Builder
		for range n {
			b.WriteRune(g.anyRune())
		}
		return b.String()
	}
	re, tree := g.compile(s.Pattern)
	for try := 0; try < 200; try++ {
		budget := 6
		if s.MaxLength != nil && g.chance(0.05) {
			budget = int(*s.MaxLength) // aim at the limit
		}
		var b strings.Builder
		g.regex(tree, &b, budget)
		v := b.String()
		if s.MaxLength != nil && budget == int(*s.MaxLength) {
			v = truncateRunes(v, budget)
		}
		n := utf8.RuneCountInString(v)
		if n < lo || (s.MaxLength != nil && n > int(*s.MaxLength)) || !re.MatchString(v) {
			continue
		}
		return v
	}
	panic(fmt.Sprintf("schemagen: no string for pattern %q within length %d..%v", s.Pattern, lo, s.MaxLength))
}

func truncateRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

func (g *Gen) compile(p string) (*regexp.Regexp, *syntax.Regexp) {
	if re, ok := g.re[p]; ok {
		return re, g.sy[p]
	}
	re := regexp.MustCompile(p)
	tree, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		panic(err)
	}
	g.re[p], g.sy[p] = re, tree
	return re, tree
}

// anyRune draws mostly printable text in several scripts, never a
// surrogate (not encodable in UTF-8).
func (g *Gen) anyRune() rune {
	pools := [][2]rune{{'a', 'z'}, {'A', 'Z'}, {'0', '9'}, {' ', '~'}, {0xC0, 0x17F}, {0x400, 0x4FF}, {0x4E00, 0x4FFF}, {0x1F600, 0x1F64F}}
	p := pools[g.r.IntN(len(pools))]
	return p[0] + g.r.Int32N(p[1]-p[0]+1)
}

// regex writes a string matched by re; budget bounds open repetitions.
func (g *Gen) regex(re *syntax.Regexp, b *strings.Builder, budget int) {
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			b.WriteRune(r)
		}
	case syntax.OpCharClass:
		b.WriteRune(g.classRune(re.Rune))
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteRune(g.anyRune())
	case syntax.OpCapture:
		g.regex(re.Sub[0], b, budget)
	case syntax.OpConcat:
		for _, s := range re.Sub {
			g.regex(s, b, budget)
		}
	case syntax.OpAlternate:
		g.regex(re.Sub[g.r.IntN(len(re.Sub))], b, budget)
	case syntax.OpQuest:
		if g.chance(0.5) {
			g.regex(re.Sub[0], b, budget)
		}
	case syntax.OpStar, syntax.OpPlus:
		n := g.r.IntN(budget + 1)
		if budget > 12 {
			n = budget
		}
		if re.Op == syntax.OpPlus && n == 0 {
			n = 1
		}
		for range n {
			g.regex(re.Sub[0], b, budget)
		}
	case syntax.OpRepeat:
		lo, hi := re.Min, re.Max
		if hi < 0 {
			hi = lo + budget
		}
		n := lo + g.r.IntN(hi-lo+1)
		if budget > 12 && hi-lo > 0 {
			n = hi
		}
		for range n {
			g.regex(re.Sub[0], b, budget)
		}
	}
	// Anchors and empty matches write nothing.
}

// classRune draws from a character class (pairs of ranges), preferring
// the first 0x3000 code points so text stays mostly readable, and never a
// surrogate.
func (g *Gen) classRune(ranges []rune) rune {
	for {
		i := 2 * g.r.IntN(len(ranges)/2)
		lo, hi := ranges[i], ranges[i+1]
		if hi > lo+0x3000 && g.chance(0.9) {
			hi = lo + 0x3000
		}
		r := lo + g.r.Int32N(hi-lo+1)
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		return r
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
