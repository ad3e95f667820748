package flowtemplates

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/flowbridge/flowbridge/internal/adminschema"
)

// Everything the templates read from Shopify is checked against Shopify's
// real Admin schema (API 2026-01, the version Flow evaluates with): every
// Liquid path in every workflow, guide and README body, every Condition
// path and enum literal, and every Run code input query. Flow exposes the
// Admin API types with connections read as lists.

var (
	liquidOut  = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)`)
	liquidFor  = regexp.MustCompile(`\{%-?\s*for\s+([A-Za-z_][A-Za-z0-9_]*)\s+in\s+([A-Za-z_][A-Za-z0-9_.]*)`)
	liquidTag  = regexp.MustCompile(`\{%-?\s*(?:if|elsif|unless)\s+([A-Za-z_][A-Za-z0-9_.]*)`)
	condEnumEq = regexp.MustCompile(`\b((?:order|shop)\.[A-Za-z0-9_.]+)\s*(?:==|!=)\s*'([^']*)'`)
)

// roots maps Flow's top-level variables to their Admin API types.
var roots = map[string]string{"order": "Order", "shop": "Shop"}

type pathChecker struct {
	errorf  func(format string, a ...any)
	s       *adminschema.Schema
	handles map[string]bool // metafield handles exposed through patched_fields
	checked map[string]bool
}

func (c *pathChecker) check(where, path string, loopVars map[string]string) {
	head, rest, _ := strings.Cut(path, ".")
	root, ok := roots[head]
	if lv, isLoop := loopVars[head]; isLoop {
		root, ok = lv, lv != ""
	}
	if !ok || rest == "" {
		return // a step result, a secret, a loop over scalars, …
	}
	first, after, _ := strings.Cut(rest, ".")
	if root == "Order" && c.handles[first] {
		if after != "value" {
			c.errorf("%s: metafield %s.%s must be read as .value", where, head, first)
		}
		return
	}
	c.checked[root+"."+rest] = true
	fields, err := c.s.Path(root, rest)
	if err != nil {
		c.errorf("%s: %s: %v", where, path, err)
		return
	}
	for _, f := range fields {
		if d := adminschema.Deprecation(f.Def); d != "" {
			c.errorf("%s: %s reads deprecated %s.%s (%s)", where, path, f.Parent, f.Def.Name, d)
		}
	}
}

// text checks every Liquid path in a template text.
func (c *pathChecker) text(where, src string) {
	loops := map[string]string{}
	for _, m := range liquidFor.FindAllStringSubmatch(src, -1) {
		head, rest, _ := strings.Cut(m[2], ".")
		if root, ok := roots[head]; ok && rest != "" {
			c.check(where, m[2], nil)
			if fields, err := c.s.Path(root, rest); err == nil {
				leaf := fields[len(fields)-1]
				if def := c.s.AST.Types[leaf.Type.NamedType]; def != nil && def.Kind == ast.Object {
					loops[m[1]] = def.Name
					continue
				}
			}
		}
		loops[m[1]] = ""
	}
	for _, re := range []*regexp.Regexp{liquidOut, liquidTag} {
		for _, m := range re.FindAllStringSubmatch(src, -1) {
			if m[1] == "forloop.last" || strings.HasPrefix(m[1], "forloop.") {
				continue
			}
			c.check(where, m[1], loops)
		}
	}
}

func (c *pathChecker) condition(where, src string) {
	for _, m := range regexp.MustCompile(`\b((?:order|shop)\.[A-Za-z0-9_.]+)`).FindAllStringSubmatch(src, -1) {
		c.check(where, m[1], nil)
	}
	for _, m := range condEnumEq.FindAllStringSubmatch(src, -1) {
		head, rest, _ := strings.Cut(m[1], ".")
		fields, err := c.s.Path(roots[head], rest)
		if err != nil {
			continue
		}
		if def := c.s.AST.Types[fields[len(fields)-1].Type.NamedType]; def != nil && def.Kind == ast.Enum && def.EnumValues.ForName(m[2]) == nil {
			c.errorf("%s: %q is not a %s value", where, m[2], def.Name)
		}
	}
}

// runCodeInput checks a Run code input query: order/shop selections
// against the schema, HTTP step selections against the fields the step
// result has (status, body, headers).
func (c *pathChecker) runCodeInput(where, query string) {
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		c.errorf("%s: input query does not parse: %v", where, err)
		return
	}
	var walk func(prefix string, sel ast.SelectionSet)
	walk = func(prefix string, sel ast.SelectionSet) {
		for _, x := range sel {
			f, ok := x.(*ast.Field)
			if !ok {
				c.errorf("%s: only plain fields are expected in an input query", where)
				continue
			}
			p := f.Name
			if prefix != "" {
				p = prefix + "." + f.Name
			}
			if len(f.SelectionSet) == 0 {
				if strings.HasPrefix(p, "sendHttpRequest") {
					if _, field, _ := strings.Cut(p, "."); field != "status" && field != "body" && field != "headers" {
						c.errorf("%s: %s: a Send HTTP request result has only status, body and headers", where, p)
					}
					continue
				}
				c.check(where, p, nil)
				continue
			}
			walk(p, f.SelectionSet)
		}
	}
	for _, op := range doc.Operations {
		walk("", op.SelectionSet)
	}
}

func TestTemplatesAgainstAdminSchema(t *testing.T) {
	s, err := adminschema.Load()
	if err != nil {
		t.Fatal(err)
	}
	c := &pathChecker{errorf: t.Errorf, s: s, checked: map[string]bool{}}
	for _, mode := range []Params{
		func() Params { p := Defaults(); p.FulfilBy = FulfilByFlow; p.Hold = 2 * 60 * 60 * 1e9; return p }(),
		func() Params { p := Defaults(); p.FulfilBy = FulfilByFlowbridge; return p }(),
	} {
		w, err := Build(mode)
		if err != nil {
			t.Fatal(err)
		}
		c.handles = map[string]bool{}
		for _, pf := range w.Root.PatchedFields {
			c.handles[CamelHandle(pf.Handle)] = true
		}
		for _, st := range w.Root.Steps {
			where := mode.FulfilBy + ": " + st.Title()
			for _, cv := range st.ConfigFieldValues {
				switch cv.ConfigFieldID {
				case "condition":
					c.condition(where, cv.Value)
				case "input":
					c.runCodeInput(where, cv.Value)
				case "output_schema":
					outputSchema(t, where, cv.Value)
				case "script":
				default:
					c.text(where+" "+cv.ConfigFieldID, cv.Value)
				}
			}
		}
		c.text(mode.FulfilBy+": build guide", string(Guide(mode, w)))
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	c.text("README", string(readme))
	// The checker must have looked at the paths that matter.
	for _, want := range []string{"LineItem.currentQuantity", "LineItem.variant.barcode", "Order.shippingAddress.countryCodeV2",
		"Order.fulfillmentOrders.assignedLocation.location.id", "Order.displayFulfillmentStatus", "Shop.myshopifyDomain", "Order.currencyCode"} {
		if !c.checked[want] {
			t.Errorf("%s was never checked", want)
		}
	}
	var all []string
	for k := range c.checked {
		all = append(all, k)
	}
	sort.Strings(all)
	t.Logf("%d distinct Admin paths checked: %s", len(all), strings.Join(all, " "))
}

// The checker itself finds what the real schema refuses.
func TestPathCheckerFindsFaults(t *testing.T) {
	s, err := adminschema.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		src  string
		cond bool
	}{
		{`{{ order.lineItems.barcode | json }}`, false},                               // barcode is on the variant
		{`{% for li in order.lineItems %}{{ li.variantBarcode }}{% endfor %}`, false}, // no such field
		{`{{ order.shippingAddress.countryCode }}`, false},                            // deprecated (countryCodeV2)
		{`(order.displayFulfillmentStatus != 'DONE')`, true},                          // not an enum value
	} {
		var found []string
		c := &pathChecker{errorf: func(f string, a ...any) { found = append(found, f) }, s: s, checked: map[string]bool{}, handles: map[string]bool{}}
		if tc.cond {
			c.condition("fault", tc.src)
		} else {
			c.text("fault", tc.src)
		}
		if len(found) == 0 {
			t.Errorf("no fault found in %s", tc.src)
		}
	}
}

// outputSchema checks a Run code output SDL: it parses, has type Output,
// and every field type is a built-in scalar or a type it defines.
func outputSchema(t *testing.T, where, sdl string) {
	t.Helper()
	doc, err := parser.ParseSchema(&ast.Source{Input: sdl})
	if err != nil {
		t.Errorf("%s: output schema does not parse: %v", where, err)
		return
	}
	defined := map[string]bool{"String": true, "Int": true, "Float": true, "Boolean": true, "ID": true}
	for _, d := range doc.Definitions {
		defined[d.Name] = true
	}
	if doc.Definitions.ForName("Output") == nil {
		t.Errorf("%s: output schema has no type Output", where)
	}
	for _, d := range doc.Definitions {
		for _, f := range d.Fields {
			if !defined[f.Type.Name()] {
				t.Errorf("%s: output field %s.%s has undefined type %s", where, d.Name, f.Name, f.Type.Name())
			}
		}
	}
}
