package doctor

import (
	"context"
	"strings"

	"github.com/flowbridge/flowbridge/stock"
)

// checkStockScopes reports, when the stock sync is on (Options.Stock),
// whether the token carries the scopes it needs.
func (o Options) checkStockScopes(ctx context.Context, cfg Config, r *Report) {
	if !o.Stock || cfg.ShopifyErr != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	missing, err := stock.MissingScopes(ctx, cfg.Shopify.Client(o.HTTP))
	switch {
	case err != nil:
		r.add(Check{Area: "stock", Name: "scopes", Level: Warn, Message: "cannot read the token's scopes: " + detail(err), Fix: shopifyFix(err)})
	case len(missing) == 0:
		r.add(Check{Area: "stock", Name: "scopes", Level: Pass, Message: "the token has " + strings.Join(stock.Scopes, ", ")})
	default:
		r.add(Check{Area: "stock", Name: "scopes", Level: Fail, Message: "the stock sync is on but the token lacks " + strings.Join(missing, ", "),
			Fix: "Add " + strings.Join(missing, ", ") + " to the custom app's Admin API scopes, save, and reinstall it"})
	}
}
