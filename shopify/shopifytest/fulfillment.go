package shopifytest

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Order is a fixture order with its fulfillment orders, as fulfillmentCreate
// and the order query see it. Status strings are the schema's enum values.
type Order struct {
	ID                       string // gid://shopify/Order/<n>
	Name                     string // "#1001"
	DisplayFulfillmentStatus string // UNFULFILLED when empty
	CancelledAt              string // RFC 3339, "" when not cancelled
	FulfillmentOrders        []FulfillmentOrder
	Fulfillments             []Fulfillment // created so far (by the code under test or FulfilByHand)
}

// FulfillmentOrder is one fulfillment order: the line items one location
// ships. Status is OPEN, IN_PROGRESS, CLOSED, CANCELLED, ON_HOLD, SCHEDULED
// or INCOMPLETE; only OPEN and IN_PROGRESS can be fulfilled.
type FulfillmentOrder struct {
	ID           string // gid://shopify/FulfillmentOrder/<n>
	Status       string
	LocationID   string // gid://shopify/Location/<n>
	LocationName string
	LineItems    []FulfillmentOrderLineItem
}

// FulfillmentOrderLineItem is one line of a fulfillment order.
type FulfillmentOrderLineItem struct {
	ID                string // gid://shopify/FulfillmentOrderLineItem/<n>
	LineItemID        string // gid://shopify/LineItem/<n>
	SKU               string
	TotalQuantity     int
	RemainingQuantity int
}

// Fulfillment is a created fulfillment and what it was created with.
type Fulfillment struct {
	ID             string
	LocationID     string
	NotifyCustomer bool
	Company        string
	Numbers, URLs  []string
	// Lines maps fulfillment order line item ids to the quantity fulfilled.
	Lines     map[string]int
	CreatedAt time.Time
}

// AddOrder stores (or replaces) an order fixture. Empty statuses default to
// OPEN (fulfillment orders) and UNFULFILLED (order); empty remaining
// quantities to the total.
func (s *Server) AddOrder(o Order) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.DisplayFulfillmentStatus == "" {
		o.DisplayFulfillmentStatus = "UNFULFILLED"
	}
	o.FulfillmentOrders = slices.Clone(o.FulfillmentOrders)
	for i := range o.FulfillmentOrders {
		fo := &o.FulfillmentOrders[i]
		if fo.Status == "" {
			fo.Status = "OPEN"
		}
		fo.LineItems = slices.Clone(fo.LineItems)
		for j := range fo.LineItems {
			if fo.LineItems[j].RemainingQuantity == 0 && fo.Status == "OPEN" {
				fo.LineItems[j].RemainingQuantity = fo.LineItems[j].TotalQuantity
			}
		}
	}
	if _, ok := s.orders[o.ID]; !ok {
		s.orderIDs = append(s.orderIDs, o.ID)
	}
	s.orders[o.ID] = &o
}

// Order returns the order fixture as it is now.
func (s *Server) Order(id string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return Order{}, false
	}
	c := *o
	c.FulfillmentOrders = slices.Clone(o.FulfillmentOrders)
	c.Fulfillments = slices.Clone(o.Fulfillments)
	return c, true
}

// FulfilByHand fulfils every open fulfillment order of the order as a
// merchant would in the admin (no tracking, no notification).
func (s *Server) FulfilByHand(orderID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[orderID]
	if o == nil {
		s.t.Fatalf("shopifytest: FulfilByHand: no order %s", orderID)
	}
	for i := range o.FulfillmentOrders {
		fo := &o.FulfillmentOrders[i]
		if fo.Status != "OPEN" && fo.Status != "IN_PROGRESS" {
			continue
		}
		s.fulfil(o, []*FulfillmentOrder{fo}, nil, Fulfillment{LocationID: fo.LocationID})
	}
}

// SetFulfillmentOrderStatus changes one fulfillment order's status (e.g.
// CANCELLED, ON_HOLD) as Shopify would after a merchant's action.
func (s *Server) SetFulfillmentOrderStatus(orderID, foID, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fo := s.findFO(foID); fo != nil {
		fo.Status = status
		return
	}
	s.t.Fatalf("shopifytest: no fulfillment order %s", foID)
}

func (s *Server) findFO(id string) *FulfillmentOrder {
	for _, oid := range s.orderIDs {
		o := s.orders[oid]
		for i := range o.FulfillmentOrders {
			if o.FulfillmentOrders[i].ID == id {
				return &o.FulfillmentOrders[i]
			}
		}
	}
	return nil
}

func (s *Server) orderOfFO(id string) *Order {
	for _, oid := range s.orderIDs {
		o := s.orders[oid]
		for i := range o.FulfillmentOrders {
			if o.FulfillmentOrders[i].ID == id {
				return o
			}
		}
	}
	return nil
}

func (s *Server) canReadFOs() bool {
	return s.scopes["read_merchant_managed_fulfillment_orders"] || s.scopes["write_merchant_managed_fulfillment_orders"] ||
		s.scopes["read_assigned_fulfillment_orders"] || s.scopes["write_assigned_fulfillment_orders"] ||
		s.scopes["read_third_party_fulfillment_orders"] || s.scopes["write_third_party_fulfillment_orders"]
}

func (s *Server) orderField(args map[string]any) (any, *Error) {
	if !s.scopes["read_orders"] {
		return nil, accessDenied("order", "read_orders")
	}
	id, _ := args["id"].(string)
	o := s.orders[id]
	if o == nil {
		return nil, nil // Shopify answers null for an unknown id
	}
	return s.orderValue(o), nil
}

func (s *Server) fulfillmentOrderField(args map[string]any) (any, *Error) {
	if !s.canReadFOs() {
		return nil, accessDenied("fulfillmentOrder", "read_merchant_managed_fulfillment_orders")
	}
	id, _ := args["id"].(string)
	fo := s.findFO(id)
	if fo == nil {
		return nil, nil
	}
	return s.foValue(s.orderOfFO(id), fo), nil
}

func connection(nodes []any) map[string]any {
	edges := make([]any, len(nodes))
	for i, n := range nodes {
		edges[i] = map[string]any{"cursor": strconv.Itoa(i), "node": n}
	}
	pi := map[string]any{"hasNextPage": false, "hasPreviousPage": false, "startCursor": nil, "endCursor": nil}
	if len(nodes) > 0 {
		pi["startCursor"], pi["endCursor"] = "0", strconv.Itoa(len(nodes)-1)
	}
	return map[string]any{"nodes": nodes, "edges": edges, "pageInfo": pi}
}

func (s *Server) orderValue(o *Order) map[string]any {
	fos := make([]any, 0, len(o.FulfillmentOrders))
	for i := range o.FulfillmentOrders {
		fos = append(fos, s.foValue(o, &o.FulfillmentOrders[i]))
	}
	fuls := make([]any, 0, len(o.Fulfillments))
	for _, f := range o.Fulfillments {
		fuls = append(fuls, fulfillmentValue(f))
	}
	var cancelled any
	if o.CancelledAt != "" {
		cancelled = o.CancelledAt
	}
	m := map[string]any{
		"id": o.ID, "name": o.Name, "displayFulfillmentStatus": o.DisplayFulfillmentStatus,
		"cancelledAt": cancelled, "fulfillments": fuls, "legacyResourceId": strings.TrimPrefix(o.ID, "gid://shopify/Order/"),
	}
	if s.canReadFOs() {
		m["fulfillmentOrders"] = connection(fos)
	}
	return m
}

func (s *Server) foValue(o *Order, fo *FulfillmentOrder) map[string]any {
	lines := make([]any, 0, len(fo.LineItems))
	for _, li := range fo.LineItems {
		lines = append(lines, map[string]any{
			"id": li.ID, "sku": li.SKU, "totalQuantity": li.TotalQuantity, "remainingQuantity": li.RemainingQuantity,
			"lineItem": map[string]any{"id": li.LineItemID, "sku": li.SKU, "quantity": li.TotalQuantity, "currentQuantity": li.TotalQuantity},
		})
	}
	var actions []any
	if fo.Status == "OPEN" || fo.Status == "IN_PROGRESS" {
		actions = append(actions, map[string]any{"action": "CREATE_FULFILLMENT", "externalUrl": nil})
	}
	if actions == nil {
		actions = []any{}
	}
	var fuls []any
	for _, f := range o.Fulfillments {
		if f.Lines != nil {
			for _, li := range fo.LineItems {
				if f.Lines[li.ID] > 0 {
					fuls = append(fuls, fulfillmentValue(f))
					break
				}
			}
		}
	}
	return map[string]any{
		"id": fo.ID, "status": fo.Status, "requestStatus": "UNSUBMITTED", "orderId": o.ID, "orderName": o.Name,
		"assignedLocation": map[string]any{
			"name": fo.LocationName, "countryCode": "ES",
			"location": map[string]any{"id": fo.LocationID, "name": fo.LocationName},
		},
		"lineItems":        connection(lines),
		"supportedActions": actions,
		"fulfillments":     connection(fuls),
	}
}

func fulfillmentValue(f Fulfillment) map[string]any {
	info := make([]any, 0, len(f.Numbers))
	for i, n := range f.Numbers {
		var u any
		if i < len(f.URLs) {
			u = f.URLs[i]
		}
		var c any
		if f.Company != "" {
			c = f.Company
		}
		info = append(info, map[string]any{"company": c, "number": n, "url": u})
	}
	total := 0
	for _, q := range f.Lines {
		total += q
	}
	return map[string]any{
		"id": f.ID, "status": "SUCCESS", "trackingInfo": info, "totalQuantity": total,
		"createdAt": f.CreatedAt.UTC().Format(time.RFC3339),
		"location":  map[string]any{"id": f.LocationID},
	}
}

func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// fulfillmentCreate applies Shopify's documented rules: the fulfillment
// orders belong to one order and are assigned to one location, each can
// still be fulfilled, and line item quantities do not exceed what remains.
// The userError texts are ours (Shopify's exact wording is not published).
func (s *Server) fulfillmentCreate(args map[string]any) (any, *Error) {
	if !s.scopes["write_merchant_managed_fulfillment_orders"] && !s.scopes["write_assigned_fulfillment_orders"] &&
		!s.scopes["write_third_party_fulfillment_orders"] {
		return nil, accessDenied("fulfillmentCreate", "write_merchant_managed_fulfillment_orders")
	}
	in, _ := args["fulfillment"].(map[string]any)
	ue := func(msg string, field ...string) (any, *Error) {
		f := make([]any, 0, len(field)+1)
		f = append(f, "fulfillment")
		for _, x := range field {
			f = append(f, x)
		}
		return map[string]any{"fulfillment": nil, "userErrors": []any{map[string]any{"field": f, "message": msg}}}, nil
	}
	groups, _ := in["lineItemsByFulfillmentOrder"].([]any)
	if len(groups) == 0 {
		return ue("Line items by fulfillment order can't be blank.", "lineItemsByFulfillmentOrder")
	}
	var fos []*FulfillmentOrder
	var order *Order
	lines := map[string]int{}
	for i, g := range groups {
		gm, _ := g.(map[string]any)
		id, _ := gm["fulfillmentOrderId"].(string)
		fo := s.findFO(id)
		if fo == nil {
			return ue("Fulfillment order does not exist.", "lineItemsByFulfillmentOrder", strconv.Itoa(i), "fulfillmentOrderId")
		}
		o := s.orderOfFO(id)
		if order != nil && o != order {
			return ue("Fulfillment orders must belong to the same order.", "lineItemsByFulfillmentOrder")
		}
		order = o
		if len(fos) > 0 && fos[0].LocationID != fo.LocationID {
			return ue("All fulfillment orders must be assigned to the same location.", "lineItemsByFulfillmentOrder")
		}
		if fo.Status != "OPEN" && fo.Status != "IN_PROGRESS" {
			return ue("Fulfillment order "+id+" has an unfulfillable status= "+strings.ToLower(fo.Status)+".", "lineItemsByFulfillmentOrder", strconv.Itoa(i))
		}
		fos = append(fos, fo)
		items, _ := gm["fulfillmentOrderLineItems"].([]any)
		if len(items) == 0 {
			for _, li := range fo.LineItems {
				if li.RemainingQuantity > 0 {
					lines[li.ID] += li.RemainingQuantity
				}
			}
			continue
		}
		for _, it := range items {
			im, _ := it.(map[string]any)
			lid, _ := im["id"].(string)
			q, _ := number(im["quantity"])
			found := false
			for _, li := range fo.LineItems {
				if li.ID == lid {
					found = true
					if q > li.RemainingQuantity {
						return ue("Quantity to fulfill exceeds the remaining quantity.", "lineItemsByFulfillmentOrder", strconv.Itoa(i))
					}
				}
			}
			if !found {
				return ue("Fulfillment order line item does not exist.", "lineItemsByFulfillmentOrder", strconv.Itoa(i))
			}
			lines[lid] += q
		}
	}
	f := Fulfillment{LocationID: fos[0].LocationID}
	f.NotifyCustomer, _ = in["notifyCustomer"].(bool)
	if ti, ok := in["trackingInfo"].(map[string]any); ok {
		f.Company, _ = ti["company"].(string)
		f.Numbers = strs(ti["numbers"])
		if n, ok := ti["number"].(string); ok && n != "" {
			f.Numbers = append([]string{n}, f.Numbers...)
		}
		f.URLs = strs(ti["urls"])
		if u, ok := ti["url"].(string); ok && u != "" {
			f.URLs = append([]string{u}, f.URLs...)
		}
	}
	created := s.fulfil(order, fos, lines, f)
	return map[string]any{"fulfillment": fulfillmentValue(created), "userErrors": []any{}}, nil
}

func number(v any) (int, bool) {
	switch n := v.(type) {
	case float64:
		return int(n), true
	case int:
		return n, true
	case int64:
		return int(n), true
	}
	return 0, false
}

// fulfil applies a fulfillment (lines nil: everything remaining on fos).
func (s *Server) fulfil(o *Order, fos []*FulfillmentOrder, lines map[string]int, f Fulfillment) Fulfillment {
	if lines == nil {
		lines = map[string]int{}
		for _, fo := range fos {
			for _, li := range fo.LineItems {
				lines[li.ID] += li.RemainingQuantity
			}
		}
	}
	for _, fo := range fos {
		left := 0
		for j := range fo.LineItems {
			li := &fo.LineItems[j]
			li.RemainingQuantity -= lines[li.ID]
			left += li.RemainingQuantity
		}
		if left == 0 {
			fo.Status = "CLOSED"
		} else {
			fo.Status = "IN_PROGRESS"
		}
	}
	s.nextFulfil++
	f.ID = "gid://shopify/Fulfillment/" + strconv.Itoa(7000+s.nextFulfil)
	f.Lines = lines
	f.CreatedAt = time.Now()
	if s.now != nil {
		f.CreatedAt = s.now()
	}
	o.Fulfillments = append(o.Fulfillments, f)
	open, closed := 0, 0
	for _, fo := range o.FulfillmentOrders {
		switch fo.Status {
		case "OPEN", "IN_PROGRESS", "ON_HOLD", "SCHEDULED":
			open++
		case "CLOSED":
			closed++
		}
	}
	switch {
	case open == 0 && closed > 0:
		o.DisplayFulfillmentStatus = "FULFILLED"
	case closed > 0 || len(o.Fulfillments) > 0:
		o.DisplayFulfillmentStatus = "PARTIALLY_FULFILLED"
	}
	return f
}

// SetClock makes fulfilments carry times from now (a test's virtual clock).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Fulfillments returns every fulfillment created on the order.
func (s *Server) Fulfillments(orderID string) []Fulfillment {
	o, _ := s.Order(orderID)
	return o.Fulfillments
}
