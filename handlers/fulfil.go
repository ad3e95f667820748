package handlers

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/flowbridge/flowbridge/fulfilment"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
)

// Fulfil serves POST /tracking/{id}/fulfil, the lean workflow's tracking
// check: flowbridge fulfils the Shopify order itself when the supplier has
// shipped (package fulfilment). It is kept apart from Handlers so the
// route can be wired only when an Admin API token is configured.
type Fulfil struct {
	Service      *fulfilment.Service
	SupplierName string
	TestMode     bool
	Now          func() time.Time
}

// fulfilOut is the flat answer (openapi.yaml FulfilResponse).
type fulfilOut struct {
	OK              bool     `json:"ok"`
	Done            bool     `json:"done"`
	Outcome         string   `json:"outcome"`
	Replayed        bool     `json:"replayed"`
	SupplierOrderID string   `json:"supplier_order_id"`
	Status          string   `json:"status"`
	TrackingCompany string   `json:"tracking_company"`
	TrackingNumbers []string `json:"tracking_numbers"`
	TrackingURLs    []string `json:"tracking_urls"`
	FulfillmentIDs  []string `json:"fulfillment_ids"`
	Locations       int      `json:"locations"`
	CheckedAt       string   `json:"checked_at"`
	Supplier        string   `json:"supplier"`
	TestMode        bool     `json:"test_mode"`
	// Some, not all, parts of a split order were cancelled by the supplier
	// (the shipped parts are still fulfilled).
	PartlyCancelled bool `json:"partly_cancelled"`
}

// Handle handles POST /tracking/:id/fulfil.
func (f *Fulfil) Handle(c echo.Context) error {
	id := c.Param("id")
	if u, err := url.PathUnescape(id); err == nil {
		id = u
	}
	id = strings.TrimSpace(id)
	if !isSupplierOrderList(id) { // a split order's value lists its numbers
		return problem.InvalidFields(CodeInvalidSupplierOrderID, "the supplier order number has characters or a length no supplier uses",
			problem.Field{Pointer: "/path/id", Message: "must be a supplier order number (letters, digits, . _ : / -)"})
	}
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return problem.Wrap(err, problem.Invalid, problem.CodeInvalidJSON, "the request body could not be read")
	}
	var in struct {
		OrderID json.RawMessage `json:"order_id"`
		Shop    any             `json:"shop"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return problem.InvalidFields(problem.CodeInvalidJSON, syntaxDetail(err), problem.Field{Pointer: "", Message: "must be a JSON object"})
	}
	var orderID string
	var s string
	var n json.Number
	switch {
	case json.Unmarshal(in.OrderID, &s) == nil:
		orderID = s
	case json.Unmarshal(in.OrderID, &n) == nil:
		orderID = n.String()
	}
	num, ok := NormalizeOrderID(orderID)
	if !ok {
		return problem.InvalidFields(CodeInvalidOrderID, "order_id must name the Shopify order",
			problem.Field{Pointer: "/order_id", Message: "must be a Shopify order id: gid://shopify/Order/123 or 123"})
	}
	shop := ""
	switch v := in.Shop.(type) {
	case nil:
	case string:
		if len(v) > 255 {
			return problem.InvalidFields(problem.CodeValidation, "shop is too long", problem.Field{Pointer: "/shop", Message: "at most 255 characters"})
		}
		shop = v
	default:
		return problem.InvalidFields(problem.CodeValidation, "shop must be a string", problem.Field{Pointer: "/shop", Message: fmt.Sprintf("must be a string, not %T", v)})
	}
	res, err := f.Service.Fulfil(c.Request().Context(), fulfilment.Input{Shop: shop, SupplierOrderID: id, OrderID: num})
	if err != nil {
		return err
	}
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	st := res.Tracking.Status
	switch st {
	case supplier.StatusPending, supplier.StatusProcessing, supplier.StatusShipped, supplier.StatusDelivered, supplier.StatusCancelled:
	default:
		st = supplier.StatusUnknown
	}
	out := fulfilOut{OK: true, Done: res.Done, Outcome: res.Outcome, Replayed: res.Replayed, SupplierOrderID: res.Tracking.SupplierOrderID,
		Status: string(st), TrackingNumbers: []string{}, TrackingURLs: []string{}, FulfillmentIDs: append([]string{}, res.FulfillmentIDs...),
		Locations: res.Locations, CheckedAt: now().UTC().Format(time.RFC3339), Supplier: f.SupplierName, TestMode: res.Tracking.TestMode || f.TestMode,
		PartlyCancelled: res.Tracking.PartlyCancelled}
	for _, p := range res.Tracking.Parcels {
		if p.Number == "" {
			continue
		}
		out.TrackingNumbers = append(out.TrackingNumbers, p.Number)
		if p.URL != "" {
			out.TrackingURLs = append(out.TrackingURLs, p.URL)
		}
		if out.TrackingCompany == "" {
			out.TrackingCompany = p.Carrier
		}
	}
	status := http.StatusOK
	if !res.Done {
		status = http.StatusAccepted
	}
	return c.JSON(status, out)
}
