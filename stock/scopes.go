package stock

import (
	"context"
	"strings"

	"github.com/flowbridge/flowbridge/shopify"
)

// Scopes are the Admin API access scopes the stock sync needs: variants and
// their barcodes and prices (read_products), inventory levels
// (read_inventory), setting quantities (write_inventory) and the location
// list (read_locations).
var Scopes = []string{"read_products", "read_inventory", "write_inventory", "read_locations"}

// MissingScopes asks Shopify which scopes the token has (the client's one
// access-scopes query) and returns those of Scopes it lacks. A write_ scope
// implies its read_ scope, as Shopify grants them.
func MissingScopes(ctx context.Context, c *shopify.Client) ([]string, error) {
	granted, err := c.AccessScopes(ctx)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, h := range granted {
		have[h] = true
		if r, ok := strings.CutPrefix(h, "write_"); ok {
			have["read_"+r] = true
		}
	}
	var missing []string
	for _, s := range Scopes {
		if !have[s] {
			missing = append(missing, s)
		}
	}
	return missing, nil
}
