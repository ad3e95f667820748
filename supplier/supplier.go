// Package supplier holds flowbridge's normalised model of a dropshipping
// wholesaler (rates, orders, tracking) and the interface every adapter
// implements. Adapters live in subpackages (sandbox, bts, bigbuy) and speak
// their supplier's wire format; nothing above this package knows it.
package supplier

import (
	"context"
	"errors"
	"time"
)

// Supplier is one wholesaler's API, normalised.
//
// Error contract: every method returns *problem.Error values (or wraps
// one). CreateOrder is special: when the request may have reached the
// supplier but no answer came back (timeout after send, connection dropped,
// 5xx after the body was written), it must return an error for which
// IsOutcomeUnknown reports true, so the caller reconciles instead of
// retrying blindly. A CreateOrder error that is not "outcome unknown"
// guarantees that no order was created.
type Supplier interface {
	// Name is the lower-case supplier name ("sandbox", "bts", "bigbuy").
	Name() string
	// Capabilities says what this supplier's API can do.
	Capabilities() Capabilities
	// Rates quotes shipping options for a destination and cart.
	Rates(ctx context.Context, req RateRequest) ([]Rate, error)
	// CreateOrder places an order. It must pass o.Reference to the supplier
	// when Capabilities().ClientReference is true.
	CreateOrder(ctx context.Context, o Order) (Placed, error)
	// FindOrder looks an order up by the client reference flowbridge sent.
	// found=false with a nil error means the supplier confirms there is no
	// such order. Adapters without Capabilities().LookupByReference return a
	// problem.Error with code problem.CodeLookupUnsupported.
	FindOrder(ctx context.Context, reference string) (p Placed, found bool, err error)
	// Tracking returns the status of a supplier order by its number.
	// "No tracking yet" is a normal answer (status pending/processing), not
	// an error; an order the supplier does not know is CodeOrderNotFound.
	Tracking(ctx context.Context, supplierOrderID string) (Tracking, error)
}

// Capabilities describes what a supplier's API allows.
type Capabilities struct {
	// ClientReference: create accepts our own reference (the Shopify order).
	ClientReference bool `json:"client_reference"`
	// LookupByReference: an order can be found by that reference, so an
	// unknown create outcome can be reconciled automatically.
	LookupByReference bool `json:"lookup_by_reference"`
	// ProductLookup: products can be looked up by EAN before ordering.
	ProductLookup bool `json:"product_lookup"`
	// TestMode: the adapter can place orders that stay pending (and says how
	// in TestModeHint).
	TestMode     bool   `json:"test_mode"`
	TestModeHint string `json:"test_mode_hint,omitempty"`
}

// Money is an amount in minor units (cents) of an ISO 4217 currency.
// Integers avoid float rounding in price comparisons and sums.
type Money struct {
	Minor    int64  `json:"minor"`
	Currency string `json:"currency"`
}

// Address is a shipping destination.
type Address struct {
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name"`
	Company    string `json:"company,omitempty"`
	Address1   string `json:"address1"`
	Address2   string `json:"address2,omitempty"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	// CountryCode is ISO 3166-1 alpha-2, upper case.
	CountryCode string `json:"country_code"`
	// ProvinceCode is required by some suppliers for US and CA.
	ProvinceCode string `json:"province_code,omitempty"`
	Phone        string `json:"phone,omitempty"`
}

// Line is one product line. EAN is the normalised GTIN (digits only, check
// digit verified) taken from the Shopify variant's Barcode field.
type Line struct {
	EAN      string `json:"ean"`
	SKU      string `json:"sku,omitempty"`
	Quantity int    `json:"quantity"`
	// UnitPrice is what the customer paid, for suppliers that want it.
	UnitPrice Money `json:"unit_price"`
}

// RateRequest asks for shipping options.
type RateRequest struct {
	CountryCode string `json:"country_code"`
	PostalCode  string `json:"postal_code"`
	Lines       []Line `json:"lines"`
}

// Rate is one shipping option.
type Rate struct {
	// ID is opaque and is passed back in Order.ShippingRateID. Some suppliers
	// bind it to the (country, postcode) it was quoted for.
	ID      string `json:"id"`
	Carrier string `json:"carrier"`
	Service string `json:"service,omitempty"`
	Price   Money  `json:"price"`
	MinDays int    `json:"min_days,omitempty"`
	MaxDays int    `json:"max_days,omitempty"`
}

// Order is what flowbridge asks a supplier to ship.
type Order struct {
	// Reference is flowbridge's client reference: the Shopify order id
	// (numeric form). Sent to suppliers that accept one.
	Reference string `json:"reference"`
	// Name is the Shopify order name (#1001), for suppliers' comments.
	Name           string  `json:"name"`
	Email          string  `json:"email,omitempty"`
	Phone          string  `json:"phone,omitempty"`
	ShipTo         Address `json:"ship_to"`
	Lines          []Line  `json:"lines"`
	ShippingRateID string  `json:"shipping_rate_id"`
	// TestMode asks the adapter to place the order so that it stays pending
	// and can be cancelled (BTS: bank transfer payment).
	TestMode bool `json:"test_mode"`
}

// Placed is a supplier order that exists.
//
// A supplier may split one order into several (BigBuy ships each
// warehouse's products as an order of its own). Then Parts lists every
// part, SupplierOrderID is the first part that exists, and a part whose
// creation failed carries ErrorCode instead of an id: the order was placed
// in part, and what failed must not be re-sent as a new order (the parts
// that exist would be ordered twice).
type Placed struct {
	SupplierOrderID string `json:"supplier_order_id"`
	Status          Status `json:"status"`
	RawStatus       string `json:"raw_status,omitempty"`
	Total           *Money `json:"total,omitempty"`
	// Parts is empty for an order the supplier did not split.
	Parts []Part `json:"parts,omitempty"`
}

// Part is one supplier order of a split placement.
type Part struct {
	// SupplierOrderID is empty when this part was not created.
	SupplierOrderID string `json:"supplier_order_id,omitempty"`
	// Warehouse is the supplier's name for where the part ships from.
	Warehouse string `json:"warehouse,omitempty"`
	// Lines are the indexes of Order.Lines in this part.
	Lines     []int  `json:"lines,omitempty"`
	Status    Status `json:"status,omitempty"`
	RawStatus string `json:"raw_status,omitempty"`
	Total     *Money `json:"total,omitempty"`
	// ErrorCode and ErrorDetail say why the part was not created (a
	// flowbridge error code such as no_stock).
	ErrorCode   string `json:"error_code,omitempty"`
	ErrorDetail string `json:"error_detail,omitempty"`
}

// SupplierOrderIDs lists every supplier order that exists for p, in order.
func (p Placed) SupplierOrderIDs() []string {
	if len(p.Parts) == 0 {
		if p.SupplierOrderID == "" {
			return nil
		}
		return []string{p.SupplierOrderID}
	}
	var ids []string
	for _, pt := range p.Parts {
		if pt.SupplierOrderID != "" {
			ids = append(ids, pt.SupplierOrderID)
		}
	}
	return ids
}

// Partial reports whether some part of a split order was not created.
func (p Placed) Partial() bool {
	for _, pt := range p.Parts {
		if pt.SupplierOrderID == "" {
			return true
		}
	}
	return false
}

// Status is the normalised order status.
type Status string

const (
	StatusPending    Status = "pending"
	StatusProcessing Status = "processing"
	StatusShipped    Status = "shipped"
	StatusDelivered  Status = "delivered"
	StatusCancelled  Status = "cancelled"
	StatusUnknown    Status = "unknown"
)

// Rank orders statuses by progress so a cache never regresses
// (shipped must not turn back into processing). Cancelled and unknown are
// outside the progression: cancelled is final, unknown is never cached over
// a known status.
func (s Status) Rank() int {
	switch s {
	case StatusPending:
		return 1
	case StatusProcessing:
		return 2
	case StatusShipped:
		return 3
	case StatusDelivered:
		return 4
	case StatusCancelled:
		return 5
	default:
		return 0
	}
}

// Parcel is one tracked shipment; split orders have several.
type Parcel struct {
	Carrier string `json:"carrier"`
	Number  string `json:"number"`
	URL     string `json:"url,omitempty"`
}

// Tracking is a supplier order's status and shipments.
type Tracking struct {
	SupplierOrderID string    `json:"supplier_order_id"`
	Status          Status    `json:"status"`
	RawStatus       string    `json:"raw_status,omitempty"`
	Parcels         []Parcel  `json:"parcels,omitempty"`
	UpdatedAt       time.Time `json:"updated_at,omitempty"`
}

// ErrOutcomeUnknown marks a CreateOrder failure after which the order may or
// may not exist at the supplier. Adapters wrap it (together with a
// *problem.Error) via OutcomeUnknown.
var ErrOutcomeUnknown = errors.New("supplier: order outcome unknown")

type unknownOutcome struct{ cause error }

func (u unknownOutcome) Error() string { return ErrOutcomeUnknown.Error() + ": " + u.cause.Error() }
func (u unknownOutcome) Unwrap() []error {
	return []error{ErrOutcomeUnknown, u.cause}
}

// OutcomeUnknown wraps cause so that IsOutcomeUnknown reports true while
// errors.As still finds any *problem.Error inside cause.
func OutcomeUnknown(cause error) error { return unknownOutcome{cause: cause} }

// IsOutcomeUnknown reports whether err says a create may have happened.
func IsOutcomeUnknown(err error) bool { return errors.Is(err, ErrOutcomeUnknown) }
