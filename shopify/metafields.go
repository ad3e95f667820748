package shopify

import (
	"context"
	"fmt"
	"strings"

	"github.com/flowbridge/flowbridge/flowtemplates"
	"github.com/flowbridge/flowbridge/problem"
)

// OwnerOrder is the metafield owner type of every definition flowbridge needs.
const OwnerOrder = "ORDER"

// Definition is a metafield definition as the Admin API reports it.
type Definition struct {
	ID        string
	Name      string
	Namespace string
	Key       string
	Type      string
}

// Ref is "namespace.key", the way Flow and the Shopify admin show it.
func (d Definition) Ref() string { return d.Namespace + "." + d.Key }

// Status says what became of one wanted definition.
type Status string

const (
	// Created: setup created it just now.
	Created Status = "created"
	// Present: it already existed with exactly this namespace, key and type.
	Present Status = "present"
	// Missing: it does not exist (only reported by CheckMetafieldDefinitions).
	Missing Status = "missing"
	// Mismatch: a definition exists whose namespace or key differs only in
	// letter case, or whose type differs. Flow matches namespace and key
	// exactly, so the workflows would write to a metafield nobody defined.
	Mismatch Status = "mismatch"
	// Failed: Shopify refused to create it (userErrors other than TAKEN).
	Failed Status = "failed"
)

// Result is the outcome for one wanted definition.
type Result struct {
	Want   flowtemplates.Metafield
	Status Status
	// Found is the existing definition (Present, Mismatch, Created).
	Found *Definition
	// Problem says what is wrong (Mismatch, Missing, Failed); Fix what to do.
	Problem string
	Fix     string
	// UserErrors are Shopify's userErrors for Failed.
	UserErrors []UserError
}

// OK reports whether the definition is usable by the workflows.
func (r Result) OK() bool { return r.Status == Created || r.Status == Present }

// Ref is the wanted "namespace.key".
func (r Result) Ref() string { return r.Want.Namespace + "." + r.Want.Key }

// UserError is one entry of a mutation's userErrors.
type UserError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
	Code    string   `json:"code"`
}

const listDefinitionsQuery = `query FlowbridgeOrderDefinitions($ownerType: MetafieldOwnerType!, $first: Int!, $after: String) {
  metafieldDefinitions(ownerType: $ownerType, first: $first, after: $after) {
    nodes { id name namespace key type { name } }
    pageInfo { hasNextPage endCursor }
  }
}`

const createDefinitionMutation = `mutation FlowbridgeCreateDefinition($definition: MetafieldDefinitionInput!) {
  metafieldDefinitionCreate(definition: $definition) {
    createdDefinition { id name namespace key type { name } }
    userErrors { field message code }
  }
}`

type definitionNode struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Key       string `json:"key"`
	Type      struct {
		Name string `json:"name"`
	} `json:"type"`
}

func (n definitionNode) definition() Definition {
	return Definition{ID: n.ID, Name: n.Name, Namespace: n.Namespace, Key: n.Key, Type: n.Type.Name}
}

// OrderDefinitions lists every order metafield definition the token can see.
// It lists them all rather than filtering by namespace so that a definition
// whose namespace differs only in case is found too, whatever case rules the
// API's own filter follows.
func (c *Client) OrderDefinitions(ctx context.Context) ([]Definition, error) {
	var all []Definition
	var after any // JSON null on the first page
	for page := 0; page < 50; page++ {
		var out struct {
			MetafieldDefinitions struct {
				Nodes    []definitionNode `json:"nodes"`
				PageInfo struct {
					HasNextPage bool   `json:"hasNextPage"`
					EndCursor   string `json:"endCursor"`
				} `json:"pageInfo"`
			} `json:"metafieldDefinitions"`
		}
		vars := map[string]any{"ownerType": OwnerOrder, "first": 250, "after": after}
		if err := c.Do(ctx, listDefinitionsQuery, vars, &out); err != nil {
			return nil, err
		}
		for _, n := range out.MetafieldDefinitions.Nodes {
			all = append(all, n.definition())
		}
		pi := out.MetafieldDefinitions.PageInfo
		if !pi.HasNextPage || pi.EndCursor == "" {
			return all, nil
		}
		after = pi.EndCursor
	}
	return all, nil
}

// CheckMetafieldDefinitions compares the wanted definitions with the shop's,
// changing nothing. Used by doctor.
func (c *Client) CheckMetafieldDefinitions(ctx context.Context, want []flowtemplates.Metafield) ([]Result, error) {
	have, err := c.OrderDefinitions(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(want))
	for _, w := range want {
		out = append(out, classify(w, have))
	}
	return out, nil
}

// EnsureMetafieldDefinitions makes sure every wanted order definition exists
// exactly as the workflows reference it. It is idempotent: it lists first and
// creates only what is missing; a create answered with TAKEN (someone made it
// in between) counts as present once the definition is confirmed. A
// definition that exists with another letter case or type is reported as a
// Mismatch and left alone: deleting it could lose data, and creating a
// second one next to it would leave the shop with two look-alikes.
//
// The error is for failures that stop the whole run (token, network); per
// definition problems are in the results.
func (c *Client) EnsureMetafieldDefinitions(ctx context.Context, want []flowtemplates.Metafield) ([]Result, error) {
	have, err := c.OrderDefinitions(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(want))
	for _, w := range want {
		r := classify(w, have)
		if r.Status == Missing {
			r, err = c.create(ctx, w)
			if err != nil {
				return out, err
			}
			if r.Found != nil {
				have = append(have, *r.Found)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func (c *Client) create(ctx context.Context, w flowtemplates.Metafield) (Result, error) {
	input := map[string]any{
		"name":      w.Name,
		"namespace": w.Namespace,
		"key":       w.Key,
		"type":      w.Type,
		"ownerType": OwnerOrder,
	}
	if w.Description != "" {
		input["description"] = w.Description
	}
	var out struct {
		Create struct {
			CreatedDefinition *definitionNode `json:"createdDefinition"`
			UserErrors        []UserError     `json:"userErrors"`
		} `json:"metafieldDefinitionCreate"`
	}
	if err := c.Do(ctx, createDefinitionMutation, map[string]any{"definition": input}, &out); err != nil {
		return Result{}, err
	}
	if d := out.Create.CreatedDefinition; d != nil && len(out.Create.UserErrors) == 0 {
		def := d.definition()
		return Result{Want: w, Status: Created, Found: &def}, nil
	}
	ues := out.Create.UserErrors
	if len(ues) > 0 && allTaken(ues) {
		// Created between our listing and our create (or by a second run
		// racing this one): look again and judge what is really there.
		have, err := c.OrderDefinitions(ctx)
		if err != nil {
			return Result{}, err
		}
		r := classify(w, have)
		if r.Status == Missing {
			// Shopify says it exists but does not show it to this token
			// (e.g. owned by another app). It cannot be verified, so it is
			// not reported as a success.
			r.Status = Failed
			r.UserErrors = ues
			r.Problem = "Shopify says " + r.Ref() + " is taken, but the definition is not visible to this access token"
			r.Fix = "Open Settings → Custom data → Orders in the Shopify admin and check who owns " + r.Ref() +
				"; if an app owns it, pick another namespace with --namespace and regenerate the templates with the same namespace"
		}
		return r, nil
	}
	if len(ues) == 0 {
		return Result{}, problem.New(problem.Upstream, CodeBadResponse,
			"metafieldDefinitionCreate answered neither a definition nor userErrors")
	}
	return Result{
		Want: w, Status: Failed, UserErrors: ues,
		Problem: "Shopify refused to create " + w.Namespace + "." + w.Key + ": " + describeUserErrors(ues),
		Fix:     fixForUserErrors(ues),
	}, nil
}

func allTaken(ues []UserError) bool {
	for _, u := range ues {
		if u.Code != "TAKEN" {
			return false
		}
	}
	return true
}

func describeUserErrors(ues []UserError) string {
	parts := make([]string, 0, len(ues))
	for _, u := range ues {
		p := u.Message
		if u.Code != "" {
			p += " [" + u.Code + "]"
		}
		if len(u.Field) > 0 {
			p += " (field " + strings.Join(u.Field, ".") + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

func fixForUserErrors(ues []UserError) string {
	for _, u := range ues {
		switch u.Code {
		case "UNSTRUCTURED_ALREADY_EXISTS":
			return "Order metafields with this namespace and key already exist without a definition; add the definition by hand under Settings → Custom data → Orders (type Single line text), then run doctor"
		case "RESERVED_NAMESPACE_KEY":
			return "This namespace and key are reserved by Shopify; choose another namespace with --namespace and regenerate the templates with it"
		case "LIMIT_EXCEEDED", "RESOURCE_TYPE_LIMIT_EXCEEDED":
			return "The shop has reached its limit of order metafield definitions; delete unused ones under Settings → Custom data → Orders"
		case "INVALID", "INVALID_CHARACTER", "TOO_SHORT", "TOO_LONG":
			return "Namespace must be 3–255 and key 2–64 characters of letters, digits, '-' and '_'; fix --namespace (and the templates) accordingly"
		}
	}
	return "Create the definition by hand under Settings → Custom data → Orders, then run flowbridge doctor"
}

// classify judges one wanted definition against the shop's.
func classify(w flowtemplates.Metafield, have []Definition) Result {
	r := Result{Want: w}
	var near *Definition
	for i := range have {
		h := have[i]
		if h.Namespace == w.Namespace && h.Key == w.Key {
			r.Found = &h
			if h.Type != w.Type {
				r.Status = Mismatch
				r.Problem = fmt.Sprintf("%s exists with type %s; the workflows need %s", h.Ref(), h.Type, w.Type)
				r.Fix = fmt.Sprintf("Delete the definition %s under Settings → Custom data → Orders (check its values first), then run flowbridge setup", h.Ref())
				return r
			}
			r.Status = Present
			return r
		}
		if near == nil && strings.EqualFold(h.Namespace, w.Namespace) && strings.EqualFold(h.Key, w.Key) {
			near = &h
		}
	}
	if near != nil {
		r.Found = near
		r.Status = Mismatch
		what := "namespace"
		if near.Namespace == w.Namespace {
			what = "key"
		} else if near.Key != w.Key {
			what = "namespace and key"
		}
		r.Problem = fmt.Sprintf("found %s but the workflows use %s: the %s differs in letter case, and Flow matches it exactly",
			near.Ref(), r.Ref(), what)
		keep := "`flowbridge templates --namespace " + near.Namespace + "`"
		if near.Key != w.Key {
			keep = "namespace " + near.Namespace + " and key " + near.Key
		}
		r.Fix = fmt.Sprintf("Either delete %s under Settings → Custom data → Orders and run `flowbridge setup`, "+
			"or keep it and regenerate the templates with %s", near.Ref(), keep)
		return r
	}
	r.Status = Missing
	r.Problem = r.Ref() + " is not defined: Flow cannot write or read it"
	r.Fix = "Run `flowbridge setup --shop <shop> --token <token>` to create it"
	return r
}
