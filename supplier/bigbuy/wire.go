package bigbuy

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/flowbridge/flowbridge/supplier"
)

// currency of every BigBuy amount (assumption: prices and shipping costs
// are EUR; BigBuy bills in euros).
const currency = "EUR"

// Request bodies. Field names are BigBuy's.

type orderEnvelope struct {
	Order any `json:"order"`
}

type wireProduct struct {
	Reference string `json:"reference"`
	Quantity  int    `json:"quantity"`
}

type wireDelivery struct {
	IsoCountry string `json:"isoCountry"`
	Postcode   string `json:"postcode"`
}

type wireShippingQuery struct {
	Delivery wireDelivery  `json:"delivery"`
	Products []wireProduct `json:"products"`
}

type wireCarrier struct {
	Name string `json:"name"`
}

type wireAddress struct {
	FirstName   string `json:"firstName"`
	LastName    string `json:"lastName"`
	Country     string `json:"country"`
	Postcode    string `json:"postcode"`
	Town        string `json:"town"`
	Address     string `json:"address"`
	Phone       string `json:"phone"`
	Email       string `json:"email"`
	Comment     string `json:"comment"`
	CompanyName string `json:"companyName,omitempty"`
}

type wireOrder struct {
	InternalReference string        `json:"internalReference"`
	Language          string        `json:"language"`
	PaymentMethod     string        `json:"paymentMethod"`
	Carriers          []wireCarrier `json:"carriers"`
	ShippingAddress   wireAddress   `json:"shippingAddress"`
	Products          []wireProduct `json:"products"`
}

// Answers.

type shippingOptionsAnswer struct {
	ShippingOptions []shippingOption `json:"shippingOptions"`
}

type shippingOption struct {
	Cost            json.RawMessage `json:"cost"`
	Carrier         json.RawMessage `json:"carrier"`
	ShippingService struct {
		ID          json.RawMessage `json:"id"`
		Name        string          `json:"name"`
		Delay       string          `json:"delay"`
		ServiceName string          `json:"serviceName"`
	} `json:"shippingService"`
}

// carrierName is the value create expects in carriers[{name}]
// (assumption: the service's serviceName, e.g. "gls", else the carrier's
// or the service's name).
func (o shippingOption) carrierName() string {
	for _, s := range []string{o.ShippingService.ServiceName, nameOf(o.Carrier), o.ShippingService.Name} {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// displayCarrier is the carrier shown to the merchant and matched against
// the carrier preference list.
func (o shippingOption) displayCarrier() string {
	for _, s := range []string{nameOf(o.Carrier), o.ShippingService.ServiceName, o.ShippingService.Name} {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// nameOf reads a value that is a string, a number or an object with "name".
func nameOf(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj struct {
		Name json.RawMessage `json:"name"`
	}
	if raw[0] == '{' && json.Unmarshal(raw, &obj) == nil {
		return nameOf(obj.Name)
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

type orderAnswer struct {
	ID                json.RawMessage `json:"id"`
	InternalReference string          `json:"internalReference"`
	Status            json.RawMessage `json:"status"`
	Total             json.RawMessage `json:"total"`
}

type trackingAnswer struct {
	ID        json.RawMessage `json:"id"`
	Trackings []struct {
		TrackingNumber string          `json:"trackingNumber"`
		Carrier        json.RawMessage `json:"carrier"`
		TrackingURL    string          `json:"trackingUrl"`
		URL            string          `json:"url"`
	} `json:"trackings"`
}

// parseTracking reads a tracking answer: an object, or a list of them
// (the bulk endpoint's shape) of which the one for id is used. Entries
// without a number are skipped; duplicates are merged.
func parseTracking(body []byte, id string) ([]supplier.Parcel, error) {
	body = bytes.TrimSpace(body)
	var list []trackingAnswer
	if len(body) > 0 && body[0] == '[' {
		if err := json.Unmarshal(body, &list); err != nil {
			return nil, err
		}
	} else {
		var one trackingAnswer
		if err := json.Unmarshal(body, &one); err != nil {
			return nil, err
		}
		list = []trackingAnswer{one}
	}
	var out []supplier.Parcel
	seen := map[string]bool{}
	for _, t := range list {
		if got := idString(t.ID); got != "" && got != id {
			continue
		}
		for _, e := range t.Trackings {
			num := strings.TrimSpace(e.TrackingNumber)
			if num == "" || seen[num] {
				continue
			}
			seen[num] = true
			out = append(out, supplier.Parcel{Carrier: strings.TrimSpace(nameOf(e.Carrier)), Number: num, URL: orDefault(e.TrackingURL, e.URL)})
		}
	}
	return out, nil
}

// idString reads an id sent as a number or a string.
func idString(raw json.RawMessage) string {
	return strings.TrimSpace(nameOf(raw))
}

var digitsOnly = regexp.MustCompile(`^[0-9]+$`)

// orderIDFromLocation reads the new order's id from create's Location
// header ("/rest/order/{id}", possibly absolute or with ".json").
func orderIDFromLocation(loc string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(loc))
	if err != nil {
		return "", false
	}
	p := strings.TrimSuffix(strings.TrimRight(u.Path, "/"), ".json")
	i := strings.LastIndex(p, "/order/")
	if i < 0 {
		return "", false
	}
	id := p[i+len("/order/"):]
	return id, digitsOnly.MatchString(id)
}

// parseMoney reads an amount sent as a number or a string ("14.02",
// "18,2", "4.95 €") into minor units, exactly (no float arithmetic).
func parseMoney(raw json.RawMessage) (int64, bool) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, false
	}
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	s = strings.TrimSpace(strings.NewReplacer("€", "", "EUR", "", " ", "", "\u00a0", "").Replace(s))
	if !strings.Contains(s, ".") {
		s = strings.Replace(s, ",", ".", 1)
	}
	if s == "" {
		return 0, false
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" {
		whole = "0"
	}
	if !digitsOnly.MatchString(whole) || (frac != "" && !digitsOnly.MatchString(frac)) {
		return 0, false
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, false
	}
	frac += "000"
	cents, _ := strconv.ParseInt(frac[:2], 10, 64)
	if frac[2] >= '5' {
		cents++ // round half up on the third decimal
	}
	return w*100 + cents, true
}

var (
	numbers = regexp.MustCompile(`\d+`)
	hours   = regexp.MustCompile(`(?i)\d\s*(h|hrs?|hours?|horas?|uur|heures?)\b`)
)

// parseDelay reads a delivery time text ("1-2 days", "24/48h", "3 días")
// into whole days; 0, 0 when there is no number.
func parseDelay(s string) (minDays, maxDays int) {
	ns := numbers.FindAllString(s, 2)
	if len(ns) == 0 {
		return 0, 0
	}
	conv := func(x string) int {
		n, _ := strconv.Atoi(x)
		if hours.MatchString(s) {
			return (n + 23) / 24
		}
		return n
	}
	minDays = conv(ns[0])
	maxDays = minDays
	if len(ns) > 1 {
		maxDays = conv(ns[1])
	}
	if maxDays < minDays {
		minDays, maxDays = maxDays, minDays
	}
	return minDays, maxDays
}
