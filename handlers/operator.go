package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/flowbridge/flowbridge"
	"github.com/flowbridge/flowbridge/orderid"
	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/timeline"
)

// Operator serves the operator API under /admin: list orders, show one
// order's timeline, resolve a held order and release cached answers.
// The server's route table puts the routes behind the operator keys;
// these handlers do not check keys themselves.
type Operator struct {
	// Timeline is read only: every event on it, operator actions
	// included, comes from the orders service's observations.
	Timeline OperatorTimeline
	// Resolve applies an operator's decision: action "adopt" with the
	// supplier order number found, or "release"; r.By names who decided.
	// Wire it to orders.Service.Resolve, whose observation puts the
	// decision on the timeline (this handler writes no events). Nil: the
	// route answers 404.
	Resolve func(ctx context.Context, shop, orderID string, r orders.Resolution) error
	// ReleaseCache drops an order's cached tracking answer so the next
	// check asks the supplier; by names who asked. Wire it to
	// orders.Service.ReleaseTracking (which puts it on the timeline). Nil:
	// the route answers 404.
	ReleaseCache func(ctx context.Context, shop, orderID string, by orders.Operator) error
	// Placement, when set, returns the order's placement record as the
	// orders service holds it (state, attempts, lease…); GET
	// /admin/orders/:order_id then carries it as "placement", and still
	// answers for an order that has a record but no timeline. A NotFound
	// error means "no record".
	Placement func(ctx context.Context, shop, orderID string) (any, error)
	// Shop is used when a request names none (default "default", as the
	// orders service).
	Shop string
	// MinChecks is N in "no tracking after N checks" (default 5).
	MinChecks int
	// Contract validates resolve bodies and path and query values with
	// openapi.yaml; nil loads the embedded spec on first use.
	Contract *Contract

	once sync.Once
	spec *Contract
	err  error
}

// OperatorTimeline is the part of a timeline.Store the operator API
// reads.
type OperatorTimeline interface {
	Get(ctx context.Context, shop, orderID string) (timeline.Order, error)
	List(ctx context.Context, f timeline.Filter) (timeline.Page, error)
}

func (o *Operator) contract() (*Contract, error) {
	o.once.Do(func() {
		o.spec, o.err = o.Contract, nil
		if o.spec == nil {
			o.spec, o.err = NewContract(flowbridge.OpenAPI())
		}
	})
	return o.spec, o.err
}

// operatorOrder is an order summary with why it needs a person.
type operatorOrder struct {
	timeline.Summary
	// Attention is needs_review, cancelled or no_tracking ("" when none).
	Attention string `json:"attention,omitempty"`
}

type operatorList struct {
	OK     bool            `json:"ok"`
	Orders []operatorOrder `json:"orders"`
	Next   string          `json:"next,omitempty"`
}

type operatorShow struct {
	OK     bool             `json:"ok"`
	Order  operatorOrder    `json:"order"`
	Events []timeline.Event `json:"events"`
	// Placement is the orders service's record (when wired).
	Placement any `json:"placement,omitempty"`
	// PlacementError is the problem code when the record could not be read.
	PlacementError string `json:"placement_error,omitempty"`
}

// shop is the shop named by ?shop=, filed as the orders service files it
// (orderid.Shop): absent means the deployment's shop.
func (o *Operator) shop(c echo.Context, body string) (string, error) {
	v := c.QueryParam("shop")
	if body != "" {
		v = body
	}
	def := o.Shop
	if def == "" {
		def = "default"
	}
	sh, ok := orderid.Shop(v, def)
	if !ok {
		return "", problem.InvalidFields(problem.CodeValidation, "the shop is not a shop domain",
			problem.Field{Pointer: "/query/shop", Message: "must be the shop's domain, such as example.myshopify.com"})
	}
	return sh, nil
}

// target is the order a request names: its canonical number and shop.
func (o *Operator) target(c echo.Context, bodyShop string) (shop, orderID string, err error) {
	if orderID, err = operatorOrderID(c); err != nil {
		return "", "", err
	}
	shop, err = o.shop(c, bodyShop)
	return shop, orderID, err
}

func (o *Operator) view(s timeline.Summary) operatorOrder {
	return operatorOrder{Summary: s, Attention: s.Attention(o.MinChecks)}
}

func queryInt(c echo.Context, name string) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 10000 {
		return 0, problem.InvalidFields(problem.CodeValidation, name+" must be a positive whole number",
			problem.Field{Pointer: "/query/" + name, Message: "a whole number from 1"})
	}
	return n, nil
}

// ListOrders handles GET /admin/orders?state=&limit=&checks=&cursor=.
func (o *Operator) ListOrders(c echo.Context) error {
	limit, err := queryInt(c, "limit")
	if err != nil {
		return err
	}
	checks, err := queryInt(c, "checks")
	if err != nil {
		return err
	}
	if checks == 0 {
		checks = o.MinChecks
	}
	p, err := o.Timeline.List(c.Request().Context(), timeline.Filter{State: c.QueryParam("state"), Limit: limit,
		MinChecks: checks, Cursor: c.QueryParam("cursor")})
	if err != nil {
		return err
	}
	out := operatorList{OK: true, Orders: make([]operatorOrder, 0, len(p.Orders)), Next: p.Next}
	for _, s := range p.Orders {
		out.Orders = append(out.Orders, operatorOrder{Summary: s, Attention: s.Attention(checks)})
	}
	return c.JSON(http.StatusOK, out)
}

// ShowOrder handles GET /admin/orders/:order_id[?shop=].
func (o *Operator) ShowOrder(c echo.Context) error {
	shop, id, err := o.target(c, "")
	if err != nil {
		return err
	}
	return o.show(c, shop, id)
}

// operatorOrderID is the :order_id path value, unescaped (a GID arrives
// URL-encoded) and reduced to the canonical order number.
func operatorOrderID(c echo.Context) (string, error) {
	v := c.Param("order_id")
	if u, err := url.PathUnescape(v); err == nil {
		v = u
	}
	id, ok := orderid.Normalize(v)
	if !ok {
		return "", problem.InvalidFields(CodeInvalidOrderID, "the path does not name a Shopify order",
			problem.Field{Pointer: "/path/order_id", Message: "must be a Shopify order id: gid://shopify/Order/123 (URL-encoded) or 123"})
	}
	return id, nil
}

func (o *Operator) show(c echo.Context, shop, orderID string) error {
	ctx := c.Request().Context()
	ord, err := o.Timeline.Get(ctx, shop, orderID)
	out := operatorShow{OK: true}
	if o.Placement != nil {
		p, perr := o.Placement(ctx, shop, orderID)
		switch {
		case perr == nil:
			out.Placement = p
		case problem.From(perr).Kind != problem.NotFound:
			// The timeline is still worth showing when the record
			// cannot be read; say why the record is missing.
			out.PlacementError = problem.From(perr).Code
		}
	}
	if err != nil {
		if out.Placement == nil || problem.From(err).Kind != problem.NotFound {
			return err
		}
		// A record without a timeline (older than the timeline's
		// retention, or placed before timelines were kept).
		ord = timeline.Order{Summary: timeline.Summary{Shop: shop, OrderID: orderID}}
	}
	out.Order, out.Events = o.view(ord.Summary), ord.Events
	if out.Events == nil {
		out.Events = []timeline.Event{}
	}
	return c.JSON(http.StatusOK, out)
}

type resolveBody struct {
	Action          string `json:"action"`
	SupplierOrderID string `json:"supplier_order_id"`
	NewOrder        bool   `json:"new_order"`
	// Shop may be given here or as ?shop= (the exactly-once API's form).
	Shop string `json:"shop"`
	// Actor optionally names the person (recorded with the key's fingerprint).
	Actor string `json:"actor"`
}

// ResolveOrder handles POST /admin/orders/:order_id/resolve: the body is
// validated with openapi.yaml (ResolveRequest), then it calls the
// injected Resolve with who did it and through what (the orders service
// puts that on the timeline), and answers with the order's timeline.
func (o *Operator) ResolveOrder(c echo.Context) error {
	if o.Resolve == nil {
		return problem.New(problem.NotFound, problem.CodeNotFound, "resolving orders is not available in this deployment")
	}
	var b resolveBody
	if err := o.decodeResolve(c, &b); err != nil {
		return err
	}
	ctx := c.Request().Context()
	shop, orderID, err := o.target(c, b.Shop)
	if err != nil {
		return err
	}
	res := orders.Resolution{Action: b.Action, SupplierOrderID: b.SupplierOrderID, NewOrder: b.NewOrder,
		By: orders.Operator{Actor: operatorActor(c, b.Actor), Via: operatorVia(c)}}
	if err := o.Resolve(ctx, shop, orderID, res); err != nil {
		return err
	}
	return o.show(c, shop, orderID)
}

func (o *Operator) decodeResolve(c echo.Context, b *resolveBody) error {
	spec, err := o.contract()
	if err != nil {
		return problem.Wrap(err, problem.Internal, problem.CodeInternal, "the request schema could not be loaded")
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, operatorMaxBody+1))
	if err != nil {
		return problem.Wrap(err, problem.Invalid, problem.CodeInvalidJSON, "the body could not be read")
	}
	if len(body) > operatorMaxBody {
		return tooLarge()
	}
	raw, err := parseJSON(body)
	if err != nil {
		return err
	}
	if err := spec.Body("resolveOrder", raw); err != nil {
		return err
	}
	// The schema has accepted every field and its type.
	if err := json.Unmarshal(body, b); err != nil {
		return problem.Wrap(err, problem.Invalid, problem.CodeInvalidJSON, "the body could not be decoded")
	}
	return nil
}

// checkEmptyBody validates an optional body the operation ignores: none,
// or what its schema allows (a JSON object).
func (o *Operator) checkEmptyBody(c echo.Context, operationID string) error {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, operatorMaxBody+1))
	if err != nil {
		return problem.Wrap(err, problem.Invalid, problem.CodeInvalidJSON, "the body could not be read")
	}
	if len(body) > operatorMaxBody {
		return tooLarge()
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	raw, err := parseJSON(body)
	if err != nil {
		return err
	}
	spec, err := o.contract()
	if err != nil {
		return problem.Wrap(err, problem.Internal, problem.CodeInternal, "the request schema could not be loaded")
	}
	return spec.Body(operationID, raw)
}

// operatorMaxBody bounds an operator request body (a resolve body is a
// few hundred bytes).
const operatorMaxBody = 16 << 10

// ReleaseOrderCache handles POST /admin/orders/:order_id/release-cache.
func (o *Operator) ReleaseOrderCache(c echo.Context) error {
	if o.ReleaseCache == nil {
		return problem.New(problem.NotFound, problem.CodeNotFound, "releasing cached answers is not available in this deployment")
	}
	ctx := c.Request().Context()
	shop, orderID, err := o.target(c, "")
	if err != nil {
		return err
	}
	if err := o.checkEmptyBody(c, "releaseOrderCache"); err != nil {
		return err
	}
	by := orders.Operator{Actor: operatorActor(c, ""), Via: operatorVia(c)}
	if err := o.ReleaseCache(ctx, shop, orderID, by); err != nil {
		return err
	}
	return o.show(c, shop, orderID)
}

// operatorActor names who acted without revealing the key: the first 8
// hex digits of the key's SHA-256 (enough to tell keys apart, useless to
// an attacker) plus an optional self-declared name.
func operatorActor(c echo.Context, name string) string {
	_, token, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
	actor := "key unknown"
	if token = strings.TrimSpace(token); token != "" {
		sum := sha256.Sum256([]byte(token))
		actor = "key " + hex.EncodeToString(sum[:4])
	}
	if name = cleanLabel(name, 64); name != "" {
		actor = name + " (" + actor + ")"
	}
	return actor
}

// operatorVia is the client the operator used: "console" when the page
// says so (X-Flowbridge-Client), else "api".
func operatorVia(c echo.Context) string {
	if v := cleanLabel(c.Request().Header.Get("X-Flowbridge-Client"), 32); v != "" {
		return v
	}
	return "api"
}

// cleanLabel keeps letters, digits, spaces and . _ - @ up to max runes, so
// a self-declared label cannot inject into logs or the page.
func cleanLabel(s string, limit int) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.TrimSpace(s) {
		if n == limit {
			break
		}
		if r == ' ' || r == '.' || r == '_' || r == '-' || r == '@' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
			n++
		}
	}
	return strings.TrimSpace(b.String())
}
