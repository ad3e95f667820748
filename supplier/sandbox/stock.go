package sandbox

import (
	"context"

	"github.com/flowbridge/flowbridge/supplier"
)

var _ supplier.StockReader = (*Supplier)(nil)

// Stock implements supplier.StockReader from the catalogue (and the
// overrides set with SetStock), so a stock sync can be tried end to end
// without any supplier account.
func (s *Supplier) Stock(ctx context.Context, eans []string) ([]supplier.StockLevel, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]supplier.StockLevel, len(eans))
	for i, e := range eans {
		k := gtinKey(e)
		p, ok := s.products[k]
		lv := supplier.StockLevel{EAN: e}
		if q, set := s.stockSet[k]; set {
			ok = q >= 0
			p.Stock = q
		}
		if ok {
			cost := p.Price
			lv.Found, lv.Quantity, lv.Cost = true, p.Stock, &cost
		}
		out[i] = lv
	}
	return out, nil
}

// SetStock changes the stock the sandbox reports for ean; a negative
// quantity makes the product vanish from its stock answers (a discontinued
// product). For demos and tests.
func (s *Supplier) SetStock(ean string, quantity int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stockSet == nil {
		s.stockSet = map[string]int{}
	}
	s.stockSet[gtinKey(ean)] = quantity
}
