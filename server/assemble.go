package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge"
	"github.com/flowbridge/flowbridge/fulfilment"
	"github.com/flowbridge/flowbridge/handlers"
	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/shopify"
	"github.com/flowbridge/flowbridge/store"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/timeline"
)

// Stores are the storage a deployment runs on: the placement store and,
// when there is one, the Redis client it was opened on (nil: in-process),
// which the timeline uses too.
type Stores struct {
	Store store.Store
	Redis redis.UniversalClient
	// Slots plans the supplier's shared rate-limit slots. Set it only when
	// the limiter keeps its budget in Redis itself (NewSupplierSlots with
	// Redis): an uncached tracking read then reserves the slot in the same
	// script as the cache read, which only works on one server.
	Slots supplier.SlotPlanner
}

// Assemble builds everything that sits on the store: the orders service,
// the per-order timeline (in Redis when the store is Redis), the operator
// API and the console page. Run and the in-process test harness share it,
// so tests exercise the production wiring. Extra observers (metrics) see
// every orders event alongside the timeline.
func Assemble(cfg Config, sup supplier.Supplier, stores Stores, log *slog.Logger, now func() time.Time, observers ...orders.Observer) (Deps, error) {
	st := stores.Store
	if st == nil {
		return Deps{}, errors.New("server: no store")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	topt := timeline.Options{Retention: cfg.TimelineTTL, Now: now}
	var tl timeline.Store = timeline.NewMemoryStore(topt)
	if stores.Redis != nil {
		tl = timeline.NewRedisStore(stores.Redis, topt)
	}
	rec := timeline.NewRecorder(tl, cfg.Shop, log)
	// Timeline writes never hold an answer: background writers, a bounded
	// queue, each write bounded (timeline.Recorder).
	rec.Now = now
	rec.Async(timelineShards, timelineQueue)

	// The timeline is one observer of the orders service, beside metrics.
	all := append([]orders.Observer{rec}, observers...)
	ocfg := OrdersConfig(cfg, sup, st, log, fanOut(all))
	ocfg.Now = now
	if stores.Redis != nil {
		// The store and the timeline are on the same Redis: claims and
		// completions carry their timeline events (one round trip each).
		ocfg.Journal = rec.Journal()
		ocfg.Slots = stores.Slots
	}
	svc, err := orders.New(ocfg)
	if err != nil {
		return Deps{}, err
	}

	// One parse of openapi.yaml for every handler that validates.
	contract, err := handlers.NewContract(flowbridge.OpenAPI())
	if err != nil {
		return Deps{}, err
	}
	op := &handlers.Operator{
		Contract: contract,
		Timeline: flushing{Store: tl, rec: rec},
		// The service observes both calls with who made them; the
		// Recorder puts them on the timeline behind the order's queued
		// events (the handler writes none).
		Resolve: func(ctx context.Context, shop, orderID string, r orders.Resolution) error {
			_, err := svc.Resolve(ctx, shop, orderID, r)
			return err
		},
		ReleaseCache: svc.ReleaseTracking,
		Placement: func(ctx context.Context, shop, orderID string) (any, error) {
			rec, err := svc.Order(ctx, shop, orderID)
			if err != nil {
				return nil, err
			}
			return handlers.Placement(rec), nil
		},
		Shop: cfg.Shop,
	}
	if shopifyClient(cfg) == nil {
		log.Info("fulfilment: SHOPIFY_SHOP/SHOPIFY_ADMIN_TOKEN not set; POST /tracking/{id}/fulfil answers 503 fulfilment_not_configured once an order ships (needed by the lean workflow, templates --fulfil-by flowbridge)")
	}
	fulfil := &handlers.Fulfil{SupplierName: sup.Name(), TestMode: cfg.TestMode, Now: now, Contract: contract,
		Service: fulfilment.New(fulfilment.Config{Shopify: shopifyClient(cfg), Store: st, Tracker: svc,
			Shop: cfg.Shop, Lease: cfg.Lease, TTL: cfg.RecordTTL, Logger: log, Now: now})}
	stk := NewStock(cfg, sup, stores.Redis, log)
	return Deps{
		Fulfil:     fulfil.Handle,
		Supplier:   sup,
		Orders:     svc,
		Checks:     []handlers.Check{{Name: "store", Fn: st.Ping}},
		Operator:   op,
		StockParts: stk,
		Timeline:   rec,
		Timelines:  tl,
		Contract:   contract,
		Logger:     log,
		Now:        now,
	}, nil
}

// Timeline writer pool: a few shards (one order's events stay in order)
// with room for bursts; a full queue drops events (counted) rather than
// hold a request.
const (
	timelineShards = 4
	timelineQueue  = 2048
	// timelineDrain bounds the drain of the queue on shutdown.
	timelineDrain = 5 * time.Second
)

// flushing is the timeline as the operator API reads it: this process's
// queued events are written first, so an operator (and a test) reading
// right after a call sees it. The wait is bounded by the request.
type flushing struct {
	timeline.Store
	rec *timeline.Recorder
}

func (f flushing) Get(ctx context.Context, shop, orderID string) (timeline.Order, error) {
	f.flush(ctx)
	return f.Store.Get(ctx, shop, orderID)
}

func (f flushing) List(ctx context.Context, fl timeline.Filter) (timeline.Page, error) {
	f.flush(ctx)
	return f.Store.List(ctx, fl)
}

func (f flushing) flush(ctx context.Context) {
	fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	f.rec.Flush(fctx)
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
