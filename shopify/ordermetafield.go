package shopify

import (
	"context"
	"strings"

	"github.com/flowbridge/flowbridge/problem"
)

// orderMetafieldQuery reads one metafield of one order (Admin GraphQL:
// QueryRoot.order(id: ID!): Order; HasMetafields.metafield(namespace,
// key): Metafield; Metafield.value: String!).
const orderMetafieldQuery = `query OrderMetafield($id: ID!, $namespace: String!, $key: String!) {
  order(id: $id) {
    id
    metafield(namespace: $namespace, key: $key) { value }
  }
}`

// OrderMetafield returns the value of one metafield of an order. found is
// false when the order has no such metafield. An order Shopify does not
// know is a NotFound problem: the caller must not read that as "never
// placed". orderID is the numeric id or the gid://shopify/Order/… GID.
func (c *Client) OrderMetafield(ctx context.Context, orderID, namespace, key string) (value string, found bool, err error) {
	gid := strings.TrimSpace(orderID)
	if !strings.HasPrefix(gid, "gid://") {
		gid = "gid://shopify/Order/" + gid
	}
	var out struct {
		Order *struct {
			ID        string `json:"id"`
			Metafield *struct {
				Value string `json:"value"`
			} `json:"metafield"`
		} `json:"order"`
	}
	if err := c.Do(ctx, orderMetafieldQuery, map[string]any{"id": gid, "namespace": namespace, "key": key}, &out); err != nil {
		return "", false, err
	}
	if out.Order == nil {
		return "", false, problem.New(problem.NotFound, problem.CodeOrderNotFound, "Shopify does not know this order (wrong shop, or a token without read_orders)")
	}
	if out.Order.Metafield == nil || strings.TrimSpace(out.Order.Metafield.Value) == "" {
		return "", false, nil
	}
	return strings.TrimSpace(out.Order.Metafield.Value), true, nil
}
