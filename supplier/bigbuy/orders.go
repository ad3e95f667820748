package bigbuy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/carrierlink"
)

// Rates implements supplier.Supplier with POST /rest/shipping/orders.json.
// A cart BigBuy ships from several warehouses is answered 409 with the
// warehouses' product sets; each set is then quoted on its own and a
// carrier is offered when it serves every set (its cost is the sum, its
// delivery time the slowest set's), because create sends one carrier list
// for all parts.
func (c *Client) Rates(ctx context.Context, req supplier.RateRequest) ([]supplier.Rate, error) {
	res, err := c.resolveLines(ctx, req.Lines)
	if err != nil {
		return nil, err
	}
	d := wireDelivery{IsoCountry: strings.ToUpper(strings.TrimSpace(req.CountryCode)), Postcode: strings.TrimSpace(req.PostalCode)}
	rates, parts, err := c.quote(ctx, d, res.products, res.skuLines)
	if err != nil || parts == nil {
		return rates, err
	}
	var combined []supplier.Rate
	for i, pt := range parts {
		prods := pt.products(res.products)
		if len(prods) == 0 {
			return nil, badResponse("BigBuy named a warehouse without any product of the cart")
		}
		got, again, err := c.quote(ctx, d, prods, res.skuLines)
		if err != nil {
			return nil, err
		}
		if again != nil {
			return nil, badResponse("BigBuy split one warehouse's products again")
		}
		if i == 0 {
			combined = got
			continue
		}
		combined = slices.DeleteFunc(combined, func(r supplier.Rate) bool {
			j := slices.IndexFunc(got, func(g supplier.Rate) bool { return g.ID == r.ID })
			return j < 0
		})
		for k := range combined {
			g := got[slices.IndexFunc(got, func(g supplier.Rate) bool { return g.ID == combined[k].ID })]
			combined[k].Price.Minor += g.Price.Minor
			combined[k].MinDays, combined[k].MaxDays = max(combined[k].MinDays, g.MinDays), max(combined[k].MaxDays, g.MaxDays)
		}
	}
	if len(combined) == 0 {
		return nil, problem.Newf(problem.Rejected, problem.CodeNoShippingOption,
			"BigBuy ships this cart from %d warehouses and no carrier serves all of them for this destination", len(parts))
	}
	return combined, nil
}

// quote asks shipping/orders once. parts is non-nil when BigBuy answered
// that the products come from different warehouses.
func (c *Client) quote(ctx context.Context, d wireDelivery, products []wireProduct, skuLines map[string][]int) ([]supplier.Rate, []warehousePart, error) {
	q := orderEnvelope{Order: wireShippingQuery{Delivery: d, Products: products}}
	r, err := c.send(supplier.Retryable(ctx), c.base, http.MethodPost, "/rest/shipping/orders.json", nil, q)
	if err != nil {
		return nil, nil, c.transportProblem(ctx, err)
	}
	if f := parseFault(r); f != nil {
		if parts, ok := f.warehouses(); ok {
			return nil, parts, nil
		}
		return nil, nil, c.toProblem(f, errCtx{op: opRates, skuLines: skuLines})
	}
	if emptyBody(r.body) {
		return nil, nil, nil // no option; the caller answers no_shipping_option
	}
	var ans shippingOptionsAnswer
	if err := decode(r, "shipping options", &ans); err != nil {
		return nil, nil, err
	}
	byID := map[string]int{}
	var rates []supplier.Rate
	var unknown []string
	for _, o := range ans.ShippingOptions {
		cost, okCost := parseMoney(o.Cost)
		code, okCode := o.code()
		switch {
		case !okCost:
			c.log.Warn("bigbuy: shipping option without a readable cost skipped", "service", o.ShippingService.Name)
			continue
		case !okCode:
			c.log.Warn("bigbuy: shipping service with no known create code skipped", "service", o.ShippingService.Name)
			unknown = append(unknown, scrub(o.ShippingService.Name))
			continue
		}
		minD, maxD := parseDelay(o.ShippingService.Delay)
		name := strings.TrimSpace(o.ShippingService.Name)
		rate := supplier.Rate{ID: code, Carrier: name, Service: orDefault(o.ShippingService.ServiceName, name),
			Price: supplier.Money{Minor: cost, Currency: currency}, MinDays: minD, MaxDays: maxD}
		// Create names a carrier code, not a service: keep the cheapest.
		if i, dup := byID[code]; dup {
			if cost < rates[i].Price.Minor {
				rates[i] = rate
			}
			continue
		}
		byID[code] = len(rates)
		rates = append(rates, rate)
	}
	if len(rates) == 0 && len(unknown) > 0 {
		return nil, nil, problem.Newf(problem.Rejected, problem.CodeNoShippingOption,
			"BigBuy offered only carriers flowbridge has no order code for (%s)", strings.Join(unknown, ", "))
	}
	if len(rates) == 0 && len(ans.ShippingOptions) > 0 {
		return nil, nil, badResponse("BigBuy sent %d shipping options without a usable cost", len(ans.ShippingOptions))
	}
	return rates, nil, nil
}

// CreateOrder implements supplier.Supplier with POST /rest/order/create.json.
// It is never retried here: an error after the request may have left is
// wrapped with supplier.OutcomeUnknown and flowbridge reconciles through
// FindOrder. A cart BigBuy ships from several warehouses is refused by
// create (409, nothing created), checked with order/check/multishipping
// and placed through order/create/multishipping.
func (c *Client) CreateOrder(ctx context.Context, o supplier.Order) (supplier.Placed, error) {
	code, street, err := checkOrder(o)
	if err != nil {
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
	body := orderEnvelope{Order: wireOrder{
		InternalReference: o.Reference,
		Language:          c.lang,
		PaymentMethod:     pay,
		Carriers:          []wireCarrier{{Name: code}},
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
		return supplier.Placed{}, c.sendFailure(ctx, err)
	}
	if f := parseFault(r); f != nil {
		if parts, ok := f.warehouses(); ok {
			c.log.Info("bigbuy: cart ships from several warehouses; placing it as multishipping", "warehouses", len(parts))
			if err := c.checkMulti(ctx, body, res); err != nil {
				return supplier.Placed{}, err
			}
			return c.createMulti(ctx, body, res)
		}
		return c.createFault(f, res)
	}
	id, ok := orderIDFromLocation(r.header.Get("Location"))
	if !ok {
		return supplier.Placed{}, supplier.OutcomeUnknown(badResponse("BigBuy accepted the order (HTTP %d) without a readable Location header", r.status))
	}
	return supplier.Placed{SupplierOrderID: id, Status: supplier.StatusPending}, nil
}

// sendFailure is the error of a create whose request failed in transport:
// outcome unknown unless the connection provably never opened.
func (c *Client) sendFailure(ctx context.Context, err error) error {
	pe := c.transportProblem(ctx, err)
	if se, ok := errors.AsType[*sendError](err); ok && !se.sent {
		return pe // the connection never opened
	}
	return supplier.OutcomeUnknown(pe)
}

// createFault maps a refused create (either endpoint); ER008 is the
// earlier attempt's order, adopted.
func (c *Client) createFault(f *fault, res resolved) (supplier.Placed, error) {
	ec := errCtx{op: opCreate, skuLines: res.skuLines}
	switch {
	case f.code == "ER008":
		return c.adopt(f)
	case strings.Contains(strings.ToLower(f.info), "something went wrong"):
		// Seen as a 200 {"code":409,"message":"Something went wrong …"}
		// (PyBigBuy): it says nothing about whether the order exists.
		return supplier.Placed{}, supplier.OutcomeUnknown(problem.New(problem.Unavailable, problem.CodeSupplierUnavailable,
			"BigBuy answered the order with \"Something went wrong\"; whether it was created is unknown, so it is looked up by reference").WithRetryAfter(30 * time.Second))
	case !f.rateLimited && (f.status >= 500 || strings.HasPrefix(f.code, "5")):
		// The order may have been written before the failure.
		return supplier.Placed{}, supplier.OutcomeUnknown(c.toProblem(f, ec))
	}
	return supplier.Placed{}, c.toProblem(f, ec)
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

// maxStreet is BigBuy's limit on shippingAddress.address ("This value is
// too long. It should have 70 characters or less.", seen by PyBigBuy).
const maxStreet = 70

// street joins address1 and address2 the way the order sends them.
func street(a supplier.Address) string {
	s := strings.Join(strings.Fields(a.Address1), " ")
	if a2 := strings.Join(strings.Fields(a.Address2), " "); a2 != "" {
		s += ", " + a2
	}
	return s
}

// checkOrder rejects what BigBuy would refuse anyway, without spending a
// call of the 1 req/s budget, and returns the carrier code and the street
// line to send. Email and phone are mandatory at BigBuy; the street is at
// most 70 characters: address1 and address2 are sent joined by ", " and a
// longer street is refused here, naming the fields, rather than cut (a
// shortened address can send the parcel to the wrong door).
func checkOrder(o supplier.Order) (code, streetLine string, _ error) {
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
	streetLine = street(o.ShipTo)
	if n := utf8.RuneCountInString(streetLine); n > maxStreet {
		msg := fmt.Sprintf("BigBuy accepts at most %d characters for the street; this one has %d", maxStreet, n)
		bad = append(bad, problem.Field{Pointer: "/shipping_address/address1", Message: msg})
		if strings.TrimSpace(o.ShipTo.Address2) != "" {
			bad = append(bad, problem.Field{Pointer: "/shipping_address/address2",
				Message: fmt.Sprintf("address1 and address2 are sent together (joined by \", \") and must not exceed %d characters", maxStreet)})
		}
	}
	if len(bad) > 0 {
		return "", "", problem.InvalidFields(problem.CodeValidation, "the order misses data BigBuy requires or has data it refuses", bad...)
	}
	code, ok := createCode(o.ShippingRateID)
	if !ok {
		return "", "", &problem.Error{Kind: problem.Rejected, Code: problem.CodeInvalidShippingRate,
			Detail: "the shipping option is not a BigBuy carrier (chrono, correos, gls, ups, dhl, tnt, seur, correosinternational); quote rates again",
			Fields: []problem.Field{{Pointer: "/shipping_cost_id", Message: "not a BigBuy carrier code"}}}
	}
	return code, streetLine, nil
}

// FindOrder implements supplier.Supplier with
// GET /rest/order/reference/{ref}.json, which answers only the order's id
// and total, followed by GET /rest/order/{id}.json for its status and to
// check the reference. Only BigBuy's own 404 answer ({"code":404,…})
// proves there is no such order. For a multishipping order the lookup
// names only one of its orders (PyBigBuy).
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
		return supplier.Placed{}, false, provesNothing(c.toProblem(f, errCtx{op: opRead}))
	}
	if emptyBody(r.body) {
		return supplier.Placed{}, false, problem.New(problem.Unavailable, problem.CodeSupplierUnavailable,
			"BigBuy answered the order lookup with an empty body, which does not prove the order is absent").WithRetryAfter(30 * time.Second)
	}
	var slim slimOrder
	if err := decode(r, "order lookup", &slim); err != nil {
		return supplier.Placed{}, false, err
	}
	id := idString(slim.ID)
	if !digitsOnly.MatchString(id) {
		return supplier.Placed{}, false, badResponse("BigBuy's order lookup names no order id")
	}
	full, err := c.readOrder(ctx, id)
	if err != nil {
		if pe := problem.From(err); pe.Kind == problem.NotFound {
			return supplier.Placed{}, false, badResponse("BigBuy's lookup names order %s, which BigBuy then does not know", id)
		}
		return supplier.Placed{}, false, provesNothing(problem.From(err))
	}
	if full.ref != "" && full.ref != ref {
		return supplier.Placed{}, false, badResponse("BigBuy's lookup answered with another order reference")
	}
	p := full.placed
	if p.Total == nil {
		if minor, ok := parseMoney(slim.TotalPaidTaxIncl); ok {
			p.Total = &supplier.Money{Minor: minor, Currency: currency}
		}
	}
	return p, true, nil
}

// provesNothing turns a failed lookup into Unavailable: it says nothing
// about whether the order exists.
func provesNothing(pe *problem.Error) *problem.Error {
	if pe.Kind == problem.Unavailable {
		return pe
	}
	return &problem.Error{Kind: problem.Unavailable, Code: problem.CodeSupplierUnavailable, RetryAfter: 30 * time.Second,
		Detail: "BigBuy's order lookup failed; this proves nothing about the order: " + pe.Detail}
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

// fullOrder is a read order and the reference it carries.
type fullOrder struct {
	placed supplier.Placed
	ref    string
}

// readOrder is GET /rest/order/{id}.json.
func (c *Client) readOrder(ctx context.Context, id string) (fullOrder, error) {
	r, err := c.send(supplier.Retryable(ctx), c.base, http.MethodGet, "/rest/order/"+id+".json", nil, nil)
	if err != nil {
		return fullOrder{}, c.transportProblem(ctx, err)
	}
	if f := parseFault(r); f != nil {
		return fullOrder{}, c.toProblem(f, errCtx{op: opRead})
	}
	if emptyBody(r.body) {
		// BigBuy's way of saying 404 on some GETs.
		return fullOrder{}, problem.New(problem.NotFound, problem.CodeOrderNotFound, "BigBuy does not know this order")
	}
	var ans orderAnswer
	if err := decode(r, "order", &ans); err != nil {
		return fullOrder{}, err
	}
	if got := idString(ans.ID); got == "" {
		return fullOrder{}, badResponse("BigBuy's order answer has no id")
	} else if got != id {
		return fullOrder{}, badResponse("BigBuy's order answer is for another order")
	}
	raw := strings.TrimSpace(nameOf(ans.Status))
	if digitsOnly.MatchString(raw) {
		// A status id: its name comes from order/orderstatuses.
		if name := c.statusName(ctx, raw); name != "" {
			raw = name
		}
	}
	p := supplier.Placed{SupplierOrderID: id, Status: c.mapStatus(raw), RawStatus: raw}
	if minor, ok := parseMoney(ans.TotalPaidTaxIncl); ok {
		p.Total = &supplier.Money{Minor: minor, Currency: currency}
	}
	return fullOrder{placed: p, ref: strings.TrimSpace(ans.InternalReference)}, nil
}

// Tracking implements supplier.Supplier: the order's status from
// GET /rest/order/{id}.json, its parcels from
// GET /rest/tracking/order/{id}.json (carrier names from
// GET /rest/tracking/carriers.json, links from package carrierlink).
func (c *Client) Tracking(ctx context.Context, supplierOrderID string) (supplier.Tracking, error) {
	id := strings.TrimSpace(supplierOrderID)
	if !digitsOnly.MatchString(id) {
		// BigBuy order ids are numbers (they come from the Location path).
		return supplier.Tracking{}, problem.New(problem.NotFound, problem.CodeOrderNotFound, "not a BigBuy order number")
	}
	full, err := c.readOrder(ctx, id)
	if err != nil {
		return supplier.Tracking{}, err
	}
	p := full.placed
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
	entries, err := parseTracking(r.body, id)
	if err != nil {
		return nil, problem.Wrap(err, problem.Upstream, problem.CodeSupplierBadResponse, "BigBuy tracking answer is not the expected JSON")
	}
	out := make([]supplier.Parcel, 0, len(entries))
	for _, e := range entries {
		p := supplier.Parcel{Number: e.number}
		if e.carrierID != "" {
			p.Carrier = c.carrierName(ctx, e.carrierID)
		}
		if k, ok := carrierlink.Lookup(p.Carrier); ok {
			p.Carrier, p.URL = k.Name, k.Link(e.number)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
