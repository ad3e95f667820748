package orders

import (
	"context"
	"strings"

	"github.com/flowbridge/flowbridge/supplier"
)

// A supplier may split one Shopify order into several supplier orders
// (BigBuy ships each warehouse's products as an order of its own). The
// placement then stores every part, and the supplier order "number"
// flowbridge answers — the value Flow writes to the order's metafield and
// passes back to /orders and /tracking — lists the parts' numbers joined
// by commas. One value keeps the metafield, the replay and the tracking
// URL working without a store, exactly as for a single order.

// numberSep separates the parts' numbers in a supplier order value.
const numberSep = ","

// SplitNumbers returns the supplier order numbers in a value ("A" or
// "A,B"), trimmed, empty ones dropped.
func SplitNumbers(value string) []string {
	var out []string
	for _, n := range strings.Split(value, numberSep) {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// numberValue is the value answered for a placement: its numbers joined.
func numberValue(p supplier.Placed) string {
	ids := p.SupplierOrderIDs()
	if len(ids) == 0 {
		return p.SupplierOrderID
	}
	return strings.Join(ids, numberSep)
}

// partsOf returns a placement's parts; a single order is one part.
func partsOf(value string, parts []supplier.Part) []supplier.Part {
	if len(parts) > 0 {
		return parts
	}
	var out []supplier.Part
	for _, n := range SplitNumbers(value) {
		out = append(out, supplier.Part{SupplierOrderID: n})
	}
	return out
}

// partial reports whether some part was not created.
func partial(parts []supplier.Part) bool {
	for _, p := range parts {
		if p.SupplierOrderID == "" {
			return true
		}
	}
	return false
}

// trackParts tracks every number of a split order (each through the
// cache, as a single order) and combines them: the parcels of all parts;
// shipped or delivered only when every part that is not cancelled is;
// cancelled only when every part is (PartlyCancelled when some are).
func (s *Service) trackParts(ctx context.Context, shop string, ids []string) (TrackResult, error) {
	out := TrackResult{Tracking: supplier.Tracking{SupplierOrderID: strings.Join(ids, numberSep)}, Cached: true}
	var live []supplier.Status
	cancelled := 0
	var raws []string
	for _, id := range ids {
		r, err := s.trackOne(ctx, shop, id)
		if err != nil {
			return TrackResult{}, err
		}
		out.Parts = append(out.Parts, r.Tracking)
		out.Parcels = append(out.Parcels, r.Parcels...)
		out.Cached = out.Cached && r.Cached
		out.TestMode = r.TestMode
		if out.CheckedAt.IsZero() || r.CheckedAt.Before(out.CheckedAt) {
			out.CheckedAt = r.CheckedAt
		}
		if r.UpdatedAt.After(out.UpdatedAt) {
			out.UpdatedAt = r.UpdatedAt
		}
		raws = append(raws, r.RawStatus)
		if r.Status == supplier.StatusCancelled {
			cancelled++
			continue
		}
		live = append(live, r.Status)
	}
	out.RawStatus = strings.Join(raws, numberSep)
	switch {
	case cancelled == len(ids):
		out.Status = supplier.StatusCancelled
	default:
		out.Status = least(live)
		out.PartlyCancelled = cancelled > 0
	}
	return out, nil
}

// least is the least progressed status; unknown wins over all.
func least(sts []supplier.Status) supplier.Status {
	best := supplier.Status("")
	for _, st := range sts {
		if st.Rank() == 0 {
			return supplier.StatusUnknown
		}
		if best == "" || st.Rank() < best.Rank() {
			best = st
		}
	}
	if best == "" {
		return supplier.StatusUnknown
	}
	return best
}
