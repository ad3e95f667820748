package sandbox

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"

	"github.com/flowbridge/flowbridge/supplier"
)

// zone groups destinations that share carriers and prices.
type zone int

const (
	zoneNone     zone = iota // no carrier delivers here
	zoneDomestic             // Spain, mainland and Balearic Islands
	zoneIslands              // Canary Islands, Ceuta, Melilla (customs)
	zoneEU                   // other EU member states
	zoneEurope               // rest of Europe outside the EU
	zoneWorld                // everywhere else
)

func (z zone) String() string {
	switch z {
	case zoneDomestic:
		return "domestic"
	case zoneIslands:
		return "islands"
	case zoneEU:
		return "eu"
	case zoneEurope:
		return "europe"
	case zoneWorld:
		return "world"
	default:
		return "none"
	}
}

// noServicePostcode has no carrier in any country: a documented way to get
// an empty rate list (→ no_shipping_option) for any country.
const noServicePostcode = "00000"

// countryZone places a country (upper-case ISO 3166-1 alpha-2) in a zone;
// Spain's islands are split off by postcode in zoneOf.
func countryZone(country string) zone {
	switch country {
	case "AQ": // documented: no carrier delivers to Antarctica
		return zoneNone
	case "ES":
		return zoneDomestic
	case "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
		"IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "SE":
		return zoneEU
	case "GB", "CH", "NO", "IS", "LI", "AD":
		return zoneEurope
	default:
		return zoneWorld
	}
}

// zoneOf classifies a normalised destination.
func zoneOf(country, postcode string) zone {
	if postcode == noServicePostcode {
		return zoneNone
	}
	z := countryZone(country)
	if z == zoneDomestic && len(postcode) >= 2 {
		// 35/38 Canary Islands, 51 Ceuta, 52 Melilla: outside the EU VAT
		// area, so only carriers that handle customs go there.
		switch postcode[:2] {
		case "35", "38", "51", "52":
			return zoneIslands
		}
	}
	return z
}

// tariff is one carrier's price and transit time for a zone.
type tariff struct {
	service  string
	base     int64 // EUR cents for the first kilogram
	perKg    int64 // EUR cents for each further started kilogram
	min, max int   // transit days
}

// carrier is one shipping company the sandbox offers.
type carrier struct {
	code string // lower-case, first part of rate ids
	name string // as shown to merchants and Flow ("GLS")
	// maxGrams is the heaviest cart the carrier takes.
	maxGrams int
	// trackPrefix/trackSuffix wrap the order number in tracking numbers.
	trackPrefix, trackSuffix string
	// urlTemplate is the carrier's public tracking page; {number} is replaced.
	urlTemplate string
	tariffs     map[zone]tariff
}

// carrierTable is the sandbox's fixed carrier list, in a stable order. A
// zone missing from a carrier's tariffs means the carrier does not deliver
// there (no GLS to GB/CH/NO, no GLS or DHL to the Canary Islands, only DHL
// and Correos worldwide).
func carrierTable() []carrier {
	return []carrier{
		{
			code: "gls", name: "GLS", maxGrams: 40000,
			urlTemplate: "https://gls-group.com/ES/en/parcel-tracking?match={number}",
			tariffs: map[zone]tariff{
				zoneDomestic: {"Business Parcel", 495, 55, 2, 3},
				zoneEU:       {"EuroBusiness Parcel", 995, 120, 3, 5},
			},
		},
		{
			code: "seur", name: "SEUR", maxGrams: 40000, trackPrefix: "5",
			urlTemplate: "https://www.seur.com/livetracking/?segOnlineIdentificador={number}",
			tariffs: map[zone]tariff{
				zoneDomestic: {"SEUR 24", 575, 65, 1, 2},
				zoneIslands:  {"SEUR Islas", 990, 110, 3, 5},
				zoneEU:       {"SEUR Classic", 1150, 130, 3, 6},
				zoneEurope:   {"SEUR Classic", 1890, 190, 4, 7},
			},
		},
		{
			code: "dhl", name: "DHL", maxGrams: 70000, trackPrefix: "JJD",
			urlTemplate: "https://www.dhl.com/es-en/home/tracking.html?tracking-id={number}",
			tariffs: map[zone]tariff{
				zoneDomestic: {"Parcel", 690, 80, 1, 2},
				zoneEU:       {"Parcel Connect", 1290, 150, 2, 4},
				zoneEurope:   {"Parcel International", 1990, 210, 3, 5},
				zoneWorld:    {"Express Worldwide", 3490, 450, 4, 8},
			},
		},
		{
			code: "correos", name: "Correos", maxGrams: 30000, trackPrefix: "PQ", trackSuffix: "ES",
			urlTemplate: "https://www.correos.es/es/en/tools/tracker/items/details?tracking-number={number}",
			tariffs: map[zone]tariff{
				zoneDomestic: {"Paq Estándar", 425, 50, 3, 5},
				zoneIslands:  {"Paq Estándar Islas", 690, 70, 4, 7},
				zoneEU:       {"Paq Internacional", 1090, 110, 5, 8},
				zoneEurope:   {"Paq Internacional", 1590, 160, 6, 10},
				zoneWorld:    {"Paq Internacional", 2490, 300, 10, 20},
			},
		},
	}
}

func carrierByCode(carriers []carrier, code string) (carrier, bool) {
	for _, c := range carriers {
		if c.code == code {
			return c, true
		}
	}
	return carrier{}, false
}

// price is the tariff's price for a cart of the given weight.
func (t tariff) price(grams int) int64 {
	extraKg := 0
	if grams > 1000 {
		extraKg = (grams - 1000 + 999) / 1000
	}
	return t.base + int64(extraKg)*t.perKg
}

// normCountry upper-cases a country code; ok is false unless it is two
// ASCII letters.
func normCountry(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
		return s, false
	}
	return s, true
}

// normPostcode makes "sw1a 1aa", "SW1A-1AA" and "SW1A1AA" the same, so a
// rate id quoted for one spelling is accepted for another.
func normPostcode(s string) string {
	s = strings.ToUpper(s)
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s)
}

// rateID binds a quote to its carrier and destination, the way BTS binds
// shipping_cost_id to (country, postcode). It is a pure function, so the
// same quote always gets the same id and CreateOrder can check an id
// without remembering quotes.
func rateID(carrierCode, country, postcode string) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "flowbridge-sandbox|%s|%s|%s", carrierCode, country, postcode)
	return fmt.Sprintf("%s-%012x", carrierCode, h.Sum64()&0xffffffffffff)
}

// quote lists every option for a normalised destination and cart weight,
// cheapest first (ties: faster, then carrier name), so the list itself is
// deterministic.
func quote(carriers []carrier, country, postcode string, grams int) []supplier.Rate {
	z := zoneOf(country, postcode)
	rates := []supplier.Rate{}
	if z == zoneNone {
		return rates
	}
	for _, c := range carriers {
		t, ok := c.tariffs[z]
		if !ok || grams > c.maxGrams {
			continue
		}
		rates = append(rates, supplier.Rate{
			ID:      rateID(c.code, country, postcode),
			Carrier: c.name,
			Service: t.service,
			Price:   eur(t.price(grams)),
			MinDays: t.min,
			MaxDays: t.max,
		})
	}
	sort.SliceStable(rates, func(i, j int) bool {
		a, b := rates[i], rates[j]
		if a.Price.Minor != b.Price.Minor {
			return a.Price.Minor < b.Price.Minor
		}
		if a.MaxDays != b.MaxDays {
			return a.MaxDays < b.MaxDays
		}
		return a.Carrier < b.Carrier
	})
	return rates
}

// trackingNumber is deterministic per order and parcel (1-based).
func (c carrier) trackingNumber(orderNumber string, parcel int) string {
	return fmt.Sprintf("%s%s%02d%s", c.trackPrefix, orderNumber, parcel, c.trackSuffix)
}

func (c carrier) trackingURL(number string) string {
	return strings.ReplaceAll(c.urlTemplate, "{number}", number)
}
