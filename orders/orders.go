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
	"sync/atomic"
	"time"

	"github.com/flowbridge/flowbridge/orderid"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/store"
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
	DefaultLostDataWindow  = 24 * time.Hour
	bookkeepingTimeout     = 5 * time.Second
	// claimMargin: a claim is useless with less time than this left before
	// the caller's deadline (nothing could be sent), so the claim's own
	// deadline is the request's minus this.
	claimMargin = time.Second
	// completeReserve is kept back from the supplier call so the
	// completion write has time inside the request deadline.
	completeReserve = time.Second
)

// CodeStoreRecovering: the store lost its data moments ago; calls that
// were placing orders before the loss may still be running, so a new
// placement waits until they must have finished.
const CodeStoreRecovering = "store_recovering"

// ErrCannotAsk is returned by a Config.Metafield function that cannot
// look at this order (another shop, no token): the placement fails closed.
var ErrCannotAsk = errors.New("orders: the Shopify order cannot be checked")

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
	// LostDataWindow is how long after the store lost its data (its epoch
	// marker was gone) a fresh claim is treated as possibly forgotten
	// rather than new (default 24 h, Flow's retry window): it is
	// reconciled at the supplier, or checked against the order's Shopify
	// metafield (Metafield), or held for review.
	LostDataWindow time.Duration
	// Metafield, when set, reads the supplier order number stage 1 stored
	// on the Shopify order (metafield flowbridge.supplier_order_id) through
	// the Admin API. It is asked only after the store lost its data, for a
	// supplier that cannot be searched by reference. ErrCannotAsk means
	// this order cannot be checked (the placement is held for review).
	Metafield func(ctx context.Context, shop, orderID string) (number string, found bool, err error)
	// Journal, when set, has the store write the timeline's claim and
	// placement events inside the claim and completion scripts (one
	// round trip each). It needs the Redis store; the in-process store
	// refuses entries (store.ErrNoJournal).
	Journal Journal
	// Slots, when set, plans the supplier's shared rate-limit slot, so an
	// uncached tracking read reserves it in the same store call as the
	// cache read (see trackOne). Set it only when the limiter keeps its
	// budget in the store's Redis (server wiring does).
	Slots supplier.SlotPlanner
}

// Service implements the Flow-facing operations and operator resolution.
type Service struct {
	cfg Config
	st  store.Store
	obs Observer
	log *slog.Logger
	// cacheDownUntil (unix ns): caches are skipped until then after a
	// store failure (read.go).
	cacheDownUntil atomic.Int64
}

// New returns a Service. Supplier and Store are required.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Supplier == nil:
		return nil, errors.New("orders: no supplier")
	case cfg.Store == nil:
		// No quiet fallback to an in-process store: with several
		// instances that would place an order once per instance.
		return nil, errors.New("orders: no store (use store.Open: Redis, or the in-process store for a single instance)")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.Carriers) == 0 {
		cfg.Carriers = []string{"GLS"}
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
	def(&cfg.LostDataWindow, DefaultLostDataWindow)
	// The supplier call must end before the lease does, or a retry could
	// take the order over while the first create is still running.
	if max := cfg.Lease * 3 / 4; cfg.SupplierTimeout > max {
		cfg.SupplierTimeout = max
	}
	obs := cfg.Observer
	if obs == nil {
		obs = NopObserver{}
	}
	return &Service{cfg: cfg, st: cfg.Store, obs: obs, log: cfg.Logger}, nil
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
	// Parts lists the supplier orders the Shopify order became (one for an
	// order the supplier did not split); SupplierOrderID is then their
	// numbers joined by commas. Partial: some part was not created.
	Parts   []supplier.Part
	Partial bool
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
	// Parts is each part's tracking when the order was split; the result
	// then combines them (trackParts). PartlyCancelled: some, not all,
	// parts were cancelled.
	Parts           []supplier.Tracking
	PartlyCancelled bool
}

// placement is the stored answer of a placed record.
type placement struct {
	SupplierOrderID string          `json:"supplier_order_id"`
	Status          supplier.Status `json:"status"`
	RawStatus       string          `json:"raw_status,omitempty"`
	Outcome         string          `json:"outcome"`
	PlacedAt        time.Time       `json:"placed_at"`
	TestMode        bool            `json:"test_mode"`
	// Parts of a split order (SupplierOrderID joins their numbers).
	Parts []supplier.Part `json:"parts,omitempty"`
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
	if ctx.Err() != nil || errors.Is(err, store.ErrDeadline) {
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
	a := &attempt{in: in}
	res, err := s.place(ctx, a)
	s.observe(ctx, Observation{Event: EventPlaceAnswered, Err: err, Place: &PlaceCall{In: in, Out: res}, Journaled: err == nil && a.journaled})
	return res, err
}

func (s *Service) place(ctx context.Context, a *attempt) (PlaceResult, error) {
	in := a.in
	k, err := s.orderKey(in.Shop, in.OrderID)
	if err != nil {
		return PlaceResult{}, err
	}
	fp := Fingerprint(in.Order)
	if in.Recorded != "" {
		return s.recordExisting(ctx, k, fp, strings.TrimSpace(in.Recorded))
	}
	a.k, a.fp, a.owner = k, fp, newToken()
	cr, err := s.st.Claim(ctx, k, store.ClaimRequest{Owner: a.owner, Fingerprint: fp, Lease: s.cfg.Lease, TTL: s.cfg.RecordTTL,
		Deadline: claimDeadline(ctx), Journal: s.claimJournal(k)})
	if err != nil {
		return PlaceResult{}, s.storeDown(ctx, "claim", k, err)
	}
	a.rec = cr.Record
	switch cr.Status {
	case store.ClaimBusy:
		s.observe(ctx, Observation{Event: EventClaimBusy, Key: k})
		wait := min(max(retryAfterSeconds(cr.RetryAfter), time.Second), s.cfg.BusyRetryAfter)
		if !cr.Record.Deadline.IsZero() && cr.Record.SentAt.IsZero() {
			// The holder has not sent anything yet; if it never does, the
			// order is free once its deadline passes.
			wait = min(wait, max(retryAfterSeconds(cr.Record.Deadline.Sub(cr.Now)), time.Second))
		}
		return PlaceResult{}, problem.New(problem.Busy, problem.CodeInFlight,
			"this order is being placed right now by another request; try again shortly").WithRetryAfter(wait)
	case store.ClaimDone:
		return s.replay(ctx, k, cr.Record, fp)
	case store.ClaimFresh:
		s.observe(ctx, Observation{Event: EventClaimWon, Key: k, Journaled: cr.Journaled})
		return s.placeNew(ctx, a, cr)
	case store.ClaimTakeover:
		s.observe(ctx, Observation{Event: EventClaimTakeover, Key: k, State: cr.Previous, Journaled: cr.Journaled})
		if cr.Previous == store.StateRejected || cr.Previous == store.StateUnsent {
			// The supplier refused the earlier payload, or the earlier
			// holder never sent it: nothing exists, so the order is placed
			// like a fresh one.
			return s.placeNew(ctx, a, cr)
		}
		return s.reconcile(ctx, a, false)
	}
	return PlaceResult{}, problem.Newf(problem.Internal, problem.CodeInternal, "unexpected claim status %v", cr.Status)
}

// claimJournal is the timeline entry a won claim writes with itself (nil
// without a Journal).
func (s *Service) claimJournal(k store.Key) *store.ClaimJournal {
	if s.cfg.Journal == nil {
		return nil
	}
	fresh, ok1 := s.cfg.Journal.Entry(Observation{Event: EventClaimWon, Key: k})
	take, ok2 := s.cfg.Journal.Entry(Observation{Event: EventClaimTakeover, Key: k})
	if !ok1 || !ok2 {
		return nil
	}
	return &store.ClaimJournal{Fresh: fresh, Takeover: take}
}

// answerEntry is the timeline entry of a placement's answer, written with
// the completion that settles it (nil without a Journal).
func (s *Service) answerEntry(a *attempt, res PlaceResult) *store.Entry {
	if s.cfg.Journal == nil {
		return nil
	}
	e, ok := s.cfg.Journal.Entry(Observation{Event: EventPlaceAnswered, Place: &PlaceCall{In: a.in, Out: res}})
	if !ok {
		return nil
	}
	return &e
}

// claimDeadline is the deadline a claim is made with: the caller's minus
// claimMargin, or a quarter of the time left when that is less (zero
// without a deadline).
func claimDeadline(ctx context.Context) time.Time {
	dl, ok := ctx.Deadline()
	if !ok {
		return time.Time{}
	}
	// A short request timeout keeps three quarters of itself.
	return dl.Add(-min(claimMargin, time.Until(dl)/4))
}

// placeNew places an order no earlier attempt is known to have sent.
func (s *Service) placeNew(ctx context.Context, a *attempt, cr store.ClaimResult) (PlaceResult, error) {
	if !cr.StoreLostAt.IsZero() && cr.Now.Sub(cr.StoreLostAt) < s.cfg.LostDataWindow {
		return s.afterLoss(ctx, a, cr)
	}
	if s.cfg.TrustFreshClaims || !s.cfg.Supplier.Capabilities().LookupByReference {
		return s.create(ctx, a)
	}
	return s.reconcile(ctx, a, true)
}

// afterLoss places an order whose claim came soon after the store lost
// its data: its record may have been among the lost, so "no record" does
// not mean "never placed".
func (s *Service) afterLoss(ctx context.Context, a *attempt, cr store.ClaimResult) (PlaceResult, error) {
	s.observe(ctx, Observation{Event: EventStoreLost, Key: a.k})
	if hold := cr.StoreLostAt.Add(s.cfg.Lease).Sub(cr.Now); hold > 0 {
		// A call that was placing this order when the data went may still
		// be running; it writes its outcome back (Complete re-creates a
		// lost record). Wait until it must have finished.
		s.release(ctx, a)
		return PlaceResult{}, problem.New(problem.Unavailable, CodeStoreRecovering,
			"the idempotency store lost its data moments ago; nothing was sent to the supplier, try again shortly").
			WithRetryAfter(min(retryAfterSeconds(hold), s.cfg.UnknownRetryAfter))
	}
	if s.cfg.Supplier.Capabilities().LookupByReference {
		return s.reconcile(ctx, a, true)
	}
	if s.cfg.Metafield == nil {
		return s.needsReviewLost(ctx, a, cr.StoreLostAt)
	}
	mctx, cancel := s.supplierTimeout(ctx)
	number, found, err := s.cfg.Metafield(mctx, a.k.Shop, a.k.OrderID)
	cancel()
	switch {
	case errors.Is(err, ErrCannotAsk):
		return s.needsReviewLost(ctx, a, cr.StoreLostAt)
	case err != nil:
		s.release(ctx, a)
		s.observe(ctx, Observation{Event: EventLookupFailed, Key: a.k, Op: "shopify_metafield", Err: err})
		return PlaceResult{}, problem.Wrap(err, problem.Unavailable, problem.CodeSupplierUnavailable,
			"the idempotency store lost its data, and Shopify could not be asked whether this order was already placed; nothing was sent to the supplier, try again").
			WithRetryAfter(s.cfg.UnknownRetryAfter)
	case found && strings.TrimSpace(number) != "":
		s.observe(ctx, Observation{Event: EventRecorded, Key: a.k, Op: "shopify_metafield"})
		return s.placed(ctx, a, supplier.Placed{SupplierOrderID: strings.TrimSpace(number), Status: supplier.StatusUnknown}, OutcomeRecorded), nil
	}
	return s.create(ctx, a)
}

// attempt is one won claim.
type attempt struct {
	k     store.Key
	in    PlaceInput
	fp    string
	owner string
	rec   store.Record
	// journaled: the answer's timeline entry went with the completion
	// (written, or still being retried in the background).
	journaled bool
}

func (s *Service) complete(ctx context.Context, a *attempt, to store.State, result []byte, reason string) error {
	return s.completeWith(ctx, a, store.Change{Owner: a.owner, To: to, Result: result, Reason: reason, TTL: s.cfg.RecordTTL})
}

// completeWith writes c; with a journal entry, a.journaled says whether
// the entry went with it.
func (s *Service) completeWith(ctx context.Context, a *attempt, c store.Change) error {
	bctx, cancel := bookkeeping(ctx)
	defer cancel()
	err := s.st.Complete(bctx, a.k, c)
	s.completed(ctx, a, c.To, err)
	a.journaled = err == nil && c.Journal != nil
	return err
}

func (s *Service) completed(ctx context.Context, a *attempt, to store.State, err error) {
	switch {
	case errors.Is(err, store.ErrNotOwner):
		// Someone took the order over (our lease expired) or an operator
		// resolved it. Never overwrite; a person may need to compare.
		s.observe(ctx, Observation{Event: EventOwnershipLost, Key: a.k, State: to, Err: err})
	case err != nil:
		s.observe(ctx, Observation{Event: EventStoreError, Op: "complete", Key: a.k, State: to, Err: err})
	}
}

// completeRetries are the waits between tries of a placed record's write.
var completeRetries = []time.Duration{50 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second}

// completePlaced writes a placed record: the supplier order exists, so
// losing this write would leave a claim that looks sent-and-unanswered,
// and the next call would hold the order for review although Flow was
// told the number. It is tried within the request's deadline (the
// supplier call leaves completeReserve for it); if the store is still
// failing, the tries go on in the background until the lease ends —
// before that no other call can take the order over.
func (s *Service) completePlaced(ctx context.Context, a *attempt, result []byte, entry *store.Entry) {
	change := store.Change{Owner: a.owner, To: store.StatePlaced, Result: result, TTL: s.cfg.RecordTTL, Journal: entry}
	try := func(ctx context.Context) (done bool, err error) {
		err = s.st.Complete(ctx, a.k, change)
		s.completed(ctx, a, store.StatePlaced, err)
		return err == nil || errors.Is(err, store.ErrNotOwner), err
	}
	// In the request: until its deadline, or at least once with a short
	// detached bound when the caller has already gone.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(time.Until(deadlineOr(ctx, time.Now())), 500*time.Millisecond))
	defer cancel()
	for i := 0; i < len(completeRetries); i++ {
		if done, err := try(rctx); done {
			// Not the owner: nothing was written, so the timeline
			// writes the answer itself.
			a.journaled = err == nil && entry != nil
			return
		}
		if !sleepCtx(rctx, completeRetries[i]) {
			break
		}
	}
	// The answer's timeline entry goes with the background tries; it is
	// lost only with the write (a.journaled is not touched after this:
	// the answer is already on its way).
	a.journaled = entry != nil
	leaseEnd := a.rec.LeaseUntil
	if leaseEnd.IsZero() {
		leaseEnd = time.Now().Add(s.cfg.Lease / 2)
	}
	bctx, bcancel := context.WithDeadline(context.WithoutCancel(ctx), leaseEnd.Add(-time.Second))
	go func() {
		defer bcancel()
		for j := 0; ; j++ {
			if done, _ := try(bctx); done {
				s.log.Info("orders: placed record written after retries", "shop", a.k.Shop, "order_id", a.k.OrderID)
				return
			}
			if !sleepCtx(bctx, completeRetries[min(j, len(completeRetries)-1)]) {
				s.log.Error("orders: the placed record could not be written before the lease ended; the next call will hold the order for review", "shop", a.k.Shop, "order_id", a.k.OrderID)
				return
			}
		}
	}()
}

func deadlineOr(ctx context.Context, def time.Time) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		return dl
	}
	return def
}

// sleepCtx waits d unless ctx ends first (false then).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
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
	pl := placement{SupplierOrderID: numberValue(p), Status: p.Status, RawStatus: p.RawStatus, Outcome: outcome,
		PlacedAt: s.cfg.Now().UTC(), TestMode: s.cfg.TestMode, Parts: p.Parts}
	b, _ := json.Marshal(pl)
	parts := partsOf(pl.SupplierOrderID, p.Parts)
	res := PlaceResult{Outcome: outcome, SupplierOrderID: pl.SupplierOrderID, Status: p.Status, RawStatus: p.RawStatus,
		TestMode: s.cfg.TestMode, PlacedAt: pl.PlacedAt, OrderID: a.k.OrderID, FirstOutcome: outcome,
		PayloadChanged: a.rec.Fingerprint != "" && a.rec.Fingerprint != a.fp, Parts: parts, Partial: partial(parts)}
	// The order exists: Flow must hear the number (it writes it to the
	// order metafield, which protects the order if the store forgot), so
	// a failing write is retried but never fails the answer.
	s.completePlaced(ctx, a, b, s.answerEntry(a, res))
	return res
}

// supplierTimeout bounds a supplier call by SupplierTimeout and ends it
// completeReserve before the caller's deadline, so the outcome can still
// be written down inside it.
func (s *Service) supplierTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	d := s.cfg.SupplierTimeout
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl) - completeReserve; left < d {
			d = max(left, time.Until(dl)/2)
		}
	}
	return context.WithTimeout(ctx, d)
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
	// The claim is marked sent at the last moment before the create
	// leaves (after any rate-limit wait): a takeover of a claim without
	// the mark places the order instead of holding it for review.
	mark := func(mctx context.Context) error {
		err := s.st.MarkSent(mctx, a.k, a.owner)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, store.ErrNotOwner):
			s.observe(ctx, Observation{Event: EventOwnershipLost, Op: "mark_sent", Key: a.k, Err: err})
			return problem.Wrap(err, problem.Unavailable, problem.CodeInFlight, "another request took this order over; nothing was sent to the supplier").WithRetryAfter(time.Second)
		case errors.Is(err, store.ErrDeadline):
			return problem.Wrap(err, problem.Unavailable, problem.CodeDeadline, "the request ran out of time before the order was sent; nothing was sent to the supplier").WithRetryAfter(time.Second)
		}
		s.observe(ctx, Observation{Event: EventStoreError, Op: "mark_sent", Key: a.k, Err: err})
		return problem.Wrap(err, problem.Unavailable, problem.CodeStoreUnavailable, "the idempotency store is unreachable; nothing was sent to the supplier, try again").WithRetryAfter(5 * time.Second)
	}
	if supplier.ReportsSending(s.cfg.Supplier) {
		cctx = supplier.WithSending(cctx, mark)
	} else if err := mark(cctx); err != nil {
		cancel()
		s.release(ctx, a)
		return PlaceResult{}, err
	}
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
	res := PlaceResult{Outcome: OutcomeNeedsReview, NeedsReview: true, ReviewReason: reason, OrderID: a.k.OrderID,
		TestMode: s.cfg.TestMode, FirstOutcome: OutcomeNeedsReview}
	if err := s.completeReview(ctx, a, reason, res); err != nil {
		return PlaceResult{}, err
	}
	s.observe(ctx, Observation{Event: EventNeedsReview, Key: a.k})
	return res, nil
}

// completeReview writes a needs_review record with its answer's timeline
// entry.
func (s *Service) completeReview(ctx context.Context, a *attempt, reason string, res PlaceResult) error {
	err := s.completeWith(ctx, a, store.Change{Owner: a.owner, To: store.StateNeedsReview, Reason: reason, TTL: s.cfg.RecordTTL,
		Journal: s.answerEntry(a, res)})
	if err != nil && !errors.Is(err, store.ErrNotOwner) {
		return s.storeDown(ctx, "complete", a.k, err)
	}
	return nil
}

// needsReviewLost holds an order for review because the store lost its
// data and neither the supplier nor Shopify can say whether it was placed.
func (s *Service) needsReviewLost(ctx context.Context, a *attempt, lostAt time.Time) (PlaceResult, error) {
	sup := s.cfg.Supplier.Name()
	name := a.in.Order.Name
	if name == "" {
		name = "order " + a.k.OrderID
	}
	reason := fmt.Sprintf("flowbridge's store (Redis) lost its data at %s UTC, so flowbridge cannot tell whether Shopify order %s (id %s) was already sent to %s; %s cannot be searched by our reference and no Shopify Admin API token is configured to read the order's supplier number, so flowbridge will not send it on its own. "+
		"Check the %s portal for an order with this order's items and shipping address. "+
		"If it exists, record its number: `flowbridge orders resolve %s --adopt <supplier order number>`. "+
		"If it does not exist, release the order and re-run the workflow: `flowbridge orders resolve %s --release`.",
		lostAt.UTC().Format("2006-01-02 15:04:05"), name, a.k.OrderID, sup, sup, sup, a.k.OrderID, a.k.OrderID)
	res := PlaceResult{Outcome: OutcomeNeedsReview, NeedsReview: true, ReviewReason: reason, OrderID: a.k.OrderID,
		TestMode: s.cfg.TestMode, FirstOutcome: OutcomeNeedsReview}
	if err := s.completeReview(ctx, a, reason, res); err != nil {
		return PlaceResult{}, err
	}
	s.observe(ctx, Observation{Event: EventNeedsReview, Key: a.k, Op: "store_lost"})
	return res, nil
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
		parts := partsOf(pl.SupplierOrderID, pl.Parts)
		return PlaceResult{Outcome: OutcomeReplayed, SupplierOrderID: pl.SupplierOrderID, Status: pl.Status, RawStatus: pl.RawStatus,
			Replay: true, PayloadChanged: changed, TestMode: pl.TestMode, PlacedAt: pl.PlacedAt, OrderID: k.OrderID, FirstOutcome: pl.Outcome,
			Parts: parts, Partial: partial(parts)}, nil
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
		if len(res.Parts) == 0 {
			res.Parts = partsOf(number, nil)
		}
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
		TestMode: s.cfg.TestMode, PlacedAt: now, OrderID: k.OrderID, FirstOutcome: OutcomeRecorded, Parts: partsOf(number, nil)}, nil
}
