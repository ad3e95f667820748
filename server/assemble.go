package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/console"
	"github.com/flowbridge/flowbridge/fulfilment"
	"github.com/flowbridge/flowbridge/handlers"
	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/shopify"
	"github.com/flowbridge/flowbridge/store"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/timeline"
)

// Assemble builds everything that sits on the store: the orders service,
// the per-order timeline (in Redis when the store is Redis), the operator
// API and the console page. Run and the in-process test harness share it,
// so tests exercise the production wiring. Extra observers (metrics) see
// every orders event alongside the timeline.
func Assemble(cfg Config, sup supplier.Supplier, st store.Store, log *slog.Logger, now func() time.Time, observers ...orders.Observer) Deps {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	topt := timeline.Options{Retention: cfg.TimelineTTL, Now: now}
	var tl timeline.Store = timeline.NewMemoryStore(topt)
	if rs, ok := st.(interface{ Client() redis.UniversalClient }); ok {
		tl = timeline.NewRedisStore(rs.Client(), topt)
	}
	rec := timeline.NewRecorder(tl, cfg.Shop, log)

	all := append([]orders.Observer{orders.ObserverFunc(func(ctx context.Context, o orders.Observation) {
		rec.Observe(ctx, o.Key.Shop, o.Key.OrderID, string(o.Event), o.Err)
	})}, observers...)
	ocfg := OrdersConfig(cfg, sup, st, log, fanOut(all))
	ocfg.Now = now
	svc := orders.New(ocfg)

	admin := &handlers.Admin{Orders: svc}
	op := &handlers.Operator{
		Timeline: tl,
		Resolve: func(ctx context.Context, shop, orderID string, r orders.Resolution, _ string) error {
			_, err := svc.Resolve(ctx, shop, orderID, r)
			return err
		},
		ReleaseCache: func(ctx context.Context, shop, orderID, _ string) error {
			return svc.ReleaseTracking(ctx, shop, orderID)
		},
		Placement: admin.Placement,
		Shop:      cfg.Shop,
		Logger:    log,
	}
	if shopifyClient(cfg) == nil {
		log.Info("fulfilment: SHOPIFY_SHOP/SHOPIFY_ADMIN_TOKEN not set; POST /tracking/{id}/fulfil answers 503 fulfilment_not_configured once an order ships (needed by the lean workflow, templates --fulfil-by flowbridge)")
	}
	fulfil := &handlers.Fulfil{SupplierName: sup.Name(), TestMode: cfg.TestMode, Now: now,
		Service: fulfilment.New(fulfilment.Config{Shopify: shopifyClient(cfg), Store: st, Tracker: svc,
			Shop: cfg.Shop, Lease: cfg.Lease, TTL: cfg.RecordTTL, Logger: log, Now: now})}
	stk := NewStock(cfg, sup, st, log)
	return Deps{
		Fulfil:     fulfil.Handle,
		Supplier:   sup,
		Orders:     svc,
		Checks:     []handlers.Check{{Name: "store", Fn: st.Ping}},
		Admin:      func(g *echo.Group) { op.Register(g); stk.Handler.Register(g) },
		Stock:      stk.Routes,
		StockParts: stk,
		Open:       func(e *echo.Echo) { console.Register(e) },
		Timeline:   rec,
		Timelines:  tl,
		Logger:     log,
		Now:        now,
	}
}

// shopifyClient is the Admin API client of the fulfil call, nil when no
// token is configured (the call then answers fulfilment_not_configured).
func shopifyClient(cfg Config) fulfilment.Shopify {
	if cfg.ShopifyToken == "" || (cfg.ShopifyShop == "" && cfg.ShopifyBaseURL == "") {
		return nil
	}
	return &shopify.Client{Shop: cfg.ShopifyShop, Token: cfg.ShopifyToken, BaseURL: cfg.ShopifyBaseURL,
		// The fulfil call must answer Flow well inside its 30 s.
		HTTP: &http.Client{Timeout: 10 * time.Second}, MaxAttempts: 2, MaxWait: 2 * time.Second}
}

// fanOut sends each orders event to every non-nil observer.
func fanOut(obs []orders.Observer) orders.Observer {
	return orders.ObserverFunc(func(ctx context.Context, o orders.Observation) {
		for _, ob := range obs {
			if ob != nil {
				ob.Observe(ctx, o)
			}
		}
	})
}

// CountNeedsReview counts the orders waiting for a person, for the
// needs-review gauge (read at scrape time, paging through the index).
func CountNeedsReview(tl timeline.Store) func(context.Context) (int64, error) {
	return func(ctx context.Context) (int64, error) {
		var n int64
		f := timeline.Filter{State: timeline.FilterNeedsReview, Limit: 500}
		for range 20 { // bounded: at most 10,000 orders per scrape
			p, err := tl.List(ctx, f)
			if err != nil {
				return 0, err
			}
			n += int64(len(p.Orders))
			if p.Next == "" {
				break
			}
			f.Cursor = p.Next
		}
		return n, nil
	}
}
