package shopify

import (
	"context"
	"strings"

	"github.com/flowbridge/flowbridge/problem"
)

// Fulfilment orders as flowbridge's fulfil call needs them: which are still
// open, where they are assigned, and what remains on them.

// FulfillmentOrderState is one fulfilment order of an order.
type FulfillmentOrderState struct {
	ID         string // gid://shopify/FulfillmentOrder/<n>
	Status     string // OPEN, IN_PROGRESS, CLOSED, CANCELLED, ON_HOLD, SCHEDULED, INCOMPLETE
	LocationID string // the assigned location ("" when Shopify names none)
	// Remaining is the sum of the line items' remainingQuantity.
	Remaining int
	// CanFulfil is whether supportedActions holds CREATE_FULFILLMENT.
	CanFulfil bool
}

// Open reports whether a fulfilment can be created on it now.
func (f FulfillmentOrderState) Open() bool {
	return (f.Status == "OPEN" || f.Status == "IN_PROGRESS") && f.Remaining > 0 && f.CanFulfil
}

// OrderFulfillment is an order's fulfilment state.
type OrderFulfillment struct {
	ID                       string
	Name                     string
	DisplayFulfillmentStatus string
	Cancelled                bool
	FulfillmentOrders        []FulfillmentOrderState
	// FulfillmentIDs are the fulfilments the order has (any creator).
	FulfillmentIDs []string
}

// Shopify caps a connection page at 250; an order with more fulfilment
// orders than this (or a fulfilment order with more lines) is refused
// rather than half-read.
const orderFulfillmentQuery = `query FlowbridgeOrderFulfillment($id: ID!) {
  order(id: $id) {
    id
    name
    displayFulfillmentStatus
    cancelledAt
    fulfillments(first: 250) { id }
    fulfillmentOrders(first: 250) {
      pageInfo { hasNextPage }
      nodes {
        id
        status
        assignedLocation { location { id } }
        supportedActions { action }
        lineItems(first: 250) {
          pageInfo { hasNextPage }
          nodes { remainingQuantity }
        }
      }
    }
  }
}`

// Codes of the fulfilment calls.
const (
	CodeOrderNotFound = "shopify_order_not_found" // no such order (or not visible to the token)
	CodeOrderTooLarge = "shopify_order_too_large" // more fulfilment orders or lines than one page
)

// OrderFulfillment reads the fulfilment orders of order id (a GID). It
// needs read_orders and one of the read_*_fulfillment_orders scopes.
func (c *Client) OrderFulfillment(ctx context.Context, id string) (OrderFulfillment, error) {
	var out struct {
		Order *struct {
			ID                       string  `json:"id"`
			Name                     string  `json:"name"`
			DisplayFulfillmentStatus string  `json:"displayFulfillmentStatus"`
			CancelledAt              *string `json:"cancelledAt"`
			Fulfillments             []struct {
				ID string `json:"id"`
			} `json:"fulfillments"`
			FulfillmentOrders struct {
				PageInfo struct {
					HasNextPage bool `json:"hasNextPage"`
				} `json:"pageInfo"`
				Nodes []struct {
					ID               string `json:"id"`
					Status           string `json:"status"`
					AssignedLocation struct {
						Location *struct {
							ID string `json:"id"`
						} `json:"location"`
					} `json:"assignedLocation"`
					SupportedActions []struct {
						Action string `json:"action"`
					} `json:"supportedActions"`
					LineItems struct {
						PageInfo struct {
							HasNextPage bool `json:"hasNextPage"`
						} `json:"pageInfo"`
						Nodes []struct {
							RemainingQuantity int `json:"remainingQuantity"`
						} `json:"nodes"`
					} `json:"lineItems"`
				} `json:"nodes"`
			} `json:"fulfillmentOrders"`
		} `json:"order"`
	}
	if err := c.Do(ctx, orderFulfillmentQuery, map[string]any{"id": id}, &out); err != nil {
		return OrderFulfillment{}, err
	}
	o := out.Order
	if o == nil {
		return OrderFulfillment{}, problem.New(problem.NotFound, CodeOrderNotFound,
			"Shopify has no order "+id+" (or the token cannot see it)")
	}
	if o.FulfillmentOrders.PageInfo.HasNextPage {
		return OrderFulfillment{}, problem.New(problem.Rejected, CodeOrderTooLarge, "the order has more than 250 fulfilment orders; fulfil it by hand")
	}
	res := OrderFulfillment{ID: o.ID, Name: o.Name, DisplayFulfillmentStatus: o.DisplayFulfillmentStatus, Cancelled: o.CancelledAt != nil}
	for _, f := range o.Fulfillments {
		res.FulfillmentIDs = append(res.FulfillmentIDs, f.ID)
	}
	for _, n := range o.FulfillmentOrders.Nodes {
		if n.LineItems.PageInfo.HasNextPage {
			return OrderFulfillment{}, problem.New(problem.Rejected, CodeOrderTooLarge, "a fulfilment order has more than 250 lines; fulfil it by hand")
		}
		fo := FulfillmentOrderState{ID: n.ID, Status: n.Status}
		if n.AssignedLocation.Location != nil {
			fo.LocationID = n.AssignedLocation.Location.ID
		}
		for _, a := range n.SupportedActions {
			if a.Action == "CREATE_FULFILLMENT" {
				fo.CanFulfil = true
			}
		}
		for _, li := range n.LineItems.Nodes {
			fo.Remaining += li.RemainingQuantity
		}
		res.FulfillmentOrders = append(res.FulfillmentOrders, fo)
	}
	return res, nil
}

// Tracking is what a fulfilment carries to the customer.
type Tracking struct {
	Company string
	Numbers []string
	URLs    []string
}

const fulfillmentCreateMutation = `mutation FlowbridgeFulfil($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}`

// CreateFulfillment fulfils everything that remains on the fulfilment
// orders foIDs, which must be assigned to one location (fulfillmentCreate
// takes one location per call), with the tracking and notifyCustomer true.
//
// It is sent once: a 5xx or network failure leaves the outcome unknown,
// and the caller must re-read the fulfilment orders before trying again
// (Shopify refuses a second fulfilment of what is no longer remaining, and
// the fulfil service holds a lease meanwhile). A refusal comes back as a
// *problem.Error with code CodeUserErrors.
func (c *Client) CreateFulfillment(ctx context.Context, foIDs []string, t Tracking) (string, error) {
	groups := make([]map[string]any, len(foIDs))
	for i, id := range foIDs {
		groups[i] = map[string]any{"fulfillmentOrderId": id}
	}
	tracking := map[string]any{"numbers": nonNil(t.Numbers), "urls": nonNil(t.URLs)}
	if t.Company != "" {
		tracking["company"] = t.Company
	}
	vars := map[string]any{"fulfillment": map[string]any{
		"notifyCustomer":              true,
		"trackingInfo":                tracking,
		"lineItemsByFulfillmentOrder": groups,
	}}
	var out struct {
		FulfillmentCreate struct {
			Fulfillment *struct {
				ID string `json:"id"`
			} `json:"fulfillment"`
			UserErrors []UserError `json:"userErrors"`
		} `json:"fulfillmentCreate"`
	}
	once := *c
	once.MaxAttempts = 1
	if err := once.Do(ctx, fulfillmentCreateMutation, vars, &out); err != nil {
		return "", err
	}
	if ue := out.FulfillmentCreate.UserErrors; len(ue) > 0 {
		msgs := make([]string, len(ue))
		for i, u := range ue {
			msgs[i] = u.Message
		}
		return "", problem.New(problem.Rejected, CodeUserErrors, "Shopify refused the fulfilment: "+strings.Join(msgs, "; "))
	}
	if out.FulfillmentCreate.Fulfillment == nil {
		return "", problem.New(problem.Upstream, CodeBadResponse, "fulfillmentCreate answered neither a fulfilment nor userErrors")
	}
	return out.FulfillmentCreate.Fulfillment.ID, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const accessScopesQuery = `query FlowbridgeAccessScopes {
  currentAppInstallation { accessScopes { handle } }
}`

// AccessScopes lists the scopes the token was granted.
func (c *Client) AccessScopes(ctx context.Context) ([]string, error) {
	var out struct {
		CurrentAppInstallation struct {
			AccessScopes []struct {
				Handle string `json:"handle"`
			} `json:"accessScopes"`
		} `json:"currentAppInstallation"`
	}
	if err := c.Do(ctx, accessScopesQuery, nil, &out); err != nil {
		return nil, err
	}
	var s []string
	for _, a := range out.CurrentAppInstallation.AccessScopes {
		s = append(s, a.Handle)
	}
	return s, nil
}

// FulfilScopes is what POST /tracking/{id}/fulfil needs: read_orders and
// one write scope for the fulfilment orders (merchant-managed for a
// merchant's own locations; Shopify's schema lists the three that allow
// fulfillmentCreate).
func FulfilScopes(granted []string) (missing []string) {
	have := map[string]bool{}
	for _, g := range granted {
		have[g] = true
	}
	if !have["read_orders"] && !have["write_orders"] {
		missing = append(missing, "read_orders")
	}
	if !have["write_merchant_managed_fulfillment_orders"] && !have["write_assigned_fulfillment_orders"] && !have["write_third_party_fulfillment_orders"] {
		missing = append(missing, "write_merchant_managed_fulfillment_orders")
	}
	return missing
}
