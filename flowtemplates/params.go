// Package flowtemplates generates the Shopify Flow workflows that drive
// flowbridge (stage 1: rates and order placement on payment; stage 2: the
// staggered tracking checks) from one parameterised definition.
package flowtemplates

import "time"

// Params is everything a merchant may change in the workflows.
type Params struct {
	// BaseURL is where flowbridge is reachable from Shopify (https).
	BaseURL string
	// SecretName is the name of the Flow secret holding the shared key;
	// workflows send it as "Authorization: Bearer {{ secrets.<name> }}".
	SecretName string
	// Namespace and keys of the order metafields the workflows write and read.
	// Their case must match the definitions exactly.
	Namespace        string
	ShippingCostKey  string
	SupplierOrderKey string
	// Schedule is the wait before each tracking check (seven by default).
	Schedule []time.Duration
	// AlertEmails receive internal alerts (needs review, cancelled, no tracking).
	AlertEmails []string
	// Hold, when non-zero, waits this long after payment before placing the
	// supplier order, then skips placement if the order was cancelled.
	Hold time.Duration
	// Carriers overrides the service's carrier preference list when non-empty.
	Carriers []string
	// FulfilBy chooses who fulfils the Shopify order when the supplier
	// ships: FulfilByFlowbridge (the lean workflow: flowbridge calls the
	// Admin API itself, POST /tracking/{id}/fulfil) or FulfilByFlow (each
	// check parses the answer and Flow's Send Admin API request fulfils).
	FulfilBy string
	// BranchOnStatus (lean workflow only) branches on the Send HTTP
	// request's status in Conditions, without a Run code step. No Shopify
	// source confirms a Condition can read `status`; use it after checking
	// in the editor's variable picker.
	BranchOnStatus bool
	// TaskIDs overrides task ids (and versions) of the task table by name,
	// for when an exported workflow shows Flow's real ids.
	TaskIDs map[string]TaskRef
}

// Fulfilment modes.
const (
	FulfilByFlowbridge = "flowbridge"
	FulfilByFlow       = "flow"
)

// Tasks returns the task table with p's overrides applied.
func (p Params) Tasks() (Tasks, error) {
	return TaskTable().WithOverrides(p.TaskIDs)
}

// Defaults returns the parameters the committed templates are built with.
func Defaults() Params {
	return Params{
		BaseURL:          "https://flowbridge.example.com",
		SecretName:       "FLOWBRIDGE_API_KEY",
		Namespace:        "flowbridge",
		ShippingCostKey:  "shipping_cost_id",
		SupplierOrderKey: "supplier_order_id",
		Schedule: []time.Duration{
			24 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
			24 * time.Hour, 48 * time.Hour, 72 * time.Hour,
		},
		AlertEmails: []string{"ops@example.com"},
		FulfilBy:    FulfilByFlowbridge,
	}
}

// Metafield is an order metafield definition the workflows depend on.
type Metafield struct {
	Namespace   string
	Key         string
	Type        string // Shopify metafield type, e.g. single_line_text_field
	Name        string
	Description string
}

// Metafields lists the order metafield definitions that must exist before
// the workflows run (Flow fails silently on undefined metafields).
func (p Params) Metafields() []Metafield {
	return []Metafield{
		{Namespace: p.Namespace, Key: p.ShippingCostKey, Type: "single_line_text_field",
			Name: "Supplier shipping cost id", Description: "Shipping option chosen by flowbridge /rates; sent back with the supplier order."},
		{Namespace: p.Namespace, Key: p.SupplierOrderKey, Type: "single_line_text_field",
			Name: "Supplier order number", Description: "The wholesaler's order number, written by flowbridge stage 1; read by the tracking checks."},
	}
}
