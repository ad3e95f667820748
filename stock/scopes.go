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

const scopesQuery = `query FlowbridgeStockScopes { currentAppInstallation { accessScopes { handle } } }`

// MissingScopes asks Shopify which scopes the token has and returns those
// of Scopes it lacks. A write_ scope implies its read_ scope, as Shopify
// grants them.
func MissingScopes(ctx context.Context, c *shopify.Client) ([]string, error) {
	var out struct {
		CurrentAppInstallation struct {
			AccessScopes []struct {
				Handle string `json:"handle"`
			} `json:"accessScopes"`
		} `json:"currentAppInstallation"`
	}
	if err := c.Do(ctx, scopesQuery, nil, &out); err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, s := range out.CurrentAppInstallation.AccessScopes {
		have[s.Handle] = true
		if r, ok := strings.CutPrefix(s.Handle, "write_"); ok {
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
