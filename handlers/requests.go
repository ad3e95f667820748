package handlers

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/gtin"
)

// Request bodies as Flow's Liquid templates send them, after openapi.yaml
// has accepted them (Contract): the structs only carry the values to the
// orders service. The few rules a schema cannot state are checked here
// and refused with 422 (checkLines, checkAddress).

type addressIn struct {
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	Company      string `json:"company"`
	Address1     string `json:"address1"`
	Address2     string `json:"address2"`
	City         string `json:"city"`
	Zip          string `json:"zip"`
	ProvinceCode string `json:"province_code"`
	CountryCode  string `json:"country_code"`
	Phone        string `json:"phone"`
}

type lineIn struct {
	Barcode  string `json:"barcode"`
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
	Price    string `json:"price"`
}

type ratesIn struct {
	OrderID           string    `json:"order_id"`
	Shop              string    `json:"shop"`
	ShippingAddress   addressIn `json:"shipping_address"`
	LineItems         []lineIn  `json:"line_items"`
	Currency          string    `json:"currency"`
	PreferredCarriers []string  `json:"preferred_carriers"`
}

type ordersIn struct {
	OrderID             string    `json:"order_id"`
	OrderName           string    `json:"order_name"`
	Shop                string    `json:"shop"`
	Email               string    `json:"email"`
	Phone               string    `json:"phone"`
	ShippingAddress     addressIn `json:"shipping_address"`
	LineItems           []lineIn  `json:"line_items"`
	Currency            string    `json:"currency"`
	ShippingCostID      string    `json:"shipping_cost_id"`
	PaymentGatewayNames []string  `json:"payment_gateway_names"`
	SupplierOrderID     string    `json:"supplier_order_id"`
}

// Codes specific to request validation.
const (
	CodeInvalidOrderID         = "invalid_order_id"
	CodeInvalidEAN             = "invalid_ean"
	CodeInvalidSupplierOrderID = "invalid_supplier_order_id"
	// CodeInvalidPrice is the 422 for a price with more decimals than its
	// currency has (a schema cannot tie the two together).
	CodeInvalidPrice = "invalid_price"
)

// checkLines normalises barcodes and prices, refusing with 422 what the
// schema could not: a wrong check digit (invalid_ean) and more decimals
// than the currency has (invalid_price). Every line at fault is named.
func checkLines(lines []lineIn, currency string) ([]supplier.Line, error) {
	out := make([]supplier.Line, len(lines))
	var badEAN, badPrice []problem.Field
	for i, li := range lines {
		ean, err := gtin.Normalize(li.Barcode)
		if err != nil {
			badEAN = append(badEAN, problem.Field{Pointer: "/line_items/" + itoa(i) + "/barcode", Message: err.Error()})
		}
		out[i] = supplier.Line{EAN: ean, SKU: li.SKU, Quantity: li.Quantity}
		if li.Price != "" && currency != "" {
			minor, err := ParseAmount(li.Price, currency)
			if err != nil {
				badPrice = append(badPrice, problem.Field{Pointer: "/line_items/" + itoa(i) + "/price", Message: err.Error()})
			}
			out[i].UnitPrice = supplier.Money{Minor: minor, Currency: currency}
		}
	}
	switch {
	case len(badEAN) > 0:
		return nil, rejected(CodeInvalidEAN, "a barcode is not a valid EAN/GTIN (check digit or length)", append(badEAN, badPrice...))
	case len(badPrice) > 0:
		return nil, rejected(CodeInvalidPrice, "a line item price has more decimals than its currency", badPrice)
	}
	return out, nil
}

// checkAddress refuses a destination whose required fields hold only
// spaces: the schema requires them, but a supplier cannot ship to " ".
func checkAddress(a addressIn) error {
	var bad []problem.Field
	for _, f := range []struct{ name, v string }{{"last_name", a.LastName}, {"address1", a.Address1}, {"city", a.City}} {
		if f.v == "" {
			bad = append(bad, problem.Field{Pointer: "/shipping_address/" + f.name, Message: "must not be blank"})
		}
	}
	if len(bad) > 0 {
		return rejected(problem.CodeInvalidAddress, "the shipping address lacks a name, street or city", bad)
	}
	return nil
}

func rejected(code, detail string, fields []problem.Field) *problem.Error {
	e := problem.InvalidFields(code, detail, fields...)
	e.Kind = problem.Rejected
	return e
}

// isAmount reports whether s is a plain non-negative decimal with at most
// 12 integer and 6 fractional digits ("19.99", "5", "0.5").
func isAmount(s string) bool {
	whole, frac, hasDot := strings.Cut(s, ".")
	if len(whole) < 1 || len(whole) > 12 || !allDigits(whole) {
		return false
	}
	if hasDot && (len(frac) < 1 || len(frac) > 6 || !allDigits(frac)) {
		return false
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isSupplierOrderID accepts what suppliers use as order numbers: 1 to 128
// letters, digits and . _ : / -, starting with a letter or digit (the
// pattern openapi.yaml states).
func isSupplierOrderID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alnum && (i == 0 || !strings.ContainsRune("._:/-", rune(c))) {
			return false
		}
	}
	return true
}

func (a addressIn) toSupplier() supplier.Address {
	return supplier.Address{
		FirstName: a.FirstName, LastName: a.LastName, Company: a.Company,
		Address1: a.Address1, Address2: a.Address2, City: a.City, PostalCode: a.Zip,
		CountryCode: a.CountryCode, ProvinceCode: a.ProvinceCode, Phone: a.Phone,
	}
}

// currencyExponent is the number of minor-unit digits of a currency
// (ISO 4217); two unless listed.
func currencyExponent(cur string) int {
	switch cur {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	}
	return 2
}

// ParseAmount converts a decimal string into minor units of cur. Extra
// decimals beyond the currency's must be zeros ("19.990" is fine for EUR,
// "19.995" is not).
func ParseAmount(s, cur string) (int64, error) {
	if !isAmount(s) {
		return 0, fmt.Errorf("must be a decimal amount such as 19.99")
	}
	exp := currencyExponent(cur)
	whole, frac, _ := strings.Cut(s, ".")
	for len(frac) > exp {
		if frac[len(frac)-1] != '0' {
			return 0, fmt.Errorf("has more decimals than %s allows", cur)
		}
		frac = frac[:len(frac)-1]
	}
	for len(frac) < exp {
		frac += "0"
	}
	return strconv.ParseInt(whole+frac, 10, 64)
}

// FormatAmount renders minor units of cur as a decimal string.
func FormatAmount(minor int64, cur string) string {
	exp := currencyExponent(cur)
	neg := minor < 0
	if neg {
		minor = -minor
	}
	s := strconv.FormatInt(minor, 10)
	if exp > 0 {
		for len(s) <= exp {
			s = "0" + s
		}
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// isSupplierOrderList accepts one supplier order number or, for an order
// the supplier split, several joined by commas (the metafield's value).
func isSupplierOrderList(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, n := range strings.Split(s, ",") {
		if !isSupplierOrderID(n) {
			return false
		}
	}
	return true
}
