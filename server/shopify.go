package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/shopify"
)

// Metafield stage 1 writes the supplier order number to (flowtemplates).
const (
	supplierNumberNamespace = "flowbridge"
	supplierNumberKey       = "supplier_order_id"
)

// shopifyMetafield reads an order's supplier-number metafield through the
// Admin API when SHOPIFY_SHOP and SHOPIFY_ADMIN_TOKEN are set (nil
// otherwise: orders then fails closed to review after a data loss). Only
// the configured shop can be asked; a request for another shop is
// orders.ErrCannotAsk.
func shopifyMetafield(cfg Config) func(ctx context.Context, shop, orderID string) (string, bool, error) {
	if cfg.ShopifyToken == "" || cfg.ShopifyShop == "" {
		return nil
	}
	domain, err := shopify.NormalizeShop(cfg.ShopifyShop)
	if err != nil {
		return nil
	}
	// Few tries and short waits: the caller is a Flow request with a
	// deadline, and a failure only means "try again later".
	c := &shopify.Client{Shop: domain, Token: cfg.ShopifyToken, MaxAttempts: 2, MaxWait: time.Second,
		HTTP: &http.Client{Timeout: 5 * time.Second}}
	if base := strings.TrimSpace(cfg.ShopifyBaseURL); base != "" {
		c.BaseURL = base
	}
	return func(ctx context.Context, shop, orderID string) (string, bool, error) {
		if shop != "" && shop != orders.DefaultShop && !strings.EqualFold(shop, cfg.Shop) && !strings.EqualFold(shop, domain) {
			return "", false, orders.ErrCannotAsk
		}
		return c.OrderMetafield(ctx, orderID, supplierNumberNamespace, supplierNumberKey)
	}
}
