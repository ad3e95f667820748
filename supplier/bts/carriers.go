package bts

import (
	"strings"

	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/carrierlink"
)

// parcels turns BTS's tracking value into parcels. Several numbers
// (comma, semicolon or whitespace separated) are a split shipment. A
// "CARRIER-" prefix naming a known carrier is stripped and names the parcel;
// otherwise company (getOrder's shipping_company) does.
func (c *Client) parcels(tracking, company string) []supplier.Parcel {
	fields := strings.FieldsFunc(tracking, func(r rune) bool {
		return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '|'
	})
	defName := strings.TrimSpace(company)
	defCarrier, defKnown := carrierlink.Lookup(company)
	if defKnown {
		defName = defCarrier.Name
	}
	seen := map[string]bool{}
	var out []supplier.Parcel
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" || strings.EqualFold(f, "null") {
			continue
		}
		p := supplier.Parcel{Carrier: defName, Number: f}
		k, known := defCarrier, defKnown
		if pre, rest, ok := strings.Cut(f, "-"); ok && rest != "" {
			if pk, pok := carrierlink.Exact(pre); pok {
				p.Carrier, p.Number = pk.Name, rest
				k, known = pk, true
			}
		}
		if seen[p.Carrier+"\x00"+p.Number] {
			continue
		}
		seen[p.Carrier+"\x00"+p.Number] = true
		if known {
			p.URL = k.Link(p.Number)
		}
		out = append(out, p)
	}
	return out
}
