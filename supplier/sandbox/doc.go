// Package sandbox is flowbridge's built-in supplier: an in-process,
// deterministic wholesaler with a fixed catalogue, per-country shipping
// rates and orders that move pending → processing → shipped → delivered on
// a clock the caller controls. It needs no credentials and no network, so
// the service, its tests and the Flow simulator can run every branch of the
// Flow chain without a real supplier.
//
// # Catalogue and rates
//
// Catalogue returns the products (keyed by GTIN: EAN-13, one EAN-8, one
// UPC-A). Rates quotes GLS, SEUR, DHL and Correos by zone (Spain mainland,
// Spanish islands/Ceuta/Melilla, EU, rest of Europe, world) and cart weight.
// Country AQ and postal code 00000 have no option at all (empty list). Rate
// ids are bound to (carrier, country, postcode): ordering with an id quoted
// for another destination is rejected with invalid_shipping_rate. Stock is a
// fixed property of the catalogue (orders do not consume it) and is checked
// when an order is created, so the answer never depends on earlier tests.
//
// # Triggers
//
// A merchant drives the edge cases from the shipping address line 2
// (Order.ShipTo.Address2). Tokens are separated by spaces, commas or
// semicolons and matched case-insensitively; an unknown "sandbox:" token is
// refused with invalid_address so a typo is never silently ignored.
//
//	sandbox:cancel               cancelled (no parcels) when it would have shipped
//	sandbox:never-ship           processing forever
//	sandbox:ship-after=<dur>     ships at creation + dur (Go duration, e.g. 30h)
//	sandbox:split                ships as two parcels
//	sandbox:drop-after-create    created, but the first create per reference
//	                             answers supplier.OutcomeUnknown
//	sandbox:fail-before-create   first create per reference answers 503-style
//	                             supplier_unavailable without creating
//	sandbox:delay=<dur>          created at once, answer held back for dur
//	                             (ctx ending first → OutcomeUnknown)
//	sandbox:reject               refused with supplier_rejected
//
// Test-mode orders (Order.TestMode) stay pending forever, like an unpaid
// bank-transfer order at BTS, unless a timeline trigger (cancel, never-ship,
// ship-after, split) is present; then they follow that trigger.
//
// The sandbox does not deduplicate by reference: like BTS, a second create
// with the same reference makes a second order. Preventing that is
// flowbridge's job; Stats().Creates lets tests check it.
//
// docs/sandbox.md has the full tables.
package sandbox
