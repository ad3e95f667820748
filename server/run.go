package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/handlers"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/bigbuy"
	"github.com/flowbridge/flowbridge/supplier/bts"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

// Run is the `serve` command: it loads the configuration from args and
// getenv, starts the HTTP server and blocks until ctx is cancelled (main
// cancels it on SIGINT/SIGTERM), then shuts down gracefully. stdout gets
// the few lines a person needs (URL, docs URL, generated dev keys); stderr
// gets JSON logs.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, warnings, err := LoadConfig(args, getenv)
	if errors.Is(err, flag.ErrHelp) || (err != nil && strings.Contains(err.Error(), flag.ErrHelp.Error())) {
		Usage(stdout)
		return nil
	}
	if err != nil {
		return err
	}
	log := NewLogger(stderr, cfg.LogLevel)
	for _, w := range warnings {
		log.Warn("configuration", slog.String("warning", w))
	}
	if len(cfg.APIKeys) == 0 {
		k := GenerateKey()
		cfg.APIKeys = []string{k}
		fmt.Fprintf(stdout, "\n!!! WARNING: FLOWBRIDGE_API_KEYS is not set. Generated a development key for this run only:\n!!!   Authorization: Bearer %s\n!!! Set FLOWBRIDGE_API_KEYS before exposing this service.\n", k)
		log.Warn("no API key configured; generated a temporary one and printed it on stdout")
	}
	if len(cfg.OperatorKeys) == 0 {
		k := GenerateKey()
		cfg.OperatorKeys = []string{k}
		fmt.Fprintf(stdout, "!!! WARNING: FLOWBRIDGE_OPERATOR_KEYS is not set. Generated an operator key for /admin for this run only:\n!!!   Authorization: Bearer %s\n\n", k)
		log.Warn("no operator key configured; generated a temporary one and printed it on stdout")
	}

	sup, err := NewSupplier(cfg, log)
	if err != nil {
		return err
	}
	deps := Deps{Supplier: sup, Logger: log}
	if cfg.RedisURL != "" {
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("REDIS_URL: %v; use redis://host:6379/0 or unix:///path/redis.sock", err)
		}
		opts.ContextTimeoutEnabled = true
		rdb := redis.NewClient(opts)
		defer rdb.Close()
		deps.Checks = append(deps.Checks, handlers.Check{Name: "redis", Fn: func(ctx context.Context) error {
			return rdb.Ping(ctx).Err()
		}})
	}
	s, err := New(cfg, deps)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("FLOWBRIDGE_ADDR: cannot listen on %s: %v; choose a free port, e.g. FLOWBRIDGE_ADDR=:8081", cfg.Addr, err)
	}
	base := BaseURL(l.Addr())
	fmt.Fprintf(stdout, "flowbridge listening on %s (supplier %s, store %s)\n  docs: %s/docs\n  spec: %s/openapi.yaml\n",
		base, sup.Name(), storeName(cfg), base, base)
	log.Info("listening", slog.String("addr", l.Addr().String()), slog.String("supplier", sup.Name()),
		slog.Bool("test_mode", cfg.TestMode), slog.Duration("request_timeout", cfg.RequestTimeout))
	return s.Serve(ctx, l)
}

func storeName(cfg Config) string {
	if cfg.RedisURL != "" {
		return "redis"
	}
	return "in-process"
}

// NewLogger returns the JSON logger used everywhere.
func NewLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// BaseURL turns a listener address into a URL a person can open: an
// unspecified host (":8080", "[::]:8080") becomes 127.0.0.1.
func BaseURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Healthcheck is the `healthcheck` command for container HEALTHCHECKs
// (distroless images have no curl): it GETs /healthz on the configured
// port of this host and fails unless it answers 200.
func Healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, _, err := LoadConfig(args, getenv)
	if err != nil {
		return err
	}
	_, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	u := "http://" + net.JoinHostPort("127.0.0.1", port) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", u, resp.StatusCode)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}

// NewSupplier builds the configured supplier adapter. The real adapters
// get their default HTTP client here; the integrator swaps in the resilient
// client (retries, breaker, shared rate limit) when it lands.
func NewSupplier(cfg Config, log *slog.Logger) (supplier.Supplier, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch cfg.Supplier {
	case "sandbox", "":
		if cfg.SandboxShipAfter > 0 && cfg.SandboxProcessingAfter >= cfg.SandboxShipAfter {
			return nil, errors.New("FLOWBRIDGE_SANDBOX_PROCESSING_AFTER must be shorter than FLOWBRIDGE_SANDBOX_SHIP_AFTER; e.g. 1m and 3m")
		}
		return sandbox.New(sandbox.Config{ProcessingAfter: cfg.SandboxProcessingAfter, ShipAfter: cfg.SandboxShipAfter,
			DisableLookup: cfg.SandboxDisableLookup}), nil
	case "bts":
		c, err := bts.New(bts.Config{BaseURL: cfg.BTSBaseURL, Token: cfg.BTSToken, Logger: log})
		if err != nil {
			return nil, err
		}
		return c, nil
	case "bigbuy":
		c, err := bigbuy.New(bigbuy.Config{BaseURL: cfg.BigBuyBaseURL, APIKey: cfg.BigBuyAPIKey})
		if err != nil {
			return nil, err
		}
		return c, nil
	default:
		return nil, fmt.Errorf("FLOWBRIDGE_SUPPLIER=%s: unknown supplier; use one of %s", cfg.Supplier, strings.Join(SupplierNames(), ", "))
	}
}
