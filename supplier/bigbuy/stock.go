package bigbuy

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
)

// BigBuy's stock lists by handling days: GET, paged like the catalogue
// feeds (page from 0, pageSize), one row per product (or variation) with
// its stock per handling-time band and warehouse. They are the only bulk
// stock lists left: BigBuy removed productsstockbyreference silently and
// productsstock in April 2024 (PyBigBuy CHANGELOG 3.20.0). There is no
// lookup by SKU; the single-product form takes BigBuy's product id and is
// limited to one call per 5 s, so a whole-catalogue read (10 calls an
// hour each, BigBuy doc.json as copied in WonZo LEVERANCIER.md) is the
// cheaper one for any shop beyond a few dozen products.
var stockLists = []string{
	"/rest/catalog/productsstockbyhandlingdays.json",
	"/rest/catalog/productsvariationsstockbyhandlingdays.json",
}

// StockPageSize is the rows asked per stock-list page. BigBuy documents
// 10,000 as the maximum of the product feed; the same for the stock lists
// is assumed. Fewer, larger pages spend less of the 10-an-hour budget.
const StockPageSize = 10000

// StockMaxPages bounds one stock list (a runaway list must not loop).
const StockMaxPages = 100

// stockRow is one stock-list row (PyBigBuy BBProductStockByHandlingDaysDict).
type stockRow struct {
	SKU    string `json:"sku"`
	Stocks []struct {
		Quantity int `json:"quantity"`
	} `json:"stocks"`
}

var _ supplier.StockReader = (*Client)(nil)

// Stock implements supplier.StockReader. EANs are mapped to BigBuy SKUs
// through the catalogue (an EAN BigBuy does not sell is Found=false); then
// the product stock list, and the variation stock list for SKUs still
// unseen, are paged until every wanted SKU was seen or the list ends. A
// SKU's stock is the sum over all its bands and warehouses (any band can
// be ordered; the bands differ only in handling time). A SKU the catalogue
// knows but neither list carries has no stock (Found, quantity 0). The
// lists carry no price, so Cost stays nil. Pages are read one after the
// other (BigBuy's lists are not consistent under concurrent paging, WonZo
// LEVERANCIER.md §4); a rate-limited page fails the whole read, with
// BigBuy's reset time as Retry-After.
func (c *Client) Stock(ctx context.Context, eans []string) ([]supplier.StockLevel, error) {
	skus, err := c.catalog(ctx, eans)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, e := range eans {
		if sku := skuKey(skus[e]); sku != "" {
			want[sku] = true
		}
	}
	qty := map[string]int{}
	seen := map[string]bool{}
	for _, list := range stockLists {
		if len(seen) == len(want) {
			break
		}
		if err := c.pageStock(ctx, list, want, seen, qty); err != nil {
			return nil, err
		}
	}
	out := make([]supplier.StockLevel, len(eans))
	for i, e := range eans {
		lv := supplier.StockLevel{EAN: e}
		if sku := skuKey(skus[e]); sku != "" {
			lv.Found, lv.Quantity = true, qty[sku]
		}
		out[i] = lv
	}
	return out, nil
}

func skuKey(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// pageStock reads one stock list until every wanted SKU was seen or the
// list ends (a short page, or BigBuy's empty 200 past the last page).
func (c *Client) pageStock(ctx context.Context, path string, want, seen map[string]bool, qty map[string]int) error {
	for page := 0; len(seen) < len(want); page++ {
		if page == StockMaxPages {
			// Stopping here would report the unseen SKUs as sold out.
			return problem.Newf(problem.Upstream, problem.CodeSupplierBadResponse,
				"BigBuy's stock list %s did not end within %d pages", operation(path), StockMaxPages)
		}
		q := url.Values{"page": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(StockPageSize)}}
		r, err := c.sendLimit(supplier.Retryable(ctx), c.base, http.MethodGet, path, q, nil, 256<<20)
		if err != nil {
			return c.transportProblem(ctx, err)
		}
		if fl := parseFault(r); fl != nil {
			if fl.status == http.StatusBadRequest && !fl.rateLimited {
				return problem.Newf(problem.Unavailable, problem.CodeSupplierUnavailable,
					"BigBuy refused the stock list %s (HTTP 400 Bad request): BigBuy's sandbox has no catalogue; sync stock against the production key", operation(path)).WithRetryAfter(retryEvery)
			}
			return c.toProblem(fl, errCtx{op: opRead})
		}
		if emptyBody(r.body) {
			return nil
		}
		var rows []stockRow
		if err := decode(r, "stock", &rows); err != nil {
			return err
		}
		for _, row := range rows {
			sku := skuKey(row.SKU)
			if !want[sku] || seen[sku] {
				continue // a row repeated (across pages or lists) counts once
			}
			seen[sku] = true
			for _, s := range row.Stocks {
				qty[sku] += max(s.Quantity, 0)
			}
		}
		if len(rows) < StockPageSize {
			return nil
		}
	}
	return nil
}
