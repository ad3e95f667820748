// Package apptest runs a complete flowbridge (server.New behind a real
// loopback listener) inside a test, so tests exercise the same middleware,
// auth, error mapping and handlers as production. Every response that goes
// through App.Do is validated against openapi.yaml.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/handlers"
	"github.com/flowbridge/flowbridge/internal/contract"
	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/server"
	"github.com/flowbridge/flowbridge/store"
	"github.com/flowbridge/flowbridge/supplier"
)

// Options configure an App. Every field is optional.
type Options struct {
	// Supplier to use; nil builds the one FLOWBRIDGE_SUPPLIER names
	// (sandbox by default).
	Supplier supplier.Supplier
	// Env overrides environment variables (FLOWBRIDGE_CARRIERS, …). Nothing
	// is read from the real environment.
	Env map[string]string
	// Checks are the readiness checks.
	Checks []handlers.Check
	// Now is the clock handed to the server (default time.Now).
	Now func() time.Time
	// Logs receives the server's JSON logs (default: discarded).
	Logs io.Writer
	// NoContract turns off response validation (for tests of routes that
	// are deliberately outside the spec).
	NoContract bool
	// RedisURL selects a Redis store (e.g. redistest.Start(t).URL());
	// empty uses the in-process store on Now.
	RedisURL string
	// Observer receives the orders service's events.
	Observer orders.Observer
	// StorePrefix starts every Redis key of the placement store. Apps
	// started with the same RedisURL and StorePrefix share their records,
	// like several instances of one deployment; empty gives each App a
	// random prefix of its own.
	StorePrefix string
	// Operator, when set, replaces the operator API the production wiring
	// builds (tests of the operator routes with stand-in decisions), still
	// mounted by the server's route table behind the operator keys.
	Operator *handlers.Operator
	// Stock, when set, replaces the stock sync's handlers (tests of the
	// stock view with a seeded history).
	Stock *handlers.Stock
	// Metrics, when set, is served at GET /metrics (behind the metrics or
	// operator keys), as Run serves the telemetry's Prometheus handler.
	Metrics http.Handler
}

// App is a running flowbridge.
type App struct {
	// URL is the base URL (http://127.0.0.1:port).
	URL string
	// APIKey is a valid Flow key; OperatorKey a valid /admin key.
	APIKey      string
	OperatorKey string
	Server      *server.Server
	Config      server.Config
	Client      *http.Client

	t        testing.TB
	contract *contract.Validator
	noCheck  bool
}

// Start runs a flowbridge until the test ends.
func Start(t testing.TB, o Options) *App {
	t.Helper()
	env := map[string]string{
		"FLOWBRIDGE_API_KEYS":      server.GenerateKey(),
		"FLOWBRIDGE_OPERATOR_KEYS": server.GenerateKey(),
	}
	for k, v := range o.Env {
		env[k] = v
	}
	cfg, _, err := server.LoadConfig(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("apptest: config: %v", err)
	}
	sup := o.Supplier
	if sup == nil {
		if sup, err = server.NewSupplier(cfg, server.SupplierDeps{}); err != nil {
			t.Fatalf("apptest: supplier: %v", err)
		}
	}
	logs := o.Logs
	if logs == nil {
		logs = io.Discard
	}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prefix := o.StorePrefix
	if prefix == "" {
		prefix = "fb:" + server.GenerateKey()[:8] + ":"
	}
	// As in production: one Redis client, handed to the store and timeline.
	rdb, err := server.OpenRedis(o.RedisURL)
	if err != nil {
		t.Fatalf("apptest: redis: %v", err)
	}
	if rdb != nil {
		t.Cleanup(func() { _ = rdb.Close() })
	}
	st, err := store.Open(context.Background(), rdb, store.Options{Logger: log, Now: o.Now, Prefix: prefix})
	if err != nil {
		t.Fatalf("apptest: store: %v", err)
	}
	deps, err := server.Assemble(cfg, sup, server.Stores{Store: st, Redis: rdb}, log, o.Now, o.Observer)
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	if o.Operator != nil {
		deps.Operator = o.Operator
	}
	if o.Stock != nil {
		deps.StockParts.Handler = o.Stock
	}
	deps.Checks = append(deps.Checks, o.Checks...)
	if o.Metrics != nil {
		deps.Metrics = o.Metrics
	}
	s, err := server.New(cfg, deps)
	if err != nil {
		t.Fatalf("apptest: server: %v", err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	a := &App{URL: ts.URL, APIKey: cfg.APIKeys[0], OperatorKey: cfg.OperatorKeys[0], Server: s, Config: cfg,
		Client: ts.Client(), t: t, noCheck: o.NoContract}
	if !o.NoContract {
		v, err := contract.New()
		if err != nil {
			t.Fatalf("apptest: %v", err)
		}
		a.contract = v
	}
	return a
}

// Response is a finished exchange.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map (nil when it is not an object).
func (r *Response) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Code returns the problem code of an error body ("" for success bodies).
func (r *Response) Code() string {
	c, _ := r.JSON()["code"].(string)
	return c
}

// Pointers returns the JSON pointers named in a problem body's errors.
func (r *Response) Pointers() []string {
	var out []string
	errs, _ := r.JSON()["errors"].([]any)
	for _, e := range errs {
		if m, ok := e.(map[string]any); ok {
			p, _ := m["pointer"].(string)
			out = append(out, p)
		}
	}
	return out
}

// Do sends a request with the Flow key and a JSON body. body may be nil, a
// string or []byte (sent as is), or any value (marshalled).
func (a *App) Do(method, path string, body any) *Response {
	a.t.Helper()
	return a.DoWith(method, path, body, map[string]string{"Authorization": "Bearer " + a.APIKey})
}

// DoWith is Do with explicit headers (replacing the default Authorization;
// Content-Type defaults to application/json when there is a body).
func (a *App) DoWith(method, path string, body any, headers map[string]string) *Response {
	a.t.Helper()
	r, err := a.Send(method, path, body, headers)
	if err != nil {
		a.t.Fatalf("apptest: %v", err)
	}
	return r
}

// Send is DoWith for goroutines other than the test's own: a request that
// cannot be made is returned as an error instead of stopping the test (a
// contract mismatch is still reported with t.Errorf).
func (a *App) Send(method, path string, body any, headers map[string]string) (*Response, error) {
	a.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			return nil, fmt.Errorf("marshal body: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, a.URL+path, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := a.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	r := &Response{Status: resp.StatusCode, Header: resp.Header, Body: rb}
	a.checkContract(req, r)
	return r, nil
}

func (a *App) checkContract(req *http.Request, r *Response) {
	a.t.Helper()
	if a.noCheck {
		return
	}
	// The request body was consumed; the validator only needs the route.
	req.Body = http.NoBody
	// Every route is in the spec, the operator API and the console
	// included, so every answer is checked.
	if err := a.contract.Check(req, r.Status, r.Header, r.Body); err != nil {
		a.t.Errorf("%v", err)
	}
}
