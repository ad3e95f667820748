package bigbuy

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
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
	ShippingService struct {
		ID          json.RawMessage `json:"id"`
		Name        string          `json:"name"`
		Delay       string          `json:"delay"`
		ServiceName string          `json:"serviceName"`
	} `json:"shippingService"`
}

// code is the carrier code create takes for this option (createCodes):
// the service's name is what the Shipping API answers with; serviceName,
// when present, is only a label, tried second.
func (o shippingOption) code() (string, bool) {
	for _, s := range []string{o.ShippingService.Name, o.ShippingService.ServiceName} {
		if code, ok := createCode(s); ok {
			return code, true
		}
	}
	return "", false
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

// orderAnswer is GET /rest/order/{id}.json; the total paid is
// totalPaidTaxIncl (PyBigBuy's BBOrderDict).
type orderAnswer struct {
	ID                json.RawMessage `json:"id"`
	InternalReference string          `json:"internalReference"`
	Status            json.RawMessage `json:"status"`
	TotalPaidTaxIncl  json.RawMessage `json:"totalPaidTaxIncl"`
}

// slimOrder is GET /rest/order/reference/{ref}.json: only the id and the
// total, both strings (PyBigBuy's BBSlimOrderDict).
type slimOrder struct {
	ID               json.RawMessage `json:"id"`
	TotalPaidTaxIncl json.RawMessage `json:"totalPaidTaxIncl"`
}

// trackingOrder is one element of GET /rest/tracking/order/{id}.json's
// list; carriers are named by id only and there is no URL.
type trackingOrder struct {
	ID        json.RawMessage `json:"id"`
	Reference string          `json:"reference"`
	Trackings []struct {
		TrackingNumber string `json:"trackingNumber"`
		Carrier        struct {
			ID json.RawMessage `json:"id"`
		} `json:"carrier"`
	} `json:"trackings"`
}

// trackingEntry is one parcel before its carrier id is resolved.
type trackingEntry struct {
	number, carrierID string
}

// parseTracking reads the tracking list (a bare object is accepted too)
// and returns the entries of order id. Entries without a number are
// skipped; duplicates are merged.
func parseTracking(body []byte, id string) ([]trackingEntry, error) {
	body = bytes.TrimSpace(body)
	var list []trackingOrder
	if len(body) > 0 && body[0] == '[' {
		if err := json.Unmarshal(body, &list); err != nil {
			return nil, err
		}
	} else {
		var one trackingOrder
		if err := json.Unmarshal(body, &one); err != nil {
			return nil, err
		}
		list = []trackingOrder{one}
	}
	var out []trackingEntry
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
			out = append(out, trackingEntry{number: num, carrierID: idString(e.Carrier.ID)})
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
