package bigbuy

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
)

// warehousePart is one warehouse's products of a split cart, as BigBuy's
// 409 names them in error_detail.warehouses[{id, references}].
type warehousePart struct {
	id   string
	refs []string
}

// products picks the cart's products that are in the part.
func (w warehousePart) products(all []wireProduct) []wireProduct {
	var out []wireProduct
	for _, p := range all {
		if slices.Contains(w.refs, p.Reference) {
			out = append(out, p)
		}
	}
	return out
}

// warehouses reads BigBuy's "This cart contains products from different
// warehouses" answer (409 with error_detail.warehouses).
func (f *fault) warehouses() ([]warehousePart, bool) {
	if !strings.Contains(strings.ToLower(f.info), "different warehouses") || len(f.detail) == 0 {
		return nil, false
	}
	var d struct {
		Warehouses []struct {
			ID         json.RawMessage `json:"id"`
			References []string        `json:"references"`
		} `json:"warehouses"`
	}
	if json.Unmarshal(f.detail, &d) != nil || len(d.Warehouses) < 2 {
		return nil, false
	}
	out := make([]warehousePart, 0, len(d.Warehouses))
	for _, w := range d.Warehouses {
		out = append(out, warehousePart{id: idString(w.ID), refs: w.References})
	}
	return out, true
}

// multiAnswer is order/create/multishipping's answer: the orders created
// (one per warehouse) and the parts that failed, in one body — a create
// can partly succeed (PyBigBuy api.py).
type multiAnswer struct {
	Orders []struct {
		ID                json.RawMessage `json:"id"`
		Warehouse         json.RawMessage `json:"warehouse"`
		ProductReferences []string        `json:"productReferences"`
	} `json:"orders"`
	Errors []json.RawMessage `json:"errors"`
}

// multiError is one element of errors[]. Its shape is not documented
// (every public example is empty): the fields read here are an
// assumption, and an element without them fails its lines as unknown.
type multiError struct {
	Warehouse         json.RawMessage `json:"warehouse"`
	ProductReferences []string        `json:"productReferences"`
	References        []string        `json:"references"`
	Code              json.RawMessage `json:"code"`
	Message           string          `json:"message"`
}

// checkMulti asks POST /rest/order/check/multishipping.json (creates
// nothing) whether every warehouse's part can be ordered, so that a part
// BigBuy would refuse fails the whole order before anything exists: the
// merchant gets one clear refusal instead of a half-placed order.
func (c *Client) checkMulti(ctx context.Context, body orderEnvelope, res resolved) error {
	r, err := c.send(ctx, c.base, http.MethodPost, "/rest/order/check/multishipping.json", nil, body)
	if err != nil {
		return c.transportProblem(ctx, err) // a check creates nothing
	}
	if f := parseFault(r); f != nil {
		if _, split := f.warehouses(); split {
			return badResponse("BigBuy's multishipping check answered that the cart needs multishipping")
		}
		return c.toProblem(f, errCtx{op: opCreate, skuLines: res.skuLines})
	}
	var ans multiAnswer
	if err := decode(r, "multishipping check", &ans); err != nil {
		return err
	}
	if len(ans.Errors) > 0 {
		var me multiError
		_ = json.Unmarshal(ans.Errors[0], &me)
		pe := c.partProblem(me, res)
		if refs := append(me.ProductReferences, me.References...); len(refs) > 0 && len(pe.Fields) == 0 {
			for _, i := range linesOf(res, refs) {
				pe.Fields = append(pe.Fields, problem.Field{Pointer: "/line_items/" + strconv.Itoa(i) + "/barcode", Message: "BigBuy cannot ship this line from its warehouse"})
			}
		}
		pe.Detail = "BigBuy ships this cart from several warehouses and one part cannot be ordered; nothing was ordered: " + pe.Detail
		return pe
	}
	if len(ans.Orders) == 0 {
		return badResponse("BigBuy's multishipping check names no part")
	}
	return nil
}

// createMulti places a split cart with POST
// /rest/order/create/multishipping.json (same body as create). The answer
// becomes one Placed with a Part per warehouse; parts BigBuy refused carry
// the mapped error code and keep their lines, so the caller can tell the
// merchant what was not ordered. An answer that created nothing is the
// first part's refusal (nothing exists, so nothing is outcome-unknown).
func (c *Client) createMulti(ctx context.Context, body orderEnvelope, res resolved) (supplier.Placed, error) {
	r, err := c.send(ctx, c.base, http.MethodPost, "/rest/order/create/multishipping.json", nil, body)
	if err != nil {
		return supplier.Placed{}, c.sendFailure(ctx, err)
	}
	if f := parseFault(r); f != nil {
		if _, split := f.warehouses(); split {
			return supplier.Placed{}, supplier.OutcomeUnknown(badResponse("BigBuy's multishipping create answered that the cart needs multishipping"))
		}
		return c.createFault(f, res)
	}
	var ans multiAnswer
	if err := decode(r, "multishipping order", &ans); err != nil {
		return supplier.Placed{}, supplier.OutcomeUnknown(err)
	}
	var p supplier.Placed
	placedRefs := map[string]bool{}
	for _, o := range ans.Orders {
		id := idString(o.ID)
		if !digitsOnly.MatchString(id) {
			return supplier.Placed{}, supplier.OutcomeUnknown(badResponse("BigBuy's multishipping answer names an order without a readable id"))
		}
		for _, ref := range o.ProductReferences {
			placedRefs[ref] = true
		}
		p.Parts = append(p.Parts, supplier.Part{SupplierOrderID: id, Warehouse: idString(o.Warehouse),
			Lines: linesOf(res, o.ProductReferences), Status: supplier.StatusPending})
	}
	var firstErr *problem.Error
	for _, raw := range ans.Errors {
		var me multiError
		_ = json.Unmarshal(raw, &me)
		refs := append(me.ProductReferences, me.References...)
		pe := c.partProblem(me, res)
		if firstErr == nil {
			firstErr = pe
		}
		for _, ref := range refs {
			placedRefs[ref] = true
		}
		p.Parts = append(p.Parts, supplier.Part{Warehouse: idString(me.Warehouse), Lines: linesOf(res, refs),
			ErrorCode: pe.Code, ErrorDetail: pe.Detail})
	}
	// Lines the answer does not account for: unknown fate, never re-sent.
	var missing []string
	for _, pr := range res.products {
		if !placedRefs[pr.Reference] {
			missing = append(missing, pr.Reference)
		}
	}
	if len(missing) > 0 && len(ans.Orders) > 0 {
		p.Parts = append(p.Parts, supplier.Part{Lines: linesOf(res, missing), ErrorCode: problem.CodeSupplierBadResponse,
			ErrorDetail: "BigBuy's multishipping answer does not say what became of these lines"})
	}
	if len(ans.Orders) == 0 {
		if firstErr != nil {
			return supplier.Placed{}, firstErr
		}
		return supplier.Placed{}, supplier.OutcomeUnknown(badResponse("BigBuy's multishipping answer names no order and no error"))
	}
	p.SupplierOrderID, p.Status = p.Parts[0].SupplierOrderID, supplier.StatusPending
	if p.Partial() {
		c.log.Warn("bigbuy: multishipping order placed in part", "parts", len(p.Parts), "placed", len(p.SupplierOrderIDs()))
	}
	return p, nil
}

// partProblem maps one errors[] element to flowbridge's error.
func (c *Client) partProblem(me multiError, res resolved) *problem.Error {
	code := rawCode(me.Code)
	f := &fault{status: http.StatusConflict, code: code, info: me.Message}
	if strings.HasPrefix(code, "ER") && strings.HasPrefix(strings.TrimSpace(me.Message), "{") {
		var nested struct {
			Info string          `json:"info"`
			Data json.RawMessage `json:"data"`
		}
		if json.Unmarshal([]byte(me.Message), &nested) == nil {
			f.info, f.data = nested.Info, nested.Data
		}
	}
	if code == "" {
		return problem.Newf(problem.Rejected, problem.CodeSupplierRejected, "BigBuy refused part of the order: %s", scrub(orDefault(me.Message, "no reason given")))
	}
	return c.toProblem(f, errCtx{op: opCreate, skuLines: res.skuLines})
}

// linesOf lists the request lines sent with the given SKUs, in order.
func linesOf(res resolved, refs []string) []int {
	var out []int
	for _, ref := range refs {
		out = append(out, res.skuLines[ref]...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
