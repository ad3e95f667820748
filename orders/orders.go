// Package orders is flowbridge's use-case layer: it quotes rates, places
// supplier orders exactly once per Shopify order, reports tracking, and
// lets an operator resolve orders whose outcome is unknown. The HTTP
// handlers translate requests into these inputs and nothing else.
//
// # Exactly once
//
// Shopify Flow delivers at least once (it re-sends after 30 s without an
// answer and re-sends 429/5xx for up to 24 h, with no delivery id), so
// Place is keyed on the Shopify order itself: store.Key{shop, order id,
// "place"}. One call at a time holds a lease on that record; the others
// are answered from it. The algorithm (docs/exactly-once.md has the whole
// story):
//
//  1. PlaceInput.Recorded set (the supplier number is already on the
//     order's metafield): never create; record it as placed and answer
//     "recorded" with that number (a placed record is kept as it is).
//  2. Claim the record (one atomic store operation, lease on the store's
//     clock). Store unreachable → 503 store_unavailable and no supplier
//     call (fail closed). A live lease held by another call → 429 in_flight
//     with Retry-After. A final record → its stored answer: placed is
//     replayed with the same supplier number (PayloadChanged when the
//     payload's fingerprint differs), rejected returns the stored problem
//     for the same payload (a changed payload, e.g. a corrected address,
//     is placed: a refusal created nothing), needs_review the stored
//     review reason.
//  3. A won claim over an unknown record or an expired lease reconciles
//     first: the supplier is asked for the order by our client reference
//     (the Shopify order id). Found → adopt it ("reconciled"); confirmed
//     absent → create; lookup failed → 503 and the record stays unknown.
//     A supplier that cannot be asked (BTS) is never retried
//     automatically: the record becomes needs_review and the answer says
//     what a person must check and how to resolve it (Resolve).
//     A fresh claim reconciles too, unless Config.TrustFreshClaims: after
//     a store that lost its data, a fresh claim may be for an order that
//     exists.
//  4. CreateOrder runs under SupplierTimeout, shorter than the lease.
//     Success → placed. Permanent refusal → rejected. A failure that
//     guarantees nothing was created → release (a retry starts over). An
//     unknown outcome (supplier.IsOutcomeUnknown; the adapter decides
//     whether the request may have been sent) → unknown, answered 503 so Flow retries and the retry
//     reconciles; or needs_review at once when the supplier cannot be asked.
//
// Every write after the claim compares the owner token, so a caller whose
// lease expired and was taken over cannot overwrite the new holder's work.
// The store is the efficiency layer; the supplier reference lookup and the
// order metafield are the correctness layer when the store forgets.
package orders

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/flowbridge/flowbridge/orderid"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/store"
	"github.com/flowbridge/flowbridge/store/memstore"
	"github.com/flowbridge/flowbridge/supplier"
)

// PurposePlace is the record purpose of supplier order placement.
const PurposePlace = "place"

// Defaults for Config.
const (
	DefaultLease           = 60 * time.Second
	DefaultSupplierTimeout = 20 * time.Second
	DefaultRecordTTL       = 30 * 24 * time.Hour
	DefaultRatesTTL        = 10 * time.Minute
	DefaultTrackingTTL     = 2 * time.Minute
	DefaultBusyRetryAfter  = 5 * time.Second
	DefaultUnknownRetry    = 10 * time.Second
	DefaultShop            = "default"
	bookkeepingTimeout     = 5 * time.Second
)

// CodeResolveConflict: an operator resolution that the record's state does
// not allow (for example releasing an order that is placed).
const CodeResolveConflict = "resolve_conflict"

// Config holds the service's dependencies and settings.
type Config struct {
	Supplier supplier.Supplier
	// Carriers is the preference list for rate selection (default ["GLS"]).
	Carriers []string
	// TestMode places supplier orders so that they stay pending.
	TestMode bool
	Logger   *slog.Logger
	Now      func() time.Time

	// Store holds idempotency records and caches. Nil uses an in-process
	// store (single instance only).
	Store store.Store
	// Shop is used when an input has no shop (single-shop deployments).
	Shop string
	// Lease is how long a Place call holds an order (default 60 s). It
	// must outlast SupplierTimeout plus bookkeeping.
	Lease time.Duration
	// SupplierTimeout bounds each supplier call made by Place (default
	// 20 s, below Flow's 30 s). It is cut to 3/4 of Lease if longer.
	SupplierTimeout time.Duration
	// RecordTTL is how long idempotency records live (default 30 days:
	// Flow's 24 h retry window plus later manual re-runs).
	RecordTTL time.Duration
	// RatesTTL and TrackingTTL are how long cached answers are served
	// without asking the supplier (defaults 10 and 2 minutes: long enough
	// to absorb a retry storm or repeated checks in one workflow run,
	// short enough that a shipment shows promptly). Tracking entries are
	// kept for RecordTTL so a status never goes back.
	RatesTTL    time.Duration
	TrackingTTL time.Duration
	// BusyRetryAfter caps the Retry-After of an in_flight answer (default 5 s).
	BusyRetryAfter time.Duration
	// UnknownRetryAfter is the Retry-After after an unknown create outcome
	// (default 10 s): the retry reconciles by reference.
	UnknownRetryAfter time.Duration
	// TrustFreshClaims skips the reference lookup before the first create
	// of an order. Only safe when the store never forgets (Redis with
	// persistence and noeviction); it saves one supplier read per order.
	TrustFreshClaims bool
	// Observer receives an event for every claim, replay, reconciliation,
	// unknown outcome, review and store error (default: none).
	Observer Observer
}

// Service implements the Flow-facing operations and operator resolution.
type Service struct {
	cfg Config
	st  store.Store
	obs Observer
	log *slog.Logger
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.Carriers) == 0 {
		cfg.Carriers = []string{"GLS"}
	}
	if cfg.Store == nil {
		cfg.Logger.Warn("orders: no store configured; using the in-process store (single instance only)")
		// One clock for the whole single instance: a virtual clock in
		// tests moves leases and cache freshness too.
		cfg.Store = memstore.New(cfg.Now)
	}
	if cfg.Shop == "" {
		cfg.Shop = DefaultShop
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Lease, DefaultLease)
	def(&cfg.SupplierTimeout, DefaultSupplierTimeout)
	def(&cfg.RecordTTL, DefaultRecordTTL)
	def(&cfg.RatesTTL, DefaultRatesTTL)
	def(&cfg.TrackingTTL, DefaultTrackingTTL)
	def(&cfg.BusyRetryAfter, DefaultBusyRetryAfter)
	def(&cfg.UnknownRetryAfter, DefaultUnknownRetry)
	// The supplier call must end before the lease does, or a retry could
	// take the order over while the first create is still running.
	if max := cfg.Lease * 3 / 4; cfg.SupplierTimeout > max {
		cfg.SupplierTimeout = max
	}
	obs := cfg.Observer
	if obs == nil {
		obs = NopObserver{}
	}
	return &Service{cfg: cfg, st: cfg.Store, obs: obs, log: cfg.Logger}
}

// Store returns the service's store (for readiness checks).
func (s *Service) Store() store.Store { return s.cfg.Store }

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
	OrderID string // numeric Shopify order id (a GID is accepted too)
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
	OutcomeResolved    = "resolved"     // an operator adopted a supplier number (stored only)
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
	// OrderID is the normalised Shopify order id.
	OrderID string
	// FirstOutcome is the outcome of the call that settled the order (on a
	// replay: placed, reconciled, recorded or resolved).
	FirstOutcome string
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
	// CheckedAt is when the supplier was last asked.
	CheckedAt time.Time
}

// placement is the stored answer of a placed record.
type placement struct {
	SupplierOrderID string          `json:"supplier_order_id"`
	Status          supplier.Status `json:"status"`
	RawStatus       string          `json:"raw_status,omitempty"`
	Outcome         string          `json:"outcome"`
	PlacedAt        time.Time       `json:"placed_at"`
	TestMode        bool            `json:"test_mode"`
}

// storedProblem is the stored answer of a rejected record.
type storedProblem struct {
	Kind   problem.Kind    `json:"kind"`
	Code   string          `json:"code"`
	Detail string          `json:"detail"`
	Status int             `json:"status,omitempty"`
	Fields []problem.Field `json:"fields,omitempty"`
}

func (s *Service) shop(in string) (string, error) {
	sh, ok := orderid.Shop(in, s.cfg.Shop)
	if !ok {
		return "", problem.InvalidFields(problem.CodeValidation, "invalid shop", problem.Field{Pointer: "/shop", Message: "must be a shop domain such as example.myshopify.com"})
	}
	return sh, nil
}

func (s *Service) orderKey(shop, orderID string) (store.Key, error) {
	sh, err := s.shop(shop)
	if err != nil {
		return store.Key{}, err
	}
	id, ok := orderid.Normalize(orderID)
	if !ok {
		return store.Key{}, problem.InvalidFields(problem.CodeValidation, "invalid order id", problem.Field{Pointer: "/order_id", Message: "must be a Shopify order id (number or gid://shopify/Order/<number>)"})
	}
	return store.Key{Shop: sh, OrderID: id, Purpose: PurposePlace}, nil
}

// Fingerprint is the sha256 (hex) of a canonical form of what the supplier
// would receive: line order, letter case of codes and surrounding spaces
// do not change it. The reference and test mode are ours, not the order's.
func Fingerprint(o supplier.Order) string {
	c := o
	c.Reference = ""
	c.TestMode = false
	c.ShipTo.CountryCode = strings.ToUpper(strings.TrimSpace(c.ShipTo.CountryCode))
	c.ShipTo.ProvinceCode = strings.ToUpper(strings.TrimSpace(c.ShipTo.ProvinceCode))
	c.ShipTo.PostalCode = strings.ToUpper(strings.Join(strings.Fields(c.ShipTo.PostalCode), ""))
	c.Email = strings.ToLower(strings.TrimSpace(c.Email))
	c.Lines = slices.Clone(o.Lines)
	slices.SortFunc(c.Lines, func(a, b supplier.Line) int {
		if x := strings.Compare(a.EAN, b.EAN); x != 0 {
			return x
		}
		if x := strings.Compare(a.SKU, b.SKU); x != 0 {
			return x
		}
		return a.Quantity - b.Quantity
	})
	b, _ := json.Marshal(c) // struct fields marshal in a fixed order
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// bookkeeping is the context for store writes after a supplier call: the
// caller may have gone away (Flow gave up, context cancelled), but what
// happened at the supplier must still be written down.
func bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
}

func retryAfterSeconds(d time.Duration) time.Duration {
	return time.Duration(math.Ceil(d.Seconds())) * time.Second
}

func (s *Service) storeDown(ctx context.Context, op string, k store.Key, err error) error {
	if ctx.Err() != nil {
		// The caller's own deadline or cancellation, not Redis.
		return problem.Wrap(err, problem.Unavailable, problem.CodeDeadline, "the request ran out of time before the order could be checked; nothing was sent to the supplier").WithRetryAfter(time.Second)
	}
	s.observe(ctx, Observation{Event: EventStoreError, Op: op, Key: k, Err: err})
	return problem.Wrap(err, problem.Unavailable, problem.CodeStoreUnavailable,
		"the idempotency store is unreachable; nothing was sent to the supplier, try again").WithRetryAfter(5 * time.Second)
}

// Place places the order exactly once per Shopify order (see the package
// documentation).
func (s *Service) Place(ctx context.Context, in PlaceInput) (PlaceResult, error) {
	k, err := s.orderKey(in.Shop, in.OrderID)
	if err != nil {
		return PlaceResult{}, err
	}
	fp := Fingerprint(in.Order)
	if in.Recorded != "" {
		return s.recordExisting(ctx, k, fp, strings.TrimSpace(in.Recorded))
	}
	a := &attempt{k: k, in: in, fp: fp, owner: newToken()}
	cr, err := s.st.Claim(ctx, k, store.ClaimRequest{Owner: a.owner, Fingerprint: fp, Lease: s.cfg.Lease, TTL: s.cfg.RecordTTL})
	if err != nil {
		return PlaceResult{}, s.storeDown(ctx, "claim", k, err)
	}
	a.rec = cr.Record
	switch cr.Status {
	case store.ClaimBusy:
		s.observe(ctx, Observation{Event: EventClaimBusy, Key: k})
		wait := min(max(retryAfterSeconds(cr.RetryAfter), time.Second), s.cfg.BusyRetryAfter)
		return PlaceResult{}, problem.New(problem.Busy, problem.CodeInFlight,
			"this order is being placed right now by another request; try again shortly").WithRetryAfter(wait)
	case store.ClaimDone:
		return s.replay(ctx, k, cr.Record, fp)
	case store.ClaimFresh:
		s.observe(ctx, Observation{Event: EventClaimWon, Key: k})
		if s.cfg.TrustFreshClaims || !s.cfg.Supplier.Capabilities().LookupByReference {
			return s.create(ctx, a)
		}
		return s.reconcile(ctx, a, true)
	case store.ClaimTakeover:
		s.observe(ctx, Observation{Event: EventClaimTakeover, Key: k, State: cr.Previous})
		if cr.Previous == store.StateRejected {
			// The supplier refused the earlier payload, so nothing exists;
			// the corrected order is placed like a fresh one.
			if s.cfg.TrustFreshClaims || !s.cfg.Supplier.Capabilities().LookupByReference {
				return s.create(ctx, a)
			}
			return s.reconcile(ctx, a, true)
		}
		return s.reconcile(ctx, a, false)
	}
	return PlaceResult{}, problem.Newf(problem.Internal, problem.CodeInternal, "unexpected claim status %v", cr.Status)
}

// attempt is one won claim.
type attempt struct {
	k     store.Key
	in    PlaceInput
	fp    string
	owner string
	rec   store.Record
}

func (s *Service) complete(ctx context.Context, a *attempt, to store.State, result []byte, reason string) error {
	bctx, cancel := bookkeeping(ctx)
	defer cancel()
	err := s.st.Complete(bctx, a.k, store.Change{Owner: a.owner, To: to, Result: result, Reason: reason, TTL: s.cfg.RecordTTL})
	switch {
	case errors.Is(err, store.ErrNotOwner):
		// Someone took the order over (our lease expired) or an operator
		// resolved it. Never overwrite; a person may need to compare.
		s.observe(ctx, Observation{Event: EventOwnershipLost, Key: a.k, State: to, Err: err})
	case err != nil:
		s.observe(ctx, Observation{Event: EventStoreError, Op: "complete", Key: a.k, State: to, Err: err})
	}
	return err
}

func (s *Service) release(ctx context.Context, a *attempt) {
	bctx, cancel := bookkeeping(ctx)
	defer cancel()
	if err := s.st.Release(bctx, a.k, a.owner); err != nil {
		ev := EventStoreError
		if errors.Is(err, store.ErrNotOwner) {
			ev = EventOwnershipLost
		}
		s.observe(ctx, Observation{Event: ev, Op: "release", Key: a.k, Err: err})
	}
}

func (s *Service) placed(ctx context.Context, a *attempt, p supplier.Placed, outcome string) PlaceResult {
	pl := placement{SupplierOrderID: p.SupplierOrderID, Status: p.Status, RawStatus: p.RawStatus, Outcome: outcome,
		PlacedAt: s.cfg.Now().UTC(), TestMode: s.cfg.TestMode}
	b, _ := json.Marshal(pl)
	// A failed write is logged and observed but the order exists: Flow must
	// hear the number so that it writes it to the order metafield, which
	// protects the order if the store forgot.
	_ = s.complete(ctx, a, store.StatePlaced, b, "")
	return PlaceResult{Outcome: outcome, SupplierOrderID: p.SupplierOrderID, Status: p.Status, RawStatus: p.RawStatus,
		TestMode: s.cfg.TestMode, PlacedAt: pl.PlacedAt, OrderID: a.k.OrderID, FirstOutcome: outcome,
		PayloadChanged: a.rec.Fingerprint != "" && a.rec.Fingerprint != a.fp}
}

func (s *Service) supplierTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.SupplierTimeout)
}

// reconcile asks the supplier for the order by reference before creating.
func (s *Service) reconcile(ctx context.Context, a *attempt, fresh bool) (PlaceResult, error) {
	if !s.cfg.Supplier.Capabilities().LookupByReference {
		return s.needsReview(ctx, a, a.rec.PreviousClaimAt)
	}
	lctx, cancel := s.supplierTimeout(ctx)
	p, found, err := s.cfg.Supplier.FindOrder(supplier.Retryable(lctx), a.k.OrderID)
	cancel()
	if err != nil {
		if fresh {
			s.release(ctx, a)
		} else {
			// Still unknown: the next call must reconcile again.
			_ = s.complete(ctx, a, store.StateUnknown, nil, "")
		}
		s.observe(ctx, Observation{Event: EventLookupFailed, Key: a.k, Err: err})
		pe := problem.From(err)
		out := problem.Wrap(err, problem.Unavailable, problem.CodeSupplierUnavailable,
			"could not check at the supplier whether this order exists; nothing was created, try again")
		out.RetryAfter = max(pe.RetryAfter, s.cfg.UnknownRetryAfter)
		return PlaceResult{}, out
	}
	if found {
		s.observe(ctx, Observation{Event: EventReconciled, Key: a.k})
		if p.SupplierOrderID == "" {
			return PlaceResult{}, problem.New(problem.Upstream, problem.CodeSupplierBadResponse, "the supplier found the order but gave no order number")
		}
		return s.placed(ctx, a, p, OutcomeReconciled), nil
	}
	if !fresh {
		s.observe(ctx, Observation{Event: EventReconciledAbsent, Key: a.k})
	}
	return s.create(ctx, a)
}

func (s *Service) create(ctx context.Context, a *attempt) (PlaceResult, error) {
	o := a.in.Order
	o.Reference = a.k.OrderID
	o.TestMode = s.cfg.TestMode
	cctx, cancel := s.supplierTimeout(ctx)
	p, err := s.cfg.Supplier.CreateOrder(cctx, o)
	timedOut := cctx.Err() != nil
	cancel()
	if err == nil {
		if p.SupplierOrderID == "" {
			// Created, but we cannot tell Flow which order: treat as unknown.
			err = supplier.OutcomeUnknown(problem.New(problem.Upstream, problem.CodeSupplierBadResponse, "the supplier accepted the order but returned no order number"))
		} else {
			s.observe(ctx, Observation{Event: EventCreated, Key: a.k})
			return s.placed(ctx, a, p, OutcomePlaced), nil
		}
	}
	// The adapter contract: only an outcome-unknown error may hide a
	// created order; any other error guarantees nothing was created. An
	// error outside that contract (no *problem.Error at all) after our
	// deadline fired is treated as unknown, to be safe.
	var pe0 *problem.Error
	if supplier.IsOutcomeUnknown(err) || (timedOut && !errors.As(err, &pe0)) {
		s.observe(ctx, Observation{Event: EventOutcomeUnknown, Key: a.k, Err: err})
		if !s.cfg.Supplier.Capabilities().LookupByReference {
			return s.needsReview(ctx, a, a.rec.ClaimedAt)
		}
		if cerr := s.complete(ctx, a, store.StateUnknown, nil, ""); cerr != nil && !errors.Is(cerr, store.ErrNotOwner) {
			// The record stays in_flight until its lease expires; the
			// takeover then reconciles just the same.
			s.log.Warn("orders: could not mark outcome unknown; the lease expiry covers it", "order_id", a.k.OrderID)
		}
		return PlaceResult{}, problem.Wrap(err, problem.Unavailable, problem.CodeSupplierUnavailable,
			"the supplier did not confirm the order; the next attempt checks at the supplier before creating anything").
			WithRetryAfter(s.cfg.UnknownRetryAfter)
	}
	pe := problem.From(err)
	if pe.Kind == problem.Rejected || pe.Kind == problem.Invalid {
		b, _ := json.Marshal(storedProblem{Kind: pe.Kind, Code: pe.Code, Detail: pe.Detail, Status: pe.Status, Fields: pe.Fields})
		_ = s.complete(ctx, a, store.StateRejected, b, "")
		s.observe(ctx, Observation{Event: EventRejected, Key: a.k, Err: err})
		return PlaceResult{}, err
	}
	// Nothing was created (the adapter's contract): free the order.
	s.release(ctx, a)
	s.observe(ctx, Observation{Event: EventReleased, Key: a.k, Err: err})
	return PlaceResult{}, err
}

func (s *Service) needsReview(ctx context.Context, a *attempt, at time.Time) (PlaceResult, error) {
	if at.IsZero() {
		at = a.rec.ClaimedAt
	}
	reason := s.reviewReason(a, at)
	if err := s.complete(ctx, a, store.StateNeedsReview, nil, reason); err != nil && !errors.Is(err, store.ErrNotOwner) {
		return PlaceResult{}, s.storeDown(ctx, "complete", a.k, err)
	}
	s.observe(ctx, Observation{Event: EventNeedsReview, Key: a.k})
	return PlaceResult{Outcome: OutcomeNeedsReview, NeedsReview: true, ReviewReason: reason, OrderID: a.k.OrderID,
		TestMode: s.cfg.TestMode, FirstOutcome: OutcomeNeedsReview}, nil
}

// reviewReason tells a person what to check. It names the order by its
// Shopify name and id only, never customer data.
func (s *Service) reviewReason(a *attempt, at time.Time) string {
	sup := s.cfg.Supplier.Name()
	name := a.in.Order.Name
	if name == "" {
		name = "order " + a.k.OrderID
	}
	return fmt.Sprintf("flowbridge sent Shopify order %s (id %s) to %s at %s UTC but did not get an answer, and %s cannot be searched by our reference, so flowbridge will not send it again on its own. "+
		"Check the %s portal for an order placed around that time with this order's items and shipping address. "+
		"If it exists, record its number: `flowbridge orders resolve %s --adopt <supplier order number>` (or POST /admin/orders/%s/resolve {\"action\":\"adopt\",\"supplier_order_id\":\"...\"}). "+
		"If it does not exist, release the order and re-run the workflow: `flowbridge orders resolve %s --release`.",
		name, a.k.OrderID, sup, at.UTC().Format("2006-01-02 15:04:05"), sup, sup, a.k.OrderID, a.k.OrderID, a.k.OrderID)
}

// replay answers from a final record.
func (s *Service) replay(ctx context.Context, k store.Key, r store.Record, fp string) (PlaceResult, error) {
	s.observe(ctx, Observation{Event: EventReplay, Key: k, State: r.State})
	switch r.State {
	case store.StatePlaced:
		var pl placement
		if err := json.Unmarshal(r.Result, &pl); err != nil || pl.SupplierOrderID == "" {
			return PlaceResult{}, problem.Wrap(err, problem.Internal, problem.CodeInternal, "stored placement is unreadable")
		}
		changed := r.Fingerprint != "" && r.Fingerprint != fp
		if changed {
			s.log.Warn("orders: replay with a changed payload; the stored order stands", "shop", k.Shop, "order_id", k.OrderID)
		}
		return PlaceResult{Outcome: OutcomeReplayed, SupplierOrderID: pl.SupplierOrderID, Status: pl.Status, RawStatus: pl.RawStatus,
			Replay: true, PayloadChanged: changed, TestMode: pl.TestMode, PlacedAt: pl.PlacedAt, OrderID: k.OrderID, FirstOutcome: pl.Outcome}, nil
	case store.StateRejected:
		var sp storedProblem
		if err := json.Unmarshal(r.Result, &sp); err != nil || sp.Code == "" {
			return PlaceResult{}, problem.Wrap(err, problem.Internal, problem.CodeInternal, "stored rejection is unreadable")
		}
		return PlaceResult{}, &problem.Error{Kind: sp.Kind, Code: sp.Code, Detail: sp.Detail, Status: sp.Status, Fields: sp.Fields}
	case store.StateNeedsReview:
		return PlaceResult{Outcome: OutcomeNeedsReview, NeedsReview: true, ReviewReason: r.Reason, Replay: true, OrderID: k.OrderID,
			TestMode: s.cfg.TestMode, FirstOutcome: OutcomeNeedsReview}, nil
	}
	return PlaceResult{}, problem.Newf(problem.Internal, problem.CodeInternal, "unexpected record state %q", r.State)
}

// recordExisting stores the supplier number the order already carries.
func (s *Service) recordExisting(ctx context.Context, k store.Key, fp, number string) (PlaceResult, error) {
	now := s.cfg.Now().UTC()
	pl := placement{SupplierOrderID: number, Status: supplier.StatusUnknown, Outcome: OutcomeRecorded, PlacedAt: now, TestMode: s.cfg.TestMode}
	b, _ := json.Marshal(pl)
	prev, err := s.st.Transition(ctx, k, store.Transition{Token: newToken(),
		// Everything but placed: the metafield proves the supplier order
		// exists, whatever the store believed.
		From: []store.State{store.StateAbsent, store.StateInFlight, store.StateUnknown, store.StateNeedsReview, store.StateRejected},
		To:   store.StatePlaced, Result: b, TTL: s.cfg.RecordTTL})
	if errors.Is(err, store.ErrConflict) && prev.State == store.StatePlaced {
		// Already placed: answer with the number the order carries, so the
		// Shopify side stays as it is; a different stored number means a
		// person must look (two supplier orders may exist).
		res, rerr := s.replay(ctx, k, prev, fp)
		if rerr != nil || res.SupplierOrderID != number {
			s.log.Warn("orders: the order's metafield and the stored placement name different supplier orders", "shop", k.Shop, "order_id", k.OrderID)
			s.observe(ctx, Observation{Event: EventRecordedMismatch, Key: k})
			res = PlaceResult{Status: supplier.StatusUnknown, PlacedAt: now, FirstOutcome: OutcomeRecorded, OrderID: k.OrderID, TestMode: s.cfg.TestMode, Replay: true}
		}
		res.Outcome, res.SupplierOrderID = OutcomeRecorded, number
		return res, nil
	}
	if err != nil {
		// Nothing is sent to the supplier on this path, so a store failure
		// costs only the record; the metafield still holds the number.
		s.observe(ctx, Observation{Event: EventStoreError, Op: "record", Key: k, Err: err})
	} else {
		s.observe(ctx, Observation{Event: EventRecorded, Key: k, State: prev.State})
	}
	return PlaceResult{Outcome: OutcomeRecorded, SupplierOrderID: number, Status: supplier.StatusUnknown, Replay: true,
		TestMode: s.cfg.TestMode, PlacedAt: now, OrderID: k.OrderID, FirstOutcome: OutcomeRecorded}, nil
}
