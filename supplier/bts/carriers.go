package bts

import (
	"net/url"
	"strings"

	"github.com/flowbridge/flowbridge/supplier"
)

// carrier is one entry of the tracking-URL table.
type carrier struct {
	// Name is how the carrier is reported (and how Shopify knows it).
	Name string
	// aliases are folded (lower case, letters and digits only) prefixes of
	// BTS's company_name or tracking prefix that mean this carrier.
	aliases []string
	// url is the public tracking page; {n} is replaced by the escaped number.
	url string
}

// carrierTable is the one place listing carriers BTS uses (company_name in
// quotes; vendor doc examples name SEUR, GLS, FedEx) and their public
// tracking pages. BTS returns no tracking URL, so these templates are an
// assumption to keep current; an unknown carrier gets no URL.
func carrierTable() []carrier {
	return []carrier{
		{Name: "GLS", aliases: []string{"gls"}, url: "https://gls-group.eu/EU/en/parcel-tracking?match={n}"},
		{Name: "SEUR", aliases: []string{"seur"}, url: "https://www.seur.com/livetracking/?segOnlineIdentificador={n}"},
		{Name: "DHL", aliases: []string{"dhl"}, url: "https://www.dhl.com/global-en/home/tracking/tracking-parcel.html?submit=1&tracking-id={n}"},
		{Name: "Correos Express", aliases: []string{"correosexpress", "correosexp"}, url: "https://s.correosexpress.com/search?shippingNumber={n}"},
		{Name: "Correos", aliases: []string{"correos"}, url: "https://www.correos.es/es/es/herramientas/localizador/envios/detalle?tracking-number={n}"},
		{Name: "UPS", aliases: []string{"ups"}, url: "https://www.ups.com/track?tracknum={n}"},
		{Name: "FedEx", aliases: []string{"fedex"}, url: "https://www.fedex.com/fedextrack/?trknbr={n}"},
		{Name: "TNT", aliases: []string{"tnt"}, url: "https://www.tnt.com/express/en_gc/site/shipping-tools/tracking.html?searchType=con&cons={n}"},
		{Name: "DPD", aliases: []string{"dpd"}, url: "https://tracking.dpd.de/status/en_US/parcel/{n}"},
		{Name: "MRW", aliases: []string{"mrw"}, url: "https://www.mrw.es/seguimiento_envios/MRW_resultados_consultas.asp?modo=nacional&envio={n}"},
		{Name: "Nacex", aliases: []string{"nacex"}, url: "https://www.nacex.es/seguimientoDetalle.do?agencia_origen=&numero_albaran={n}"},
		{Name: "CTT", aliases: []string{"ctt"}, url: "https://www.ctt.pt/feapl_2/app/open/objectSearch/objectSearch.jspx?objects={n}"},
		{Name: "Mondial Relay", aliases: []string{"mondialrelay"}, url: "https://www.mondialrelay.com/suivi-de-colis/?NumeroExpedition={n}"},
		{Name: "Chronopost", aliases: []string{"chronopost"}, url: "https://www.chronopost.fr/tracking-no-cms/suivi-page?listeNumerosLT={n}"},
		{Name: "PostNL", aliases: []string{"postnl"}, url: "https://jouw.postnl.nl/track-and-trace/{n}"},
	}
}

func foldCarrier(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// lookupCarrier finds the table entry whose alias is the longest prefix of
// the folded name ("GLS Express" → GLS, "Correos Express" → Correos Express).
func (c *Client) lookupCarrier(name string) (carrier, bool) {
	f := foldCarrier(name)
	if f == "" {
		return carrier{}, false
	}
	best, bestLen := carrier{}, 0
	for _, k := range c.carriers {
		for _, a := range k.aliases {
			if strings.HasPrefix(f, a) && len(a) > bestLen {
				best, bestLen = k, len(a)
			}
		}
	}
	return best, bestLen > 0
}

// exactCarrier matches a tracking prefix: the whole prefix must be an alias.
func (c *Client) exactCarrier(prefix string) (carrier, bool) {
	f := foldCarrier(prefix)
	for _, k := range c.carriers {
		for _, a := range k.aliases {
			if f == a {
				return k, true
			}
		}
	}
	return carrier{}, false
}

// parcels turns BTS's tracking value into parcels. Several numbers
// (comma, semicolon or whitespace separated) are a split shipment. A
// "CARRIER-" prefix naming a known carrier is stripped and names the parcel;
// otherwise company (getOrder's shipping_company) does.
func (c *Client) parcels(tracking, company string) []supplier.Parcel {
	fields := strings.FieldsFunc(tracking, func(r rune) bool {
		return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '|'
	})
	defName := strings.TrimSpace(company)
	defCarrier, defKnown := c.lookupCarrier(company)
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
			if pk, pok := c.exactCarrier(pre); pok {
				p.Carrier, p.Number = pk.Name, rest
				k, known = pk, true
			}
		}
		if seen[p.Carrier+"\x00"+p.Number] {
			continue
		}
		seen[p.Carrier+"\x00"+p.Number] = true
		if known {
			p.URL = strings.ReplaceAll(k.url, "{n}", url.QueryEscape(p.Number))
		}
		out = append(out, p)
	}
	return out
}
