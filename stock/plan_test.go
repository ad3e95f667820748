package stock

import (
	"testing"

	"github.com/flowbridge/flowbridge/supplier"
)

func v(id, barcode string, avail int) Variant {
	return Variant{VariantID: id, InventoryItemID: "item-" + id, Title: "T" + id, Barcode: barcode, Tracked: true, Stocked: true, Available: avail}
}

func TestMatchAppliesOrderGTINRules(t *testing.T) {
	vs := []Variant{
		v("1", "8400000000017", 0),
		v("2", "84 00000 00002-4", 0), // separators are ignored, as for orders
		v("3", "8400000000018", 0),    // bad check digit
		v("4", "", 0),
		v("5", "ABC", 0),
		v("6", "072000000014", 0),  // UPC-A …
		v("7", "0072000000014", 0), // … and its EAN-13 spelling: one product, two variants
		{VariantID: "8", Barcode: "8400000000031", Tracked: false, Stocked: true},
		{VariantID: "9", Barcode: "8400000000048", Tracked: true, Stocked: false},
	}
	ok, un, nob := Match(vs)
	if nob != 1 {
		t.Errorf("no barcode = %d, want 1", nob)
	}
	if len(ok) != 2 || ok[0].EAN != "8400000000017" || ok[1].EAN != "8400000000024" {
		t.Fatalf("matchable = %+v", ok)
	}
	reasons := map[string]string{}
	for _, u := range un {
		reasons[u.VariantID] = u.Reason
	}
	want := map[string]string{"3": ReasonInvalidBarcode, "5": ReasonInvalidBarcode, "6": ReasonDuplicate, "7": ReasonDuplicate,
		"8": ReasonNotTracked, "9": ReasonNotStocked}
	for id, r := range want {
		if reasons[id] != r {
			t.Errorf("variant %s: reason %q, want %q", id, reasons[id], r)
		}
	}
	if len(un) != len(want) {
		t.Errorf("unmatched = %+v", un)
	}
}

func eur(c int64) *supplier.Money { return &supplier.Money{Minor: c, Currency: "EUR"} }

func TestDecide(t *testing.T) {
	lv := func(ean string, q int) supplier.StockLevel {
		return supplier.StockLevel{EAN: ean, Found: true, Quantity: q}
	}
	cases := []struct {
		name      string
		avail     int
		level     *supplier.StockLevel
		known     bool
		buffer    int
		wantTo    int // -1: no change
		vanished  bool
		unmatched bool
	}{
		{name: "changed", avail: 3, level: ptr(lv("8400000000017", 10)), wantTo: 10},
		{name: "same", avail: 10, level: ptr(lv("8400000000017", 10)), wantTo: -1},
		{name: "buffer", avail: 10, level: ptr(lv("8400000000017", 10)), buffer: 2, wantTo: 8},
		{name: "buffer never below zero", avail: 1, level: ptr(lv("8400000000017", 1)), buffer: 2, wantTo: 0},
		{name: "unknown never touched", avail: 7, level: &supplier.StockLevel{EAN: "8400000000017"}, unmatched: true, wantTo: -1},
		{name: "missing from answer never touched", avail: 7, unmatched: true, wantTo: -1},
		{name: "vanished goes to zero", avail: 7, level: &supplier.StockLevel{EAN: "8400000000017"}, known: true, wantTo: 0, vanished: true},
		{name: "vanished already zero", avail: 0, level: &supplier.StockLevel{EAN: "8400000000017"}, known: true, wantTo: -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := []Matchable{{Variant: v("1", "8400000000017", c.avail), EAN: "8400000000017"}}
			levels := map[string]supplier.StockLevel{}
			if c.level != nil {
				levels[Key("8400000000017")] = *c.level
			}
			known := map[string]bool{Key("8400000000017"): c.known}
			pl := Decide(m, levels, known, Policy{Buffer: c.buffer})
			if c.unmatched != (len(pl.Unmatched) == 1) {
				t.Errorf("unmatched = %+v", pl.Unmatched)
			}
			if c.wantTo < 0 {
				if len(pl.Changes) != 0 {
					t.Errorf("changes = %+v, want none", pl.Changes)
				}
				return
			}
			if len(pl.Changes) != 1 || pl.Changes[0].To != c.wantTo || pl.Changes[0].From != c.avail || pl.Changes[0].Vanished != c.vanished {
				t.Errorf("changes = %+v, want one to %d (vanished %v)", pl.Changes, c.wantTo, c.vanished)
			}
		})
	}
}

func ptr[T any](x T) *T { return &x }

func TestDecideCap(t *testing.T) {
	var m []Matchable
	levels := map[string]supplier.StockLevel{}
	for _, ean := range []string{"8400000000017", "8400000000024", "8400000000031"} {
		m = append(m, Matchable{Variant: v(ean, ean, 0), EAN: ean})
		levels[Key(ean)] = supplier.StockLevel{EAN: ean, Found: true, Quantity: 5}
	}
	if pl := Decide(m, levels, nil, Policy{MaxChanges: 3}); pl.CapTripped {
		t.Errorf("3 changes tripped a cap of 3")
	}
	pl := Decide(m, levels, nil, Policy{MaxChanges: 2})
	if !pl.CapTripped || pl.CapReason == "" {
		t.Errorf("3 changes did not trip a cap of 2: %+v", pl)
	}
	if pl := Decide(m, levels, nil, Policy{MaxChanges: 2, AllowLarge: true}); pl.CapTripped {
		t.Errorf("AllowLarge did not lift the cap")
	}
}

func TestDecideMargins(t *testing.T) {
	mk := func(id string, price, cost int64, cur string) (Matchable, supplier.StockLevel) {
		vv := v(id, id, 1)
		vv.Price = eur(price)
		return Matchable{Variant: vv, EAN: id}, supplier.StockLevel{EAN: id, Found: true, Quantity: 1, Cost: &supplier.Money{Minor: cost, Currency: cur}}
	}
	a, la := mk("8400000000017", 1000, 500, "EUR") // 50 %
	b, lb := mk("8400000000024", 1000, 900, "EUR") // 10 %: low
	c, lc := mk("8400000000031", 1000, 1200, "EUR")
	d, ld := mk("8400000000048", 1000, 100, "USD") // other currency: no margin
	levels := map[string]supplier.StockLevel{Key(a.EAN): la, Key(b.EAN): lb, Key(c.EAN): lc, Key(d.EAN): ld}
	pl := Decide([]Matchable{a, b, c, d}, levels, nil, Policy{MinMarginPercent: 25})
	if len(pl.Margins) != 3 || pl.LowMargin != 2 {
		t.Fatalf("margins = %+v low=%d", pl.Margins, pl.LowMargin)
	}
	if pl.Margins[0].Percent != -20 || pl.Margins[1].Percent != 10 || pl.Margins[2].Percent != 50 || pl.Margins[2].Low {
		t.Errorf("margins = %+v", pl.Margins)
	}
}
