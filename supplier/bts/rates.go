package bts

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
)

// Rates implements supplier.Supplier with getShippingPrices. The returned
// rate ids are bound by BTS to the (country, postcode) quoted.
func (c *Client) Rates(ctx context.Context, req supplier.RateRequest) ([]supplier.Rate, error) {
	country := strings.ToUpper(strings.TrimSpace(req.CountryCode))
	if country == "" {
		return nil, problem.InvalidFields(problem.CodeValidation, "a country code is needed to quote BTS shipping",
			problem.Field{Pointer: "/shipping_address/country_code", Message: "required"})
	}
	if err := checkLines(req.Lines); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("address[country_code]", country)
	q.Set("address[postal_code]", strings.TrimSpace(req.PostalCode))
	addProducts(q, req.Lines)

	r, se := c.send(supplier.Retryable(ctx), endpointRates, q, nil)
	if se != nil {
		return nil, transportProblem(endpointRates, se)
	}
	vd := c.judge(endpointRates, r)
	if vd.prob != nil {
		if vd.token == errOrderNotFound {
			// Makes no sense for a quote: BTS found nothing to price.
			return nil, problem.New(problem.Rejected, problem.CodeUnknownProduct, "BTS does not know at least one product EAN")
		}
		return nil, vd.prob
	}
	if vd.jsonErr != nil {
		return nil, problem.Wrap(vd.jsonErr, problem.Upstream, problem.CodeSupplierBadResponse, "BTS getShippingPrices did not answer valid JSON")
	}
	rates, free, err := c.parseRates(ctx, vd.value)
	if err != nil {
		return nil, err
	}
	c.applyFreeShipping(ctx, rates, free, req.Lines)
	return rates, nil
}

// applyFreeShipping quotes 0 for the options whose free_shipping threshold
// the cart's subtotal exceeds (the vendor doc: "If the order subtotal
// exceeds this value, shipping is free"). The subtotal is at BTS's own
// prices, which the quote does not carry, so they are read with one
// getProductStock call, only when some option has a threshold. When the
// prices cannot be read the full cost is quoted: too high rather than a
// free quote BTS then charges for. Assumption: BTS's unit prices as
// getProductStock gives them are the ones its subtotal uses.
func (c *Client) applyFreeShipping(ctx context.Context, rates []supplier.Rate, free []int64, lines []supplier.Line) {
	need := false
	for i := range rates {
		need = need || (free[i] > 0 && rates[i].Price.Minor > 0)
	}
	if !need {
		return
	}
	eans := make([]string, len(lines))
	for i, l := range lines {
		eans[i] = strings.TrimSpace(l.EAN)
	}
	products, err := c.Products(ctx, eans)
	if err != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "bts: prices for the free-shipping threshold not available; quoting full shipping cost", slog.String("error", err.Error()))
		return
	}
	var subtotal int64
	for i, p := range products {
		if !p.Found || p.Price == nil {
			return
		}
		subtotal += p.Price.Minor * int64(lines[i].Quantity)
	}
	for i := range rates {
		if free[i] > 0 && subtotal > free[i] {
			rates[i].Price.Minor = 0
		}
	}
}

// parseRates reads the array or index-keyed object of options, and each
// option's free_shipping threshold in minor units (0: none or unreadable).
func (c *Client) parseRates(ctx context.Context, v any) ([]supplier.Rate, []int64, error) {
	if v == nil {
		return []supplier.Rate{}, nil, nil
	}
	list, ok := items(v)
	if !ok {
		return nil, nil, problem.New(problem.Upstream, problem.CodeSupplierBadResponse, "BTS getShippingPrices answered neither a list nor an object of options")
	}
	rates := make([]supplier.Rate, 0, len(list))
	var free []int64
	skipped := 0
	for _, e := range list {
		rate, err := parseRate(e)
		if err != nil {
			skipped++
			c.log.LogAttrs(ctx, slog.LevelWarn, "bts: shipping option skipped", slog.String("reason", err.Error()))
			continue
		}
		rates = append(rates, rate)
		threshold, _ := parseEUR(e.(map[string]any)["free_shipping"])
		free = append(free, max(threshold, 0))
	}
	if len(rates) == 0 && skipped > 0 {
		return nil, nil, problem.New(problem.Upstream, problem.CodeSupplierBadResponse, "BTS getShippingPrices returned options that could not be read")
	}
	return rates, free, nil
}

func parseRate(e any) (supplier.Rate, error) {
	m, ok := e.(map[string]any)
	if !ok {
		return supplier.Rate{}, fmt.Errorf("option is not an object")
	}
	id := text(m["id"])
	if id == "" {
		return supplier.Rate{}, fmt.Errorf("option without id")
	}
	cost, err := parseEUR(m["shipping_cost"])
	if err != nil {
		return supplier.Rate{}, err
	}
	if cost < 0 {
		return supplier.Rate{}, fmt.Errorf("negative shipping cost")
	}
	r := supplier.Rate{
		ID:      id,
		Carrier: text(m["company_name"]),
		Price:   supplier.Money{Minor: cost, Currency: "EUR"},
	}
	if lo, hi, ok := parseDays(m["delivery_time"]); ok {
		r.MinDays, r.MaxDays = lo, hi
	}
	return r, nil
}

// checkLines rejects carts BTS cannot be asked about.
func checkLines(lines []supplier.Line) error {
	if len(lines) == 0 {
		return problem.InvalidFields(problem.CodeValidation, "at least one line item is needed",
			problem.Field{Pointer: "/line_items", Message: "required"})
	}
	var fields []problem.Field
	for i, l := range lines {
		if strings.TrimSpace(l.EAN) == "" {
			fields = append(fields, problem.Field{Pointer: "/line_items/" + strconv.Itoa(i) + "/barcode", Message: "BTS needs the product EAN"})
		}
		if l.Quantity <= 0 {
			fields = append(fields, problem.Field{Pointer: "/line_items/" + strconv.Itoa(i) + "/quantity", Message: "must be at least 1"})
		}
	}
	if len(fields) > 0 {
		return problem.InvalidFields(problem.CodeValidation, "line items are not usable for BTS", fields...)
	}
	return nil
}

// addProducts writes products[i][sku] (the EAN) and products[i][quantity].
func addProducts(v url.Values, lines []supplier.Line) {
	for i, l := range lines {
		p := "products[" + strconv.Itoa(i) + "]"
		v.Set(p+"[sku]", strings.TrimSpace(l.EAN))
		v.Set(p+"[quantity]", strconv.Itoa(l.Quantity))
	}
}
