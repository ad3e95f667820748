package handlers

// Response bodies. Keys are stable: Flow templates parse them with
// JSON.parse in a Run code step and branch on them. Every field is always
// present (no omitempty) so a Run code output schema never meets a missing key.

type rateOption struct {
	ID       string `json:"id"`
	Carrier  string `json:"carrier"`
	Service  string `json:"service"`
	Price    string `json:"price"`
	Currency string `json:"currency"`
	MinDays  int    `json:"min_days"`
	MaxDays  int    `json:"max_days"`
}

type ratesOut struct {
	OK             bool         `json:"ok"`
	ShippingCostID string       `json:"shipping_cost_id"`
	Carrier        string       `json:"carrier"`
	Service        string       `json:"service"`
	Price          string       `json:"price"`
	Currency       string       `json:"currency"`
	MinDays        int          `json:"min_days"`
	MaxDays        int          `json:"max_days"`
	Choice         string       `json:"choice"`
	Reason         string       `json:"reason"`
	OptionsCount   int          `json:"options_count"`
	Options        []rateOption `json:"options"`
	Supplier       string       `json:"supplier"`
	TestMode       bool         `json:"test_mode"`
}

type placedOut struct {
	OK              bool   `json:"ok"`
	Outcome         string `json:"outcome"`
	OrderID         string `json:"order_id"`
	SupplierOrderID string `json:"supplier_order_id"`
	SupplierStatus  string `json:"supplier_status"`
	Replay          bool   `json:"replay"`
	PayloadChanged  bool   `json:"payload_changed"`
	NeedsReview     bool   `json:"needs_review"`
	Supplier        string `json:"supplier"`
	TestMode        bool   `json:"test_mode"`
	// A supplier may split the order (BigBuy: one order per warehouse):
	// every number, how many parts, and whether one was not created.
	SupplierOrderIDs []string `json:"supplier_order_ids"`
	PartsCount       int      `json:"parts_count"`
	Partial          bool     `json:"partial"`
}

type reviewOut struct {
	OK              bool   `json:"ok"`
	Outcome         string `json:"outcome"`
	NeedsReview     bool   `json:"needs_review"`
	OrderID         string `json:"order_id"`
	SupplierOrderID string `json:"supplier_order_id"`
	ReviewReason    string `json:"review_reason"`
	Supplier        string `json:"supplier"`
	TestMode        bool   `json:"test_mode"`
}

type trackingOut struct {
	OK              bool     `json:"ok"`
	SupplierOrderID string   `json:"supplier_order_id"`
	Status          string   `json:"status"`
	RawStatus       string   `json:"raw_status"`
	Pending         bool     `json:"pending"`
	Processing      bool     `json:"processing"`
	Shipped         bool     `json:"shipped"`
	Delivered       bool     `json:"delivered"`
	Cancelled       bool     `json:"cancelled"`
	Unknown         bool     `json:"unknown"`
	Fulfillable     bool     `json:"fulfillable"`
	Carrier         string   `json:"carrier"`
	TrackingCompany string   `json:"tracking_company"`
	TrackingNumber  string   `json:"tracking_number"`
	TrackingURL     string   `json:"tracking_url"`
	TrackingNumbers []string `json:"tracking_numbers"`
	TrackingURLs    []string `json:"tracking_urls"`
	ParcelsCount    int      `json:"parcels_count"`
	CheckedAt       string   `json:"checked_at"`
	Supplier        string   `json:"supplier"`
	TestMode        bool     `json:"test_mode"`
	// Parts of a split order, combined above.
	SupplierOrderIDs []string `json:"supplier_order_ids"`
	PartsCount       int      `json:"parts_count"`
	PartlyCancelled  bool     `json:"partly_cancelled"`
}

type healthOut struct {
	OK     bool   `json:"ok"`
	Status string `json:"status"`
}

type readyOut struct {
	OK     bool              `json:"ok"`
	Checks map[string]string `json:"checks"`
}
