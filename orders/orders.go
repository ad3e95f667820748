// Package orders is flowbridge's use-case layer: it quotes rates, places
// supplier orders exactly once per Shopify order, and reports tracking. The
// HTTP handlers translate requests into these inputs and nothing else.
//
// STUB: this first version calls the supplier directly. The exactly-once
// issue replaces the internals (idempotency store, reconciliation, caches)
// without changing the exported API below.
package orders

import (
	"context"
	"log/slog"
	"time"

	"github.com/flowbridge/flowbridge/supplier"
)

// Config holds the service's dependencies.
type Config struct {
	Supplier supplier.Supplier
	// Carriers is the preference list for rate selection (default ["GLS"]).
	Carriers []string
	// TestMode places supplier orders so that they stay pending.
	TestMode bool
	Logger   *slog.Logger
	Now      func() time.Time
}

// Service implements the three Flow-facing operations.
type Service struct {
	cfg Config
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}
}

// RatesInput asks for shipping options for one order.
type RatesInput struct {
	Shop    string
	OrderID string // numeric Shopify order id; may be empty for /rates
	Request supplier.RateRequest
	// Carriers overrides the configured preference list when non-empty.
	Carriers []string
}

// RatesResult is the chosen option and every option offered.
type RatesResult struct {
	Chosen supplier.Rate
	// Choice is "preferred" or "fallback".
	Choice string
	// Reason explains the choice in one sentence.
	Reason   string
	Options  []supplier.Rate
	Cached   bool
	TestMode bool
}

// PlaceInput is a validated order to place.
type PlaceInput struct {
	Shop    string
	OrderID string // numeric Shopify order id
	Order   supplier.Order
	// Recorded is the supplier order number already stored on the Shopify
	// order's metafield (empty if none). When set, nothing is created.
	Recorded string
}

// Outcome of a placement.
const (
	OutcomePlaced      = "placed"       // created now
	OutcomeReplayed    = "replayed"     // a stored result was returned
	OutcomeReconciled  = "reconciled"   // found at the supplier by reference
	OutcomeRecorded    = "recorded"     // the caller passed the number already on the order
	OutcomeNeedsReview = "needs_review" // outcome unknown; a person must check
)

// PlaceResult is what /orders answers.
type PlaceResult struct {
	Outcome         string
	SupplierOrderID string
	Status          supplier.Status
	RawStatus       string
	Replay          bool
	PayloadChanged  bool
	NeedsReview     bool
	// ReviewReason says what a person must check when NeedsReview.
	ReviewReason string
	TestMode     bool
	PlacedAt     time.Time
}

// TrackInput names a supplier order directly or through its Shopify order.
type TrackInput struct {
	Shop            string
	SupplierOrderID string
	ShopifyOrderID  string // numeric; used when SupplierOrderID is empty
}

// TrackResult is a supplier order's normalised tracking.
type TrackResult struct {
	supplier.Tracking
	Cached   bool
	TestMode bool
}

// Rates quotes and chooses a shipping option.
func (s *Service) Rates(ctx context.Context, in RatesInput) (RatesResult, error) {
	opts, err := s.cfg.Supplier.Rates(ctx, in.Request)
	if err != nil {
		return RatesResult{}, err
	}
	prefs := in.Carriers
	if len(prefs) == 0 {
		prefs = s.cfg.Carriers
	}
	ch, err := supplier.Choose(opts, prefs)
	if err != nil {
		return RatesResult{}, err
	}
	return RatesResult{Chosen: ch.Rate, Choice: ch.Kind, Reason: ch.Reason, Options: opts, TestMode: s.cfg.TestMode}, nil
}

// Place places the order (STUB: no idempotency yet).
func (s *Service) Place(ctx context.Context, in PlaceInput) (PlaceResult, error) {
	if in.Recorded != "" {
		return PlaceResult{Outcome: OutcomeRecorded, SupplierOrderID: in.Recorded, Status: supplier.StatusUnknown, Replay: true, TestMode: s.cfg.TestMode}, nil
	}
	o := in.Order
	o.TestMode = s.cfg.TestMode
	p, err := s.cfg.Supplier.CreateOrder(ctx, o)
	if err != nil {
		return PlaceResult{}, err
	}
	return PlaceResult{Outcome: OutcomePlaced, SupplierOrderID: p.SupplierOrderID, Status: p.Status, RawStatus: p.RawStatus, TestMode: s.cfg.TestMode, PlacedAt: s.cfg.Now()}, nil
}

// Track reports a supplier order's status (STUB: no cache, no lookup by
// Shopify order yet).
func (s *Service) Track(ctx context.Context, in TrackInput) (TrackResult, error) {
	t, err := s.cfg.Supplier.Tracking(ctx, in.SupplierOrderID)
	if err != nil {
		return TrackResult{}, err
	}
	return TrackResult{Tracking: t, TestMode: s.cfg.TestMode}, nil
}
