package orders

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/store"
	"github.com/flowbridge/flowbridge/supplier"
)

// Rates quotes and chooses a shipping option. The supplier's options are
// cached per (shop, supplier, country, postcode, cart) for RatesTTL; the
// choice is made on every call because preferences may differ per call.
// A store failure only costs the cache: rates are a read.
func (s *Service) Rates(ctx context.Context, in RatesInput) (RatesResult, error) {
	res, err := s.rates(ctx, in)
	s.observe(ctx, Observation{Event: EventRatesAnswered, Err: err, Rates: &RatesCall{In: in, Out: res}})
	return res, err
}

func (s *Service) rates(ctx context.Context, in RatesInput) (RatesResult, error) {
	shop, err := s.shop(in.Shop)
	if err != nil {
		return RatesResult{}, err
	}
	ck := s.ratesKey(shop, in.Request)
	var opts []supplier.Rate
	cached := false
	if s.cacheUsable() {
		cctx, cancel := context.WithTimeout(ctx, cacheTimeout)
		b, ok, err := s.st.CacheGet(cctx, ck)
		cancel()
		if err != nil {
			s.cacheFailed(ctx, "rates_cache_get", err)
		} else if ok && json.Unmarshal(b, &opts) == nil {
			cached = true
		}
	}
	if cached {
		s.observe(ctx, Observation{Event: EventCacheHit, Op: "rates"})
	} else {
		s.observe(ctx, Observation{Event: EventCacheMiss, Op: "rates"})
		opts, err = s.cfg.Supplier.Rates(supplier.Retryable(ctx), in.Request)
		if err != nil {
			return RatesResult{}, err
		}
		if len(opts) > 0 && s.cacheUsable() {
			b, _ := json.Marshal(opts)
			cctx, cancel := context.WithTimeout(ctx, cacheTimeout)
			if err := s.st.CacheSet(cctx, ck, b, s.cfg.RatesTTL); err != nil {
				s.cacheFailed(ctx, "rates_cache_set", err)
			}
			cancel()
		}
	}
	prefs := in.Carriers
	if len(prefs) == 0 {
		prefs = s.cfg.Carriers
	}
	ch, err := supplier.Choose(opts, prefs)
	if err != nil {
		return RatesResult{}, err
	}
	return RatesResult{Chosen: ch.Rate, Choice: ch.Kind, Reason: ch.Reason, Options: opts, Cached: cached, TestMode: s.cfg.TestMode}, nil
}

// ratesKey names a cart independent of line order and of spacing and case
// in codes.
func (s *Service) ratesKey(shop string, r supplier.RateRequest) string {
	lines := make([]string, 0, len(r.Lines))
	for _, l := range r.Lines {
		lines = append(lines, l.EAN+"/"+l.SKU+"x"+strconv.Itoa(l.Quantity))
	}
	sort.Strings(lines)
	cc := strings.ToUpper(strings.TrimSpace(r.CountryCode))
	pc := strings.ToUpper(strings.Join(strings.Fields(r.PostalCode), ""))
	cart := strings.Join(lines, ",")
	return store.CacheKey("rates", shop, s.cfg.Supplier.Name(), cc, pc, cart)
}

// Track reports a supplier order's status, from the cache while it is
// fresh (TrackingTTL). The cache never lets a status go back: when the
// supplier answers with less progress than was seen before (processing
// after shipped), the earlier answer is served. A store failure only costs
// the cache.
func (s *Service) Track(ctx context.Context, in TrackInput) (TrackResult, error) {
	res, err := s.track(ctx, in)
	s.observe(ctx, Observation{Event: EventTrackAnswered, Err: err, Track: &TrackCall{In: in, Out: res}})
	return res, err
}

func (s *Service) track(ctx context.Context, in TrackInput) (TrackResult, error) {
	shop, err := s.shop(in.Shop)
	if err != nil {
		return TrackResult{}, err
	}
	id := strings.TrimSpace(in.SupplierOrderID)
	if id == "" {
		if id, err = s.supplierNumber(ctx, shop, in.ShopifyOrderID); err != nil {
			return TrackResult{}, err
		}
	}
	if ids := SplitNumbers(id); len(ids) > 1 {
		return s.trackParts(ctx, shop, ids)
	}
	return s.trackOne(ctx, shop, id)
}

// trackOne tracks one supplier order through the cache.
//
// Redis round trips: a fresh entry costs one (the read). Otherwise the
// read also reserves the supplier's rate-limit slot (trackingRead), and
// the answer is written back (one more); the supplier's transport spends
// the reservation without asking Redis again.
func (s *Service) trackOne(ctx context.Context, shop, id string) (TrackResult, error) {
	tk := store.CacheKey(shop, s.cfg.Supplier.Name(), id)
	var cached store.Tracked
	ok := false
	if s.cacheUsable() {
		var err error
		var slot *supplier.Reservation
		cached, ok, slot, err = s.trackingRead(ctx, tk)
		if err != nil {
			s.cacheFailed(ctx, "tracking_cache_get", err)
			ok = false
		}
		if slot != nil {
			ctx = supplier.WithReservation(ctx, slot)
		}
	}
	if ok && cached.Fresh {
		if res, err := decodeTracking(cached.Value); err == nil {
			s.observe(ctx, Observation{Event: EventCacheHit, Op: "tracking"})
			res.Cached = true
			res.TestMode = s.cfg.TestMode
			return res, nil
		}
	}
	s.observe(ctx, Observation{Event: EventCacheMiss, Op: "tracking"})
	t, err := s.cfg.Supplier.Tracking(supplier.Retryable(ctx), id)
	if err != nil {
		return TrackResult{}, err
	}
	if t.SupplierOrderID == "" {
		t.SupplierOrderID = id
	}
	fresh := TrackResult{Tracking: t, CheckedAt: s.cfg.Now().UTC(), TestMode: s.cfg.TestMode}
	if !s.cacheUsable() {
		return fresh, nil
	}
	held, err := s.trackingWrite(ctx, tk, t, fresh.CheckedAt)
	if err != nil {
		s.cacheFailed(ctx, "tracking_cache_put", err)
		return fresh, nil
	}
	if held.Rank > t.Status.Rank() {
		if res, err := decodeTracking(held.Value); err == nil {
			s.log.Info("orders: supplier reported less progress than before; serving the earlier status", "supplier_status", string(t.Status), "kept_status", string(res.Status))
			res.Cached = true
			res.TestMode = s.cfg.TestMode
			return res, nil
		}
	}
	return fresh, nil
}

// trackingRead reads the cached entry and, when the supplier's limiter
// keeps its budget in the same Redis (Config.Slots), reserves the slot
// the supplier call will need in the same script; the reservation it
// returns goes to the transport in the context (supplier.WithReservation).
// A fresh entry takes no slot. Without a plan, or when the store could not
// take the slot (in-process store, Redis Cluster), there is no reservation
// and the transport's limiter takes the slot itself, as it always did.
func (s *Service) trackingRead(ctx context.Context, tk string) (store.Tracked, bool, *supplier.Reservation, error) {
	cctx, cancel := context.WithTimeout(ctx, cacheTimeout)
	defer cancel()
	var plan supplier.SlotPlan
	planned := false
	if s.cfg.Slots != nil {
		// The request's own deadline, not the cache timeout, bounds the
		// wait worth reserving: the supplier call runs under it.
		plan, planned = s.cfg.Slots.PlanSlot(ctx)
	}
	if !planned {
		t, ok, err := s.st.TrackingGet(cctx, tk)
		return t, ok, nil, err
	}
	t, ok, slot, err := s.st.TrackingGetReserve(cctx, tk, store.SlotRequest{Key: plan.Key,
		Interval: plan.Interval, Tolerance: plan.Tolerance, MaxWait: plan.MaxWait})
	if err != nil || !slot.Asked {
		return t, ok, nil, err
	}
	return t, ok, &supplier.Reservation{Key: plan.Key, Reserved: slot.Reserved, Wait: slot.Wait, At: time.Now()}, nil
}

// trackingWrite stores the supplier's answer (unless the cache holds more
// progress) and returns the entry now held, which decides the answer.
//
// The write runs even when the caller has gone away (a Flow timeout, a
// client disconnect): the supplier's answer cost a rate-limit slot and
// the next check should not pay another. It stays on the answer path on
// purpose: its reply is the maximum over every answer stored so far, by
// any replica, so answers never go back in the order they are given.
// Comparing with the entry read before the supplier call instead would
// miss what concurrent callers stored meanwhile (a storm of retries on
// one order is when supplier backends disagree), for one Redis round trip
// saved.
func (s *Service) trackingWrite(ctx context.Context, tk string, t supplier.Tracking, checked time.Time) (store.Tracked, error) {
	b, _ := json.Marshal(trackingEntry{Tracking: t, CheckedAt: checked})
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cacheTimeout)
	defer cancel()
	return s.st.TrackingPut(cctx, tk, t.Status.Rank(), b, s.cfg.TrackingTTL, s.cfg.RecordTTL)
}

// cacheTimeout bounds each cache read or write: a cache is worth less than
// the time a hung Redis would cost the call.
const cacheTimeout = 500 * time.Millisecond

// cacheSkip is how long the caches are left alone after a store failure:
// while Redis is down or hung, /rates and /tracking ask the supplier
// directly instead of paying cacheTimeout on every call.
const cacheSkip = 5 * time.Second

func (s *Service) cacheUsable() bool {
	return time.Now().UnixNano() >= s.cacheDownUntil.Load()
}

func (s *Service) cacheFailed(ctx context.Context, op string, err error) {
	if ctx.Err() == nil {
		s.cacheDownUntil.Store(time.Now().Add(cacheSkip).UnixNano())
	}
	s.observe(ctx, Observation{Event: EventStoreError, Op: op, Err: err})
}

type trackingEntry struct {
	supplier.Tracking
	CheckedAt time.Time `json:"checked_at"`
}

func decodeTracking(b []byte) (TrackResult, error) {
	var e trackingEntry
	if err := json.Unmarshal(b, &e); err != nil {
		return TrackResult{}, err
	}
	return TrackResult{Tracking: e.Tracking, CheckedAt: e.CheckedAt}, nil
}

// supplierNumber returns the supplier order number stored for a Shopify
// order.
func (s *Service) supplierNumber(ctx context.Context, shop, shopifyOrderID string) (string, error) {
	k, err := s.orderKey(shop, shopifyOrderID)
	if err != nil {
		return "", err
	}
	r, ok, err := s.st.Get(ctx, k)
	if err != nil {
		return "", s.storeDown(ctx, "get", k, err)
	}
	if ok && r.State == store.StatePlaced {
		var pl placement
		if json.Unmarshal(r.Result, &pl) == nil && pl.SupplierOrderID != "" {
			return pl.SupplierOrderID, nil
		}
	}
	return "", problem.New(problem.NotFound, problem.CodeOrderNotFound, "no supplier order is recorded for this Shopify order")
}

// OrderRecord is an operator's view of an order's placement record.
type OrderRecord struct {
	OrderID         string
	Shop            string
	State           store.State
	SupplierOrderID string
	Outcome         string
	ReviewReason    string
	Attempts        int
	LeaseExpired    bool
	Record          store.Record
}

// Order returns the placement record of a Shopify order (for operators).
func (s *Service) Order(ctx context.Context, shop, orderID string) (OrderRecord, error) {
	k, err := s.orderKey(shop, orderID)
	if err != nil {
		return OrderRecord{}, err
	}
	r, ok, err := s.st.Get(ctx, k)
	if err != nil {
		return OrderRecord{}, s.storeDown(ctx, "get", k, err)
	}
	if !ok {
		return OrderRecord{}, problem.New(problem.NotFound, problem.CodeOrderNotFound, "no record for this Shopify order")
	}
	return view(k, r), nil
}

func view(k store.Key, r store.Record) OrderRecord {
	o := OrderRecord{OrderID: k.OrderID, Shop: k.Shop, State: r.State, ReviewReason: r.Reason, Attempts: r.Attempts, LeaseExpired: r.LeaseExpired, Record: r}
	if r.State == store.StatePlaced {
		var pl placement
		if json.Unmarshal(r.Result, &pl) == nil {
			o.SupplierOrderID, o.Outcome = pl.SupplierOrderID, pl.Outcome
		}
	}
	o.Record.Owner = "" // a lease token is a capability; keep it inside
	return o
}

// Resolution is an operator's decision about an order.
type Resolution struct {
	// Action is ResolveAdopt or ResolveRelease.
	Action string
	// SupplierOrderID is the number found in the supplier's portal (adopt).
	SupplierOrderID string
	// NewOrder lets adopt record an order flowbridge has no record of
	// (placed by hand at the supplier). Without it an unknown order is
	// NotFound, so a mistyped id never becomes a placed record.
	NewOrder bool
	// By is who decided, for the timeline (EventResolveAnswered).
	By Operator
}

// Operator is who made an operator call and through what. The service
// neither checks nor stores it: the operator API authenticates the
// caller and names them, and the observation carries the name to the
// timeline.
type Operator struct {
	// Actor names the person without revealing their key (the operator
	// API uses the key's fingerprint and an optional self-declared name).
	Actor string
	// Via is the client used ("console", "api").
	Via string
}

// Resolution actions.
const (
	ResolveAdopt   = "adopt"
	ResolveRelease = "release"
)

// resolvable are the states an operator may resolve: every state where
// no call is working on the order and no supplier order is recorded.
// A live lease is excluded (a call is talking to the supplier right now:
// wait for it), and so is placed (releasing it would invite a second
// order; adopting over it would hide the first).
var resolvable = []store.State{store.StateAbsent, store.StateNeedsReview, store.StateUnknown, store.StateExpired, store.StateRejected}

// Resolve applies an operator's decision: adopt records the supplier order
// number a person found (the order becomes placed; Flow's next call gets
// that number), release deletes the record so that the next Flow call
// places the order afresh. Allowed from needs_review, unknown, rejected
// or an expired lease, and for adopt with NewOrder from no record at all;
// no record otherwise is a 404 order_not_found, anything else a 409
// resolve_conflict naming the current state. Every call, refused or not,
// is observed as EventResolveAnswered.
func (s *Service) Resolve(ctx context.Context, shop, orderID string, r Resolution) (OrderRecord, error) {
	k, err := s.orderKey(shop, orderID)
	var out OrderRecord
	if err == nil {
		out, err = s.resolve(ctx, k, r)
	}
	s.observe(ctx, Observation{Event: EventResolveAnswered, Key: k, Op: r.Action, Err: err,
		Resolve: &ResolveCall{Shop: shop, OrderID: orderID, In: r, Out: out}})
	return out, err
}

func (s *Service) resolve(ctx context.Context, k store.Key, r Resolution) (OrderRecord, error) {
	from := resolvable
	if r.Action != ResolveAdopt || !r.NewOrder {
		from = slices.DeleteFunc(slices.Clone(resolvable), func(st store.State) bool { return st == store.StateAbsent })
	}
	t := store.Transition{Token: newToken(), From: from, TTL: s.cfg.RecordTTL}
	switch r.Action {
	case ResolveAdopt:
		num := strings.TrimSpace(r.SupplierOrderID)
		if num == "" {
			return OrderRecord{}, problem.InvalidFields(problem.CodeValidation, "adopt needs the supplier order number",
				problem.Field{Pointer: "/supplier_order_id", Message: "required for adopt"})
		}
		pl := placement{SupplierOrderID: num, Status: supplier.StatusUnknown, Outcome: OutcomeResolved, PlacedAt: s.cfg.Now().UTC(), TestMode: s.cfg.TestMode}
		t.Result, _ = json.Marshal(pl)
		t.To = store.StatePlaced
	case ResolveRelease:
		if strings.TrimSpace(r.SupplierOrderID) != "" {
			return OrderRecord{}, problem.InvalidFields(problem.CodeValidation, "release takes no supplier order number",
				problem.Field{Pointer: "/supplier_order_id", Message: "must be empty for release"})
		}
		t.To = store.StateAbsent
	default:
		return OrderRecord{}, problem.InvalidFields(problem.CodeValidation, "unknown action",
			problem.Field{Pointer: "/action", Message: "must be adopt or release"})
	}
	prev, err := s.st.Transition(ctx, k, t)
	if errors.Is(err, store.ErrConflict) && prev.State == store.StateAbsent {
		detail := "flowbridge has no record of this order (check the order id and shop)"
		if r.Action == ResolveAdopt {
			detail += "; to adopt an order flowbridge never saw, say so with new_order: true"
		}
		return OrderRecord{}, problem.New(problem.NotFound, problem.CodeOrderNotFound, detail)
	}
	if errors.Is(err, store.ErrConflict) {
		why := "the order is " + string(prev.State)
		switch {
		case prev.State == store.StatePlaced:
			why += "; it already has a supplier order and cannot be adopted again or released"
		case prev.State == store.StateInFlight:
			why += "; a request is placing it right now, try again when it has finished"
		}
		return OrderRecord{}, problem.New(problem.Conflict, CodeResolveConflict, why)
	}
	if err != nil {
		return OrderRecord{}, s.storeDown(ctx, "resolve", k, err)
	}
	s.observe(ctx, Observation{Event: EventResolved, Key: k, State: prev.State, Op: r.Action})
	if t.To == store.StateAbsent {
		return OrderRecord{OrderID: k.OrderID, Shop: k.Shop, State: store.StateAbsent}, nil
	}
	return s.Order(ctx, k.Shop, k.OrderID)
}

// ReleaseTracking forgets the cached tracking answer of a placed order, so
// the next check asks the supplier and its answer is taken as it is (even
// one with less progress). NotFound when no supplier order is recorded.
// by is who asked; every call is observed as EventTrackingReleased.
func (s *Service) ReleaseTracking(ctx context.Context, shop, shopifyOrderID string, by Operator) error {
	k, err := s.orderKey(shop, shopifyOrderID)
	if err == nil {
		err = s.releaseTracking(ctx, k)
	}
	s.observe(ctx, Observation{Event: EventTrackingReleased, Key: k, Op: "tracking", Err: err,
		Release: &ReleaseCall{Shop: shop, OrderID: shopifyOrderID, By: by}})
	return err
}

func (s *Service) releaseTracking(ctx context.Context, k store.Key) error {
	id, err := s.supplierNumber(ctx, k.Shop, k.OrderID)
	if err != nil {
		return err
	}
	for _, n := range SplitNumbers(id) {
		if err := s.st.TrackingDelete(ctx, store.CacheKey(k.Shop, s.cfg.Supplier.Name(), n)); err != nil {
			return s.storeDown(ctx, "tracking_delete", k, err)
		}
	}
	return nil
}
