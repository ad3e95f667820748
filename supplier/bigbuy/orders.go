package bigbuy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
)

// Rates implements supplier.Supplier with POST /rest/shipping/orders.json.
func (c *Client) Rates(ctx context.Context, req supplier.RateRequest) ([]supplier.Rate, error) {
	res, err := c.resolveLines(ctx, req.Lines)
	if err != nil {
		return nil, err
	}
	q := orderEnvelope{Order: wireShippingQuery{
		Delivery: wireDelivery{IsoCountry: strings.ToUpper(strings.TrimSpace(req.CountryCode)), Postcode: strings.TrimSpace(req.PostalCode)},
		Products: res.products,
	}}
	r, err := c.send(supplier.Retryable(ctx), c.base, http.MethodPost, "/rest/shipping/orders.json", nil, q)
	if err != nil {
		return nil, c.transportProblem(ctx, err)
	}
	if f := parseFault(r); f != nil {
		return nil, c.toProblem(f, errCtx{op: opRates, skuLines: res.skuLines})
	}
	if emptyBody(r.body) {
		return nil, nil // no option; the caller answers no_shipping_option
	}
	var ans shippingOptionsAnswer
	if err := decode(r, "shipping options", &ans); err != nil {
		return nil, err
	}
	byID := map[string]int{}
	var rates []supplier.Rate
	for _, o := range ans.ShippingOptions {
		id := o.carrierName()
		cost, ok := parseMoney(o.Cost)
		if id == "" || !ok {
			c.log.Warn("bigbuy: shipping option without carrier name or cost skipped", "carrier", id)
			continue
		}
		minD, maxD := parseDelay(o.ShippingService.Delay)
		rate := supplier.Rate{ID: id, Carrier: o.displayCarrier(), Service: strings.TrimSpace(o.ShippingService.Name),
			Price: supplier.Money{Minor: cost, Currency: currency}, MinDays: minD, MaxDays: maxD}
		// Create names a carrier, not a service: keep the cheapest per name.
		if i, dup := byID[id]; dup {
			if cost < rates[i].Price.Minor {
				rates[i] = rate
			}
			continue
		}
		byID[id] = len(rates)
		rates = append(rates, rate)
	}
	if len(rates) == 0 && len(ans.ShippingOptions) > 0 {
		return nil, badResponse("BigBuy sent %d shipping options without a usable carrier or cost", len(ans.ShippingOptions))
	}
	return rates, nil
}

// CreateOrder implements supplier.Supplier with POST /rest/order/create.json.
// It is never retried here: an error after the request may have left is
// wrapped with supplier.OutcomeUnknown and flowbridge reconciles through
// FindOrder.
func (c *Client) CreateOrder(ctx context.Context, o supplier.Order) (supplier.Placed, error) {
	if err := checkOrder(o); err != nil {
		return supplier.Placed{}, err
	}
	res, err := c.resolveLines(ctx, o.Lines)
	if err != nil {
		return supplier.Placed{}, err
	}
	pay := c.pay
	if o.TestMode {
		pay = c.testPay
	}
	a := o.ShipTo
	street := strings.TrimSpace(a.Address1)
	if a2 := strings.TrimSpace(a.Address2); a2 != "" {
		street += ", " + a2
	}
	body := orderEnvelope{Order: wireOrder{
		InternalReference: o.Reference,
		Language:          c.lang,
		PaymentMethod:     pay,
		Carriers:          []wireCarrier{{Name: o.ShippingRateID}},
		ShippingAddress: wireAddress{
			FirstName: a.FirstName, LastName: a.LastName,
			Country: strings.ToUpper(a.CountryCode), Postcode: a.PostalCode, Town: a.City,
			Address: street, Phone: orDefault(a.Phone, o.Phone), Email: o.Email,
			CompanyName: a.Company,
		},
		Products: res.products,
	}}
	if err := ctx.Err(); err != nil {
		return supplier.Placed{}, c.transportProblem(ctx, err) // nothing sent yet
	}
	r, err := c.send(ctx, c.base, http.MethodPost, "/rest/order/create.json", nil, body)
	if err != nil {
		pe := c.transportProblem(ctx, err)
		if se, ok := errors.AsType[*sendError](err); ok && !se.sent {
			return supplier.Placed{}, pe // the connection never opened
		}
		return supplier.Placed{}, supplier.OutcomeUnknown(pe)
	}
	if f := parseFault(r); f != nil {
		if f.code == "ER008" {
			return c.adopt(f)
		}
		if !f.rateLimited && (f.status >= 500 || strings.HasPrefix(f.code, "5")) {
			// The order may have been written before the failure.
			return supplier.Placed{}, supplier.OutcomeUnknown(c.toProblem(f, errCtx{op: opCreate, skuLines: res.skuLines}))
		}
		return supplier.Placed{}, c.toProblem(f, errCtx{op: opCreate, skuLines: res.skuLines})
	}
	id, ok := orderIDFromLocation(r.header.Get("Location"))
	if !ok {
		return supplier.Placed{}, supplier.OutcomeUnknown(badResponse("BigBuy accepted the order (HTTP %d) without a readable Location header", r.status))
	}
	return supplier.Placed{SupplierOrderID: id, Status: supplier.StatusPending}, nil
}

// adopt turns ER008 ("order already exists", data.orderId) into a
// success: the earlier attempt did create the order, exactly once.
func (c *Client) adopt(f *fault) (supplier.Placed, error) {
	var data struct {
		OrderID json.RawMessage `json:"orderId"`
	}
	_ = json.Unmarshal(f.data, &data)
	id := idString(data.OrderID)
	if !digitsOnly.MatchString(id) {
		return supplier.Placed{}, supplier.OutcomeUnknown(badResponse("BigBuy says the order already exists (ER008) but names no order id"))
	}
	c.log.Info("bigbuy: order already existed; adopting it", "supplier_order_id", id)
	return supplier.Placed{SupplierOrderID: id, Status: supplier.StatusPending}, nil
}

// checkOrder rejects what BigBuy would refuse anyway, without spending a
// call of the 1 req/s budget. Email and phone are mandatory at BigBuy.
func checkOrder(o supplier.Order) error {
	var bad []problem.Field
	req := func(v, ptr, msg string) {
		if strings.TrimSpace(v) == "" {
			bad = append(bad, problem.Field{Pointer: ptr, Message: msg})
		}
	}
	req(o.Reference, "/order_id", "the order reference is required")
	req(o.ShippingRateID, "/shipping_cost_id", "a shipping option (carrier) from /rates is required")
	req(o.Email, "/email", "BigBuy requires the customer's email")
	req(orDefault(o.ShipTo.Phone, o.Phone), "/phone", "BigBuy requires a phone number")
	req(o.ShipTo.FirstName, "/shipping_address/first_name", "required")
	req(o.ShipTo.Address1, "/shipping_address/address1", "required")
	req(o.ShipTo.City, "/shipping_address/city", "required")
	req(o.ShipTo.PostalCode, "/shipping_address/zip", "required")
	req(o.ShipTo.CountryCode, "/shipping_address/country_code", "required")
	if len(bad) > 0 {
		return problem.InvalidFields(problem.CodeValidation, "the order misses data BigBuy requires", bad...)
	}
	return nil
}

// FindOrder implements supplier.Supplier with
// GET /rest/order/reference/{ref}.json. Only BigBuy's own 404 answer
// ({"code":404,…}) proves there is no such order.
func (c *Client) FindOrder(ctx context.Context, reference string) (supplier.Placed, bool, error) {
	ref := strings.TrimSpace(reference)
	if ref == "" {
		return supplier.Placed{}, false, problem.New(problem.Invalid, problem.CodeValidation, "empty order reference")
	}
	r, err := c.send(supplier.Retryable(ctx), c.base, http.MethodGet, "/rest/order/reference/"+url.PathEscape(ref)+".json", nil, nil)
	if err != nil {
		return supplier.Placed{}, false, c.transportProblem(ctx, err)
	}
	if f := parseFault(r); f != nil {
		if confirmedNone(r) {
			return supplier.Placed{}, false, nil
		}
		pe := c.toProblem(f, errCtx{op: opRead})
		if pe.Kind != problem.Unavailable {
			// A lookup that failed in any other way says nothing about
			// whether the order exists.
			pe = &problem.Error{Kind: problem.Unavailable, Code: problem.CodeSupplierUnavailable, RetryAfter: 30 * time.Second,
				Detail: "BigBuy's order lookup failed; this proves nothing about the order: " + pe.Detail}
		}
		return supplier.Placed{}, false, pe
	}
	if emptyBody(r.body) {
		return supplier.Placed{}, false, problem.New(problem.Unavailable, problem.CodeSupplierUnavailable,
			"BigBuy answered the order lookup with an empty body, which does not prove the order is absent").WithRetryAfter(30 * time.Second)
	}
	p, ref2, err := c.placedFrom(r)
	if err != nil {
		return supplier.Placed{}, false, err
	}
	if ref2 != "" && ref2 != ref {
		return supplier.Placed{}, false, badResponse("BigBuy's lookup answered with another order reference")
	}
	return p, true, nil
}

// confirmedNone reports BigBuy's own "no such order" answer: HTTP 404
// with a JSON body whose code is 404. A bare 404 (a proxy, a wrong path)
// is not proof.
func confirmedNone(r *reply) bool {
	if r.status != http.StatusNotFound || r.readErr != nil {
		return false
	}
	var eb errBody
	return json.Unmarshal(r.body, &eb) == nil && rawCode(eb.Code) == "404"
}

func (c *Client) placedFrom(r *reply) (supplier.Placed, string, error) {
	var ans orderAnswer
	if err := decode(r, "order", &ans); err != nil {
		return supplier.Placed{}, "", err
	}
	id := idString(ans.ID)
	if id == "" {
		return supplier.Placed{}, "", badResponse("BigBuy's order answer has no id")
	}
	raw := nameOf(ans.Status)
	p := supplier.Placed{SupplierOrderID: id, Status: c.mapStatus(raw), RawStatus: raw}
	if minor, ok := parseMoney(ans.Total); ok {
		p.Total = &supplier.Money{Minor: minor, Currency: currency}
	}
	return p, strings.TrimSpace(ans.InternalReference), nil
}

// Tracking implements supplier.Supplier: the order's status from
// GET /rest/order/{id}.json, its parcels from
// GET /rest/tracking/order/{id}.json.
func (c *Client) Tracking(ctx context.Context, supplierOrderID string) (supplier.Tracking, error) {
	id := strings.TrimSpace(supplierOrderID)
	if !digitsOnly.MatchString(id) {
		// BigBuy order ids are numbers (they come from the Location path).
		return supplier.Tracking{}, problem.New(problem.NotFound, problem.CodeOrderNotFound, "not a BigBuy order number")
	}
	r, err := c.send(supplier.Retryable(ctx), c.base, http.MethodGet, "/rest/order/"+id+".json", nil, nil)
	if err != nil {
		return supplier.Tracking{}, c.transportProblem(ctx, err)
	}
	if f := parseFault(r); f != nil {
		return supplier.Tracking{}, c.toProblem(f, errCtx{op: opRead})
	}
	if emptyBody(r.body) {
		// BigBuy's way of saying 404 on some GETs.
		return supplier.Tracking{}, problem.New(problem.NotFound, problem.CodeOrderNotFound, "BigBuy does not know this order")
	}
	p, _, err := c.placedFrom(r)
	if err != nil {
		return supplier.Tracking{}, err
	}
	t := supplier.Tracking{SupplierOrderID: id, Status: p.Status, RawStatus: p.RawStatus, UpdatedAt: c.now().UTC()}
	// A pending or cancelled order has no parcel: save the 1 req/s budget.
	if slices.Contains([]supplier.Status{supplier.StatusPending, supplier.StatusCancelled}, p.Status) {
		return t, nil
	}
	parcels, err := c.parcels(ctx, id)
	if err != nil {
		return supplier.Tracking{}, err
	}
	t.Parcels = parcels
	t.Status = statusWithParcels(t.Status, parcels)
	return t, nil
}

func (c *Client) parcels(ctx context.Context, id string) ([]supplier.Parcel, error) {
	r, err := c.send(supplier.Retryable(ctx), c.base, http.MethodGet, "/rest/tracking/order/"+id+".json", nil, nil)
	if err != nil {
		return nil, c.transportProblem(ctx, err)
	}
	if f := parseFault(r); f != nil {
		if f.code == "404" {
			return nil, nil // no tracking yet is a normal answer
		}
		return nil, c.toProblem(f, errCtx{op: opRead})
	}
	if emptyBody(r.body) {
		return nil, nil
	}
	if r.readErr != nil {
		return nil, problem.Wrap(r.readErr, problem.Upstream, problem.CodeSupplierBadResponse, "BigBuy tracking answer was cut off")
	}
	ps, err := parseTracking(r.body, id)
	if err != nil {
		return nil, problem.Wrap(err, problem.Upstream, problem.CodeSupplierBadResponse, "BigBuy tracking answer is not the expected JSON")
	}
	return ps, nil
}
