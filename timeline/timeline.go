// Package timeline keeps a short, bounded account of what happened to each
// Shopify order: rates quoted, placement claimed, supplier order created,
// replayed, reconciled or held for review, operator resolutions, tracking
// checks and errors. Operators read it through the /admin API and the
// console; nothing in the Flow-facing answers depends on it.
//
// Two stores implement the same interface and pass the same conformance
// suite (timeline/timelinetest): RedisStore, for any number of instances,
// and MemoryStore, for a single instance. Both keep at most MaxEvents
// events per order and forget an order Retention after its last event.
//
// Customer data is kept to what an operator needs to recognise an order:
// the country and the first characters of the postcode ("ES 46***"). No
// names, e-mail addresses, phone numbers or street addresses are stored;
// the Recorder masks before it writes.
package timeline

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/flowbridge/flowbridge/problem"
)

// Event kinds. Values are stable: the console and operators' scripts
// branch on them.
const (
	KindRatesQuoted      = "rates_quoted"      // options quoted, one chosen (Carrier, Reason)
	KindPlacementClaimed = "placement_claimed" // this call holds the order's lease
	KindOrderCreated     = "order_created"     // the supplier created the order
	KindOrderReplayed    = "order_replayed"    // a stored placement was answered again
	KindOrderReconciled  = "order_reconciled"  // found at the supplier by reference and adopted
	KindOrderRecorded    = "order_recorded"    // the number already on the Shopify order was stored
	KindOrderRejected    = "order_rejected"    // the supplier refused for good (Code)
	KindHeldForReview    = "held_for_review"   // outcome unknown, a person must check (Reason)
	KindResolved         = "resolved"          // an operator adopted or released (Action, Actor, Via)
	KindCacheReleased    = "cache_released"    // an operator dropped cached answers (Actor, Via)
	KindTrackingChecked  = "tracking_checked"  // the supplier's status was read (Status, RawStatus)
	KindError            = "error"             // a call failed (Code, Op)
)

// Summary states: where the order's placement stands.
const (
	StateQuoted      = "quoted"       // only rates were asked
	StateInFlight    = "in_flight"    // a call is placing it
	StatePlaced      = "placed"       // a supplier order exists
	StateRejected    = "rejected"     // the supplier refused
	StateNeedsReview = "needs_review" // a person must decide
	StateReleased    = "released"     // an operator released it; the next Flow call places it afresh
	StateFailed      = "failed"       // the last attempt failed before any order existed; Flow retries
)

// Filters for List.
const (
	FilterAll         = ""
	FilterNeedsReview = "needs_review" // state needs_review
	FilterCancelled   = "cancelled"    // last supplier status cancelled
	FilterNoTracking  = "no_tracking"  // placed, checked MinChecks times or more, never a tracking number
	FilterTestMode    = "test_mode"    // placed in test mode
	FilterAttention   = "attention"    // any of needs_review, cancelled, no_tracking
)

// Filters lists the accepted Filter.State values.
var Filters = []string{FilterAll, FilterNeedsReview, FilterCancelled, FilterNoTracking, FilterTestMode, FilterAttention}

// Defaults.
const (
	DefaultRetention = 30 * 24 * time.Hour
	DefaultMaxEvents = 200
	DefaultMinChecks = 5
	DefaultLimit     = 50
	MaxLimit         = 500
	// scanCap bounds the index entries one List call examines, so a
	// selective filter over a large index cannot make one request
	// unbounded; the returned cursor continues the scan.
	scanCap = 5000
)

// Event is one thing that happened to an order. Only the fields that
// apply to its Kind are set.
type Event struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
	// Op is the operation concerned: rates, place, tracking, resolve, release_cache.
	Op string `json:"op,omitempty"`
	// Carrier and Reason: the chosen shipping option and why (rates); the
	// review reason (held_for_review).
	Carrier string `json:"carrier,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// SupplierOrderID is the supplier's order number.
	SupplierOrderID string `json:"supplier_order_id,omitempty"`
	// Status is the normalised supplier status, RawStatus the supplier's own word.
	Status    string `json:"status,omitempty"`
	RawStatus string `json:"raw_status,omitempty"`
	// TrackingNumbers counts tracking numbers seen in a check.
	TrackingNumbers int `json:"tracking_numbers,omitempty"`
	// Code is the problem code of an error or refusal.
	Code string `json:"code,omitempty"`
	// Action (adopt, release), Actor (who) and Via (which endpoint or tool)
	// describe an operator's intervention.
	Action string `json:"action,omitempty"`
	Actor  string `json:"actor,omitempty"`
	Via    string `json:"via,omitempty"`
	// Address is the masked destination, e.g. "ES 46***".
	Address string `json:"address,omitempty"`
	// Note is a short free text (never customer data).
	Note     string `json:"note,omitempty"`
	TestMode bool   `json:"test_mode,omitempty"`
	Cached   bool   `json:"cached,omitempty"`
	// Repeats counts the repeats of this order's previous event (the same
	// answer within the Recorder's FoldWindow) that were folded, not
	// written, between it and this one: "and N more like it".
	Repeats int `json:"repeats,omitempty"`
}

// Summary is the state of one order as its events left it.
type Summary struct {
	Shop            string    `json:"shop"`
	OrderID         string    `json:"order_id"`
	State           string    `json:"state"`
	SupplierOrderID string    `json:"supplier_order_id,omitempty"`
	LastStatus      string    `json:"last_status,omitempty"`
	RawStatus       string    `json:"raw_status,omitempty"`
	Checks          int       `json:"checks"`
	Tracked         bool      `json:"tracked"`
	TestMode        bool      `json:"test_mode"`
	LastKind        string    `json:"last_kind"`
	LastError       string    `json:"last_error,omitempty"`
	Events          int       `json:"events"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// Attention says why an order needs a person ("" when it does not).
// minChecks <= 0 means DefaultMinChecks.
func (s Summary) Attention(minChecks int) string {
	if minChecks <= 0 {
		minChecks = DefaultMinChecks
	}
	switch {
	case s.State == StateNeedsReview:
		return FilterNeedsReview
	case s.LastStatus == "cancelled":
		return FilterCancelled
	case s.State == StatePlaced && !s.Tracked && s.Checks >= minChecks && s.LastStatus != "delivered":
		return FilterNoTracking
	}
	return ""
}

// Matches reports whether s passes filter state f.
func (s Summary) Matches(f string, minChecks int) bool {
	switch f {
	case FilterAll:
		return true
	case FilterTestMode:
		return s.TestMode
	case FilterAttention:
		return s.Attention(minChecks) != ""
	case FilterNeedsReview:
		return s.State == StateNeedsReview
	case FilterCancelled:
		return s.LastStatus == "cancelled"
	case FilterNoTracking:
		return s.Attention(minChecks) == FilterNoTracking
	}
	return false
}

// Order is one order's summary and events, oldest first.
type Order struct {
	Summary
	Events []Event `json:"events"`
}

// Filter selects orders for List, most recently updated first.
type Filter struct {
	// State is one of Filters.
	State string
	// MinChecks is N in "no tracking after N checks" (default 5).
	MinChecks int
	// Limit caps the page (default 50, max 500).
	Limit int
	// Cursor continues a previous List (its Page.Next).
	Cursor string
}

// Page is one List answer. Next is set when the page is full or the scan
// stopped at its bound; the page it leads to may be empty. An empty Next
// means there is nothing more.
type Page struct {
	Orders []Summary `json:"orders"`
	Next   string    `json:"next,omitempty"`
}

// Store keeps timelines.
type Store interface {
	// Append adds an event to an order's timeline and updates its summary.
	// A zero ev.At is set to the store's clock.
	Append(ctx context.Context, shop, orderID string, ev Event) error
	// Get returns an order's summary and events. An order with no events
	// (or forgotten) is a NotFound problem.
	Get(ctx context.Context, shop, orderID string) (Order, error)
	// List returns summaries matching f, most recently updated first.
	List(ctx context.Context, f Filter) (Page, error)
	// OrderFor returns the Shopify order a supplier order number belongs
	// to, as recorded by events carrying both (found=false when unknown).
	OrderFor(ctx context.Context, shop, supplierOrderID string) (orderID string, found bool, err error)
}

// Options configures a store.
type Options struct {
	// Retention is how long an order is kept after its last event (default 30 days).
	Retention time.Duration
	// MaxEvents bounds each order's events; the oldest go first (default 200).
	MaxEvents int
	// Now is the clock for events without a time and for retention (default time.Now).
	Now func() time.Time
	// Prefix starts every Redis key (default "fb:tl:"). Unused in memory.
	Prefix string
}

func (o Options) withDefaults() Options {
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = DefaultMaxEvents
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Prefix == "" {
		o.Prefix = "fb:tl:"
	}
	return o
}

// CodeInvalidFilter is returned for an unknown filter or a bad cursor.
const CodeInvalidFilter = "invalid_filter"

// checkID validates a shop, order id or supplier number: it becomes part
// of a Redis key and an index member, so it must be short and printable,
// without the characters that delimit keys and members.
func checkID(what, s string) error {
	if s == "" || len(s) > 255 {
		return problem.InvalidFields(problem.CodeValidation, what+" must be 1 to 255 characters",
			problem.Field{Pointer: "/" + what, Message: "1 to 255 characters"})
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == '{' || r == '}' {
			return problem.InvalidFields(problem.CodeValidation, what+" has a character that is not allowed",
				problem.Field{Pointer: "/" + what, Message: "printable characters without spaces or braces"})
		}
	}
	return nil
}

// supplierNumbers is the value itself and, for a split order's
// comma-joined value ("A,B"), each part's number, so tracking by any of
// them finds the Shopify order.
func supplierNumbers(value string) []string {
	if value == "" {
		return nil
	}
	out := []string{value}
	if parts := strings.Split(value, ","); len(parts) > 1 {
		for _, p := range parts {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func checkKey(shop, orderID string) error {
	if err := checkID("shop", shop); err != nil {
		return err
	}
	return checkID("order_id", orderID)
}

func (f Filter) normalised() (Filter, error) {
	known := false
	for _, s := range Filters {
		if f.State == s {
			known = true
		}
	}
	if f.State == "all" {
		f.State, known = FilterAll, true
	}
	if !known {
		return f, problem.InvalidFields(CodeInvalidFilter, "unknown state filter",
			problem.Field{Pointer: "/query/state", Message: "one of needs_review, cancelled, no_tracking, test_mode, attention (or empty)"})
	}
	if f.Limit <= 0 {
		f.Limit = DefaultLimit
	}
	if f.Limit > MaxLimit {
		f.Limit = MaxLimit
	}
	if f.MinChecks <= 0 {
		f.MinChecks = DefaultMinChecks
	}
	return f, nil
}

// Fields of the per-order summary, as stored (a Redis hash; a map in memory).
const (
	fState    = "state"
	fSupplier = "supplier_order_id"
	fStatus   = "last_status"
	fRaw      = "raw_status"
	fChecks   = "checks"
	fTracked  = "tracked"
	fTest     = "test_mode"
	fKind     = "last_kind"
	fError    = "last_error"
	fEvents   = "events"
	fCreated  = "created_at"
	fUpdated  = "updated_at"
)

// delta is what one event changes in the summary. It is computed here,
// once, and applied the same way by both stores (a Lua script in Redis).
type delta struct {
	set        []string // field, value, field, value...
	setNX      []string // written only when the field is absent
	setIf      []string // field, expected, value: written only when the field holds expected
	incrChecks bool
}

func (d *delta) put(f, v string)           { d.set = append(d.set, f, v) }
func (d *delta) putNX(f, v string)         { d.setNX = append(d.setNX, f, v) }
func (d *delta) putIf(f, expect, v string) { d.setIf = append(d.setIf, f, expect, v) }

func deltaFor(ev Event) delta {
	var d delta
	at := ev.At.UTC().Format(time.RFC3339Nano)
	d.put(fUpdated, at)
	d.put(fKind, ev.Kind)
	d.putNX(fCreated, at)
	if ev.TestMode {
		d.put(fTest, "1")
	}
	supplierID := func() {
		if ev.SupplierOrderID != "" {
			d.put(fSupplier, ev.SupplierOrderID)
		}
	}
	status := func() {
		if ev.Status != "" {
			d.put(fStatus, ev.Status)
			d.put(fRaw, ev.RawStatus)
		}
	}
	switch ev.Kind {
	case KindRatesQuoted:
		d.putNX(fState, StateQuoted)
	case KindPlacementClaimed:
		d.put(fState, StateInFlight)
	case KindOrderCreated, KindOrderReplayed, KindOrderReconciled, KindOrderRecorded:
		d.put(fState, StatePlaced)
		d.put(fError, "")
		supplierID()
		status()
	case KindOrderRejected:
		d.put(fState, StateRejected)
		d.put(fError, ev.Code)
	case KindHeldForReview:
		d.put(fState, StateNeedsReview)
	case KindResolved:
		d.put(fError, "")
		if ev.Action == "release" {
			d.put(fState, StateReleased)
		} else {
			d.put(fState, StatePlaced)
			supplierID()
		}
	case KindTrackingChecked:
		d.incrChecks = true
		supplierID()
		status()
		if ev.TrackingNumbers > 0 {
			d.put(fTracked, "1")
		}
	case KindError:
		d.put(fError, ev.Code)
		// A failed placement attempt ends the "placing" state, unless the
		// error is the answer to a duplicate while another call places it.
		if ev.Op == "place" && ev.Code != "in_flight" {
			d.putIf(fState, StateInFlight, StateFailed)
		}
	}
	return d
}

// apply applies d to a summary held as a map (the memory store).
func (d delta) apply(m map[string]string) {
	for i := 0; i+1 < len(d.setNX); i += 2 {
		if _, ok := m[d.setNX[i]]; !ok {
			m[d.setNX[i]] = d.setNX[i+1]
		}
	}
	for i := 0; i+1 < len(d.set); i += 2 {
		m[d.set[i]] = d.set[i+1]
	}
	for i := 0; i+2 < len(d.setIf); i += 3 {
		if m[d.setIf[i]] == d.setIf[i+1] {
			m[d.setIf[i]] = d.setIf[i+2]
		}
	}
	if d.incrChecks {
		n, _ := strconv.Atoi(m[fChecks])
		m[fChecks] = strconv.Itoa(n + 1)
	}
	n, _ := strconv.Atoi(m[fEvents])
	m[fEvents] = strconv.Itoa(n + 1)
}

func summaryFrom(shop, orderID string, m map[string]string) Summary {
	s := Summary{Shop: shop, OrderID: orderID, State: m[fState], SupplierOrderID: m[fSupplier],
		LastStatus: m[fStatus], RawStatus: m[fRaw], Tracked: m[fTracked] == "1", TestMode: m[fTest] == "1",
		LastKind: m[fKind], LastError: m[fError]}
	s.Checks, _ = strconv.Atoi(m[fChecks])
	s.Events, _ = strconv.Atoi(m[fEvents])
	s.CreatedAt, _ = time.Parse(time.RFC3339Nano, m[fCreated])
	s.UpdatedAt, _ = time.Parse(time.RFC3339Nano, m[fUpdated])
	return s
}

func validEvent(ev Event) error {
	if ev.Kind == "" {
		return problem.InvalidFields(problem.CodeValidation, "event kind is required", problem.Field{Pointer: "/kind", Message: "required"})
	}
	return nil
}

// member names an order in the listing index. Shop and order id cannot
// contain a newline (checkID).
func member(shop, orderID string) string { return shop + "\n" + orderID }

func splitMember(m string) (shop, orderID string, ok bool) {
	return strings.Cut(m, "\n")
}

// cursor is a position in the listing order: updated time (ms), then
// member, both descending.
type cursor struct {
	ms     int64
	member string
}

func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.ms, 10) + "\n" + c.member))
}

func parseCursor(s string) (cursor, bool, error) {
	if s == "" {
		return cursor{}, false, nil
	}
	bad := problem.InvalidFields(CodeInvalidFilter, "the cursor is not one this service returned",
		problem.Field{Pointer: "/query/cursor", Message: "pass the next value of a previous page"})
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, false, bad
	}
	ms, m, ok := strings.Cut(string(b), "\n")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil {
		return cursor{}, false, bad
	}
	return cursor{ms: n, member: m}, true, nil
}

// after reports whether (ms, m) comes after c in listing order.
func (c cursor) after(ms int64, m string) bool {
	return ms < c.ms || (ms == c.ms && m < c.member)
}

func unavailable(err error) error {
	return problem.Wrap(err, problem.Unavailable, problem.CodeStoreUnavailable, "the timeline store is unavailable").WithRetryAfter(5 * time.Second)
}

func notFound() error {
	return problem.New(problem.NotFound, problem.CodeNotFound, "no timeline for this order (never seen, or older than the retention)")
}

// MaskAddress keeps what an operator needs to recognise a destination:
// the country and the first two characters of the postcode ("ES 46***").
func MaskAddress(countryCode, postcode string) string {
	cc := strings.ToUpper(strings.TrimSpace(countryCode))
	pc := strings.ToUpper(strings.Join(strings.Fields(postcode), ""))
	keep := 2
	if len([]rune(pc)) <= 3 {
		keep = 1
	}
	r := []rune(pc)
	if len(r) > keep {
		pc = string(r[:keep]) + "***"
	} else if len(r) > 0 {
		pc = "***"
	}
	return strings.TrimSpace(cc + " " + pc)
}
