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

// Deps are the collaborators a Server uses; Assemble builds them.
// Supplier, Orders and Operator are required.
type Deps struct {
	Supplier supplier.Supplier
	// Orders is the use-case service.
	Orders *orders.Service
	// Operator serves the operator API under /admin (behind the operator
	// keys).
	Operator *handlers.Operator
	// Checks are run by /readyz.
	Checks []handlers.Check
	// StockParts is the stock sync: its routes are in the route table,
	// Build starts it.
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
	// Contract is the parsed openapi.yaml shared by every handler that
	// validates (Flow calls, operator API, fulfilment): one parse, ~1 MB
	// live, instead of one per handler. Nil: the Flow handlers parse it.
	Contract *handlers.Contract
	Logger   *slog.Logger
	Now      func() time.Time
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
	switch {
	case deps.Supplier == nil:
		return nil, errors.New("server: no supplier")
	case deps.Orders == nil:
		return nil, errors.New("server: no orders service")
	case deps.Operator == nil:
		return nil, errors.New("server: no operator API")
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
	h, err := handlers.New(handlers.Config{Orders: deps.Orders, SupplierName: deps.Supplier.Name(),
		TestMode: cfg.TestMode, Checks: deps.Checks, Spec: flowbridge.OpenAPI(), Contract: deps.Contract, Now: deps.Now})
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Logger}
	s.e = s.newEcho()
	s.register(s.e, routeTable(h, deps.Operator, deps.StockParts.Handler, deps.Fulfil, deps.Metrics, cfg.RequestTimeout))
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

// newEcho is the Echo instance with the middleware every route shares; the
// routes themselves are in routeTable.
func (s *Server) newEcho() *echo.Echo {
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
