// Package handlers holds flowbridge's thin Echo handlers: decode and
// validate the request, call the orders use cases, encode a flat JSON
// answer. Errors are returned as *problem.Error; the server's one error
// handler turns them into HTTP.
package handlers

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/labstack/echo/v4"

	"github.com/flowbridge/flowbridge/orderid"
	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
)

// Check is one readiness dependency (Redis, the supplier's reachability…).
type Check struct {
	Name string
	// Fn returns nil when the dependency is usable.
	Fn func(ctx context.Context) error
}

// Config holds the handlers' dependencies.
type Config struct {
	Orders *orders.Service
	// SupplierName is reported in every answer ("sandbox", "bts", …).
	SupplierName string
	// TestMode is reported when the orders service does not say.
	TestMode bool
	Checks   []Check
	// Spec is the OpenAPI document served at /openapi.yaml and rendered at /docs.
	Spec []byte
	// Contract, when set, is Spec already parsed (NewContract), shared
	// with the other handlers; nil: New parses Spec.
	Contract *Contract
	Now      func() time.Time
	// DecodedOrders is how many recent POST /orders bodies are kept
	// decoded (0: DefaultDecodedOrders, negative: none); see Orders.
	DecodedOrders int
}

// DefaultDecodedOrders is Config.DecodedOrders's default: a few hundred
// bodies of about 1 KB decoded, well under a megabyte.
const DefaultDecodedOrders = 256

// Handlers serves the HTTP endpoints.
type Handlers struct {
	cfg      Config
	contract *Contract
	// docs is the docs variant of the spec (renderDocs), made on the first
	// GET /docs/openapi.json: it is a second parse of openapi.yaml and
	// ~0.4 MB kept live, which a replica that never serves the page (every
	// one in a flash sale) should not pay for (docs/bench/memory.md).
	docsOnce sync.Once
	docs     []byte
	docsErr  error
	// decoded maps the SHA-256 of a POST /orders body that passed
	// validation to its decoded input (nil when disabled).
	decoded *lru.Cache[[sha256.Size]byte, orders.PlaceInput]
}

// New returns the handlers. It fails when the spec does not load or is
// invalid (NewContract); the docs variant of a spec that loads is made on
// first use.
func New(cfg Config) (*Handlers, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := cfg.Contract
	if c == nil {
		var err error
		if c, err = NewContract(cfg.Spec); err != nil {
			return nil, err
		}
	}
	h := &Handlers{cfg: cfg, contract: c}
	n := cfg.DecodedOrders
	if n == 0 {
		n = DefaultDecodedOrders
	}
	if n > 0 {
		var err error
		if h.decoded, err = lru.New[[sha256.Size]byte, orders.PlaceInput](n); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// docsSpec returns the docs variant of the spec, rendering it once.
func (h *Handlers) docsSpec() ([]byte, error) {
	h.docsOnce.Do(func() { h.docs, h.docsErr = renderDocs(h.cfg.Spec) })
	return h.docs, h.docsErr
}

// Rates handles POST /rates.
func (h *Handlers) Rates(c echo.Context) error {
	raw, err := readJSON(c.Request())
	if err != nil {
		return err
	}
	if err := h.contract.Body("postRates", raw); err != nil {
		return err
	}
	var in ratesIn
	if errs := bind(raw, &in); len(errs) > 0 {
		return typeErrors(errs)
	}
	orderID, _ := orderid.Normalize(in.OrderID)
	country, zip := in.ShippingAddress.CountryCode, in.ShippingAddress.Zip
	lines, err := checkLines(in.LineItems, in.Currency)
	if err != nil {
		return err
	}
	rin := orders.RatesInput{
		Shop: in.Shop, OrderID: orderID, Carriers: in.PreferredCarriers,
		Request: supplier.RateRequest{CountryCode: country, PostalCode: zip, Lines: lines},
	}
	res, err := h.cfg.Orders.Rates(c.Request().Context(), rin)
	if err != nil {
		return err
	}
	out := ratesOut{
		OK: true, ShippingCostID: res.Chosen.ID, Carrier: res.Chosen.Carrier, Service: res.Chosen.Service,
		Price: FormatAmount(res.Chosen.Price.Minor, res.Chosen.Price.Currency), Currency: res.Chosen.Price.Currency,
		MinDays: res.Chosen.MinDays, MaxDays: res.Chosen.MaxDays, Choice: res.Choice, Reason: res.Reason,
		OptionsCount: len(res.Options), Options: make([]rateOption, len(res.Options)),
		Supplier: h.cfg.SupplierName, TestMode: res.TestMode || h.cfg.TestMode,
	}
	for i, r := range res.Options {
		out.Options[i] = rateOption{ID: r.ID, Carrier: r.Carrier, Service: r.Service,
			Price: FormatAmount(r.Price.Minor, r.Price.Currency), Currency: r.Price.Currency, MinDays: r.MinDays, MaxDays: r.MaxDays}
	}
	return c.JSON(http.StatusOK, out)
}

// Orders handles POST /orders.
func (h *Handlers) Orders(c echo.Context) error {
	body, err := readBody(c.Request())
	if err != nil {
		return err
	}
	in, err := h.orderInput(body)
	if err != nil {
		return err
	}
	res, err := h.cfg.Orders.Place(c.Request().Context(), in)
	if err != nil {
		return err
	}
	testMode := res.TestMode || h.cfg.TestMode
	if res.NeedsReview || res.Outcome == orders.OutcomeNeedsReview {
		return c.JSON(http.StatusAccepted, reviewOut{
			OK: false, Outcome: orders.OutcomeNeedsReview, NeedsReview: true, OrderID: in.OrderID,
			SupplierOrderID: res.SupplierOrderID, ReviewReason: res.ReviewReason,
			Supplier: h.cfg.SupplierName, TestMode: testMode,
		})
	}
	status := string(res.Status)
	if status == "" {
		status = string(supplier.StatusUnknown)
	}
	ids := []string{}
	for _, p := range res.Parts {
		if p.SupplierOrderID != "" {
			ids = append(ids, p.SupplierOrderID)
		}
	}
	return c.JSON(http.StatusOK, placedOut{
		OK: true, Outcome: res.Outcome, OrderID: in.OrderID, SupplierOrderID: res.SupplierOrderID,
		SupplierStatus: status, Replay: res.Replay, PayloadChanged: res.PayloadChanged, NeedsReview: false,
		Supplier: h.cfg.SupplierName, TestMode: testMode,
		SupplierOrderIDs: ids, PartsCount: max(len(res.Parts), 1), Partial: res.Partial,
	})
}

// orderInput decodes and validates a POST /orders body. Flow delivers at
// least once and re-sends the same bytes (a retry after a 429, 5xx or
// timeout; a duplicate trigger), so a body that passed recently is not
// parsed and checked against openapi.yaml again: decoding is a pure
// function of the bytes, and a hit costs a SHA-256 of the body (a few
// microseconds) instead of ~100 µs of parsing and schema validation
// (bench/micro BenchmarkDecodeOrder). Only bodies that passed are kept, so
// a bad body is refused, with its field errors, every time.
func (h *Handlers) orderInput(body []byte) (orders.PlaceInput, error) {
	if h.decoded == nil {
		return h.decodeBody(body)
	}
	key := sha256.Sum256(body)
	if in, ok := h.decoded.Get(key); ok {
		// Each request gets its own lines: callers may reorder them.
		in.Order.Lines = slices.Clone(in.Order.Lines)
		return in, nil
	}
	in, err := h.decodeBody(body)
	if err != nil {
		return in, err
	}
	kept := in
	kept.Order.Lines = slices.Clone(in.Order.Lines)
	h.decoded.Add(key, kept)
	return in, nil
}

func (h *Handlers) decodeBody(body []byte) (orders.PlaceInput, error) {
	raw, err := parseJSON(body)
	if err != nil {
		return orders.PlaceInput{}, err
	}
	return h.decodeOrder(raw)
}

// DecodeOrder parses and validates a POST /orders body into the orders
// input. It is exported for the fuzz test and for tools that check a
// rendered template body offline.
func (h *Handlers) DecodeOrder(body []byte) (orders.PlaceInput, error) {
	raw, err := parseJSON(body)
	if err != nil {
		return orders.PlaceInput{}, err
	}
	return h.decodeOrder(raw)
}

func (h *Handlers) decodeOrder(raw any) (orders.PlaceInput, error) {
	if err := h.contract.Body("postOrders", raw); err != nil {
		return orders.PlaceInput{}, err
	}
	var in ordersIn
	if errs := bind(raw, &in); len(errs) > 0 {
		return orders.PlaceInput{}, typeErrors(errs)
	}
	orderID, _ := orderid.Normalize(in.OrderID)
	if err := checkAddress(in.ShippingAddress); err != nil {
		return orders.PlaceInput{}, err
	}
	lines, err := checkLines(in.LineItems, in.Currency)
	if err != nil {
		return orders.PlaceInput{}, err
	}
	return orders.PlaceInput{
		Shop:     in.Shop,
		OrderID:  orderID,
		Recorded: in.SupplierOrderID,
		Order: supplier.Order{
			Reference: orderID, Name: in.OrderName, Email: in.Email, Phone: in.Phone,
			ShipTo: in.ShippingAddress.toSupplier(), Lines: lines, ShippingRateID: in.ShippingCostID,
		},
	}, nil
}

// Tracking handles GET /tracking/:id.
func (h *Handlers) Tracking(c echo.Context) error {
	// Echo routes on the raw path and leaves parameters escaped; Flow
	// sends a GID URL-encoded (gid%3A%2F%2Fshopify%2FOrder%2F123).
	id := c.Param("id")
	if u, err := url.PathUnescape(id); err == nil {
		id = u
	}
	by, shop := c.QueryParam("by"), c.QueryParam("shop")
	for _, p := range []struct{ in, name, v string }{{"path", "id", id}, {"query", "by", by}, {"query", "shop", shop}} {
		if p.in == "query" && p.v == "" {
			continue // absent
		}
		if err := h.contract.Param("getTracking", p.in, p.name, p.v); err != nil {
			if p.name == "id" {
				problem.From(err).Code = CodeInvalidSupplierOrderID
			}
			return err
		}
	}
	in := orders.TrackInput{Shop: shop}
	switch by {
	case "", "supplier_order":
		in.SupplierOrderID = id
	case "shopify_order":
		n, ok := orderid.Normalize(id)
		if !ok {
			return problem.InvalidFields(CodeInvalidOrderID, "with by=shopify_order the id must be a Shopify order id",
				problem.Field{Pointer: "/path/id", Message: "must be a Shopify order id: gid://shopify/Order/123 (URL-encoded) or 123"})
		}
		in.ShopifyOrderID = n
	}
	res, err := h.cfg.Orders.Track(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.trackingOut(res))
}

func (h *Handlers) trackingOut(res orders.TrackResult) trackingOut {
	st := res.Status
	switch st {
	case supplier.StatusPending, supplier.StatusProcessing, supplier.StatusShipped, supplier.StatusDelivered, supplier.StatusCancelled:
	default:
		st = supplier.StatusUnknown
	}
	out := trackingOut{
		OK: true, SupplierOrderID: res.SupplierOrderID, Status: string(st), RawStatus: res.RawStatus,
		Pending: st == supplier.StatusPending, Processing: st == supplier.StatusProcessing,
		Shipped: st == supplier.StatusShipped, Delivered: st == supplier.StatusDelivered,
		Cancelled: st == supplier.StatusCancelled, Unknown: st == supplier.StatusUnknown,
		TrackingNumbers: []string{}, TrackingURLs: []string{},
		CheckedAt: h.checkedAt(res), Supplier: h.cfg.SupplierName,
		TestMode: res.TestMode || h.cfg.TestMode,
	}
	for _, p := range res.Parcels {
		if p.Number == "" {
			continue
		}
		out.TrackingNumbers = append(out.TrackingNumbers, p.Number)
		if p.URL != "" {
			out.TrackingURLs = append(out.TrackingURLs, p.URL)
		}
		if out.TrackingNumber == "" {
			out.TrackingNumber, out.TrackingURL, out.Carrier = p.Number, p.URL, p.Carrier
		}
	}
	out.TrackingCompany = out.Carrier
	out.ParcelsCount = len(out.TrackingNumbers)
	out.SupplierOrderIDs = orders.SplitNumbers(res.SupplierOrderID)
	if out.SupplierOrderIDs == nil {
		out.SupplierOrderIDs = []string{}
	}
	out.PartsCount, out.PartlyCancelled = max(len(res.Parts), 1), res.PartlyCancelled
	out.Fulfillable = (out.Shipped || out.Delivered) && out.ParcelsCount > 0
	return out
}

// checkedAt is when the supplier was asked (a cached answer keeps the
// time of the check that produced it), not when this answer is sent.
func (h *Handlers) checkedAt(res orders.TrackResult) string {
	t := res.CheckedAt
	if t.IsZero() {
		t = h.cfg.Now()
	}
	return t.UTC().Format(time.RFC3339)
}

// Healthz handles GET /healthz: the process is alive.
func (h *Handlers) Healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, healthOut{OK: true, Status: "ok"})
}

// Readyz handles GET /readyz: every dependency answers.
func (h *Handlers) Readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	out := readyOut{OK: true, Checks: map[string]string{}}
	var bad []problem.Field
	for _, ch := range h.cfg.Checks {
		if err := ch.Fn(ctx); err != nil {
			out.Checks[ch.Name] = "failing"
			// The cause goes to the log through the error; the body only
			// names the dependency (no hostnames or credentials).
			bad = append(bad, problem.Field{Pointer: "/checks/" + ch.Name, Message: "is not reachable"})
			continue
		}
		out.Checks[ch.Name] = "ok"
	}
	if len(bad) > 0 {
		e := problem.InvalidFields(CodeNotReady, "a dependency is not ready", bad...)
		e.Kind = problem.Unavailable
		e.RetryAfter = 5 * time.Second
		return e
	}
	return c.JSON(http.StatusOK, out)
}

// CodeNotReady is returned by /readyz when a dependency fails.
const CodeNotReady = "not_ready"

// OpenAPI handles GET /openapi.yaml.
// Any origin may read it (Swagger Editor, Scalar or Postman loading it by
// URL); it holds no secret and no credentials are allowed.
func (h *Handlers) OpenAPI(c echo.Context) error {
	c.Response().Header().Set("Access-Control-Allow-Origin", "*")
	return c.Blob(http.StatusOK, "application/yaml", h.cfg.Spec)
}

func typeErrors(errs []problem.Field) error {
	return problem.InvalidFields(problem.CodeInvalidJSON, "a field has the wrong JSON type: "+errs[0].Pointer+" "+errs[0].Message, errs...)
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
