// Package bigbuy is flowbridge's adapter for the BigBuy dropshipping API
// (https://api.bigbuy.eu/rest, sandbox https://api.sandbox.bigbuy.eu/rest).
//
// It speaks BigBuy's wire format (Bearer key, JSON, paths ending in
// ".json", order payloads wrapped in {"order": …}) and turns every answer
// into the normalised supplier model and *problem.Error values. Retries,
// the circuit breaker, the shared ~1 req/s rate limit per endpoint and tracing live in
// the *http.Client handed in through Config (package supplier/resilient);
// this package only marks idempotent reads with supplier.Retryable.
//
// # Exactly once
//
// Orders carry internalReference = supplier.Order.Reference (the Shopify
// order number). After an unknown create outcome flowbridge calls FindOrder,
// which asks GET /rest/order/reference/{ref}.json: a 404 carrying BigBuy's
// {"code":404,…} body is the only answer taken as "no such order"; a 5xx, an
// empty 200 or anything else proves nothing and is reported as Unavailable.
// A create answered with ER008 ("order already exists", data.orderId) is
// adopted as a successful placement.
//
// # Assumptions (the API reference is not public in full)
//
// Each assumption lives in exactly one place in the code, named here:
//
//   - Status strings of GET /rest/order/{id}.json are not documented.
//     statusTable (status.go) lists the values we expect and the real
//     "PENDING INVOICE"; a numeric status is named through
//     GET /rest/order/orderstatuses.json. Anything else is StatusUnknown
//     with the raw value, logged and reported to Config.OnUnknownStatus.
//   - A tracking number proves the parcel left BigBuy: pending/processing
//     orders that have one are reported as shipped (statusWithParcels).
//   - Shipping options' service names are the carriers' own names; the
//     Order API's carrier code for each comes from one table (createCodes,
//     carriers.go). Currency is EUR (currency).
//   - Tracking entries name carriers by id; names come from
//     GET /rest/tracking/carriers.json (cached), links from package
//     supplier/carrierlink.
//   - The shape of a multishipping errors[] element is undocumented
//     (multiError, multishipping.go).
//   - There is no product-by-EAN endpoint. The default Catalog pages
//     GET /rest/catalog/products.json and productsvariations.json and indexes
//     their "sku"/"ean13" fields (FeedCatalog, catalog.go). Those lists
//     allow about 10 calls per hour, so the index is built incrementally
//     (RunCatalog, WarmCatalog, and lookups that miss), kept in memory for
//     Config.CatalogTTL (default 12 h) and rebuilt the same way. EANs seen
//     so far are answered at once; an EAN that only a complete, fresh index
//     could rule out becomes Unavailable (Flow re-sends), never the final
//     unmatched_ean.
//   - ER009 ("temporary order error") means nothing was created, so it is
//     Unavailable, not outcome-unknown (errors.go, orderErrors).
//   - An empty 200 answer to the reference lookup proves nothing
//     (production answers 404 for an unknown reference).
//   - Test mode places the order with Config.TestPaymentMethod (default
//     "bankwire"): BigBuy keeps a bank-transfer order waiting for payment, so
//     it stays pending and can be cancelled. Pointing BaseURL/APIKey at the
//     sandbox is the other, independent way to test.
package bigbuy
