package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/problem"
)

// Admin serves the operator API. Mount it behind the operator key (never
// the Flow key): a Flow secret must not be able to resolve orders.
type Admin struct {
	Orders *orders.Service
}

// Register adds the operator routes to g (the server's /admin group):
//
//	POST /admin/orders/:order_id/resolve  {"action":"adopt","supplier_order_id":"…"} | {"action":"release"}
//	GET  /admin/orders/:order_id          the order's placement record
//
// Both take an optional ?shop= (default: the configured shop).
func (a *Admin) Register(g *echo.Group) {
	g.POST("/orders/:order_id/resolve", a.Resolve)
	g.GET("/orders/:order_id", a.Get)
}

// adminResolveIn is the body of POST /admin/orders/:order_id/resolve.
type adminResolveIn struct {
	Action          string `json:"action"`
	SupplierOrderID string `json:"supplier_order_id"`
	Shop            string `json:"shop"`
}

// AdminOrderOut is the operator's view of an order record.
type AdminOrderOut struct {
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

const adminMaxBody = 4 << 10

// Resolve adopts a supplier order number a person found, or releases an
// order for a fresh placement. Errors are *problem.Error for the edge to
// render; 409 resolve_conflict when the record's state forbids it.
func (a *Admin) Resolve(c echo.Context) error {
	var in adminResolveIn
	dec := json.NewDecoder(io.LimitReader(c.Request().Body, adminMaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		if errors.Is(err, io.EOF) {
			return problem.New(problem.Invalid, problem.CodeInvalidJSON, "the body must be a JSON object with an action")
		}
		return problem.Wrap(err, problem.Invalid, problem.CodeInvalidJSON, "the body is not valid JSON for this endpoint: "+err.Error())
	}
	shop := in.Shop
	if shop == "" {
		shop = c.QueryParam("shop")
	}
	rec, err := a.Orders.Resolve(c.Request().Context(), shop, c.Param("order_id"),
		orders.Resolution{Action: in.Action, SupplierOrderID: in.SupplierOrderID})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, adminOut(rec))
}

// Get returns an order's placement record (404 order_not_found if none).
func (a *Admin) Get(c echo.Context) error {
	rec, err := a.Orders.Order(c.Request().Context(), c.QueryParam("shop"), c.Param("order_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, adminOut(rec))
}

func adminOut(r orders.OrderRecord) AdminOrderOut {
	t := func(v time.Time) *time.Time {
		if v.IsZero() {
			return nil
		}
		v = v.UTC()
		return &v
	}
	out := AdminOrderOut{OK: true, OrderID: r.OrderID, Shop: r.Shop, State: string(r.State), SupplierOrderID: r.SupplierOrderID,
		Outcome: r.Outcome, ReviewReason: r.ReviewReason, Attempts: r.Attempts, LeaseExpired: r.LeaseExpired,
		PayloadHash: r.Record.Fingerprint, CreatedAt: t(r.Record.CreatedAt), UpdatedAt: t(r.Record.UpdatedAt)}
	if r.State == "in_flight" {
		out.LeaseUntil = t(r.Record.LeaseUntil)
	}
	return out
}

// Placement returns an order's placement record in the JSON shape of
// GET /admin/orders/{order_id}; it plugs into Operator.Placement so the
// operator view carries the record next to the timeline.
func (a *Admin) Placement(ctx context.Context, shop, orderID string) (any, error) {
	rec, err := a.Orders.Order(ctx, shop, orderID)
	if err != nil {
		return nil, err
	}
	return adminOut(rec), nil
}
