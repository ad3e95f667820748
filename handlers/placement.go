package handlers

import (
	"time"

	"github.com/flowbridge/flowbridge/orders"
)

// PlacementOut is the operator's view of an order's placement record, as
// GET /admin/orders/{order_id} carries it under "placement".
type PlacementOut struct {
	OK              bool       `json:"ok"`
	OrderID         string     `json:"order_id"`
	Shop            string     `json:"shop"`
	State           string     `json:"state"`
	SupplierOrderID string     `json:"supplier_order_id"`
	Outcome         string     `json:"outcome,omitempty"`
	ReviewReason    string     `json:"review_reason,omitempty"`
	Attempts        int        `json:"attempts"`
	LeaseExpired    bool       `json:"lease_expired"`
	LeaseUntil      *time.Time `json:"lease_until,omitempty"`
	PayloadHash     string     `json:"payload_sha256,omitempty"`
	CreatedAt       *time.Time `json:"created_at,omitempty"`
	UpdatedAt       *time.Time `json:"updated_at,omitempty"`
}

// Placement turns the orders service's record into its operator view.
func Placement(r orders.OrderRecord) PlacementOut {
	t := func(v time.Time) *time.Time {
		if v.IsZero() {
			return nil
		}
		v = v.UTC()
		return &v
	}
	out := PlacementOut{OK: true, OrderID: r.OrderID, Shop: r.Shop, State: string(r.State), SupplierOrderID: r.SupplierOrderID,
		Outcome: r.Outcome, ReviewReason: r.ReviewReason, Attempts: r.Attempts, LeaseExpired: r.LeaseExpired,
		PayloadHash: r.Record.Fingerprint, CreatedAt: t(r.Record.CreatedAt), UpdatedAt: t(r.Record.UpdatedAt)}
	if r.State == "in_flight" {
		out.LeaseUntil = t(r.Record.LeaseUntil)
	}
	return out
}
