// Package bts is flowbridge's adapter for the BTS Wholesaler dropshipping
// API (https://api.btswholesaler.com/v1/api, vendor document "API v2.1").
//
// # Wire format
//
// Every call carries "Authorization: Bearer <JWT>". Reads are GET with
// PHP-style bracketed query keys (address[country_code]=ES,
// products[0][sku]=<EAN>); setCreateOrder is a POST with an
// application/x-www-form-urlencoded body. Products are keyed by EAN, never by
// BTS's numeric product id. Prices are EUR.
//
// Endpoints used: getShippingPrices (Rates), setCreateOrder (CreateOrder),
// getOrder and getTrackings (Tracking), getProductStock (Products),
// getCountries (CheckCredentials).
//
// # What BTS cannot do
//
// BTS takes no client reference and has no order listing, so an order whose
// creation outcome is unknown cannot be found again through the API:
// Capabilities reports ClientReference=false and LookupByReference=false, and
// FindOrder always returns problem.CodeLookupUnsupported. There is no
// sandbox either; test mode pays by bank transfer so the order stays
// "Pending Payment", is not charged, and is cancelled by the BTS account
// manager.
//
// # CreateOrder failure classification
//
// A CreateOrder error wrapped with supplier.OutcomeUnknown means "the order
// may exist at BTS"; every other error guarantees it does not. The rule:
//
//   - Proven not sent, plain problem: the context was already done before the
//     call; the request could not be built; the transport failed before the
//     request headers were written (connection refused, DNS failure, a
//     breaker or limiter in the transport refusing the call), as observed with
//     net/http/httptrace.
//   - Clear refusal, plain problem: a business error string in the body
//     (no_stock, product_error, …) whatever the HTTP status; 400, 401, 403,
//     404 and 429 without such a string (BTS answered, and these statuses
//     mean the request was not processed).
//   - Outcome unknown: any transport error after the request headers were
//     written (timeout, reset, the server closing the connection); any 5xx
//     (the PHP side may have inserted the order and then failed); a 2xx whose
//     body is unreadable, not JSON, or carries no usable order number.
//
// # Error mapping (all operations)
//
//   - Business strings → problem codes, see businessError in errors.go.
//     payment_method_error is treated as an operator configuration problem
//     (the account does not allow the configured payment method): kind
//     Unavailable, code payment_method_rejected, so Flow keeps re-sending
//     while the operator fixes FLOWBRIDGE_BTS_PAYMENT_METHOD or the account.
//   - 401/403 → Unavailable supplier_auth_failed. It is an operator problem a
//     client retry cannot fix quickly, but a 4xx would make Shopify Flow drop
//     the order for good; as a 503 Flow keeps re-sending for 24 h, so orders
//     go through once the token is fixed. CheckCredentials at start-up says
//     which token problem it probably is.
//   - 429 → Unavailable supplier_rate_limited with RetryAfter from the header
//     (seconds or HTTP date), 5 s when absent.
//   - 5xx, timeouts, connection errors on reads → Unavailable
//     supplier_unavailable.
//   - Malformed or truncated JSON on reads → Upstream supplier_bad_response.
//   - 404 without a business string → Upstream supplier_bad_response naming
//     the base URL (BTS documents 404 as "endpoint not found or feed
//     disabled"), except a getOrder 404 with a JSON body, which is BTS
//     saying order_not_found.
//
// # Assumptions where the API is not public
//
// Each assumption lives in one place in the code:
//
//   - Business error body shape (errors.go, errorCandidates): undocumented.
//     The error string is looked for in a bare JSON string, in the fields
//     error, message, msg, code, status, result, errors of a JSON object (one
//     level of nesting), or in a short plain-text body.
//   - getShippingPrices shape (rates.go): array or object keyed by index;
//     numbers possibly strings; shipping_cost may carry "€" and a decimal
//     comma. delivery_time is business days; a range "2-3" is accepted.
//     free_shipping is the subtotal above which the option costs 0; the
//     subtotal is taken at getProductStock's prices (applyFreeShipping).
//     Options without an id or a parseable cost are skipped and logged.
//   - setCreateOrder answer (orders.go): the documented object or a bare JSON
//     string order number. A valid order number is 6–20 digits
//     (validOrderNumber). Without an order_status the status is pending.
//   - Raw order statuses (status.go, statusTable): English values from the
//     vendor document plus Spanish, German, French and Italian variants,
//     because the API may answer in the account's language. Anything else is
//     StatusUnknown with the raw value kept, logged and reported to
//     Config.OnUnknownStatus.
//   - Tracking (carriers.go): BTS returns no tracking URL; URLs come from
//     package supplier/carrierlink. A tracking value may hold several numbers
//     separated by commas, semicolons or whitespace (one Parcel each). A
//     leading "CARRIER-" prefix naming a carrier of the table
//     ("GLS-9876543210") is stripped, because carriers' tracking pages want
//     the bare number, and that carrier names the parcel; otherwise the
//     parcel's carrier is getOrder's shipping_company.
//   - getTrackings is asked only when getOrder has no tracking and the order
//     is past payment; its order_not_found means "no tracking yet". A failing
//     getTrackings does not fail Tracking (getOrder already answered).
//   - getProductStock (products.go): products as an object keyed by EAN (the
//     documented shape) or an array of objects carrying ean/product_sku/sku;
//     stock and price possibly strings. Indexed keys product_sku[i] are sent.
//   - A token pasted with a leading "Bearer " is accepted (the prefix is
//     dropped).
package bts
