package bigbuy

import (
	"strings"

	"github.com/flowbridge/flowbridge/supplier"
)

// statusTable is THE mapping of BigBuy's raw order status strings to the
// normalised status. BigBuy does not document the set (assumption: the
// English names its panel shows, plus Spanish ones seen in its Spanish
// documentation). Keys are normalised by statusKey. Anything missing is
// StatusUnknown with the raw value, logged and reported to
// Config.OnUnknownStatus — add it here once seen.
var statusTable = map[string]supplier.Status{
	"pending":                supplier.StatusPending,
	"pending payment":        supplier.StatusPending,
	"awaiting payment":       supplier.StatusPending,
	"waiting for payment":    supplier.StatusPending,
	"awaiting bank transfer": supplier.StatusPending,
	"awaiting bankwire":      supplier.StatusPending,
	"pendiente de pago":      supplier.StatusPending,
	"pendiente":              supplier.StatusPending,

	"payment accepted":        supplier.StatusProcessing,
	"paid":                    supplier.StatusProcessing,
	"processing":              supplier.StatusProcessing,
	"processing in progress":  supplier.StatusProcessing,
	"in process":              supplier.StatusProcessing,
	"preparation in progress": supplier.StatusProcessing,
	"in preparation":          supplier.StatusProcessing,
	"ready to ship":           supplier.StatusProcessing,
	// Real (order/orderstatuses, PyBigBuy): the order waits for the
	// merchant's invoice before BigBuy ships it.
	"pending invoice":      supplier.StatusProcessing,
	"pago aceptado":        supplier.StatusProcessing,
	"en preparacion":       supplier.StatusProcessing,
	"preparacion en curso": supplier.StatusProcessing,

	"shipped":    supplier.StatusShipped,
	"sent":       supplier.StatusShipped,
	"in transit": supplier.StatusShipped,
	"enviado":    supplier.StatusShipped,

	"delivered": supplier.StatusDelivered,
	"entregado": supplier.StatusDelivered,

	"cancelled": supplier.StatusCancelled,
	"canceled":  supplier.StatusCancelled,
	"refunded":  supplier.StatusCancelled,
	"cancelado": supplier.StatusCancelled,
}

// statusKey normalises a raw status: case, accents BigBuy's Spanish names
// carry, separators and repeated spaces do not matter.
func statusKey(raw string) string {
	s := strings.ToLower(strings.TrimSpace(raw))
	s = strings.NewReplacer("_", " ", "-", " ", "á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

// mapStatus looks raw up in statusTable; unknown values are surfaced.
func (c *Client) mapStatus(raw string) supplier.Status {
	if st, ok := statusTable[statusKey(raw)]; ok {
		return st
	}
	c.log.Warn("bigbuy: unknown order status", "raw_status", raw)
	if c.unknown != nil {
		c.unknown(raw)
	}
	return supplier.StatusUnknown
}

// statusWithParcels applies the one inference we make: a tracking number
// means the parcel left BigBuy, so an order still shown as pending or
// processing is reported as shipped. Unknown stays unknown.
func statusWithParcels(st supplier.Status, parcels []supplier.Parcel) supplier.Status {
	if len(parcels) > 0 && (st == supplier.StatusPending || st == supplier.StatusProcessing) {
		return supplier.StatusShipped
	}
	return st
}
