// Package flowsim simulates Shopify Flow running a flowbridge workflow: it
// loads workflow JSON, starts a run for an order fixture and executes the
// steps — Send HTTP request as real HTTP with Flow's timeout and re-send
// rules, Run code in an embedded JavaScript engine checked against its
// output schema, Conditions, Waits on a virtual clock, and the store-writing
// actions against a fake store that records what happened. It also lints a
// workflow against Flow's documented limits.
package flowsim

import (
	"sync"
	"time"
)

// Clock is the simulator's notion of time. Waits and HTTP re-send intervals
// advance it instead of sleeping, so days of Flow time pass in
// milliseconds. Share Now with anything else that must see the same time
// (e.g. sandbox.Config{Now: clock.Now}).
type Clock interface {
	Now() time.Time
	Advance(d time.Duration)
}

// VirtualClock is a Clock that only moves when told to. Safe for
// concurrent use: the service under test reads it from its own goroutines.
type VirtualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewVirtualClock returns a clock reading start.
func NewVirtualClock(start time.Time) *VirtualClock {
	return &VirtualClock{now: start}
}

// Now returns the current virtual time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (never backwards).
func (c *VirtualClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
