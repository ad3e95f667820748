// Package stock keeps Shopify's available quantities in step with the
// supplier's stock. A run reads the store's variants at the location the
// supplier fulfils from, matches them to supplier products by barcode (the
// same GTIN rules as orders), reads the supplier's stock in bulk, plans the
// changes under the merchant's safety rules (buffer, cap, unmatched and
// vanished handling) and writes only what changed, with Shopify's
// compare-and-swap guard so a sale made meanwhile is never overwritten.
//
// Plan is pure (no I/O) so the safety rules are tested as a table; Syncer
// does the I/O through the Shop and supplier.StockReader interfaces.
package stock

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/gtin"
)

// Variant is one Shopify variant as the sync sees it at one location.
type Variant struct {
	VariantID       string `json:"variant_id"`
	InventoryItemID string `json:"inventory_item_id"`
	Title           string `json:"title"`
	SKU             string `json:"sku,omitempty"`
	// Barcode is the variant's Barcode field as the merchant typed it.
	Barcode string `json:"barcode"`
	// Price is the variant's selling price in the shop currency.
	Price *supplier.Money `json:"price,omitempty"`
	// Tracked: Shopify tracks inventory for the item. Untracked items have
	// no quantity to set.
	Tracked bool `json:"tracked"`
	// Stocked: the item has an inventory level at the location.
	Stocked   bool `json:"stocked"`
	Available int  `json:"available"`
}

// Policy is the merchant's safety rules for one run.
type Policy struct {
	// Buffer is subtracted from the supplier's stock (never below zero):
	// with Buffer 2, a supplier stock of 5 shows 3 in Shopify. It absorbs
	// the delay between a sale and the supplier's stock catching up.
	Buffer int
	// MaxChanges caps how many variants one run may change; above it the
	// run writes nothing and alerts. 0 means no cap.
	MaxChanges int
	// AllowLarge lifts MaxChanges for this run (an operator who read the
	// dry run).
	AllowLarge bool
	// MinMarginPercent flags variants whose margin (price − cost) / price
	// is below it. 0 flags only negative margins.
	MinMarginPercent float64
}

// Change is one quantity the run sets.
type Change struct {
	VariantID       string `json:"variant_id"`
	InventoryItemID string `json:"inventory_item_id"`
	Title           string `json:"title"`
	SKU             string `json:"sku,omitempty"`
	EAN             string `json:"ean"`
	// From is Shopify's available quantity when read, To the target.
	From int `json:"from"`
	To   int `json:"to"`
	// Supplier is the supplier's stock before the buffer.
	Supplier int `json:"supplier"`
	// Vanished: the supplier no longer knows a barcode it knew before,
	// so the variant goes to zero.
	Vanished bool `json:"vanished,omitempty"`
}

// Reasons a variant is not synced.
const (
	ReasonNoBarcode      = "no_barcode"
	ReasonInvalidBarcode = "invalid_barcode"
	ReasonUnknown        = "unknown_to_supplier"
	ReasonDuplicate      = "duplicate_barcode"
	ReasonNotTracked     = "not_tracked"
	ReasonNotStocked     = "not_stocked_at_location"
)

// Unmatched is a variant the run does not touch, and why.
type Unmatched struct {
	VariantID string `json:"variant_id"`
	Title     string `json:"title"`
	SKU       string `json:"sku,omitempty"`
	Barcode   string `json:"barcode"`
	Reason    string `json:"reason"`
	Detail    string `json:"detail,omitempty"`
}

// Margin is a variant's selling price next to the supplier's cost.
type Margin struct {
	VariantID string         `json:"variant_id"`
	Title     string         `json:"title"`
	EAN       string         `json:"ean"`
	Price     supplier.Money `json:"price"`
	Cost      supplier.Money `json:"cost"`
	// Percent is (price − cost) / price × 100, rounded to one decimal.
	Percent float64 `json:"percent"`
	Low     bool    `json:"low"`
}

// Plan is what one run intends to do.
type Plan struct {
	Changes   []Change    `json:"changes"`
	Unmatched []Unmatched `json:"unmatched"`
	Margins   []Margin    `json:"margins"`
	// Variants read, matched to a supplier product, already right, and
	// without any barcode (not listed: a shop may sell goods of its own).
	Variants  int `json:"variants"`
	Matched   int `json:"matched"`
	Unchanged int `json:"unchanged"`
	NoBarcode int `json:"no_barcode"`
	Vanished  int `json:"vanished"`
	LowMargin int `json:"low_margin"`
	// CapTripped: more changes than Policy.MaxChanges; nothing is written.
	CapTripped bool   `json:"cap_tripped"`
	CapReason  string `json:"cap_reason,omitempty"`
}

// Key is the form two barcodes of one product share: GTIN-14, digits
// left-padded with zeros, so an UPC-A and its EAN-13 spelling match (the
// rule the supplier adapters apply to orders).
func Key(ean string) string {
	if len(ean) >= 14 {
		return ean
	}
	return strings.Repeat("0", 14-len(ean)) + ean
}

// Matchable is a variant whose barcode passed the GTIN rules.
type Matchable struct {
	Variant
	EAN string
}

// Match splits variants into those that can be asked about (one per
// barcode) and those that cannot, with the reason. It is the first half of
// planning; the EANs to ask the supplier are the Matchable EANs.
func Match(variants []Variant) (ok []Matchable, unmatched []Unmatched, noBarcode int) {
	seen := map[string]int{} // key → index in ok
	dup := map[string]bool{}
	for _, v := range variants {
		if strings.TrimSpace(v.Barcode) == "" {
			noBarcode++
			continue
		}
		ean, err := gtin.Normalize(v.Barcode)
		if err != nil {
			unmatched = append(unmatched, unmatchedOf(v, ReasonInvalidBarcode, barcodeDetail(err)))
			continue
		}
		switch {
		case !v.Tracked:
			unmatched = append(unmatched, unmatchedOf(v, ReasonNotTracked, "turn on \"Track quantity\" for this variant"))
			continue
		case !v.Stocked:
			unmatched = append(unmatched, unmatchedOf(v, ReasonNotStocked, "the variant is not stocked at the supplier's location"))
			continue
		}
		k := Key(ean)
		if _, twice := seen[k]; twice {
			// Two variants selling one supplier product would each show the
			// whole stock and oversell it together: touch neither.
			dup[k] = true
			unmatched = append(unmatched, unmatchedOf(v, ReasonDuplicate, "another variant has the same barcode"))
			continue
		}
		seen[k] = len(ok)
		ok = append(ok, Matchable{Variant: v, EAN: ean})
	}
	if len(dup) > 0 {
		kept := ok[:0]
		for _, m := range ok {
			if dup[Key(m.EAN)] {
				unmatched = append(unmatched, unmatchedOf(m.Variant, ReasonDuplicate, "another variant has the same barcode"))
				continue
			}
			kept = append(kept, m)
		}
		ok = kept
	}
	return ok, unmatched, noBarcode
}

func unmatchedOf(v Variant, reason, detail string) Unmatched {
	return Unmatched{VariantID: v.VariantID, Title: v.Title, SKU: v.SKU, Barcode: v.Barcode, Reason: reason, Detail: detail}
}

func barcodeDetail(err error) string {
	switch {
	case errors.Is(err, gtin.ErrCheck):
		return "the check digit is wrong"
	case errors.Is(err, gtin.ErrLength):
		return "not 8, 12, 13 or 14 digits"
	case errors.Is(err, gtin.ErrNotDigit):
		return "contains characters other than digits, spaces and dashes"
	}
	return err.Error()
}

// Decide plans the run from the matched variants, the supplier's answer
// (keyed by Key(EAN)) and the barcodes the supplier knew in earlier runs.
// A barcode the supplier does not know is left alone and listed, unless it
// was known before: then the product vanished and the variant goes to 0.
func Decide(matched []Matchable, levels map[string]supplier.StockLevel, known map[string]bool, p Policy) Plan {
	var pl Plan
	buffer := max(p.Buffer, 0)
	for _, m := range matched {
		k := Key(m.EAN)
		lv, ok := levels[k]
		if !ok || !lv.Found {
			if !known[k] {
				pl.Unmatched = append(pl.Unmatched, unmatchedOf(m.Variant, ReasonUnknown, "the supplier has no product with barcode "+m.EAN))
				continue
			}
			pl.Matched++
			pl.Vanished++
			if m.Available == 0 {
				pl.Unchanged++
				continue
			}
			pl.Changes = append(pl.Changes, changeOf(m, 0, 0, true))
			continue
		}
		pl.Matched++
		target := max(lv.Quantity-buffer, 0)
		if target == m.Available {
			pl.Unchanged++
		} else {
			pl.Changes = append(pl.Changes, changeOf(m, lv.Quantity, target, false))
		}
		if mg, ok := margin(m, lv, p.MinMarginPercent); ok {
			if mg.Low {
				pl.LowMargin++
			}
			pl.Margins = append(pl.Margins, mg)
		}
	}
	sort.SliceStable(pl.Margins, func(i, j int) bool { return pl.Margins[i].Percent < pl.Margins[j].Percent })
	if p.MaxChanges > 0 && !p.AllowLarge && len(pl.Changes) > p.MaxChanges {
		pl.CapTripped = true
		pl.CapReason = fmt.Sprintf("%d changes planned, more than the cap of %d (FLOWBRIDGE_STOCK_MAX_CHANGES): nothing was written; check the dry run, then run `flowbridge stock sync --allow-large`", len(pl.Changes), p.MaxChanges)
	}
	return pl
}

func changeOf(m Matchable, sup, to int, vanished bool) Change {
	return Change{VariantID: m.VariantID, InventoryItemID: m.InventoryItemID, Title: m.Title, SKU: m.SKU, EAN: m.EAN,
		From: m.Available, To: to, Supplier: sup, Vanished: vanished}
}

func margin(m Matchable, lv supplier.StockLevel, minPercent float64) (Margin, bool) {
	if m.Price == nil || lv.Cost == nil || m.Price.Minor <= 0 || !strings.EqualFold(m.Price.Currency, lv.Cost.Currency) {
		return Margin{}, false
	}
	pct := float64(m.Price.Minor-lv.Cost.Minor) * 100 / float64(m.Price.Minor)
	pct = float64(int64(pct*10+sign(pct)*0.5)) / 10
	return Margin{VariantID: m.VariantID, Title: m.Title, EAN: m.EAN, Price: *m.Price, Cost: *lv.Cost,
		Percent: pct, Low: pct < minPercent || pct < 0}, true
}

func sign(f float64) float64 {
	if f < 0 {
		return -1
	}
	return 1
}
