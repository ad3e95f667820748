package supplier

import "context"

// StockLevel is a supplier's stock (and wholesale cost) for one barcode.
type StockLevel struct {
	// EAN is the barcode as asked (normalised digits).
	EAN string `json:"ean"`
	// Found is false when the supplier does not know the barcode at all
	// (as opposed to knowing it with zero stock).
	Found    bool `json:"found"`
	Quantity int  `json:"quantity"`
	// Cost is the wholesale unit price, nil when the supplier's stock
	// answer carries none.
	Cost *Money `json:"cost,omitempty"`
}

// StockReader reads stock in bulk. Adapters batch and pace the calls
// themselves (each supplier has its own batch size and rate limit). The
// answer has exactly one entry per requested EAN, in request order; an
// error means nothing can be concluded about any EAN of the call (a stock
// sync must not treat a failed read as "vanished").
type StockReader interface {
	Stock(ctx context.Context, eans []string) ([]StockLevel, error)
}
