package server

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/flowbridge/flowbridge/console"
	"github.com/flowbridge/flowbridge/handlers"
)

// access is who may call a route.
type access int

const (
	// public: probes, the contract and its rendering, and the console
	// page, which holds nothing (its data calls carry the operator key).
	public access = iota
	// flowKey: the shared secret Flow sends (FLOWBRIDGE_API_KEYS).
	flowKey
	// operatorKey: an operator key (FLOWBRIDGE_OPERATOR_KEYS); a Flow
	// secret must not be able to resolve orders.
	operatorKey
	// metricsKey: FLOWBRIDGE_METRICS_KEYS, or the operator keys when none.
	metricsKey
)

// route is one row of the route table.
type route struct {
	method, path string
	access       access
	// json rejects a body not declared as JSON before any byte is read.
	json    bool
	handler echo.HandlerFunc
}

// routeTable is every route flowbridge serves, in one place. openapi.yaml
// documents each one (a test compares the two) except the operator's
// runtime profiles (pprofRoutes), which are diagnostics, not API.
func routeTable(h *handlers.Handlers, op *handlers.Operator, stk *handlers.Stock, fulfil echo.HandlerFunc, metrics http.Handler, requestTimeout time.Duration) []route {
	if fulfil == nil {
		fulfil = notFound
	}
	page := echo.WrapHandler(console.Handler())
	rt := []route{
		{http.MethodGet, "/healthz", public, false, h.Healthz},
		{http.MethodHead, "/healthz", public, false, h.Healthz},
		{http.MethodGet, "/readyz", public, false, h.Readyz},
		{http.MethodGet, "/openapi.yaml", public, false, h.OpenAPI},
		{http.MethodGet, "/docs", public, false, h.Docs},
		{http.MethodGet, "/docs/:asset", public, false, h.DocsAsset},

		{http.MethodPost, "/rates", flowKey, true, h.Rates},
		{http.MethodPost, "/orders", flowKey, true, h.Orders},
		{http.MethodGet, "/tracking/:id", flowKey, false, h.Tracking},
		{http.MethodPost, "/tracking/:id/fulfil", flowKey, true, fulfil},
		{http.MethodPost, "/stock/sync", flowKey, false, stk.Sync},

		{http.MethodGet, "/admin/orders", operatorKey, false, op.ListOrders},
		{http.MethodGet, "/admin/orders/:order_id", operatorKey, false, op.ShowOrder},
		{http.MethodPost, "/admin/orders/:order_id/resolve", operatorKey, true, op.ResolveOrder},
		{http.MethodPost, "/admin/orders/:order_id/release-cache", operatorKey, true, op.ReleaseOrderCache},
		{http.MethodGet, "/admin/stock", operatorKey, false, stk.Status},
		// Anything else under /admin is 404 only for an operator: without
		// a key the answer is 401, whatever the path.
		{echo.RouteNotFound, "/admin/*", operatorKey, false, notFound},

		{http.MethodGet, console.Path, public, false, page},
		{http.MethodHead, console.Path, public, false, page},
		{http.MethodGet, console.Path + "/*", public, false, page},
		{http.MethodHead, console.Path + "/*", public, false, page},
	}
	rt = append(rt, pprofRoutes(requestTimeout)...)
	if metrics != nil {
		rt = append(rt, route{http.MethodGet, "/metrics", metricsKey, false, echo.WrapHandler(metrics)})
	}
	return rt
}

func notFound(echo.Context) error { return echo.ErrNotFound }

// register adds the table to e. Authentication runs before the
// content-type check, so a caller without a key learns nothing but 401.
func (s *Server) register(e *echo.Echo, table []route) {
	metricsKeys := s.cfg.MetricsKeys
	if len(metricsKeys) == 0 {
		metricsKeys = s.cfg.OperatorKeys
	}
	auth := map[access]echo.MiddlewareFunc{
		flowKey:     bearerAuth(s.cfg.APIKeys),
		operatorKey: bearerAuth(s.cfg.OperatorKeys),
		metricsKey:  bearerAuth(metricsKeys),
	}
	for _, r := range table {
		var mw []echo.MiddlewareFunc
		if a, ok := auth[r.access]; ok {
			mw = append(mw, a)
		}
		if r.json {
			mw = append(mw, requireJSON)
		}
		e.Add(r.method, r.path, r.handler, mw...)
	}
}
