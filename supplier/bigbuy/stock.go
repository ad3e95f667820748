package bigbuy

import (
	"context"
	"net/http"
	"strings"

	"github.com/flowbridge/flowbridge/supplier"
)

// stockPath answers the stock of chosen SKUs. BigBuy's other stock lists
// do not fit a sync: productsstock pages the whole catalogue (10 calls an
// hour) and productsstockavailable leaves out products without stock, so
// "absent" would mean both "sold out" and "discontinued". productsstock-
// byreference is limited to 25 calls an hour (shopiqo/bigbuy-oas), so
// every call carries a large batch.
const stockPath = "/rest/catalog/productsstockbyreference.json"

// StockBatch is the SKUs sent per productsstockbyreference call. BigBuy
// documents no maximum; 1,000 keeps a 10,000-variant shop at 10 of the 25
// hourly calls.
const StockBatch = 1000

type stockRequest struct {
	Request struct {
		Products []stockSKU `json:"products"`
	} `json:"product_stock_request"`
}

type stockSKU struct {
	SKU string `json:"sku"`
}

// stockRow is one answer entry: a product and its stock per handling-time
// band (clients sum the bands; PyBigBuy, public integrations).
type stockRow struct {
	SKU    string `json:"sku"`
	Stocks []struct {
		Quantity int `json:"quantity"`
	} `json:"stocks"`
}

var _ supplier.StockReader = (*Client)(nil)

// Stock implements supplier.StockReader: EANs are mapped to BigBuy SKUs
// through the catalogue (an EAN BigBuy does not sell is Found=false), then
// their stock is asked in batches. A SKU the catalogue knows but the stock
// answer leaves out has no stock (Found, quantity 0). The stock answer
// carries no price, so Cost stays nil.
func (c *Client) Stock(ctx context.Context, eans []string) ([]supplier.StockLevel, error) {
	skus, err := c.catalog(ctx, eans)
	if err != nil {
		return nil, err
	}
	qty := map[string]int{}
	var batch []stockSKU
	seen := map[string]bool{}
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var req stockRequest
		req.Request.Products = batch
		batch = nil
		r, err := c.send(supplier.Retryable(ctx), c.base, http.MethodPost, stockPath, nil, req)
		if err != nil {
			return c.transportProblem(ctx, err)
		}
		if fl := parseFault(r); fl != nil {
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
			n := 0
			for _, s := range row.Stocks {
				n += max(s.Quantity, 0)
			}
			qty[strings.ToUpper(strings.TrimSpace(row.SKU))] += n
		}
		return nil
	}
	for _, e := range eans {
		sku := strings.TrimSpace(skus[e])
		if sku == "" || seen[sku] {
			continue
		}
		seen[sku] = true
		batch = append(batch, stockSKU{SKU: sku})
		if len(batch) == StockBatch {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	out := make([]supplier.StockLevel, len(eans))
	for i, e := range eans {
		lv := supplier.StockLevel{EAN: e}
		if sku := strings.TrimSpace(skus[e]); sku != "" {
			lv.Found, lv.Quantity = true, qty[strings.ToUpper(sku)]
		}
		out[i] = lv
	}
	return out, nil
}
