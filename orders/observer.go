package orders

import (
	"context"
	"log/slog"

	"github.com/flowbridge/flowbridge/store"
)

// Event names something the service did that operators count or alert on.
// Values are stable: telemetry uses them as metric attributes.
type Event string

const (
	EventClaimWon         Event = "claim_won"         // fresh claim: this call places the order
	EventClaimTakeover    Event = "claim_takeover"    // won over an unknown record or expired lease
	EventClaimBusy        Event = "claim_lost"        // another call holds the lease (429)
	EventReplay           Event = "replay"            // answered from a final record
	EventCreated          Event = "created"           // the supplier created the order
	EventReconciled       Event = "reconciled"        // found at the supplier by reference and adopted
	EventReconciledAbsent Event = "reconciled_absent" // the supplier confirmed no order; creating
	EventLookupFailed     Event = "lookup_failed"     // the reference lookup failed (503)
	EventOutcomeUnknown   Event = "outcome_unknown"   // create may or may not have happened
	EventNeedsReview      Event = "needs_review"      // held for a person
	EventRejected         Event = "rejected"          // permanent supplier refusal stored
	EventReleased         Event = "released"          // safe failure; the claim was freed
	EventRecorded         Event = "recorded"          // the number on the order metafield was stored
	EventRecordedMismatch Event = "recorded_mismatch" // metafield and store disagree
	EventResolved         Event = "resolved"          // an operator adopted or released an order
	EventOwnershipLost    Event = "ownership_lost"    // our lease was taken over before we wrote
	EventStoreError       Event = "store_error"       // the store failed (Redis unreachable, ...)
	EventStoreLost        Event = "store_lost"        // a claim came soon after the store lost its data
	EventCacheHit         Event = "cache_hit"         // rates or tracking answered from the cache
	EventCacheMiss        Event = "cache_miss"        // the supplier was asked

	// One event per Flow-facing call, after it: the call's input and its
	// answer (Observation.Rates, .Place, .Track), for the timeline.
	EventRatesAnswered Event = "rates_answered"
	EventPlaceAnswered Event = "place_answered"
	EventTrackAnswered Event = "track_answered"

	// One event per operator call, after it, with who made it
	// (Observation.Resolve, .Release): the timeline records operator
	// actions from these, so the operator API writes no events itself.
	// EventResolved above still marks an applied resolution only.
	EventResolveAnswered  Event = "resolve_answered"
	EventTrackingReleased Event = "tracking_released"
)

// RatesCall is a /rates call and its answer (Err on the Observation).
type RatesCall struct {
	In  RatesInput
	Out RatesResult
}

// PlaceCall is a /orders call and its answer.
type PlaceCall struct {
	In  PlaceInput
	Out PlaceResult
}

// TrackCall is a /tracking call and its answer.
type TrackCall struct {
	In  TrackInput
	Out TrackResult
}

// ResolveCall is an operator's resolution (Resolve) and its answer. Shop
// and OrderID are as asked; the observation's Key is the record they
// name (zero when they name none).
type ResolveCall struct {
	Shop, OrderID string
	In            Resolution
	Out           OrderRecord
}

// ReleaseCall is an operator's release of an order's cached tracking
// answer (ReleaseTracking); the observation's Key is the order's record.
type ReleaseCall struct {
	Shop, OrderID string
	By            Operator
}

// Observation is one event with its context. It never carries customer
// data: the key names the shop and the Shopify order id only.
type Observation struct {
	Event Event
	// Key is the order record concerned (zero for caches).
	Key store.Key
	// State is the record state concerned, when there is one.
	State store.State
	// Op is the store operation (claim, complete, ...) or the cache
	// ("rates", "tracking").
	Op  string
	Err error
	// The call answered, on the *Answered events and
	// EventTrackingReleased (nil on the others).
	Rates   *RatesCall
	Place   *PlaceCall
	Track   *TrackCall
	Resolve *ResolveCall
	Release *ReleaseCall
	// Journaled: the store wrote this observation's journal entry (see
	// Journal) with the claim or completion it describes, so the timeline
	// must not write it again.
	Journaled bool
}

// Journal turns an observation into the journal entry (a timeline event)
// that the store writes inside the claim or completion the observation
// describes: one round trip instead of two, and the event lands with the
// record or not at all. The service asks it for EventClaimWon,
// EventClaimTakeover and EventPlaceAnswered before the store write, and
// marks the observation it then emits Journaled. package timeline's
// Recorder.Journal implements it; false means "not journaled here" (the
// observer writes the event as usual).
type Journal interface {
	Entry(o Observation) (store.Entry, bool)
}

// Observer receives the service's events, e.g. to count them as metrics.
// Calls are synchronous and must be fast.
type Observer interface {
	Observe(ctx context.Context, o Observation)
}

// NopObserver ignores every event.
type NopObserver struct{}

// Observe implements Observer.
func (NopObserver) Observe(context.Context, Observation) {}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(ctx context.Context, o Observation)

// Observe implements Observer.
func (f ObserverFunc) Observe(ctx context.Context, o Observation) { f(ctx, o) }

// level is how loud each event is in the log.
func (e Event) level() slog.Level {
	switch e {
	case EventStoreError, EventOwnershipLost, EventNeedsReview, EventOutcomeUnknown, EventRecordedMismatch, EventStoreLost:
		return slog.LevelWarn
	case EventReconciled, EventReconciledAbsent, EventLookupFailed, EventResolved, EventClaimTakeover, EventRejected, EventReleased, EventRecorded, EventCreated, EventTrackingReleased:
		return slog.LevelInfo
	default:
		return slog.LevelDebug
	}
}

func (s *Service) observe(ctx context.Context, o Observation) {
	s.obs.Observe(ctx, o)
	lvl := o.Event.level()
	if !s.log.Enabled(ctx, lvl) {
		return
	}
	attrs := []slog.Attr{slog.String("event", string(o.Event))}
	if o.Key.OrderID != "" {
		attrs = append(attrs, slog.String("shop", o.Key.Shop), slog.String("order_id", o.Key.OrderID))
	}
	if o.State != "" {
		attrs = append(attrs, slog.String("state", string(o.State)))
	}
	if o.Op != "" {
		attrs = append(attrs, slog.String("op", o.Op))
	}
	if o.Err != nil {
		// Errors from the store and from adapters carry codes and
		// messages, not request bodies.
		attrs = append(attrs, slog.String("error", o.Err.Error()))
	}
	s.log.LogAttrs(ctx, lvl, "orders: "+string(o.Event), attrs...)
}
