// Package fulfilment fulfils a Shopify order through the Admin API when its
// supplier order has shipped, exactly once: the lean workflow's tracking
// call (POST /tracking/{id}/fulfil) lands here instead of Flow parsing the
// answer and sending fulfillmentCreate itself.
//
// Exactly once, across re-sends, concurrent calls and replicas:
//
//   - Shopify is the source of truth. Before creating anything the service
//     reads the order's fulfilment orders; only those still open (OPEN or
//     IN_PROGRESS with something remaining and CREATE_FULFILLMENT allowed)
//     are fulfilled. An order fulfilled by hand, or by an earlier call whose
//     answer was lost, has none left, and the call answers
//     already_fulfilled. Shopify itself refuses to fulfil what no longer
//     remains.
//   - One call at a time per order: a lease in the shared store (the same
//     idempotency records as placement, purpose "fulfil"). A concurrent
//     call or a Flow re-send during fulfilment gets 429 in_flight with
//     Retry-After and Flow re-sends it.
//   - The outcome is recorded in the store; later calls replay it without
//     asking Shopify.
//   - fulfillmentCreate is sent once per location (Shopify's schema: the
//     fulfilment orders of one call are assigned to one location) and never
//     retried blindly: after an unknown outcome (5xx, timeout) the lease is
//     released and the next call re-reads the fulfilment orders.
//
// Every parcel the supplier reported goes on the fulfilment of its
// location (company, numbers, URLs; Shopify's FulfillmentTrackingInput
// takes several numbers for one fulfilment), with notifyCustomer true.
// Suppliers report parcels without the lines in each, so one fulfilment
// per parcel cannot be made without guessing; see docs/flow-templates.md.
package fulfilment

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/shopify"
	"github.com/flowbridge/flowbridge/store"
	"github.com/flowbridge/flowbridge/supplier"
)

// Purpose names the fulfilment records in the idempotency store.
const Purpose = "fulfil"

// Outcomes of a call.
const (
	OutcomeFulfilled        = "fulfilled"         // this call (or a recorded earlier one) created the fulfilments
	OutcomeAlreadyFulfilled = "already_fulfilled" // nothing was open: fulfilled by hand or by a call whose answer was lost
	OutcomeNotShipped       = "not_shipped"       // the supplier has not shipped (or reported no tracking number) yet
)

// Problem codes.
const (
	CodeSupplierCancelled = "supplier_cancelled" // 422: the supplier cancelled; a person decides
	CodeOrderCancelled    = "order_cancelled"    // 422: the Shopify order is cancelled; nothing is fulfilled
	CodeNothingToFulfil   = "nothing_to_fulfil"  // 422: no open fulfilment order (on hold, scheduled, cancelled)
	CodeNotConfigured     = "fulfilment_not_configured"
)

// Shopify is the Admin API the service needs (*shopify.Client).
type Shopify interface {
	OrderFulfillment(ctx context.Context, orderGID string) (shopify.OrderFulfillment, error)
	CreateFulfillment(ctx context.Context, foIDs []string, t shopify.Tracking) (string, error)
}

// Tracker looks up the supplier order (*orders.Service).
type Tracker interface {
	Track(ctx context.Context, in orders.TrackInput) (orders.TrackResult, error)
}

// Config holds the service's dependencies.
type Config struct {
	Shopify Shopify
	Store   store.Idempotency
	Tracker Tracker
	// Shop is the shop used in store keys when a call names none.
	Shop string
	// Lease bounds one fulfilment attempt (default 60 s); TTL is how long
	// the record is kept (default 720 h).
	Lease, TTL time.Duration
	// BusyRetryAfter is the Retry-After of an in_flight answer (default 5 s).
	BusyRetryAfter time.Duration
	Logger         *slog.Logger
	// NewToken makes lease owner tokens (random when nil).
	NewToken func() string
	Now      func() time.Time
}

// Service fulfils orders.
type Service struct{ cfg Config }

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Lease <= 0 {
		cfg.Lease = 60 * time.Second
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 720 * time.Hour
	}
	if cfg.BusyRetryAfter <= 0 {
		cfg.BusyRetryAfter = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NewToken == nil {
		cfg.NewToken = randomToken
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Shop == "" {
		cfg.Shop = orders.DefaultShop
	}
	return &Service{cfg: cfg}
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Input names the order: the supplier order number (from the order's
// metafield, as GET /tracking uses it) and the Shopify order (numeric id).
type Input struct {
	Shop            string
	SupplierOrderID string
	OrderID         string
}

// Result is a call's answer.
type Result struct {
	Outcome string
	// Done is true when nothing is left to fulfil (fulfilled now, before,
	// or by hand).
	Done     bool
	Tracking orders.TrackResult
	// FulfillmentIDs are the fulfilments this service created for the
	// order (now or in the recorded earlier call).
	FulfillmentIDs []string
	// Locations is how many locations were fulfilled.
	Locations int
	// Replayed is true when the answer comes from the store's record.
	Replayed bool
}

// record is what the store keeps of a finished fulfilment.
type record struct {
	Outcome        string    `json:"outcome"`
	FulfillmentIDs []string  `json:"fulfillment_ids"`
	Locations      int       `json:"locations"`
	Numbers        []string  `json:"tracking_numbers"`
	At             time.Time `json:"at"`
}

// Fulfil fulfils the order if the supplier has shipped it (see the package
// comment for the guarantees). Errors are *problem.Error.
func (s *Service) Fulfil(ctx context.Context, in Input) (Result, error) {
	shop := strings.ToLower(strings.TrimSpace(in.Shop))
	if shop == "" {
		shop = s.cfg.Shop
	}
	tr, err := s.cfg.Tracker.Track(ctx, orders.TrackInput{Shop: shop, SupplierOrderID: in.SupplierOrderID})
	if err != nil {
		return Result{}, err
	}
	res := Result{Tracking: tr}
	key := store.Key{Shop: shop, OrderID: in.OrderID, Purpose: Purpose}

	// A recorded fulfilment answers without asking Shopify again.
	if rec, ok, err := s.cfg.Store.Get(ctx, key); err != nil {
		return Result{}, storeDown(err)
	} else if ok && rec.State == store.StatePlaced {
		return s.replay(res, rec)
	}

	switch tr.Status {
	case supplier.StatusCancelled:
		return Result{}, problem.New(problem.Rejected, CodeSupplierCancelled,
			"the supplier cancelled order "+tr.SupplierOrderID+"; nothing was fulfilled and the customer was not notified")
	case supplier.StatusShipped, supplier.StatusDelivered:
	default:
		res.Outcome = OutcomeNotShipped
		return res, nil
	}
	tracking := trackingOf(tr.Parcels)
	if len(tracking.Numbers) == 0 {
		res.Outcome = OutcomeNotShipped // shipped without a number yet: the next check may have one
		return res, nil
	}

	// Only a shipped order needs the Admin API: unshipped ones answer 202
	// even on a deployment without a token (doctor and the start-up log
	// say it is missing).
	if s.cfg.Shopify == nil {
		return Result{}, problem.New(problem.Unavailable, CodeNotConfigured,
			"flowbridge has no Admin API access (set SHOPIFY_SHOP and SHOPIFY_ADMIN_TOKEN)").WithRetryAfter(time.Minute)
	}
	owner := s.cfg.NewToken()
	claim, err := s.cfg.Store.Claim(ctx, key, store.ClaimRequest{Owner: owner, Fingerprint: in.SupplierOrderID, Lease: s.cfg.Lease, TTL: s.cfg.TTL})
	if err != nil {
		return Result{}, storeDown(err)
	}
	switch {
	case claim.Status == store.ClaimDone && claim.Record.State == store.StatePlaced:
		return s.replay(res, claim.Record)
	case claim.Status == store.ClaimBusy:
		ra := min(max(claim.RetryAfter, time.Second), s.cfg.BusyRetryAfter)
		return Result{}, problem.New(problem.Busy, problem.CodeInFlight,
			"another call is fulfilling this order right now; try again").WithRetryAfter(ra)
	case !claim.Status.Won():
		return Result{}, problem.New(problem.Rejected, CodeNothingToFulfil,
			fmt.Sprintf("the order's fulfilment record is %s; an operator must look at it", claim.Record.State))
	}

	created, locations, err := s.fulfil(ctx, "gid://shopify/Order/"+in.OrderID, tracking)
	if err != nil {
		// Nothing is recorded: the next call re-reads the fulfilment
		// orders, so whatever did happen is seen then.
		if rerr := s.cfg.Store.Release(context.WithoutCancel(ctx), key, owner); rerr != nil {
			s.cfg.Logger.Warn("fulfilment: releasing the lease failed; it expires on its own", "order_id", in.OrderID, "error", rerr.Error())
		}
		return Result{}, err
	}
	res.Done, res.FulfillmentIDs, res.Locations = true, created, locations
	res.Outcome = OutcomeFulfilled
	if len(created) == 0 {
		res.Outcome = OutcomeAlreadyFulfilled
	}
	body, _ := json.Marshal(record{Outcome: res.Outcome, FulfillmentIDs: created, Locations: locations, Numbers: tracking.Numbers, At: s.cfg.Now().UTC()})
	if err := s.cfg.Store.Complete(context.WithoutCancel(ctx), key, store.Change{Owner: owner, To: store.StatePlaced, Result: body, TTL: s.cfg.TTL}); err != nil {
		// The fulfilments exist; a later call finds nothing open and
		// answers already_fulfilled. Answer what happened.
		s.cfg.Logger.Warn("fulfilment: recording the fulfilment failed", "order_id", in.OrderID, "error", err.Error())
	}
	s.cfg.Logger.Info("fulfilment: done", "order_id", in.OrderID, "outcome", res.Outcome, "fulfillments", len(created), "locations", locations)
	return res, nil
}

func (s *Service) replay(res Result, rec store.Record) (Result, error) {
	var r record
	if err := json.Unmarshal(rec.Result, &r); err != nil {
		return Result{}, problem.Wrap(err, problem.Internal, problem.CodeInternal, "the stored fulfilment record cannot be read")
	}
	res.Outcome, res.Done, res.FulfillmentIDs, res.Locations, res.Replayed = r.Outcome, true, r.FulfillmentIDs, r.Locations, true
	return res, nil
}

// fulfil creates one fulfilment per location of the open fulfilment
// orders. It returns the fulfilments created and the locations they cover.
func (s *Service) fulfil(ctx context.Context, orderGID string, t shopify.Tracking) ([]string, int, error) {
	of, err := s.cfg.Shopify.OrderFulfillment(ctx, orderGID)
	if err != nil {
		return nil, 0, err
	}
	if of.Cancelled {
		return nil, 0, problem.New(problem.Rejected, CodeOrderCancelled, "the Shopify order "+of.Name+" is cancelled; nothing was fulfilled")
	}
	groups, order := openByLocation(of)
	if len(order) == 0 {
		if fulfilledOrClosed(of) {
			return nil, 0, nil
		}
		return nil, 0, problem.New(problem.Rejected, CodeNothingToFulfil,
			"order "+of.Name+" has no open fulfilment order ("+statuses(of)+"); release the hold or fix it in Shopify admin, then fulfil it")
	}
	var created []string
	for _, loc := range order {
		id, err := s.cfg.Shopify.CreateFulfillment(ctx, groups[loc], t)
		if err != nil && problem.Is(err, shopify.CodeUserErrors) {
			// Someone (a merchant, an earlier call) may have fulfilled
			// this location meanwhile: look again before giving up.
			again, rerr := s.cfg.Shopify.OrderFulfillment(ctx, orderGID)
			if rerr == nil {
				if g, _ := openByLocation(again); len(g[loc]) == 0 {
					continue
				}
			}
		}
		if err != nil {
			return nil, 0, err
		}
		created = append(created, id)
	}
	return created, len(order), nil
}

// openByLocation groups the open fulfilment orders by assigned location,
// locations in a stable order.
func openByLocation(of shopify.OrderFulfillment) (map[string][]string, []string) {
	groups := map[string][]string{}
	var order []string
	for _, fo := range of.FulfillmentOrders {
		if !fo.Open() {
			continue
		}
		if _, ok := groups[fo.LocationID]; !ok {
			order = append(order, fo.LocationID)
		}
		groups[fo.LocationID] = append(groups[fo.LocationID], fo.ID)
	}
	sort.Strings(order)
	return groups, order
}

func fulfilledOrClosed(of shopify.OrderFulfillment) bool {
	if of.DisplayFulfillmentStatus == "FULFILLED" {
		return true
	}
	if len(of.FulfillmentOrders) == 0 {
		return false
	}
	for _, fo := range of.FulfillmentOrders {
		if fo.Status != "CLOSED" {
			return false
		}
	}
	return true
}

func statuses(of shopify.OrderFulfillment) string {
	var parts []string
	for _, fo := range of.FulfillmentOrders {
		parts = append(parts, fo.Status)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// trackingOf turns the supplier's parcels into one tracking block: every
// parcel's number and URL (URLs only when every parcel has one, since
// Shopify pairs numbers and URLs by position), the first carrier named.
func trackingOf(parcels []supplier.Parcel) shopify.Tracking {
	var t shopify.Tracking
	allURLs := true
	for _, p := range parcels {
		if p.Number == "" {
			continue
		}
		t.Numbers = append(t.Numbers, p.Number)
		t.URLs = append(t.URLs, p.URL)
		if p.URL == "" {
			allURLs = false
		}
		if t.Company == "" {
			t.Company = p.Carrier
		}
	}
	if !allURLs {
		t.URLs = nil
	}
	return t
}

func storeDown(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return problem.Wrap(err, problem.Unavailable, problem.CodeDeadline, "the request ran out of time; nothing was fulfilled, try again").WithRetryAfter(time.Second)
	}
	return problem.Wrap(err, problem.Unavailable, problem.CodeStoreUnavailable,
		"the idempotency store is unreachable; nothing was fulfilled, try again").WithRetryAfter(5 * time.Second)
}
