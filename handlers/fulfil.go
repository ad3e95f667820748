package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/flowbridge/flowbridge"
	"github.com/flowbridge/flowbridge/fulfilment"
	"github.com/flowbridge/flowbridge/orderid"
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
	// Contract validates the body with openapi.yaml; nil loads the
	// embedded spec on first use.
	Contract *Contract

	once sync.Once
	spec *Contract
	err  error
}

func (f *Fulfil) contract() (*Contract, error) {
	f.once.Do(func() {
		f.spec = f.Contract
		if f.spec == nil {
			f.spec, f.err = NewContract(flowbridge.OpenAPI())
		}
	})
	return f.spec, f.err
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
	raw, err := readJSON(c.Request())
	if err != nil {
		return err
	}
	spec, err := f.contract()
	if err != nil {
		return problem.Wrap(err, problem.Internal, problem.CodeInternal, "the request schema could not be loaded")
	}
	if err := spec.Body("postTrackingFulfil", raw); err != nil {
		return err
	}
	var in struct {
		OrderID string `json:"order_id"`
		Shop    string `json:"shop"`
	}
	if errs := bind(raw, &in); len(errs) > 0 {
		return typeErrors(errs)
	}
	num, _ := orderid.Normalize(in.OrderID) // the schema's pattern admits only order ids
	shop := in.Shop
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
