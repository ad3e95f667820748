package bts

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
)

// stockBatch is getProductStock's documented maximum per request.
const stockBatch = 100

// Product is BTS's real-time stock and price for one EAN.
type Product struct {
	EAN string `json:"ean"`
	// Found is false when BTS does not know the EAN.
	Found bool `json:"found"`
	Stock int  `json:"stock"`
	// Price is the wholesale unit price, nil when BTS gives none.
	Price *supplier.Money `json:"price,omitempty"`
	// Availability is BTS's word: in_stock, out_of_stock or not_found.
	Availability string `json:"availability"`
}

// Products looks EANs up with getProductStock (batches of 100), for stock
// checks before ordering and for `flowbridge doctor`. The result has one
// entry per requested EAN, in request order.
func (c *Client) Products(ctx context.Context, eans []string) ([]Product, error) {
	out := make([]Product, 0, len(eans))
	for start := 0; start < len(eans); start += stockBatch {
		end := min(start+stockBatch, len(eans))
		got, err := c.stock(ctx, eans[start:end])
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

func (c *Client) stock(ctx context.Context, eans []string) ([]Product, error) {
	q := url.Values{}
	for i, e := range eans {
		q.Set("product_sku["+strconv.Itoa(i)+"]", strings.TrimSpace(e))
	}
	r, se := c.send(supplier.Retryable(ctx), endpointStock, q, nil)
	if se != nil {
		return nil, transportProblem(endpointStock, se)
	}
	vd := c.judge(endpointStock, r)
	if vd.prob != nil && vd.token != errNotFound && vd.token != errProduct {
		return nil, vd.prob
	}
	byEAN := map[string]map[string]any{}
	if vd.prob == nil {
		if vd.jsonErr != nil {
			return nil, problem.Wrap(vd.jsonErr, problem.Upstream, problem.CodeSupplierBadResponse, "BTS getProductStock did not answer valid JSON")
		}
		root, _ := vd.value.(map[string]any)
		switch p := root["products"].(type) {
		case map[string]any: // documented: keyed by SKU/EAN
			for k, e := range p {
				if m, ok := e.(map[string]any); ok {
					byEAN[strings.TrimSpace(k)] = m
				}
			}
		case []any: // tolerated: a list of objects naming their EAN
			for _, e := range p {
				m, ok := e.(map[string]any)
				if !ok {
					continue
				}
				for _, key := range []string{"ean", "product_sku", "sku"} {
					if k := text(m[key]); k != "" {
						byEAN[k] = m
						break
					}
				}
			}
		case nil:
		default:
			return nil, problem.New(problem.Upstream, problem.CodeSupplierBadResponse, "BTS getProductStock answered products in an unknown shape")
		}
	}
	out := make([]Product, 0, len(eans))
	for _, e := range eans {
		e = strings.TrimSpace(e)
		p := Product{EAN: e, Availability: "not_found"}
		if m, ok := byEAN[e]; ok {
			p.Stock, _ = parseInt(m["stock"])
			if cents, err := parseEUR(m["price"]); err == nil && text(m["price"]) != "" {
				p.Price = &supplier.Money{Minor: cents, Currency: "EUR"}
			}
			p.Availability = text(m["availability"])
			if p.Availability == "" {
				p.Availability = "out_of_stock"
				if p.Stock > 0 {
					p.Availability = "in_stock"
				}
			}
			p.Found = p.Availability != "not_found"
		}
		out = append(out, p)
	}
	return out, nil
}
