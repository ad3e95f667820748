package flowtemplates

import (
	"encoding/json"
	"fmt"
	"strings"
)

// This file holds the text merchants paste into Flow: Run code scripts,
// their input queries and output schemas, the Liquid request bodies and the
// alert e-mails. Everything is plain text so the build guide can show it
// verbatim and the simulator can execute exactly what the JSON holds.

// parseHelper is shared by every Run code script. Flow's Run code cannot
// import modules, so each script carries its own copy.
const parseHelper = `// The service answers flat JSON with "ok"; anything else (an HTML error
// page from a proxy, an empty body) is reported as unparseable so the
// workflow alerts instead of guessing.
function parseBody(res) {
  const status = res && typeof res.status === "number" ? res.status : 0;
  let body = null;
  try {
    body = JSON.parse(res && res.body ? res.body : "");
  } catch (e) {
    body = null;
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return { status: status, body: {}, parsed: false };
  }
  return { status: status, body: body, parsed: true };
}

function str(v) {
  return v === undefined || v === null ? "" : String(v);
}

function strList(v) {
  return Array.isArray(v) ? v.filter(function (x) { return x !== null && x !== undefined && x !== ""; }).map(String) : [];
}

function failure(r) {
  if (!r.parsed) {
    return { code: "unparseable_response", detail: "flowbridge answered HTTP " + r.status + " with a body that is not JSON" };
  }
  return { code: str(r.body.code) || "http_" + r.status, detail: str(r.body.detail) || str(r.body.title) };
}
`

// runCode is one Run code step's three fields.
type runCode struct {
	Input  string
	Script string
	Output string
}

func ratesParser(httpVar string) runCode {
	return runCode{
		Input: fmt.Sprintf("query {\n  %s {\n    status\n    body\n  }\n}\n", httpVar),
		Script: parseHelper + fmt.Sprintf(`
export default function main(input) {
  const r = parseBody(input.%s);
  const ok = r.parsed && r.status >= 200 && r.status < 300 && r.body.ok === true && str(r.body.shipping_cost_id) !== "";
  const f = ok ? { code: "", detail: "" } : failure(r);
  return {
    ok: ok,
    status: r.status,
    code: f.code,
    detail: f.detail,
    shippingCostId: str(r.body.shipping_cost_id),
    carrier: str(r.body.carrier),
    price: str(r.body.price),
    currency: str(r.body.currency),
  };
}
`, httpVar),
		Output: `type Output {
  "true when flowbridge quoted a shipping option"
  ok: Boolean!
  "HTTP status of the /rates call"
  status: Int!
  "flowbridge problem code when ok is false (no_shipping_option, unmatched_ean, ...)"
  code: String!
  "human explanation when ok is false"
  detail: String!
  "the chosen option, sent back with the order"
  shippingCostId: String!
  carrier: String!
  price: String!
  currency: String!
}
`,
	}
}

func placeParser(httpVar string) runCode {
	return runCode{
		Input: fmt.Sprintf("query {\n  %s {\n    status\n    body\n  }\n}\n", httpVar),
		Script: parseHelper + fmt.Sprintf(`
export default function main(input) {
  const r = parseBody(input.%s);
  const b = r.body;
  const needsReview = r.parsed && b.needs_review === true;
  const ok = r.parsed && r.status >= 200 && r.status < 300 && b.ok === true && !needsReview && str(b.supplier_order_id) !== "";
  const f = ok ? { code: "", detail: "" } : (needsReview ? { code: "needs_review", detail: str(b.review_reason) } : failure(r));
  return {
    ok: ok,
    status: r.status,
    code: f.code,
    detail: f.detail,
    needsReview: needsReview,
    reviewReason: str(b.review_reason),
    outcome: str(b.outcome),
    supplierOrderId: str(b.supplier_order_id),
    supplierStatus: str(b.supplier_status),
    testMode: b.test_mode === true,
    partial: ok && b.partial === true,
    partsCount: typeof b.parts_count === "number" ? b.parts_count : 0,
  };
}
`, httpVar),
		Output: `type Output {
  "true when the supplier order exists and needs nobody"
  ok: Boolean!
  "HTTP status of the /orders call"
  status: Int!
  "flowbridge problem code when ok is false"
  code: String!
  "human explanation when ok is false"
  detail: String!
  "the outcome at the supplier is unknown; a person must check"
  needsReview: Boolean!
  "what the person must check"
  reviewReason: String!
  "placed, replayed, reconciled, recorded or needs_review"
  outcome: String!
  "the wholesaler's order number"
  supplierOrderId: String!
  supplierStatus: String!
  testMode: Boolean!
  "the supplier split the order and only some parts were created"
  partial: Boolean!
  "how many supplier orders the order was split into"
  partsCount: Int!
}
`,
	}
}

func trackingParser(httpVar string) runCode {
	return runCode{
		Input: fmt.Sprintf("query {\n  %s {\n    status\n    body\n  }\n  order {\n    fulfillmentOrders {\n      id\n      status\n      assignedLocation {\n        location {\n          id\n        }\n      }\n    }\n  }\n}\n", httpVar),
		Script: parseHelper + fmt.Sprintf(`
// Fulfilment orders that can still take a fulfilment; the tracking lands
// on these.
const OPEN_STATUSES = ["OPEN", "IN_PROGRESS"];

export default function main(input) {
  const r = parseBody(input.%s);
  const b = r.body;
  const ok = r.parsed && r.status >= 200 && r.status < 300 && b.ok === true;
  const f = ok ? { code: "", detail: "" } : failure(r);
  const numbers = ok ? strList(b.tracking_numbers) : [];
  if (ok && numbers.length === 0 && str(b.tracking_number) !== "") {
    numbers.push(str(b.tracking_number));
  }
  const urls = ok ? strList(b.tracking_urls) : [];
  if (ok && urls.length === 0 && str(b.tracking_url) !== "") {
    urls.push(str(b.tracking_url));
  }
  const company = str(b.tracking_company) || str(b.carrier);
  // fulfillmentCreate takes fulfilment orders of one location only, so
  // group the open ones by assigned location: one input per location,
  // each carrying every parcel's number and URL.
  const byLocation = {};
  const order = [];
  const fos = (input.order && input.order.fulfillmentOrders) || [];
  fos.forEach(function (fo) {
    if (OPEN_STATUSES.indexOf(String(fo.status).toUpperCase()) < 0) {
      return;
    }
    const loc = fo.assignedLocation && fo.assignedLocation.location ? str(fo.assignedLocation.location.id) : "";
    if (!byLocation[loc]) {
      byLocation[loc] = [];
      order.push(loc);
    }
    byLocation[loc].push({ fulfillmentOrderId: String(fo.id) });
  });
  const fulfillments = order.map(function (loc) {
    const tracking = { numbers: numbers, urls: urls };
    if (company !== "") {
      tracking.company = company;
    }
    return {
      locationId: loc,
      input: JSON.stringify({
        fulfillment: { notifyCustomer: true, trackingInfo: tracking, lineItemsByFulfillmentOrder: byLocation[loc] },
      }),
    };
  });
  return {
    ok: ok,
    status: r.status,
    code: f.code,
    detail: f.detail,
    supplierStatus: ok ? str(b.status) : f.code,
    rawStatus: str(b.raw_status),
    fulfillable: ok && b.fulfillable === true && numbers.length > 0,
    cancelled: ok && b.cancelled === true,
    partlyCancelled: ok && b.partly_cancelled === true,
    trackingCompany: company,
    trackingNumbers: numbers,
    trackingUrls: urls,
    parcelsCount: numbers.length,
    checkedAt: str(b.checked_at),
    openFulfillmentOrders: order.reduce(function (n, loc) { return n + byLocation[loc].length; }, 0),
    fulfillments: fulfillments,
  };
}
`, httpVar),
		Output: `type Output {
  "true when flowbridge answered with a tracking status"
  ok: Boolean!
  "HTTP status of the /tracking call"
  status: Int!
  "flowbridge problem code when ok is false (order_not_found, ...)"
  code: String!
  detail: String!
  "pending, processing, shipped, delivered, cancelled or unknown (the problem code when ok is false)"
  supplierStatus: String!
  "the supplier's own status text"
  rawStatus: String!
  "shipped or delivered with at least one tracking number"
  fulfillable: Boolean!
  "the supplier cancelled the order"
  cancelled: Boolean!
  "the supplier cancelled some, not all, parts of a split order"
  partlyCancelled: Boolean!
  trackingCompany: String!
  "one per parcel"
  trackingNumbers: [String!]!
  trackingUrls: [String!]!
  parcelsCount: Int!
  checkedAt: String!
  "fulfilment orders of this order still open (OPEN or IN_PROGRESS)"
  openFulfillmentOrders: Int!
  "one fulfillmentCreate per location of the open fulfilment orders"
  fulfillments: [Fulfillment!]!
}

type Fulfillment {
  "the location the fulfilment orders are assigned to"
  locationId: String!
  "the Mutation inputs of fulfillmentCreate for that location (JSON)"
  input: String!
}
`,
	}
}

// headersJSON is the Send HTTP request headers field: a JSON array of
// [name, value] pairs, as a string.
func headersJSON(p Params, withBody bool) string {
	pairs := [][2]string{}
	if withBody {
		pairs = append(pairs, [2]string{"Content-Type", "application/json"})
	}
	pairs = append(pairs, [2]string{"Accept", "application/json"},
		[2]string{"Authorization", "Bearer {{ secrets." + p.SecretName + " }}"})
	b, _ := json.Marshal(pairs) // [][2]string always marshals
	return string(b)
}

// lineItemsLiquid renders the order's lines. The quantity is
// currentQuantity: LineItem.quantity still counts refunded and removed
// units (Admin schema), which the supplier must not ship. (A line edited
// down to zero still goes out with quantity 0; the service refuses it with
// a clear error rather than silently dropping it.)
func lineItemsLiquid() string {
	price := `, "price": {{ li.originalUnitPriceSet.shopMoney.amount | json }}`
	return `[{% for li in order.lineItems %}
    {"barcode": {{ li.variant.barcode | json }}, "sku": {{ li.sku | json }}, "quantity": {{ li.currentQuantity | json }}` + price + `}{% unless forloop.last %},{% endunless %}{% endfor %}
  ]`
}

func carriersJSON(p Params) string {
	if len(p.Carriers) == 0 {
		return ""
	}
	b, _ := json.Marshal(p.Carriers)
	return ",\n  \"preferred_carriers\": " + string(b)
}

// ratesBody is POST /rates (docs/DESIGN.md), every variable through | json.
// It sends shop, prices and currency like /orders does: shop keys the
// order in multi-shop deployments (without it /rates and /orders would key
// one order under two shops), and prices with their currency are what a
// supplier needs for value-dependent options (insurance, free-shipping
// thresholds). The README shows exactly this body (a test checks).
func ratesBody(p Params) string {
	return `{
  "order_id": {{ order.id | json }},
  "shop": {{ shop.myshopifyDomain | json }},
  "shipping_address": {
    "country_code": {{ order.shippingAddress.countryCodeV2 | json }},
    "zip": {{ order.shippingAddress.zip | json }}
  },
  "line_items": ` + lineItemsLiquid() + `,
  "currency": {{ order.currencyCode | json }}` + carriersJSON(p) + `
}`
}

// RatesBody and OrdersBody are the request bodies the generated workflow
// sends for p (the README quotes the default ones).
func RatesBody(p Params) string { return ratesBody(p) }

// OrdersBody: see RatesBody; ratesVar is the rates Run code step's variable.
func OrdersBody(p Params, ratesVar string) string { return ordersBody(p, ratesVar) }

// ordersBody is POST /orders (docs/DESIGN.md). supplier_order_id is the
// order's supplier-order metafield, so the service creates nothing when a
// previous run already stored a number.
func ordersBody(p Params, ratesVar string) string {
	return `{
  "order_id": {{ order.id | json }},
  "order_name": {{ order.name | json }},
  "shop": {{ shop.myshopifyDomain | json }},
  "email": {{ order.email | json }},
  "phone": {{ order.phone | json }},
  "shipping_address": {
    "first_name": {{ order.shippingAddress.firstName | json }},
    "last_name": {{ order.shippingAddress.lastName | json }},
    "company": {{ order.shippingAddress.company | json }},
    "address1": {{ order.shippingAddress.address1 | json }},
    "address2": {{ order.shippingAddress.address2 | json }},
    "city": {{ order.shippingAddress.city | json }},
    "zip": {{ order.shippingAddress.zip | json }},
    "province_code": {{ order.shippingAddress.provinceCode | json }},
    "country_code": {{ order.shippingAddress.countryCodeV2 | json }},
    "phone": {{ order.shippingAddress.phone | json }}
  },
  "line_items": ` + lineItemsLiquid() + `,
  "currency": {{ order.currencyCode | json }},
  "shipping_cost_id": {{ ` + ratesVar + `.shippingCostId | json }},
  "payment_gateway_names": [{% for g in order.paymentGatewayNames %}{{ g | json }}{% unless forloop.last %}, {% endunless %}{% endfor %}],
  "supplier_order_id": {{ order.` + CamelHandle(p.SupplierOrderKey) + `.value | json }}
}`
}

func trackingURL(p Params) string {
	return strings.TrimRight(p.BaseURL, "/") + "/tracking/{{ order." + CamelHandle(p.SupplierOrderKey) + ".value | url_encode }}"
}

// FulfillmentMutation is the mutation the Send Admin API request steps run.
const FulfillmentMutation = "fulfillmentCreate"

// fulfillmentInputs is the Mutation inputs field: one value the Run code
// step prepared, unchanged. Shopify documents the json and url_encode
// filters for the HTTP action's body and URL only, and its own Admin API
// request examples build the inputs without filters, so nothing here
// depends on a filter working in this field.
func fulfillmentInputs(item string) string {
	return "{{ " + item + ".input }}"
}

// fulfillmentCall is the Send Admin API request api_call value for
// fulfillmentCreate (not the deprecated fulfillmentCreateV2): the mutation
// name and the inputs, as the workflow JSON stores them ({"name","blob"}).
// In the editor they are two fields; the build guide shows them apart.
func fulfillmentCall(trackVar string) string {
	b, _ := json.Marshal(struct {
		Name string `json:"name"`
		Blob string `json:"blob"`
	}{FulfillmentMutation, fulfillmentInputs(forEachItem(trackVar + ".fulfillments"))})
	return string(b)
}

// forEachItem is the variable For each exposes for one item of listpath:
// the list's last path element + "Foreachitem" (Flow skill: order.lineItems
// → lineItemsForeachitem).
func forEachItem(listpath string) string {
	parts := strings.Split(listpath, ".")
	return parts[len(parts)-1] + "Foreachitem"
}

// Alert e-mails. Each names the order and says what a person must do.

func holdEditedEmail(p Params) (subject, message string) {
	return "flowbridge: order {{ order.name }} was edited during the hold and was NOT sent to the supplier",
		`Order {{ order.name }} ({{ order.id }}) was edited after payment, during the ` + p.Hold.String() + ` hold before placement.
flowbridge did not place it with the supplier, because the edit may have changed the items or the address.

What to do:
- Check the order in Shopify admin.
- Place it with the supplier by hand (or run this workflow on it again).
- Write the supplier's order number into the order metafield ` + p.Namespace + `.` + p.SupplierOrderKey + `, then fulfil the order when the supplier ships.
`
}

func ratesFailedEmail(p Params, rv string) (subject, message string) {
	return "flowbridge: order {{ order.name }} was NOT sent to the supplier ({{ " + rv + ".code }})",
		`Order {{ order.name }} ({{ order.id }}) is paid, but flowbridge could not get a shipping option for it, so no supplier order was placed.

Reason: {{ ` + rv + `.code }} (HTTP {{ ` + rv + `.status }})
{{ ` + rv + `.detail }}

What to do:
{% if ` + rv + `.code == "unmatched_ean" %}- The supplier does not know one or more of the order's barcodes (EAN). Correct the variant Barcode in Shopify for the lines named above, or choose another product with the customer.
{% elsif ` + rv + `.code == "no_shipping_option" %}- The supplier offers no shipping option for this address and cart ({{ order.shippingAddress.countryCodeV2 }} {{ order.shippingAddress.zip }}). Check the address and the carrier list (FLOWBRIDGE_CARRIERS).
{% else %}- Check flowbridge's log for order {{ order.name }} and fix the cause shown above.
{% endif %}- Then place the order with the supplier by hand (or run this workflow on it again), write the supplier's order number into the order metafield ` + p.Namespace + `.` + p.SupplierOrderKey + `, and fulfil it when the supplier ships.
`
}

func placeFailedEmail(p Params, pv string) (subject, message string) {
	base := strings.TrimRight(p.BaseURL, "/")
	return "flowbridge: order {{ order.name }} needs a person ({{ " + pv + ".code }})",
		`Order {{ order.name }} ({{ order.id }}) could not be placed with the supplier automatically.

Outcome: {{ ` + pv + `.outcome }} (HTTP {{ ` + pv + `.status }}), code {{ ` + pv + `.code }}
{{ ` + pv + `.detail }}

What to do:
{% if ` + pv + `.needsReview %}- The supplier may or may not have this order: {{ ` + pv + `.reviewReason }}
- Look the order up in the supplier's portal. If it exists, adopt it:
  POST ` + base + `/admin/orders/<order number>/resolve  {"action":"adopt","supplier_order_id":"<supplier number>"}
  and write that number into the order metafield ` + p.Namespace + `.` + p.SupplierOrderKey + `.
- If it does not exist, release it so it can be placed again:
  POST ` + base + `/admin/orders/<order number>/resolve  {"action":"release"}  and run this workflow on the order again.
{% else %}- The supplier refused the order. Fix the cause above (stock, address, funds, product) and place it by hand,
  then write the supplier's order number into the order metafield ` + p.Namespace + `.` + p.SupplierOrderKey + `.
{% endif %}- Tracking for this order will not be checked automatically; fulfil it by hand when it ships.
`
}

func cancelledEmail(p Params, status, raw, checked string, check, total int) (subject, message string) {
	return "flowbridge: the supplier CANCELLED order {{ order.name }}",
		`The supplier cancelled its order for {{ order.name }} ({{ order.id }}) — seen at tracking check ` + fmt.Sprint(check) + ` of ` + fmt.Sprint(total) + `.

Customer: {{ order.customer.firstName }} {{ order.customer.lastName }} <{{ order.email }}>
Supplier order number: {{ order.` + CamelHandle(p.SupplierOrderKey) + `.value }}
Supplier status: {{ ` + status + ` }} ({{ ` + raw + ` }}), checked {{ ` + checked + ` }}

What to do:
- Ask the supplier why, then either place the order again (by hand or another supplier) or refund the customer.
- Nothing was fulfilled in Shopify and the customer was not notified.
`
}

func noTrackingEmail(p Params, status, raw, detail, checked string, total int) (subject, message string) {
	return "flowbridge: no tracking for order {{ order.name }} after " + fmt.Sprint(total) + " checks",
		`Order {{ order.name }} has not shipped after ` + fmt.Sprint(total) + ` tracking checks (` + scheduleText(p) + `).

Order: {{ order.name }} ({{ order.id }})
Customer: {{ order.customer.firstName }} {{ order.customer.lastName }} <{{ order.email }}>
Ship to: {{ order.shippingAddress.city }} {{ order.shippingAddress.zip }} {{ order.shippingAddress.countryCodeV2 }}
Supplier order number: {{ order.` + CamelHandle(p.SupplierOrderKey) + `.value }}
Last supplier status: {{ ` + status + ` }} ({{ ` + raw + ` }}) {{ ` + detail + ` }}
Ordered: {{ order.createdAt }}
Paid/processed: {{ order.processedAt }}
Last checked: {{ ` + checked + ` }}

What to do:
- Ask the supplier about the order. When it ships, fulfil it in Shopify with the tracking number(s) and notify the customer.
- flowbridge will not check this order again automatically.
`
}

func noOpenFulfillmentOrderEmail(p Params, tv string, check int) (subject, message string) {
	return "flowbridge: order {{ order.name }} shipped, but Shopify has nothing open to fulfil",
		`The supplier shipped order {{ order.name }} ({{ order.id }}) — seen at tracking check ` + fmt.Sprint(check) + ` — but the order has no open fulfilment order
(none is OPEN or IN_PROGRESS: they may be on hold, scheduled, cancelled or closed), so no fulfilment was created and the customer was not notified.

Tracking: {{ ` + tv + `.trackingCompany }} {% for n in ` + tv + `.trackingNumbers %}{{ n }} {% endfor %}
Supplier order number: {{ order.` + CamelHandle(p.SupplierOrderKey) + `.value }}

What to do:
- Open the order in Shopify admin, release any hold or fix the fulfilment orders, then fulfil it with the tracking above and notify the customer.
`
}

func scheduleText(p Params) string {
	parts := make([]string, len(p.Schedule))
	for i, d := range p.Schedule {
		parts[i] = FormatDuration(d)
	}
	return "waits " + strings.Join(parts, ", ")
}

// fulfilURL is the lean check: the tracking call that fulfils.
func fulfilURL(p Params) string {
	return strings.TrimRight(p.BaseURL, "/") + "/tracking/{{ order." + CamelHandle(p.SupplierOrderKey) + ".value | url_encode }}/fulfil"
}

// fulfilBody names the Shopify order to fulfil (docs/DESIGN.md).
func fulfilBody() string {
	return `{
  "order_id": {{ order.id | json }},
  "shop": {{ shop.myshopifyDomain | json }}
}`
}

// leanParser reads a POST /tracking/{id}/fulfil answer. It is the same
// short script at every check.
func leanParser(httpVar string) runCode {
	return runCode{
		Input: fmt.Sprintf("query {\n  %s {\n    status\n    body\n  }\n}\n", httpVar),
		Script: fmt.Sprintf(`export default function main(input) {
  const res = input.%s || {};
  let b = null;
  try {
    b = JSON.parse(res.body || "");
  } catch (e) {
    b = null;
  }
  if (b === null || typeof b !== "object" || Array.isArray(b)) {
    b = {};
  }
  const status = typeof res.status === "number" ? res.status : 0;
  const s = function (v) { return v === undefined || v === null ? "" : String(v); };
  return {
    done: status === 200 && b.done === true,
    waiting: status === 202 && b.done === false,
    code: s(b.code) || s(b.outcome) || "http_" + status,
    detail: s(b.detail),
    supplierStatus: s(b.status),
    checkedAt: s(b.checked_at),
    partlyCancelled: b.partly_cancelled === true,
  };
}
`, httpVar),
		Output: `type Output {
  "flowbridge fulfilled the order, now or at an earlier call (or it was fulfilled by hand)"
  done: Boolean!
  "the supplier has not shipped yet"
  waiting: Boolean!
  "outcome or problem code (supplier_cancelled, nothing_to_fulfil, ...)"
  code: String!
  detail: String!
  supplierStatus: String!
  checkedAt: String!
  "the supplier cancelled some, not all, parts of a split order"
  partlyCancelled: Boolean!
}
`,
	}
}

func leanProblemEmail(p Params, v leanVars, check, total int) (subject, message string) {
	return "flowbridge: order {{ order.name }} was not fulfilled ({{ " + v.code + " }})",
		`Tracking check ` + fmt.Sprint(check) + ` of ` + fmt.Sprint(total) + ` for order {{ order.name }} ({{ order.id }}) ended without a fulfilment.

Reason: {{ ` + v.code + ` }}
{{ ` + v.detail + ` }}

Customer: {{ order.customer.firstName }} {{ order.customer.lastName }} <{{ order.email }}>
Supplier order number: {{ order.` + CamelHandle(p.SupplierOrderKey) + `.value }}

What to do:
- supplier_cancelled: ask the supplier why, then place the order again (by hand or with another supplier) or refund the customer. Nothing was fulfilled and the customer was not notified.
- nothing_to_fulfil: the order has no open fulfilment order (on hold, scheduled or cancelled). Fix it in Shopify admin, then fulfil it with the supplier's tracking.
- anything else: check flowbridge's log for order {{ order.name }}; fulfil by hand when it ships. flowbridge will not check this order again.
`
}

// partialPlacementEmail: the supplier split the order (one order per
// warehouse) and created only some parts; the metafield holds the ones
// that exist, so tracking follows them.
func partialPlacementEmail(p Params, pv string) (subject, message string) {
	return "flowbridge: order {{ order.name }} was only PARTLY placed with the supplier",
		`The supplier split order {{ order.name }} ({{ order.id }}) into {{ ` + pv + `.partsCount }} orders (one per warehouse), but created only some of them.

Created supplier orders: {{ ` + pv + `.supplierOrderId }}
These are stored in the order metafield ` + p.Namespace + `.` + p.SupplierOrderKey + ` and their tracking is followed as usual.

What to do:
- Compare the order's items with the created supplier orders in the supplier's portal: the items not in them were not ordered (sold out or refused).
- Order the missing items by hand (or from another supplier) and fulfil them by hand, or refund them to the customer.
`
}

// partlyCancelledEmail: some parts of a split order were cancelled by the
// supplier; the shipped parts are fulfilled regardless.
func partlyCancelledEmail(p Params, status, checked string, check, total int) (subject, message string) {
	return "flowbridge: the supplier cancelled PART of order {{ order.name }}",
		`The supplier cancelled some, not all, of its orders for {{ order.name }} ({{ order.id }}) — seen at tracking check ` + fmt.Sprint(check) + ` of ` + fmt.Sprint(total) + `.

Supplier order numbers: {{ order.` + CamelHandle(p.SupplierOrderKey) + `.value }}
Combined supplier status: {{ ` + status + ` }}, checked {{ ` + checked + ` }}

The parts that ship are still fulfilled in Shopify with their tracking, and the customer is notified for those.

What to do:
- Find the cancelled supplier order in the supplier's portal and ask why.
- Order the cancelled items again (by hand or from another supplier) and fulfil them by hand, or refund them to the customer.
`
}
