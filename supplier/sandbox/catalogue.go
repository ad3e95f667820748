package sandbox

import (
	"strings"

	"github.com/flowbridge/flowbridge/supplier"
)

// Product is one catalogue item.
type Product struct {
	// EAN is the product's GTIN as printed on the barcode (EAN-13, EAN-8 or
	// UPC-A), check digit included.
	EAN         string
	SKU         string
	Name        string
	Stock       int
	Price       supplier.Money
	WeightGrams int
}

func eur(minor int64) supplier.Money { return supplier.Money{Minor: minor, Currency: "EUR"} }

// Catalogue returns the sandbox's fixed catalogue (a fresh copy each call).
// The EANs are valid GTINs under the Spanish GS1 prefix 84 (and a US UPC-A),
// made up for the sandbox.
func Catalogue() []Product {
	return []Product{
		{EAN: "8400000000017", SKU: "SBX-MUG-350", Name: "Ceramic mug 350 ml", Stock: 250, Price: eur(499), WeightGrams: 420},
		{EAN: "8400000000024", SKU: "SBX-TOTE", Name: "Cotton tote bag", Stock: 500, Price: eur(899), WeightGrams: 180},
		{EAN: "8400000000031", SKU: "SBX-BOTTLE-750", Name: "Steel water bottle 750 ml", Stock: 80, Price: eur(1599), WeightGrams: 350},
		{EAN: "8400000000048", SKU: "SBX-BOARD", Name: "Bamboo cutting board", Stock: 40, Price: eur(2199), WeightGrams: 1100},
		{EAN: "8400000000055", SKU: "SBX-SKILLET-26", Name: "Cast iron skillet 26 cm", Stock: 2, Price: eur(3999), WeightGrams: 2600},
		{EAN: "8400000000062", SKU: "SBX-TABLECLOTH", Name: "Linen tablecloth", Stock: 0, Price: eur(2999), WeightGrams: 650},
		{EAN: "84000019", SKU: "SBX-CANDLE", Name: "Beeswax candle (EAN-8)", Stock: 300, Price: eur(699), WeightGrams: 200},
		{EAN: "072000000014", SKU: "SBX-CAMP-CUP", Name: "Enamel camping cup (UPC-A)", Stock: 60, Price: eur(1299), WeightGrams: 240},
	}
}

// gtinKey turns a barcode into the 14-digit form all GTIN lengths share, so
// a UPC-A sent as its EAN-13 form ("0" + UPC) still matches. It returns ""
// for anything that is not 8 to 14 digits.
func gtinKey(code string) string {
	code = strings.TrimSpace(code)
	if len(code) < 8 || len(code) > 14 {
		return ""
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return strings.Repeat("0", 14-len(code)) + code
}

// indexCatalogue maps gtinKey(EAN) to the product.
func indexCatalogue(products []Product) map[string]Product {
	m := make(map[string]Product, len(products))
	for _, p := range products {
		m[gtinKey(p.EAN)] = p
	}
	return m
}
