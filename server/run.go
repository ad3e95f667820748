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
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/store"
	"github.com/flowbridge/flowbridge/store/redisstore"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/telemetry"
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

	s, closeAll, err := Build(ctx, cfg, BuildOptions{Getenv: getenv, Logger: log})
	if err != nil {
		return err
	}
	defer closeAll()
	log = s.log
	sup := s.deps.Supplier
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

// BuildOptions are what Build takes besides the configuration.
type BuildOptions struct {
	// Getenv reads the OTEL_* variables.
	Getenv func(string) string
	// Logger is the JSON logger; Build adds trace ids to it.
	Logger *slog.Logger
	// SpanExporter replaces the OTEL_* exporter choice (tests use an
	// in-memory one and export synchronously).
	SpanExporter sdktrace.SpanExporter
}

// Build assembles a production flowbridge from a loaded configuration:
// telemetry, the store (Redis instrumented), the supplier with its resilient
// client and credential check, BigBuy's catalogue index, the orders service,
// timeline, operator API, console and /metrics. closeAll flushes spans and
// closes the store. Run uses it; tests use it to check the real wiring.
func Build(ctx context.Context, cfg Config, o BuildOptions) (s *Server, closeAll func(), err error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var closers []func()
	// A local function, not the named result: a failing return sets
	// closeAll to nil before deferred calls run (issue 16, defect 5).
	closeNow := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			closeNow()
		}
	}()

	tel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: "flowbridge", Getenv: getenv, ConsoleTraces: cfg.DevTraces,
		SpanExporter: o.SpanExporter, SyncSpans: o.SpanExporter != nil})
	if err != nil {
		return nil, nil, fmt.Errorf("telemetry (OTEL_* variables): %w", err)
	}
	closers = append(closers, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tel.Shutdown(sctx)
	})
	log = slog.New(telemetry.LogHandler(log.Handler()))

	// Redis is opened here, once; the same client goes by name to the
	// store, the timeline and the supplier rate limiter.
	rdb, err := OpenRedis(cfg.RedisURL)
	if err != nil {
		return nil, nil, redisStartError(err)
	}
	if rdb != nil {
		closers = append(closers, func() { _ = rdb.Close() })
		// Spans for every Redis command (statements never captured) and a
		// count of Redis errors.
		if err := tel.InstrumentRedis(rdb); err != nil {
			return nil, nil, fmt.Errorf("telemetry: redis instrumentation: %w", err)
		}
	}
	st, err := store.Open(ctx, rdb, store.Options{Logger: log, MinReplicas: cfg.RedisMinReplicas, OpTimeout: cfg.StoreTimeout})
	if err != nil {
		return nil, nil, redisStartError(err)
	}

	sup, slots, err := NewSupplierSlots(cfg, SupplierDeps{Logger: log, Redis: rdb, TracerProvider: tel.TracerProvider,
		MeterProvider: tel.MeterProvider, Propagators: tel.Propagator, Metrics: tel.Metrics})
	if err != nil {
		return nil, nil, err
	}
	if err := checkCredentials(ctx, sup, log); err != nil {
		return nil, nil, err
	}
	// BigBuy has no product-by-EAN endpoint: its adapter keeps an EAN index
	// built from the rate-limited catalogue feed, refreshed until shutdown.
	if c, ok := sup.(interface{ RunCatalog(context.Context) }); ok {
		go c.RunCatalog(ctx)
	}
	deps, err := Assemble(cfg, sup, Stores{Store: st, Redis: rdb, Slots: slots}, log, nil, MetricsObserver(tel.Metrics))
	if err != nil {
		return nil, nil, err
	}
	deps.Timeline.Dropped = func(ctx context.Context, reason string) { tel.Metrics.StoreError(ctx, "timeline_"+reason) }
	deps.Timeline.Folded = tel.Metrics.TimelineFolded
	// On a normal stop the queued timeline events are written before the
	// store closes (closers run last first): they are often the last
	// answers' events, the ones an operator looks for. The drain is
	// bounded, so a hung Redis cannot hold the shutdown; what is left is
	// dropped and counted (timeline_shutdown).
	closers = append(closers, func() {
		dctx, cancel := context.WithTimeout(context.Background(), timelineDrain)
		defer cancel()
		deps.Timeline.Drain(dctx)
	})
	if err := startStock(ctx, deps.StockParts, tel); err != nil {
		return nil, nil, err
	}
	deps.Metrics = tel.MetricsHandler()
	deps.Wrap = tel.HTTPMiddleware
	tel.Metrics.ObserveNeedsReview(CountNeedsReview(deps.Timelines))
	s, err = New(cfg, deps)
	if err != nil {
		return nil, nil, err
	}
	return s, closeNow, nil
}

// redisStartError says what is wrong with Redis at start-up and how to fix
// it. It never quotes the URL (it may carry a password).
func redisStartError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "WRONGPASS"), strings.Contains(msg, "NOAUTH"), strings.Contains(msg, "invalid password"),
		strings.Contains(msg, "invalid username-password"):
		return fmt.Errorf("REDIS_URL: Redis refused the credentials (%s); put the right password in the URL: redis://:PASSWORD@host:6379/0, or redis://USER:PASSWORD@host:6379/0 for an ACL user", firstLine(msg))
	case strings.Contains(msg, "redis url:"):
		return fmt.Errorf("REDIS_URL: %w; the forms are listed in docs/exactly-once.md (\"Redis in production\")", err)
	case strings.Contains(msg, "connection refused"), strings.Contains(msg, "no such file"), strings.Contains(msg, "no such host"),
		strings.Contains(msg, "i/o timeout"), strings.Contains(msg, "deadline exceeded"), strings.Contains(msg, "dial"):
		return fmt.Errorf("REDIS_URL: cannot reach Redis (%s); check the host and port in REDIS_URL and that Redis is running and reachable from here (unset REDIS_URL to run one instance on the in-process store)", firstLine(msg))
	}
	return fmt.Errorf("REDIS_URL: %w; check the URL and that Redis is reachable", err)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// credentialSettings names the settings that hold a supplier's credentials.
func credentialSettings(name string) string {
	switch name {
	case "bts":
		return "FLOWBRIDGE_BTS_TOKEN (and FLOWBRIDGE_BTS_BASE_URL)"
	case "bigbuy":
		return "FLOWBRIDGE_BIGBUY_API_KEY (and FLOWBRIDGE_BIGBUY_BASE_URL)"
	}
	return "the supplier's credential settings"
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

// OrdersConfig maps the configuration onto the orders service.
func OrdersConfig(cfg Config, sup supplier.Supplier, st store.Store, log *slog.Logger, obs orders.Observer) orders.Config {
	return orders.Config{
		Supplier:    sup,
		Store:       st,
		Carriers:    cfg.Carriers,
		TestMode:    cfg.TestMode,
		Shop:        cfg.Shop,
		Lease:       cfg.Lease,
		RecordTTL:   cfg.RecordTTL,
		RatesTTL:    cfg.RatesTTL,
		TrackingTTL: cfg.TrackingTTL,
		Logger:      log,
		Observer:    obs,

		LostDataWindow: cfg.LostDataWindow,
		Metafield:      shopifyMetafield(cfg),
	}
}

// MetricsObserver counts the orders service's events.
func MetricsObserver(m *telemetry.Metrics) orders.Observer {
	return orders.ObserverFunc(func(ctx context.Context, o orders.Observation) {
		switch o.Event {
		case orders.EventStoreError:
			m.StoreError(ctx, o.Op)
			return
		case orders.EventCacheHit, orders.EventCacheMiss, orders.EventRatesAnswered, orders.EventPlaceAnswered, orders.EventTrackAnswered,
			orders.EventResolveAnswered, orders.EventTrackingReleased:
			return // cache lookups, answers and operator calls are not placement outcomes (EventResolved counts a resolution)
		}
		m.Idempotency(ctx, string(o.Event))
	})
}

// checkCredentials asks a real supplier once whether its credentials work.
// A refusal of the credentials stops start-up (every order would fail);
// any other failure (supplier down, network) is logged and start-up goes
// on, so an outage at the supplier does not take flowbridge down with it.
func checkCredentials(ctx context.Context, sup supplier.Supplier, log *slog.Logger) error {
	c, ok := sup.(interface{ CheckCredentials(context.Context) error })
	if !ok {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := c.CheckCredentials(cctx)
	if err == nil {
		log.Info("supplier credentials accepted", slog.String("supplier", sup.Name()))
		return nil
	}
	pe := problem.From(err)
	if pe.Code == problem.CodeSupplierAuth || pe.Kind == problem.Unauthorized {
		return fmt.Errorf("supplier %s refused the credentials: %s; fix %s and start again", sup.Name(), pe.Detail, credentialSettings(sup.Name()))
	}
	log.Warn("supplier credentials could not be checked", slog.String("supplier", sup.Name()), slog.String("code", pe.Code))
	return nil
}

// OpenRedis opens the one Redis client of a process for REDIS_URL (nil when
// it is empty: the in-process store, a local rate limit). See
// redisstore.NewClient for the URL forms.
func OpenRedis(url string) (redis.UniversalClient, error) {
	if url == "" {
		return nil, nil
	}
	return redisstore.NewClient(url)
}
