package server

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/flowbridge/flowbridge/shopify"
)

// stockSettings are the stock sync's entries of the settings table.
func stockSettings() []Setting {
	return []Setting{
		{Env: shopify.EnvShop, Flag: "shopify-shop",
			Help: "Shop domain (`example.myshopify.com`) whose inventory the stock sync keeps in step with the supplier, whose orders `POST /tracking/{id}/fulfil` fulfils (the default, lean workflow), and whose orders are checked after Redis lost its data (docs/exactly-once.md).",
			Set: func(c *Config, v string) error {
				d, err := shopify.NormalizeShop(v)
				c.ShopifyShop = d
				return err
			}},
		{Env: shopify.EnvToken, Flag: "shopify-admin-token", Secret: true,
			Help: "Admin API access token of the shop's custom app, with the scopes `read_products`, `read_inventory`, `write_inventory` and `read_locations` for stock sync, and `read_orders` and `write_merchant_managed_fulfillment_orders` for `POST /tracking/{id}/fulfil` (`flowbridge doctor` checks them). Without it that call answers 503 `fulfilment_not_configured` once an order ships. `read_orders` also serves the lost-data check: after Redis lost its data, a BTS placement reads the order's `flowbridge.supplier_order_id` metafield before creating anything (without a token it is held for review).",
			Set:  func(c *Config, v string) error { c.ShopifyToken = strings.TrimSpace(v); return nil }},
		{Env: shopify.EnvBaseURL, Flag: "shopify-admin-base-url",
			Help: "Replaces `https://<shop>` in Admin API calls (a proxy or a test server).",
			Set:  setURL(func(c *Config) *string { return &c.ShopifyBaseURL })},
		{Env: "FLOWBRIDGE_STOCK_SYNC_INTERVAL", Flag: "stock-sync-interval", Default: "0",
			Help: "Run the stock sync inside the service every this long (e.g. `1h`; at least `5m`); exactly one replica runs each round, under a Redis lease. `0`: only `flowbridge stock sync` and `POST /stock/sync` run it.",
			Set: func(c *Config, v string) error {
				v = strings.TrimSpace(v)
				if v == "0" {
					c.StockInterval = 0
					return nil
				}
				d, err := time.ParseDuration(v)
				if err != nil || d < 5*time.Minute {
					return fmt.Errorf("%q is not 0 or a duration of at least 5m; use e.g. 1h", v)
				}
				c.StockInterval = d
				return nil
			}},
		{Env: "FLOWBRIDGE_STOCK_BUFFER", Flag: "stock-buffer", Default: "0",
			Help: "Safety buffer: Shopify shows the supplier's stock minus this many units (never below 0), absorbing sales the supplier has not seen yet.",
			Set:  setInt(0, 1000000, func(c *Config) *int { return &c.StockBuffer })},
		{Env: "FLOWBRIDGE_STOCK_MAX_CHANGES", Flag: "stock-max-changes", Default: "500",
			Help: "Cap on the variants one stock sync may change; a run that would change more writes nothing and alerts (`stock_cap_tripped`). `0`: no cap. `flowbridge stock sync --allow-large` lifts it for one run.",
			Set:  setInt(0, 10000000, func(c *Config) *int { return &c.StockMaxChanges })},
		{Env: "FLOWBRIDGE_STOCK_MIN_MARGIN", Flag: "stock-min-margin", Default: "0",
			Help: "Margin threshold in percent: the stock sync reports variants whose (price − supplier cost) / price is below it (negative margins always). Prices are never changed.",
			Set: func(c *Config, v string) error {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < -1000 || f > 100 {
					return fmt.Errorf("%q is not a percentage up to 100; use e.g. 25", v)
				}
				c.StockMinMargin = f
				return nil
			}},
		{Env: "FLOWBRIDGE_STOCK_LOCATION", Flag: "stock-location",
			Help: "Shopify location the supplier ships from (name, number or `gid://shopify/Location/…`). Unset: the shop's only active location.",
			Set:  func(c *Config, v string) error { c.StockLocation = strings.TrimSpace(v); return nil }},
		{Env: "FLOWBRIDGE_STOCK_HISTORY", Flag: "stock-history", Default: "20",
			Help: "How many stock sync runs are kept for the console and `flowbridge stock status`.",
			Set:  setInt(1, 1000, func(c *Config) *int { return &c.StockHistory })},
	}
}

func setInt(lo, hi int, field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%q is not a whole number from %d to %d", v, lo, hi)
		}
		*field(c) = n
		return nil
	}
}

// StockConfigured reports whether the stock sync has what it needs.
func (c Config) StockConfigured() bool { return c.ShopifyShop != "" && c.ShopifyToken != "" }

func checkStock(c Config) []string {
	if c.StockInterval > 0 && !c.StockConfigured() {
		return []string{"FLOWBRIDGE_STOCK_SYNC_INTERVAL: the stock sync needs " + shopify.EnvShop + " and " + shopify.EnvToken + " (the shop and its Admin API token)"}
	}
	return nil
}

// stockWarnings flags an interval BigBuy's hourly stock quota cannot keep
// up with (10 calls an hour per stock list, and a sync may page the whole
// catalogue).
func stockWarnings(c Config) []string {
	if c.Supplier == "bigbuy" && c.StockInterval > 0 && c.StockInterval < time.Hour {
		return []string{"FLOWBRIDGE_STOCK_SYNC_INTERVAL: BigBuy allows 10 stock-list calls an hour (10,000 catalogue rows each, the whole catalogue paged until every SKU is seen); an interval under 1h runs into its rate limit"}
	}
	return nil
}
