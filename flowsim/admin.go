package flowsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/flowbridge/flowbridge/internal/adminschema"
)

// CoerceMutationInputs checks a Send Admin API request's inputs the way
// Shopify does: every key is an argument of the mutation, every required
// argument is there, and each value coerces to its argument's input type
// in the real Admin schema (API 2026-01).
func CoerceMutationInputs(mutation string, inputs map[string]any) error {
	s, err := adminschema.Load()
	if err != nil {
		return err
	}
	f := s.AST.Mutation.Fields.ForName(mutation)
	if f == nil {
		return fmt.Errorf("%s is not a mutation of the Admin API %s", mutation, adminschema.Version)
	}
	if d := adminschema.Deprecation(f); d != "" {
		return fmt.Errorf("%s is deprecated: %s", mutation, d)
	}
	var problems []string
	for k := range inputs {
		if f.Arguments.ForName(k) == nil {
			problems = append(problems, fmt.Sprintf("%s has no argument %q", mutation, k))
		}
	}
	for _, a := range f.Arguments {
		v, ok := inputs[a.Name]
		if !ok {
			if a.Type.NonNull && a.DefaultValue == nil {
				problems = append(problems, fmt.Sprintf("%s needs argument %q (%s)", mutation, a.Name, a.Type.String()))
			}
			continue
		}
		if err := s.CoerceInput(a.Type.String(), v); err != nil {
			problems = append(problems, fmt.Sprintf("%s(%s): %v", mutation, a.Name, err))
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		return fmt.Errorf("the Admin API would refuse the inputs: %s", strings.Join(problems, "; "))
	}
	return nil
}

// MutationDocument writes the GraphQL document Flow's Send Admin API request
// amounts to for mutation with inputs: one variable per argument given,
// typed as in the schema, selecting the payload's scalars, the ids of its
// objects and userErrors { field message }.
func MutationDocument(mutation string, inputs map[string]any) (string, error) {
	s, err := adminschema.Load()
	if err != nil {
		return "", err
	}
	f := s.AST.Mutation.Fields.ForName(mutation)
	if f == nil {
		return "", fmt.Errorf("%s is not a mutation", mutation)
	}
	var defs, args []string
	for _, a := range f.Arguments {
		if _, ok := inputs[a.Name]; ok {
			defs = append(defs, "$"+a.Name+": "+a.Type.String())
			args = append(args, a.Name+": $"+a.Name)
		}
	}
	var sel []string
	if payload := s.AST.Types[f.Type.Name()]; payload != nil {
		for _, pf := range payload.Fields {
			if adminschema.Deprecation(pf) != "" {
				continue
			}
			t := s.AST.Types[pf.Type.Name()]
			switch {
			case pf.Name == "userErrors":
				sel = append(sel, "userErrors { field message }")
			case t != nil && (t.Kind == ast.Scalar || t.Kind == ast.Enum):
				sel = append(sel, pf.Name)
			case t != nil && t.Kind == ast.Object && t.Fields.ForName("id") != nil:
				sel = append(sel, pf.Name+" { id }")
			}
		}
	}
	doc := "mutation FlowSendAdminApiRequest"
	if len(defs) > 0 {
		doc += "(" + strings.Join(defs, ", ") + ")"
	}
	call := mutation
	if len(args) > 0 {
		call += "(" + strings.Join(args, ", ") + ")"
	}
	return doc + " { " + call + " { " + strings.Join(sel, " ") + " } }", nil
}

// GraphQLAdmin sends Send Admin API request actions to an Admin GraphQL
// endpoint (a development store, or a fake such as shopify/shopifytest).
type GraphQLAdmin struct {
	URL    string // https://<shop>/admin/api/2026-01/graphql.json
	Token  string
	Client *http.Client
}

// Mutate implements AdminAPI.
func (g GraphQLAdmin) Mutate(ctx context.Context, mutation string, inputs map[string]any) (map[string]any, error) {
	doc, err := MutationDocument(mutation, inputs)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(map[string]any{"query": doc, "variables": inputs})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Access-Token", g.Token)
	c := g.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var out struct {
		Data   map[string]map[string]any `json:"data"`
		Errors json.RawMessage           `json:"errors"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("admin API answered HTTP %d: %s", resp.StatusCode, truncate(string(raw), 200))
	}
	if len(out.Errors) > 0 && string(out.Errors) != "null" {
		return nil, fmt.Errorf("admin API errors: %s", truncate(string(out.Errors), 300))
	}
	payload := out.Data[mutation]
	if ue, _ := payload["userErrors"].([]any); len(ue) > 0 {
		b, _ := json.Marshal(ue)
		return payload, fmt.Errorf("%s userErrors: %s", mutation, b)
	}
	return payload, nil
}
