package timeline

import (
	"context"
	"log/slog"
	"strings"

	"github.com/flowbridge/flowbridge/orderid"
	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/problem"
)

// Recorder turns what the Flow-facing calls did into timeline events. It
// reads the orders service's inputs and results after the fact, so the
// orders package knows nothing of timelines; wiring is one call per
// handler plus an orders.Observer adapter for the claim events that only
// the service sees (docs/console.md, "Wiring").
//
// Recording is best effort: a failed write is logged and never fails or
// changes the answer to Flow. Each event is one pipelined store write.
// A nil *Recorder records nothing, so callers need no checks.
type Recorder struct {
	store Store
	shop  string
	log   *slog.Logger
}

// NewRecorder returns a Recorder writing to st. defaultShop names the
// shop of inputs that carry none (single-shop deployments; the orders
// service uses "default"). A nil logger discards.
func NewRecorder(st Store, defaultShop string, log *slog.Logger) *Recorder {
	if defaultShop == "" {
		defaultShop = "default"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{store: st, shop: defaultShop, log: log}
}

// Record appends ev to an order's timeline; failures are logged only.
func (r *Recorder) Record(ctx context.Context, shop, orderID string, ev Event) {
	if r == nil || orderID == "" {
		return
	}
	shop = r.shopOr(shop)
	if err := r.store.Append(context.WithoutCancel(ctx), shop, orderID, ev); err != nil {
		// Codes only: events carry no customer data, but keep the log lean.
		r.log.WarnContext(ctx, "timeline: event not recorded", slog.String("kind", ev.Kind), slog.String("error", problem.From(err).Code))
	}
}

// shopOr files an event under the shop the orders service uses for the
// same input (orderid.Shop), so timeline and placement record agree.
func (r *Recorder) shopOr(shop string) string {
	if sh, ok := orderid.Shop(shop, r.shop); ok {
		return sh
	}
	return r.shop
}

// OrderNumber reduces a Shopify order id to its canonical number
// (orderid.Normalize), so every event of an order lands on one timeline.
// Anything that is not an order id gives "" (and records nothing).
func OrderNumber(id string) string {
	n, _ := orderid.Normalize(id)
	return n
}

func errorEvent(op string, err error) Event {
	pe := problem.From(err)
	ev := Event{Kind: KindError, Op: op, Code: pe.Code}
	if pe.Kind == problem.Rejected {
		ev.Kind = KindOrderRejected
	}
	if pe.Code == problem.CodeInFlight {
		ev.Note = "a duplicate call arrived while another was placing the order; answered 429 with Retry-After"
	}
	return ev
}

// Quoted records a /rates call made for an order (calls without an order
// id have no timeline and are ignored).
func (r *Recorder) Quoted(ctx context.Context, in orders.RatesInput, res orders.RatesResult, err error) {
	if r == nil {
		return
	}
	id := OrderNumber(in.OrderID)
	if id == "" {
		return
	}
	ev := Event{Kind: KindRatesQuoted, Op: "rates", Address: MaskAddress(in.Request.CountryCode, in.Request.PostalCode)}
	if err != nil {
		ev = errorEvent("rates", err)
		ev.Address = MaskAddress(in.Request.CountryCode, in.Request.PostalCode)
	} else {
		ev.Carrier = strings.TrimSpace(res.Chosen.Carrier + " " + res.Chosen.Service)
		ev.Reason = strings.TrimSpace(res.Choice + ": " + res.Reason)
		ev.Cached, ev.TestMode = res.Cached, res.TestMode
	}
	r.Record(ctx, in.Shop, id, ev)
}

// Placed records the answer of a /orders call.
func (r *Recorder) Placed(ctx context.Context, in orders.PlaceInput, res orders.PlaceResult, err error) {
	if r == nil {
		return
	}
	id := OrderNumber(in.OrderID)
	addr := MaskAddress(in.Order.ShipTo.CountryCode, in.Order.ShipTo.PostalCode)
	if err != nil {
		ev := errorEvent("place", err)
		ev.Address = addr
		r.Record(ctx, in.Shop, id, ev)
		return
	}
	ev := Event{Op: "place", SupplierOrderID: res.SupplierOrderID, Status: string(res.Status), RawStatus: res.RawStatus,
		TestMode: res.TestMode, Address: addr}
	switch {
	case res.Outcome == orders.OutcomeNeedsReview || res.NeedsReview:
		ev.Kind, ev.Reason = KindHeldForReview, res.ReviewReason
		if res.Replay {
			ev.Note = "answered again from the stored review; nothing was sent to the supplier"
		}
	case res.Outcome == orders.OutcomeRecorded:
		ev.Kind, ev.Note = KindOrderRecorded, "the supplier order number was already on the Shopify order; nothing was created"
	case res.Replay || res.Outcome == orders.OutcomeReplayed:
		ev.Kind = KindOrderReplayed
		if res.PayloadChanged {
			ev.Note = "the payload differs from the first call; the stored placement was answered and nothing was created"
		}
	case res.Outcome == orders.OutcomeReconciled:
		ev.Kind = KindOrderReconciled
	default:
		ev.Kind = KindOrderCreated
	}
	r.Record(ctx, in.Shop, id, ev)
}

// Tracked records a /tracking call. A call by supplier number is attached
// to the Shopify order that number was recorded for (one store read);
// numbers flowbridge never placed are ignored.
func (r *Recorder) Tracked(ctx context.Context, in orders.TrackInput, res orders.TrackResult, err error) {
	if r == nil {
		return
	}
	shop := r.shopOr(in.Shop)
	id := OrderNumber(in.ShopifyOrderID)
	number := strings.TrimSpace(in.SupplierOrderID)
	if number == "" {
		number = res.SupplierOrderID
	}
	if id == "" && number != "" {
		found, ok, lerr := r.store.OrderFor(ctx, shop, number)
		if lerr != nil || !ok {
			return
		}
		id = found
	}
	if err != nil {
		ev := errorEvent("tracking", err)
		ev.SupplierOrderID = number
		r.Record(ctx, shop, id, ev)
		return
	}
	n := 0
	for _, p := range res.Parcels {
		if p.Number != "" {
			n++
		}
	}
	r.Record(ctx, shop, id, Event{Kind: KindTrackingChecked, Op: "tracking", SupplierOrderID: number,
		Status: string(res.Status), RawStatus: res.RawStatus, TrackingNumbers: n, Cached: res.Cached, TestMode: res.TestMode})
}

// Observe records the orders service's own events that no answer shows:
// claims and unknown outcomes. event is the orders.Event value; every
// other event is left to Placed, which sees the same outcome with more
// detail. Adapt with:
//
//	orders.ObserverFunc(func(ctx context.Context, o orders.Observation) {
//		rec.Observe(ctx, o.Key.Shop, o.Key.OrderID, string(o.Event), o.Err)
//	})
func (r *Recorder) Observe(ctx context.Context, shop, orderID, event string, err error) {
	if r == nil {
		return
	}
	var ev Event
	switch event {
	case "claim_won":
		ev = Event{Kind: KindPlacementClaimed, Op: "place"}
	case "claim_takeover":
		ev = Event{Kind: KindPlacementClaimed, Op: "place", Note: "took over an unknown outcome or an expired lease; reconciling before any create"}
	case "outcome_unknown":
		ev = Event{Kind: KindError, Op: "place", Code: "outcome_unknown", Note: "the supplier may or may not have created the order"}
	case "lookup_failed":
		ev = Event{Kind: KindError, Op: "place", Code: "lookup_failed", Note: "the supplier could not be asked for the order by reference"}
	case "ownership_lost":
		ev = Event{Kind: KindError, Op: "place", Code: "ownership_lost", Note: "another call took the order over before this one finished"}
	default:
		return
	}
	if err != nil && ev.Code == "" {
		ev.Code = problem.From(err).Code
	}
	r.Record(ctx, shop, orderID, ev)
}
