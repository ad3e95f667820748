package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/gcra"
	"github.com/flowbridge/flowbridge/internal/gcra/gcratest"
	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/store/redisstore"
	store "github.com/flowbridge/flowbridge/store/storeapi"
	"github.com/flowbridge/flowbridge/store/storetest"
)

// TestTrackingGetReserve covers every branch of the combined script: a
// fresh entry never reads or writes the limiter key; a stale or missing
// entry reserves a slot of the same budget the limiter's own script
// (gcra.Script) spends; a slot further away than the max wait is not
// reserved and the stale entry still comes back.
func TestTrackingGetReserve(t *testing.T) {
	const interval = time.Hour
	const burst = 2 // tolerance one interval: two slots without a wait
	tests := []struct {
		name     string
		fresh    time.Duration // entry stored fresh for this long; 0: stale; <0: no entry
		before   int           // slots taken by the limiter's own script first
		maxWait  time.Duration
		want     store.Slot
		wantWait time.Duration // Wait is about this (within a minute below)
		after    int           // slots taken afterwards
	}{
		{name: "fresh entry takes no slot", fresh: time.Hour, before: 0, maxWait: time.Hour, want: store.Slot{}, after: 0},
		{name: "fresh entry leaves a used budget alone", fresh: time.Hour, before: 2, maxWait: 3 * time.Hour, want: store.Slot{}, after: 2},
		{name: "stale entry reserves", fresh: 0, before: 0, maxWait: time.Hour, want: store.Slot{Asked: true, Reserved: true}, after: 1},
		{name: "missing entry reserves", fresh: -1, before: 0, maxWait: time.Hour, want: store.Slot{Asked: true, Reserved: true}, after: 1},
		{name: "stale entry reserves behind the limiter's slots", fresh: 0, before: 2, maxWait: 2 * time.Hour,
			want: store.Slot{Asked: true, Reserved: true}, wantWait: interval, after: 3},
		{name: "wait too long reserves nothing", fresh: 0, before: 2, maxWait: 30 * time.Minute,
			want: store.Slot{Asked: true, Reserved: false}, wantWait: interval, after: 2},
		{name: "wait too long with no entry", fresh: -1, before: 2, maxWait: 0,
			want: store.Slot{Asked: true, Reserved: false}, wantWait: interval, after: 2},
	}
	c := redistest.Client(t)
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := redistest.Prefix(t)
			s := redisstore.New(c, redisstore.Options{Prefix: prefix})
			req := store.SlotRequest{Key: prefix + "ratelimit:bts", Interval: interval, Tolerance: interval * (burst - 1), MaxWait: tt.maxWait}
			for range tt.before {
				g := gcra.Request{Key: req.Key, Interval: req.Interval, Tolerance: req.Tolerance, MaxWait: 24 * time.Hour}
				res, err := gcra.Script.Run(ctx, c, []string{g.Key}, g.Args()...).Slice()
				if ok, _, err2 := gcra.ParseReply(res); err != nil || err2 != nil || !ok {
					t.Fatalf("limiter script: %v %v %v", ok, err, err2)
				}
			}
			if tt.fresh >= 0 {
				if _, err := s.TrackingPut(ctx, "o1", 3, []byte("shipped"), max(tt.fresh, time.Millisecond), time.Hour); err != nil {
					t.Fatal(err)
				}
				if tt.fresh == 0 {
					storetest.Eventually(t, 5*time.Second, "the entry to go stale", func() bool {
						e, ok, err := s.TrackingGet(ctx, "o1")
						return err == nil && ok && !e.Fresh
					})
				}
			}
			got, found, slot, err := s.TrackingGetReserve(ctx, "o1", req)
			if err != nil {
				t.Fatal(err)
			}
			if found != (tt.fresh >= 0) {
				t.Fatalf("found = %v", found)
			}
			if found && (got.Rank != 3 || string(got.Value) != "shipped" || got.Fresh != (tt.fresh > 0)) {
				t.Fatalf("entry = %+v", got)
			}
			if slot.Asked != tt.want.Asked || slot.Reserved != tt.want.Reserved {
				t.Fatalf("slot = %+v; want %+v", slot, tt.want)
			}
			if slot.Wait > tt.wantWait || slot.Wait < tt.wantWait-time.Minute {
				t.Fatalf("wait = %s; want about %s", slot.Wait, tt.wantWait)
			}
			if n := gcratest.SlotsTaken(t, c, req.Key, interval); n != tt.after {
				t.Fatalf("slots taken = %d; want %d", n, tt.after)
			}
			if tt.before == 0 && tt.after == 0 {
				if n, err := c.Exists(ctx, req.Key).Result(); err != nil || n != 0 {
					t.Fatalf("limiter key exists = %d, %v; a cache hit must not touch it", n, err)
				}
			}
		})
	}
}

// TestTrackingGetReserveWithoutSlotKey is TrackingGet: nothing is
// reserved when the caller names no limiter.
func TestTrackingGetReserveWithoutSlotKey(t *testing.T) {
	c := redistest.Client(t)
	s := redisstore.New(c, redisstore.Options{Prefix: redistest.Prefix(t)})
	_, found, slot, err := s.TrackingGetReserve(context.Background(), "none", store.SlotRequest{})
	if err != nil || found || slot.Asked {
		t.Fatalf("= %v %+v %v", found, slot, err)
	}
}
