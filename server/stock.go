package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/handlers"
	"github.com/flowbridge/flowbridge/shopify"
	"github.com/flowbridge/flowbridge/stock"
	"github.com/flowbridge/flowbridge/store"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/telemetry"
)

// stockKeyPrefix namespaces the stock sync's Redis keys.
const stockKeyPrefix = "flowbridge:"

// StockParts are the stock sync's pieces built from the configuration.
type StockParts struct {
	// Runner is nil when the sync is not configured (no Shopify
	// credentials) or the supplier cannot read stock.
	Runner  *stock.Runner
	History stock.History
	Handler *handlers.Stock
}

// NewStock builds the stock sync on the store: history and leases in Redis
// when the store is Redis (shared by every replica), in-process otherwise.
func NewStock(cfg Config, sup supplier.Supplier, st store.Store, log *slog.Logger) StockParts {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var (
		hist  stock.History = stock.NewMemoryHistory(cfg.StockHistory)
		lease stock.Lease   = stock.NewMemoryLease(nil)
	)
	if rs, ok := st.(interface{ Client() redis.UniversalClient }); ok {
		hist = stock.NewRedisHistory(rs.Client(), stockKeyPrefix, cfg.StockHistory)
		lease = stock.NewRedisLease(rs.Client(), stockKeyPrefix)
	}
	p := StockParts{History: hist}
	interval := "off"
	if cfg.StockInterval > 0 {
		interval = cfg.StockInterval.String()
	}
	src, canRead := sup.(supplier.StockReader)
	if cfg.StockConfigured() && canRead {
		client := &shopify.Client{Shop: cfg.ShopifyShop, Token: cfg.ShopifyToken, BaseURL: cfg.ShopifyBaseURL}
		p.Runner = &stock.Runner{
			Syncer: &stock.Syncer{
				Shop:     &stock.AdminShop{Client: client, LocationRef: cfg.StockLocation},
				Source:   src,
				Supplier: sup.Name(),
				History:  hist,
				Policy:   stock.Policy{Buffer: cfg.StockBuffer, MaxChanges: cfg.StockMaxChanges, MinMarginPercent: cfg.StockMinMargin},
				Logger:   log,
			},
			Lease:    lease,
			Interval: cfg.StockInterval,
			Logger:   log,
		}
	} else if cfg.StockConfigured() {
		log.Warn("stock sync: the supplier cannot read stock in bulk", slog.String("supplier", sup.Name()))
	}
	p.Handler = &handlers.Stock{Runner: p.Runner, History: hist, Interval: interval, Location: cfg.StockLocation}
	return p
}

// Routes registers POST /stock/sync behind the Flow key.
func (p StockParts) Routes(e *echo.Echo, flow echo.MiddlewareFunc) {
	e.POST("/stock/sync", p.Handler.Sync, flow)
}

// Start binds runs started over HTTP to ctx (the service's lifetime) and,
// with an interval, runs the sync every interval until ctx ends.
func (p StockParts) Start(ctx context.Context) {
	p.Handler.Background = ctx
	if p.Runner == nil || p.Runner.Interval <= 0 {
		return
	}
	t := time.NewTicker(p.Runner.Interval)
	go func() {
		defer t.Stop()
		// A round at start-up too: a replica restarted more often than the
		// interval would otherwise never run one (the round lease still
		// keeps it to one run per interval across restarts and replicas).
		if _, err := p.Runner.Tick(ctx); err != nil && ctx.Err() == nil {
			p.Runner.Logger.Warn("stock: interval sync failed", "error", err.Error())
		}
		p.Runner.Loop(ctx, t.C)
	}()
}

// startStock adds the stock metrics and starts the interval loop.
func startStock(ctx context.Context, p StockParts, tel *telemetry.Telemetry) error {
	m, err := stock.NewMetrics(tel.Meter("github.com/flowbridge/flowbridge/stock"))
	if err != nil {
		return err
	}
	if p.Runner != nil {
		p.Runner.Syncer.Metrics = m
		p.Runner.Syncer.Tracer = tel.Tracer("github.com/flowbridge/flowbridge/stock")
	}
	p.Start(ctx)
	return nil
}

// Stock returns the stock sync this server runs (tests wait on its runs).
func (s *Server) Stock() StockParts { return s.deps.StockParts }
