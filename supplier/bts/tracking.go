package bts

import (
	"context"
	"log/slog"
	"net/url"
	"strings"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
)

// Tracking implements supplier.Supplier: getOrder gives the status, the
// carrier (shipping_company) and usually the tracking; getTrackings is asked
// only when getOrder has none and the order is past payment.
func (c *Client) Tracking(ctx context.Context, supplierOrderID string) (supplier.Tracking, error) {
	id := strings.TrimSpace(supplierOrderID)
	if id == "" || len(id) > 32 || !alnum(id) {
		return supplier.Tracking{}, problem.New(problem.NotFound, problem.CodeOrderNotFound, "this is not a BTS order number")
	}
	order, err := c.getOrder(ctx, id)
	if err != nil {
		return supplier.Tracking{}, err
	}
	raw := text(order["order_status"])
	t := supplier.Tracking{
		SupplierOrderID: id,
		Status:          c.status(ctx, raw),
		RawStatus:       raw,
		UpdatedAt:       c.now().UTC(),
	}
	company := text(order["shipping_company"])
	t.Parcels = c.parcels(trackingText(order["tracking"]), company)
	if len(t.Parcels) == 0 && pastPayment(t.Status) {
		more, err := c.getTrackings(ctx, id)
		if err != nil {
			// getOrder answered; a missing extra lookup only delays tracking.
			c.log.LogAttrs(ctx, slog.LevelWarn, "bts: getTrackings failed", slog.String("error", err.Error()))
		}
		t.Parcels = c.parcels(more, company)
	}
	return t, nil
}

func pastPayment(s supplier.Status) bool {
	return s == supplier.StatusProcessing || s == supplier.StatusShipped || s == supplier.StatusDelivered
}

func (c *Client) getOrder(ctx context.Context, id string) (map[string]any, error) {
	r, se := c.send(supplier.Retryable(ctx), endpointOrder, url.Values{"order_number": {id}}, nil)
	if se != nil {
		return nil, transportProblem(endpointOrder, se)
	}
	vd := c.judge(endpointOrder, r)
	notFound := problem.New(problem.NotFound, problem.CodeOrderNotFound, "BTS does not know this order number")
	if vd.prob != nil {
		// Only the body's error word says "no such order": the vendor
		// documents a 404 as "check endpoint or feed disabled", so a 404
		// without the word is that (judge's message says so).
		if vd.token == errOrderNotFound || vd.token == errNotFound {
			return nil, notFound
		}
		return nil, vd.prob
	}
	if vd.jsonErr != nil {
		return nil, problem.Wrap(vd.jsonErr, problem.Upstream, problem.CodeSupplierBadResponse, "BTS getOrder did not answer valid JSON")
	}
	var order map[string]any
	switch t := vd.value.(type) {
	case nil:
		return nil, notFound
	case map[string]any:
		order = t
	case []any:
		if len(t) == 0 {
			return nil, notFound
		}
		if len(t) == 1 {
			order, _ = t[0].(map[string]any)
		}
	}
	if order == nil {
		return nil, problem.New(problem.Upstream, problem.CodeSupplierBadResponse, "BTS getOrder answered no order object")
	}
	if len(order) == 0 {
		return nil, notFound
	}
	if n := text(order["order_number"]); n != "" && n != id {
		return nil, problem.New(problem.Upstream, problem.CodeSupplierBadResponse, "BTS getOrder answered a different order number")
	}
	return order, nil
}

// getTrackings returns the tracking value for one order, "" when BTS has
// none yet (its order_not_found).
func (c *Client) getTrackings(ctx context.Context, id string) (string, error) {
	r, se := c.send(supplier.Retryable(ctx), endpointTrackings, url.Values{"order_number[0]": {id}}, nil)
	if se != nil {
		return "", transportProblem(endpointTrackings, se)
	}
	vd := c.judge(endpointTrackings, r)
	if vd.token == errOrderNotFound || vd.token == errNotFound {
		return "", nil
	}
	if vd.prob != nil {
		return "", vd.prob
	}
	if vd.jsonErr != nil {
		return "", problem.Wrap(vd.jsonErr, problem.Upstream, problem.CodeSupplierBadResponse, "BTS getTrackings did not answer valid JSON")
	}
	list, ok := items(vd.value)
	if !ok {
		return "", problem.New(problem.Upstream, problem.CodeSupplierBadResponse, "BTS getTrackings answered neither a list nor an object")
	}
	var found []string
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		if n := text(m["order_number"]); n != "" && n != id {
			continue
		}
		if s := trackingText(m["tracking"]); s != "" {
			found = append(found, s)
		}
	}
	return strings.Join(found, ","), nil
}

// trackingText accepts a string, a number, null or a list of those.
func trackingText(v any) string {
	if list, ok := v.([]any); ok {
		var parts []string
		for _, e := range list {
			if s := text(e); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ",")
	}
	return text(v)
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if !wordChar(s[i]) || s[i] == '_' {
			return false
		}
	}
	return true
}
