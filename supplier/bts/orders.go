package bts

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
)

// validOrderNumber says what a BTS order number looks like. The vendor doc
// says 12 digits; 6–20 digits tolerates a format change without accepting
// error words as order numbers.
func validOrderNumber(s string) bool {
	return len(s) >= 6 && len(s) <= 20 && digits(s)
}

// CreateOrder implements supplier.Supplier with setCreateOrder. It is never
// marked retryable: a re-sent create can place a second order. See the
// package doc for which errors mean "outcome unknown".
func (c *Client) CreateOrder(ctx context.Context, o supplier.Order) (supplier.Placed, error) {
	form, err := c.orderForm(o)
	if err != nil {
		return supplier.Placed{}, err
	}
	r, se := c.send(ctx, endpointCreate, nil, form)
	if se != nil {
		if !se.sent {
			// Copy: the transport's problem may be a shared value.
			pe := *transportProblem(endpointCreate, se)
			pe.Detail += " (the order was not sent)"
			return supplier.Placed{}, &pe
		}
		return supplier.Placed{}, supplier.OutcomeUnknown(problem.Wrap(se.err, problem.Unavailable, problem.CodeSupplierUnavailable,
			"BTS setCreateOrder: the request was sent but no complete answer came back; the order may exist, check the BTS portal").
			WithRetryAfter(defaultRetryAfter))
	}

	vd := c.judge(endpointCreate, r)
	if vd.prob != nil {
		if r.status >= 500 && vd.token == "" {
			vd.prob.Detail += "; the order may exist, check the BTS portal"
			return supplier.Placed{}, supplier.OutcomeUnknown(vd.prob)
		}
		if vd.token == errOrderNotFound || vd.token == errNotFound {
			// A create that answers "not found" refers to a product.
			return supplier.Placed{}, problem.New(problem.Rejected, problem.CodeUnknownProduct, "BTS does not know at least one product EAN")
		}
		return supplier.Placed{}, vd.prob
	}
	placed, perr := c.parseCreated(ctx, vd)
	if perr != nil {
		// 2xx: BTS took the request; we just cannot read what it made.
		return supplier.Placed{}, supplier.OutcomeUnknown(perr)
	}
	c.log.LogAttrs(ctx, slog.LevelInfo, "bts order created",
		slog.String("supplier_order_id", placed.SupplierOrderID), slog.String("raw_status", placed.RawStatus),
		slog.Bool("test_mode", o.TestMode))
	return placed, nil
}

// parseCreated reads either the documented object or a bare JSON string
// holding the order number.
func (c *Client) parseCreated(ctx context.Context, vd verdict) (supplier.Placed, *problem.Error) {
	if vd.jsonErr != nil {
		return supplier.Placed{}, problem.Wrap(vd.jsonErr, problem.Upstream, problem.CodeSupplierBadResponse,
			"BTS setCreateOrder answered something that is not JSON; the order may exist, check the BTS portal")
	}
	var number, rawStatus, total string
	switch t := vd.value.(type) {
	case string, json.Number:
		number = text(t)
	case map[string]any:
		number = text(t["order_number"])
		rawStatus = text(t["order_status"])
		total = text(t["order_total"])
	}
	if !validOrderNumber(number) {
		return supplier.Placed{}, problem.New(problem.Upstream, problem.CodeSupplierBadResponse,
			"BTS setCreateOrder answered without a usable order number; the order may exist, check the BTS portal")
	}
	p := supplier.Placed{SupplierOrderID: number, Status: supplier.StatusPending, RawStatus: rawStatus}
	if rawStatus != "" {
		p.Status = c.status(ctx, rawStatus)
	}
	if total != "" {
		if cents, err := parseEUR(total); err == nil {
			p.Total = &supplier.Money{Minor: cents, Currency: "EUR"}
		}
	}
	return p, nil
}

// orderForm builds the setCreateOrder body and checks what BTS is known to
// refuse, so such orders fail before anything is sent.
func (c *Client) orderForm(o supplier.Order) (url.Values, error) {
	if err := checkLines(o.Lines); err != nil {
		return nil, err
	}
	a := o.ShipTo
	country := strings.ToUpper(strings.TrimSpace(a.CountryCode))
	name := strings.TrimSpace(strings.TrimSpace(a.FirstName) + " " + strings.TrimSpace(a.LastName))
	if name == "" {
		name = strings.TrimSpace(a.Company)
	}
	phone := strings.TrimSpace(a.Phone)
	if phone == "" {
		phone = strings.TrimSpace(o.Phone)
	}
	var parts []string
	for _, s := range []string{a.Address1, a.Address2} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	state := strings.ToUpper(strings.TrimSpace(a.ProvinceCode))

	var fields []problem.Field
	need := func(ok bool, pointer, msg string) {
		if !ok {
			fields = append(fields, problem.Field{Pointer: pointer, Message: msg})
		}
	}
	need(country != "", "/shipping_address/country_code", "required")
	need(name != "", "/shipping_address/last_name", "BTS needs the recipient's name")
	need(len(parts) > 0, "/shipping_address/address1", "required")
	need(strings.TrimSpace(a.City) != "", "/shipping_address/city", "required")
	need(strings.TrimSpace(a.PostalCode) != "", "/shipping_address/zip", "required")
	need(phone != "", "/shipping_address/phone", "BTS requires a telephone number")
	need(strings.TrimSpace(o.ShippingRateID) != "", "/shipping_cost_id", "quote rates first")
	if country == "US" || country == "CA" {
		need(state != "", "/shipping_address/province_code", "BTS requires a state/province code for US and CA")
	}
	if len(fields) > 0 {
		return nil, &problem.Error{Kind: problem.Rejected, Code: problem.CodeInvalidAddress,
			Detail: "the order lacks data BTS requires", Fields: fields}
	}

	pm := c.payment
	if o.TestMode {
		// No sandbox: bank transfer keeps the order unpaid and cancellable.
		pm = PaymentBankTransfer
	}
	f := url.Values{}
	f.Set("payment_method", pm)
	addProducts(f, o.Lines)
	f.Set("shipping_cost_id", strings.TrimSpace(o.ShippingRateID))
	f.Set("client_name", name)
	f.Set("address", strings.Join(parts, ", "))
	f.Set("postal_code", strings.TrimSpace(a.PostalCode))
	f.Set("city", strings.TrimSpace(a.City))
	f.Set("country_code", country)
	f.Set("telephone", phone)
	f.Set("dropshipping", "1")
	if country == "US" || country == "CA" {
		f.Set("state_code", state)
	}
	return f, nil
}
