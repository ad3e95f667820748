package shopify

import "context"

// ShopInfo is what setup and doctor print about the connected shop.
type ShopInfo struct {
	Name            string
	MyshopifyDomain string
	// Plan is plan.publicDisplayName ("Basic", "Grow", "Advanced", "Plus",
	// "Development", …). plan.displayName is deprecated in current versions.
	Plan               string
	ShopifyPlus        bool
	PartnerDevelopment bool
}

const shopQuery = `query FlowbridgeShop {
  shop {
    name
    myshopifyDomain
    plan { publicDisplayName shopifyPlus partnerDevelopment }
  }
}`

// ShopInfo reads the shop's name, domain and plan. It is the cheapest call that
// proves the domain and token are right, so both commands start with it.
func (c *Client) ShopInfo(ctx context.Context) (ShopInfo, error) {
	var out struct {
		Shop struct {
			Name            string `json:"name"`
			MyshopifyDomain string `json:"myshopifyDomain"`
			Plan            struct {
				PublicDisplayName  string `json:"publicDisplayName"`
				ShopifyPlus        bool   `json:"shopifyPlus"`
				PartnerDevelopment bool   `json:"partnerDevelopment"`
			} `json:"plan"`
		} `json:"shop"`
	}
	if err := c.Do(ctx, shopQuery, nil, &out); err != nil {
		return ShopInfo{}, err
	}
	s := out.Shop
	return ShopInfo{
		Name: s.Name, MyshopifyDomain: s.MyshopifyDomain, Plan: s.Plan.PublicDisplayName,
		ShopifyPlus: s.Plan.ShopifyPlus, PartnerDevelopment: s.Plan.PartnerDevelopment,
	}, nil
}

// PlanAllowsHTTPRequest reports whether Flow's "Send HTTP request" action is
// available: Grow, Advanced and Plus (and development shops, which have every
// feature). Basic and Starter lack it (reference/flow.md §1.1, confirmed by
// secondary sources only, so callers warn rather than fail). known is false
// for plan names this list does not cover.
func (s ShopInfo) PlanAllowsHTTPRequest() (ok, known bool) {
	if s.ShopifyPlus || s.PartnerDevelopment {
		return true, true
	}
	switch s.Plan {
	case "Grow", "Advanced", "Plus", "Plus Trial", "Development":
		return true, true
	case "Basic", "Starter", "Lite":
		return false, true
	}
	return false, false
}
