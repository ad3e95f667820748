package bts

import (
	"context"

	"github.com/flowbridge/flowbridge/supplier"
)

var _ supplier.StockReader = (*Client)(nil)

// Stock implements supplier.StockReader with getProductStock, 100 EANs
// per call (the documented maximum). Calls go one after another through
// the client's transport, which holds the shared rate limit, so a
// catalogue of 10,000 barcodes is 100 paced calls. An EAN BTS answers
// not_found (or leaves out) is Found=false.
func (c *Client) Stock(ctx context.Context, eans []string) ([]supplier.StockLevel, error) {
	ps, err := c.Products(ctx, eans)
	if err != nil {
		return nil, err
	}
	out := make([]supplier.StockLevel, len(ps))
	for i, p := range ps {
		out[i] = supplier.StockLevel{EAN: eans[i], Found: p.Found, Quantity: max(p.Stock, 0), Cost: p.Price}
	}
	return out, nil
}
