package timeline

import (
	"sync"
	"time"
)

// Defaults of the Recorder's link cache and folding.
const (
	// DefaultLinkTTL is Recorder.LinkTTL's default. A supplier number's
	// link is rewritten by every event that carries the number (SET, the
	// latest wins): an operator's adopt may name a number already linked to
	// another order, and a tracking call naming both an order and a number
	// links them. So a cached link can go stale when another replica
	// writes such an event; this bounds how long.
	DefaultLinkTTL = time.Minute
	// DefaultMaxLinks bounds the link cache (entries).
	DefaultMaxLinks = 8192
	// DefaultFoldWindow is Recorder.FoldWindow's default: duplicate Flow
	// triggers and load bursts come within it, Flow's own re-sends (30 s
	// apart or more) do not.
	DefaultFoldWindow = 10 * time.Second
	// DefaultMaxFoldOrders bounds the orders whose last event the
	// Recorder remembers for folding.
	DefaultMaxFoldOrders = 8192
)

// replayHeldNote marks a held_for_review event answered again from the
// stored review (placedEvent); only those holds are folded.
const replayHeldNote = "answered again from the stored review; nothing was sent to the supplier"

// linkCache maps shop + "\n" + supplier number to its Shopify order, each
// entry trusted until its deadline. Only found links are kept: a number
// not found may be linked by another replica a moment later, and caching
// the miss would lose that order's tracking events. Bounded in entries:
// when full, expired entries go first, then arbitrary ones (an eviction
// only costs a lookup).
type linkCache struct {
	mu  sync.Mutex
	m   map[string]cachedLink
	max int
}

type cachedLink struct {
	order string
	until time.Time
}

func (c *linkCache) get(key string, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.m[key]
	if !ok {
		return "", false
	}
	if !now.Before(l.until) {
		delete(c.m, key)
		return "", false
	}
	return l.order, true
}

func (c *linkCache) put(key, order string, until time.Time, now time.Time) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedLink{}
	}
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		for k, l := range c.m {
			if !now.Before(l.until) {
				delete(c.m, k)
			}
		}
		// Still full: drop an eighth, in map order (any entries).
		for k := range c.m {
			if len(c.m) < c.max-c.max/8 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = cachedLink{order: order, until: until}
}

func (c *linkCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// foldable reports whether ev is a repeat that may be folded: a replayed
// placement, a hold answered again from the stored review, or a tracking
// answer from the cache. Everything else is part of the story each time.
func foldable(ev Event) bool {
	switch ev.Kind {
	case KindOrderReplayed:
		return true
	case KindHeldForReview:
		return ev.Note == replayHeldNote
	case KindTrackingChecked:
		return ev.Cached
	}
	return false
}

// answer is what must match for an event to repeat the last one: the
// same answer, not only the same kind.
type answer struct {
	kind, status, raw, supplier, note string
	tracking                          int
	cached, test                      bool
}

func answerOf(ev Event) answer {
	return answer{kind: ev.Kind, status: ev.Status, raw: ev.RawStatus, supplier: ev.SupplierOrderID, note: ev.Note,
		tracking: ev.TrackingNumbers, cached: ev.Cached, test: ev.TestMode}
}

// folds remembers, per order (shop + "\n" + order), the last foldable
// event this Recorder wrote or queued and how many repeats of it were
// folded since. Bounded: entries older than the window with nothing
// folded are swept (at most once a window, and whenever the map is
// full); when it is still full, old entries go with their counts, and a
// new order beyond the bound is not tracked (its events are written).
type folds struct {
	mu        sync.Mutex
	m         map[string]*foldEntry
	lastSweep time.Time
}

type foldEntry struct {
	last    answer
	at      time.Time // when the last written event happened
	repeats int       // folded since
}

// check decides for an event of order key at time at: fold it (true), or
// write it carrying repeats, the count folded since the event before it.
func (f *folds) check(key string, ev Event, at time.Time, window time.Duration, maxOrders int) (repeats int, fold bool) {
	if window <= 0 {
		return 0, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.m[key]
	if e != nil && foldable(ev) && answerOf(ev) == e.last && at.Sub(e.at) < window && e.at.Sub(at) < window {
		e.repeats++
		return 0, true
	}
	if e != nil {
		repeats = e.repeats
	}
	if !foldable(ev) {
		// The run is broken: the next repeat is a first again.
		delete(f.m, key)
		return repeats, false
	}
	if e == nil {
		if f.m == nil {
			f.m = map[string]*foldEntry{}
		}
		if at.Sub(f.lastSweep) >= window || len(f.m) >= maxOrders {
			f.sweep(at, window, len(f.m) >= maxOrders)
		}
		if len(f.m) >= maxOrders {
			return repeats, false
		}
		e = &foldEntry{}
		f.m[key] = e
	}
	// A late event (a writer's lookup) does not move the window back.
	if at.After(e.at) || e.last != answerOf(ev) {
		e.at = at
	}
	e.last, e.repeats = answerOf(ev), 0
	return repeats, false
}

// sweep drops entries older than the window with nothing folded; full,
// those with a count too (the count is lost, the metric has it).
func (f *folds) sweep(now time.Time, window time.Duration, full bool) {
	f.lastSweep = now
	for k, e := range f.m {
		if now.Sub(e.at) >= window && (e.repeats == 0 || full) {
			delete(f.m, k)
		}
	}
}

// unwritten undoes check for an event that was then not recorded (the
// queue was full): its count goes back to the order, for the next event
// to carry, and the next repeat is written, not folded into an event
// that was never written.
func (f *folds) unwritten(key string, repeats, maxOrders int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.m[key]
	if e == nil {
		if repeats == 0 || len(f.m) >= maxOrders {
			return
		}
		if f.m == nil {
			f.m = map[string]*foldEntry{}
		}
		e = &foldEntry{}
		f.m[key] = e
	}
	e.repeats += repeats
	e.at, e.last = time.Time{}, answer{}
}

// forget ends an order's run: an event was written without the Recorder
// (the store's journal).
func (f *folds) forget(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, key)
}

// pending is the count folded since the order's last written event.
func (f *folds) pending(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.m[key]; e != nil {
		return e.repeats
	}
	return 0
}

func (f *folds) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.m)
}
