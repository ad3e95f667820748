// Package server assembles flowbridge: configuration, the Echo instance
// with its middleware, the one error handler, and the process lifecycle.
package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/flowbridge/flowbridge"
	"github.com/flowbridge/flowbridge/handlers"
	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/telemetry"
	"github.com/flowbridge/flowbridge/timeline"
)

// Deps are the collaborators a Server uses. Only Supplier is required.
type Deps struct {
	Supplier supplier.Supplier
	// Orders is the use-case service; nil builds one on Supplier with the
	// config's carriers and test mode.
	Orders *orders.Service
	// Checks are run by /readyz.
	Checks []handlers.Check
	// Admin, when set, registers the operator routes on the /admin group
	// (already behind the operator-key middleware).
	Admin func(g *echo.Group)
	// Open, when set, registers routes that carry their own protection
	// (the operator console page, which asks for the key in the browser).
	Open func(e *echo.Echo)
	// Stock, when set, registers the stock sync's Flow-facing route
	// (flow is the Flow-key middleware).
	Stock func(e *echo.Echo, flow echo.MiddlewareFunc)
	// StockParts is the stock sync behind Stock (Build starts it).
	StockParts StockParts
	// Metrics, when set, is served at GET /metrics behind MetricsKeys (or
	// the operator keys when none are configured).
	Metrics http.Handler
	// Wrap, when set, wraps the whole handler (tracing middleware), so the
	// server span encloses routing, auth and the error handler.
	Wrap func(http.Handler) http.Handler
	// Fulfil serves POST /tracking/:id/fulfil (the lean workflow; behind
	// the Flow key). Nil leaves the route out.
	Fulfil echo.HandlerFunc
	// Timeline records each call's effect on its order (nil: none).
	Timeline *timeline.Recorder
	// Timelines is the timeline store behind Timeline (for gauges).
	Timelines timeline.Store
	Logger    *slog.Logger
	Now       func() time.Time
}

// Server is one flowbridge instance. Several can live in one process.
type Server struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	e    *echo.Echo
}

// New builds a Server. cfg must come from LoadConfig (or be filled the
// same way); APIKeys and OperatorKeys must not be empty — Run generates
// them for development, New never does.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Supplier == nil {
		return nil, errors.New("server: no supplier")
	}
	if len(cfg.APIKeys) == 0 || len(cfg.OperatorKeys) == 0 {
		return nil, errors.New("server: API and operator keys must be set")
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 20 * time.Second
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 256 << 10
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Orders == nil {
		deps.Orders = orders.New(orders.Config{Supplier: deps.Supplier, Carriers: cfg.Carriers,
			TestMode: cfg.TestMode, Logger: deps.Logger, Now: deps.Now})
	}
	h, err := handlers.New(handlers.Config{Orders: deps.Orders, SupplierName: deps.Supplier.Name(),
		TestMode: cfg.TestMode, Checks: deps.Checks, Spec: flowbridge.OpenAPI(), Now: deps.Now, Timeline: deps.Timeline})
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Logger}
	s.e = s.routes(h)
	return s, nil
}

// Handler returns the HTTP handler of this instance.
func (s *Server) Handler() http.Handler {
	if s.deps.Wrap != nil {
		return s.deps.Wrap(s.e)
	}
	return s.e
}

// Config returns the configuration the server runs with.
func (s *Server) Config() Config { return s.cfg }

func (s *Server) routes(h *handlers.Handlers) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.JSONSerializer = jsonSerializer{}

	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{
		// A caller's id is kept only if it is short and harmless, so it
		// cannot inject into logs.
		Generator: randomID,
		RequestIDHandler: func(c echo.Context, id string) {
			c.Set("request_id", id)
		},
		Skipper: func(c echo.Context) bool {
			id := c.Request().Header.Get(echo.HeaderXRequestID)
			if id != "" && !safeID(id) {
				c.Request().Header.Del(echo.HeaderXRequestID)
			}
			return false
		},
	}))
	// Name the server span and the request metrics after the route
	// template, never the raw path (ids would explode cardinality).
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			telemetry.SetRoute(c.Request().Context(), c.Path())
			return next(c)
		}
	})
	e.Use(s.requestLogger())
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisablePrintStack: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.log.Error("panic", slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
				slog.String("error", err.Error()), slog.String("stack", string(stack)))
			return problem.Wrap(err, problem.Internal, problem.CodeInternal, "panic")
		},
	}))
	e.Use(middleware.ContextTimeoutWithConfig(middleware.ContextTimeoutConfig{Timeout: s.cfg.RequestTimeout}))
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: strconv.FormatInt(s.cfg.MaxBodyBytes, 10)}))

	// Open routes: probes, the contract and its rendering.
	e.GET("/healthz", h.Healthz)
	e.HEAD("/healthz", h.Healthz)
	e.GET("/readyz", h.Readyz)
	e.GET("/openapi.yaml", h.OpenAPI)
	e.GET("/docs", h.Docs)
	e.GET("/docs/:asset", h.DocsAsset)

	// Authentication runs before the content-type check, so a caller
	// without a key learns nothing but 401.
	flow := bearerAuth(s.cfg.APIKeys)
	e.POST("/rates", h.Rates, flow, requireJSON)
	e.POST("/orders", h.Orders, flow, requireJSON)
	e.GET("/tracking/:id", h.Tracking, flow)
	if s.deps.Fulfil != nil {
		e.POST("/tracking/:id/fulfil", s.deps.Fulfil, flow, requireJSON)
	}
	if s.deps.Stock != nil {
		s.deps.Stock(e, flow)
	}

	admin := e.Group("/admin", bearerAuth(s.cfg.OperatorKeys), requireJSON)
	if s.deps.Admin != nil {
		s.deps.Admin(admin)
	}
	if s.deps.Open != nil {
		s.deps.Open(e)
	}
	if s.deps.Metrics != nil {
		keys := s.cfg.MetricsKeys
		if len(keys) == 0 {
			keys = s.cfg.OperatorKeys
		}
		e.GET("/metrics", echo.WrapHandler(s.deps.Metrics), bearerAuth(keys))
	}
	return e
}

// requireJSON rejects a POST whose body is not declared as JSON, before any
// byte of it is read.
func requireJSON(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch {
			return next(c)
		}
		mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &problem.Error{Kind: problem.Invalid, Status: http.StatusUnsupportedMediaType, Code: problem.CodeUnsupportedMedia,
				Detail: "send the body as JSON with the header Content-Type: application/json",
				Fields: []problem.Field{{Pointer: "/header/Content-Type", Message: "must be application/json"}}}
		}
		return next(c)
	}
}

// bearerAuth accepts any of keys. Each key is hashed first so the
// comparisons take the same time whatever the lengths, and every key is
// compared (no early exit) so timing does not tell which one matched.
func bearerAuth(keys []string) echo.MiddlewareFunc {
	sums := make([][32]byte, len(keys))
	for i, k := range keys {
		sums[i] = sha256.Sum256([]byte(k))
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			auth := c.Request().Header.Get(echo.HeaderAuthorization)
			scheme, token, _ := strings.Cut(auth, " ")
			got := sha256.Sum256([]byte(strings.TrimSpace(token)))
			match := 0
			for i := range sums {
				match |= subtle.ConstantTimeCompare(got[:], sums[i][:])
			}
			if !strings.EqualFold(scheme, "Bearer") || token == "" || match != 1 {
				return &problem.Error{Kind: problem.Unauthorized, Code: problem.CodeUnauthorized,
					Detail: "send the shared key as the header Authorization: Bearer <key>"}
			}
			return next(c)
		}
	}
}

// requestLogger logs one JSON line per request: method, route, status,
// latency and request id. Never headers (Authorization), bodies or the
// query string (it can carry order ids of customers).
func (s *Server) requestLogger() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogMethod: true, LogRoutePath: true, LogStatus: true, LogLatency: true, LogRequestID: true,
		LogContentLength: true, LogResponseSize: true,
		HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelWarn
			}
			s.log.LogAttrs(c.Request().Context(), level, "request",
				slog.String("method", v.Method), slog.String("route", v.RoutePath), slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency), slog.String("request_id", v.RequestID),
				slog.Int64("response_bytes", v.ResponseSize))
			return nil
		},
	})
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func safeID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// GenerateKey returns a random 32-byte key, base64url encoded.
func GenerateKey() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// jsonSerializer writes compact JSON without HTML escaping (prices and
// URLs stay readable in Flow's run log).
type jsonSerializer struct{}

func (jsonSerializer) Serialize(c echo.Context, i any, indent string) error {
	return encodeJSON(c.Response(), i)
}

func (jsonSerializer) Deserialize(c echo.Context, i any) error {
	return json.NewDecoder(c.Request().Body).Decode(i)
}

func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Listen-and-serve lifecycle.

// Serve runs the server on l until ctx is done, then shuts down gracefully
// (in-flight requests get up to the request timeout to finish).
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      s.cfg.RequestTimeout + 5*time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", slog.Duration("grace", s.cfg.RequestTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout+time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
