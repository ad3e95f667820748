package orders

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/store"
	"github.com/flowbridge/flowbridge/store/storetest"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

// trackHook is the sandbox with hooks run inside every Tracking call,
// before and after the sandbox answers.
type trackHook struct {
	*sandbox.Supplier
	hook  func(ctx context.Context)
	after func()
}

func (s trackHook) Tracking(ctx context.Context, id string) (supplier.Tracking, error) {
	if s.hook != nil {
		s.hook(ctx)
	}
	t, err := s.Supplier.Tracking(ctx, id)
	if s.after != nil {
		s.after()
	}
	return t, err
}

// TestTrackWriteSurvivesTheCaller: the caller goes away while the
// supplier answers (a Flow timeout, a client disconnect); the answer is
// still cached, so the next check does not spend another slot of the
// supplier's budget.
func TestTrackWriteSurvivesTheCaller(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, false, nil)
		st := b.instance()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		placed, err := newService(st, f.sup, nil).Place(ctx, f.input("60", ""))
		if err != nil {
			t.Fatal(err)
		}
		svc := newService(st, trackHook{Supplier: f.sup, after: cancel}, nil)
		if _, err := svc.Track(ctx, TrackInput{Shop: shop, SupplierOrderID: placed.SupplierOrderID}); err != nil {
			t.Fatalf("track: %v", err)
		}
		e, ok, err := st.TrackingGet(context.Background(), store.CacheKey(shop, f.sup.Name(), placed.SupplierOrderID))
		if err != nil || !ok || !e.Fresh || e.Rank != supplier.StatusPending.Rank() {
			t.Fatalf("cached after the caller left = %+v %v %v; want a fresh pending entry", e, ok, err)
		}
	})
}

// fixedPlan plans every slot on one limiter key (one slot an hour, a
// burst of two, so the time a test takes does not matter).
type fixedPlan struct{ key string }

func (p fixedPlan) PlanSlot(context.Context) (supplier.SlotPlan, bool) {
	return supplier.SlotPlan{Key: p.key, Interval: time.Hour, Tolerance: time.Hour, MaxWait: 2 * time.Hour}, true
}

// TestTrackReservesTheSlotWithTheCacheRead: with a slot planner, a
// tracking whose entry is missing or stale hands the supplier call the
// slot its cache read reserved (Redis: one script); a fresh entry takes
// none. The in-process store reserves nothing: the transport's limiter
// takes the slot itself, as without a planner.
func TestTrackReservesTheSlotWithTheCacheRead(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, false, nil)
		st := b.instance()
		ctx := context.Background()
		placed, err := newService(st, f.sup, nil).Place(ctx, f.input("61", ""))
		if err != nil {
			t.Fatal(err)
		}
		plan := fixedPlan{key: "fbtest:" + t.Name() + ":" + time.Now().Format(time.RFC3339Nano) + ":rl"}
		var mu sync.Mutex
		var seen []*supplier.Reservation
		sup := trackHook{Supplier: f.sup, hook: func(ctx context.Context) {
			r, _ := supplier.TakeReservation(ctx, plan.key)
			mu.Lock()
			seen = append(seen, r)
			mu.Unlock()
		}}
		svc := newService(st, sup, func(c *Config) { c.Slots = plan; c.TrackingTTL = 50 * time.Millisecond })
		in := TrackInput{Shop: shop, SupplierOrderID: placed.SupplierOrderID}
		wantReserved := b.name == "redis"
		check := func(step string, calls int, wait time.Duration) {
			t.Helper()
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != calls {
				t.Fatalf("%s: supplier asked %d times; want %d", step, len(seen), calls)
			}
			r := seen[calls-1]
			if !wantReserved {
				if r != nil {
					t.Fatalf("%s: the in-process store reserved %+v", step, r)
				}
				return
			}
			if r == nil || !r.Reserved || r.Wait > wait || r.Wait < wait-time.Minute {
				t.Fatalf("%s: reservation %+v; want reserved with a wait of about %s", step, r, wait)
			}
		}

		if got, err := svc.Track(ctx, in); err != nil || got.Cached {
			t.Fatalf("first track = %+v %v", got, err)
		}
		check("missing entry", 1, 0)
		if got, err := svc.Track(ctx, in); err != nil || !got.Cached {
			t.Fatalf("second track = %+v %v", got, err)
		}
		check("fresh entry (not asked)", 1, 0)
		storetest.Eventually(t, 5*time.Second, "the entry to go stale", func() bool {
			e, ok, err := st.TrackingGet(ctx, store.CacheKey(shop, f.sup.Name(), placed.SupplierOrderID))
			return err == nil && ok && !e.Fresh
		})
		if got, err := svc.Track(ctx, in); err != nil || got.Cached {
			t.Fatalf("third track = %+v %v", got, err)
		}
		// Burst two: the second slot is free at once too; the fresh hit
		// took none (else this one would wait an hour).
		check("stale entry", 2, 0)
		if got, err := svc.Track(ctx, in); err != nil || !got.Cached {
			t.Fatalf("fourth track = %+v %v", got, err)
		}
		check("fresh again", 2, 0)
	})
}
