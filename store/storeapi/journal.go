package storeapi

import (
	"errors"
	"time"
)

// Entry is one append to an order's journal (its timeline) that the store
// writes in the same atomic step as the record change it describes: a
// claim and its "claimed" event, a completion and its "created" event,
// land together or not at all, and cost one round trip instead of two.
//
// The journal's owner (package timeline) decides the layout: key names,
// the item, the summary fields. The store only applies it. In Redis the
// list and hash share the record's hash tag (one Cluster slot); Index and
// Links live in other slots, so in a Cluster they are sent in the same
// pipeline rather than in the script.
type Entry struct {
	// List receives Item at its tail and is trimmed to its last MaxItems.
	List     string
	Item     []byte
	MaxItems int
	// Hash is the order's summary: SetNX pairs are written when absent,
	// Set pairs always, SetIf triples (field, expected, value) only over
	// the expected value, then each Incr field is incremented by one —
	// in that order.
	Hash  string
	SetNX []string
	Set   []string
	SetIf []string
	Incr  []string
	// TTL is how long List and Hash live after this entry.
	TTL time.Duration
	// Index (optional) is a sorted set of orders: IndexMember is scored
	// IndexScore, and members scored below IndexTrim are removed.
	Index       string
	IndexMember string
	IndexScore  int64
	IndexTrim   int64
	// Links are string keys set to LinkValue for LinkTTL (a supplier
	// number → its Shopify order).
	Links     []string
	LinkValue string
	LinkTTL   time.Duration
}

// ClaimJournal is what a claim appends to the journal when it wins: Fresh
// on a fresh claim, Takeover on a takeover (same keys; the items differ).
// Nothing is appended when the claim is busy, done or late.
type ClaimJournal struct {
	Fresh, Takeover Entry
}

// ErrNoJournal: this store cannot write journal entries with its records
// (the in-process store; the timeline then writes them itself). A caller
// that passes entries to it has been wired wrongly.
var ErrNoJournal = errors.New("store: this store does not write journal entries; only the Redis store does")

// Valid reports whether e has what every entry needs.
func (e Entry) Valid() bool {
	return e.List != "" && e.Hash != "" && len(e.Item) > 0 && e.MaxItems > 0 && e.TTL > 0 &&
		len(e.SetNX)%2 == 0 && len(e.Set)%2 == 0 && len(e.SetIf)%3 == 0 &&
		(e.Index == "" || e.IndexMember != "") && (len(e.Links) == 0 || e.LinkTTL > 0)
}
