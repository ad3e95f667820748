package handlers

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/go-playground/validator/v10"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/gtin"
)

// Request bodies as Flow's Liquid templates send them. Field names and
// rules are the HTTP contract in docs/DESIGN.md and openapi.yaml.

type addressIn struct {
	FirstName    string `json:"first_name" validate:"max=255"`
	LastName     string `json:"last_name" validate:"max=255"`
	Company      string `json:"company" validate:"max=255"`
	Address1     string `json:"address1" validate:"max=255"`
	Address2     string `json:"address2" validate:"max=255"`
	City         string `json:"city" validate:"max=255"`
	Zip          string `json:"zip" validate:"max=32"`
	ProvinceCode string `json:"province_code" validate:"max=16"`
	CountryCode  string `json:"country_code" validate:"required,iso3166_1_alpha2"`
	Phone        string `json:"phone" validate:"max=64"`
}

type lineIn struct {
	Barcode  string `json:"barcode" validate:"required,ean"`
	SKU      string `json:"sku" validate:"max=255"`
	Quantity int    `json:"quantity" validate:"gte=1,lte=10000"`
	Price    string `json:"price" validate:"omitempty,amount"`
}

type ratesIn struct {
	OrderID           string    `json:"order_id" validate:"omitempty,order_id"`
	Shop              string    `json:"shop" validate:"max=255"`
	ShippingAddress   addressIn `json:"shipping_address"`
	LineItems         []lineIn  `json:"line_items" validate:"required,min=1,max=250,dive"`
	Currency          string    `json:"currency" validate:"omitempty,iso4217"`
	PreferredCarriers []string  `json:"preferred_carriers" validate:"max=20,dive,max=64"`
}

// orderAddressIn tightens the address for placing an order: a supplier
// cannot ship without a name, street and city.
type orderAddressIn struct {
	FirstName    string `json:"first_name" validate:"max=255"`
	LastName     string `json:"last_name" validate:"required,max=255"`
	Company      string `json:"company" validate:"max=255"`
	Address1     string `json:"address1" validate:"required,max=255"`
	Address2     string `json:"address2" validate:"max=255"`
	City         string `json:"city" validate:"required,max=255"`
	Zip          string `json:"zip" validate:"max=32"`
	ProvinceCode string `json:"province_code" validate:"max=16"`
	CountryCode  string `json:"country_code" validate:"required,iso3166_1_alpha2"`
	Phone        string `json:"phone" validate:"max=64"`
}

type orderLineIn struct {
	Barcode  string `json:"barcode" validate:"required,ean"`
	SKU      string `json:"sku" validate:"max=255"`
	Quantity int    `json:"quantity" validate:"gte=1,lte=10000"`
	Price    string `json:"price" validate:"required,amount"`
}

type ordersIn struct {
	OrderID             string         `json:"order_id" validate:"required,order_id"`
	OrderName           string         `json:"order_name" validate:"max=255"`
	Shop                string         `json:"shop" validate:"max=255"`
	Email               string         `json:"email" validate:"omitempty,email,max=255"`
	Phone               string         `json:"phone" validate:"max=64"`
	ShippingAddress     orderAddressIn `json:"shipping_address"`
	LineItems           []orderLineIn  `json:"line_items" validate:"required,min=1,max=250,dive"`
	Currency            string         `json:"currency" validate:"required,iso4217"`
	ShippingCostID      string         `json:"shipping_cost_id" validate:"max=128"`
	PaymentGatewayNames []string       `json:"payment_gateway_names" validate:"max=20,dive,max=255"`
	SupplierOrderID     string         `json:"supplier_order_id" validate:"omitempty,supplier_order_id"`
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
// letters, digits and . _ : / -, starting with a letter or digit.
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

// NormalizeOrderID turns a Shopify order GID or plain number into the
// number. ok is false for anything else.
func NormalizeOrderID(s string) (string, bool) {
	s = strings.TrimSpace(s)
	s, _ = strings.CutPrefix(s, "gid://shopify/Order/")
	if s == "" || len(s) > 20 || !allDigits(s) {
		return "", false
	}
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return "", false
	}
	return s, true
}

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		return strings.Split(f.Tag.Get("json"), ",")[0]
	})
	must := func(err error) {
		if err != nil {
			panic(err) // programming error: tags are registered once at construction
		}
	}
	must(v.RegisterValidation("ean", func(fl validator.FieldLevel) bool {
		_, err := gtin.Normalize(fl.Field().String())
		return err == nil
	}))
	must(v.RegisterValidation("amount", func(fl validator.FieldLevel) bool {
		return isAmount(fl.Field().String())
	}))
	must(v.RegisterValidation("order_id", func(fl validator.FieldLevel) bool {
		_, ok := NormalizeOrderID(fl.Field().String())
		return ok
	}))
	must(v.RegisterValidation("supplier_order_id", func(fl validator.FieldLevel) bool {
		return isSupplierOrderList(fl.Field().String())
	}))
	return v
}

// validate runs the struct rules and turns every failure into a field
// error with a JSON pointer. The code names the most specific problem so a
// Flow Condition can branch on it: a bad order id, then a bad barcode, then
// the generic validation_failed.
func (h *Handlers) validate(in any) error {
	err := h.v.Struct(in)
	if err == nil {
		return nil
	}
	verrs, ok := err.(validator.ValidationErrors)
	if !ok {
		return problem.Wrap(err, problem.Internal, problem.CodeInternal, "validation could not run")
	}
	fields := make([]problem.Field, 0, len(verrs))
	code := problem.CodeValidation
	rank := 0
	for _, fe := range verrs {
		f := problem.Field{Pointer: pointerOf(fe.Namespace()), Message: message(fe)}
		fields = append(fields, f)
		switch {
		case fe.Tag() == "order_id" || (fe.Field() == "order_id" && fe.Tag() == "required"):
			if rank < 2 {
				code, rank = CodeInvalidOrderID, 2
			}
		case fe.Tag() == "ean":
			if rank < 1 {
				code, rank = CodeInvalidEAN, 1
			}
		}
	}
	detail := fmt.Sprintf("%d field(s) are invalid: %s", len(fields), fields[0].Pointer+" "+fields[0].Message)
	if len(fields) > 1 {
		detail += ", …"
	}
	return problem.InvalidFields(code, detail, fields...)
}

// Codes specific to request validation.
const (
	CodeInvalidOrderID         = "invalid_order_id"
	CodeInvalidEAN             = "invalid_ean"
	CodeInvalidSupplierOrderID = "invalid_supplier_order_id"
)

// pointerOf turns a validator namespace ("ordersIn.line_items[1].barcode")
// into a JSON pointer ("/line_items/1/barcode").
func pointerOf(ns string) string {
	if i := strings.IndexByte(ns, '.'); i >= 0 {
		ns = ns[i+1:]
	} else {
		return ""
	}
	var b strings.Builder
	for _, part := range strings.Split(ns, ".") {
		name, idx, _ := strings.Cut(part, "[")
		b.WriteString("/" + escapePointer(name))
		for idx != "" {
			var n string
			n, idx, _ = strings.Cut(idx, "]")
			b.WriteString("/" + n)
			idx = strings.TrimPrefix(idx, "[")
		}
	}
	return b.String()
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func message(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		if fe.Kind() == reflect.Slice {
			return "must have at least one item"
		}
		return "is required"
	case "min":
		return "must have at least " + fe.Param() + " item(s)"
	case "max":
		if fe.Kind() == reflect.Slice {
			return "must have at most " + fe.Param() + " items"
		}
		return "must be at most " + fe.Param() + " characters"
	case "gte":
		return "must be at least " + fe.Param()
	case "lte":
		return "must be at most " + fe.Param()
	case "iso3166_1_alpha2":
		return "must be an ISO 3166-1 alpha-2 country code such as ES"
	case "iso4217":
		return "must be an ISO 4217 currency code such as EUR"
	case "email":
		return "must be an email address"
	case "amount":
		return "must be a decimal amount such as 19.99"
	case "order_id":
		return "must be a Shopify order id: gid://shopify/Order/123 or 123"
	case "supplier_order_id":
		return "must be a supplier order number (letters, digits, . _ : / -)"
	case "ean":
		_, err := gtin.Normalize(fmt.Sprint(fe.Value()))
		if err != nil {
			return err.Error()
		}
		return "must be a valid EAN/GTIN"
	}
	return "is invalid (" + fe.Tag() + ")"
}

// Normalisation applied before validation: the rules then see the
// canonical form (upper-case country and currency codes).
func (a *addressIn) normalize()      { a.CountryCode = strings.ToUpper(a.CountryCode) }
func (a *orderAddressIn) normalize() { a.CountryCode = strings.ToUpper(a.CountryCode) }

func (a addressIn) rateFields() (country, zip string) { return a.CountryCode, a.Zip }

func (a orderAddressIn) toSupplier() supplier.Address {
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
