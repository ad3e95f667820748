package stock_test

import (
	"context"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/stock"
	"github.com/flowbridge/flowbridge/stock/stocktest"
)

// Both History implementations behave the same.
func TestHistory(t *testing.T) {
	for name, mk := range map[string]func(t *testing.T) stock.History{
		"memory": func(*testing.T) stock.History { return stock.NewMemoryHistory(3) },
		"redis": func(t *testing.T) stock.History {
			return stock.NewRedisHistory(redistest.Client(t), redistest.Prefix(t), 3)
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := mk(t)
			ctx := context.Background()
			if runs, err := h.Runs(ctx, 10); err != nil || len(runs) != 0 {
				t.Fatalf("empty history: %v %v", runs, err)
			}
			for _, id := range []string{"a", "b", "c", "d"} {
				if err := h.Add(ctx, stock.Run{ID: id, Status: stock.StatusOK, Changes: []stock.Change{{EAN: id}}}); err != nil {
					t.Fatal(err)
				}
			}
			runs, err := h.Runs(ctx, 10)
			if err != nil || len(runs) != 3 || runs[0].ID != "d" || runs[2].ID != "b" || runs[0].Changes[0].EAN != "d" {
				t.Errorf("runs = %+v %v; want d, c, b", runs, err)
			}
			if runs, _ := h.Runs(ctx, 1); len(runs) != 1 || runs[0].ID != "d" {
				t.Errorf("limit 1: %+v", runs)
			}
			if err := h.AddKnown(ctx, []string{"08400000000017", "08400000000024"}); err != nil {
				t.Fatal(err)
			}
			_ = h.AddKnown(ctx, []string{"08400000000017"})
			known, err := h.Known(ctx)
			if err != nil || len(known) != 2 || !known["08400000000024"] {
				t.Errorf("known = %v %v", known, err)
			}
		})
	}
}

func TestLease(t *testing.T) {
	clock := stocktest.NewClock()
	for name, l := range map[string]stock.Lease{
		"memory": stock.NewMemoryLease(clock.Now),
		"redis":  stock.NewRedisLease(redistest.Client(t), redistest.Prefix(t)),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if ok, _, err := l.Acquire(ctx, "x", "one", time.Minute); !ok || err != nil {
				t.Fatal(ok, err)
			}
			if h, err := l.Holder(ctx, "x"); h != "one" || err != nil {
				t.Errorf("holder %q %v", h, err)
			}
			if h, _ := l.Holder(ctx, "nobody"); h != "" {
				t.Errorf("free lease has holder %q", h)
			}
			if ok, holder, _ := l.Acquire(ctx, "x", "two", time.Minute); ok || holder != "one" {
				t.Errorf("second acquire: ok=%v holder=%q", ok, holder)
			}
			if ok, _ := l.Renew(ctx, "x", "two", time.Minute); ok {
				t.Error("a non-holder renewed")
			}
			_ = l.Release(ctx, "x", "two") // not the holder: no effect
			if ok, _, _ := l.Acquire(ctx, "x", "two", time.Minute); ok {
				t.Error("a non-holder's release freed the lease")
			}
			if ok, _ := l.Renew(ctx, "x", "one", time.Minute); !ok {
				t.Error("the holder could not renew")
			}
			_ = l.Release(ctx, "x", "one")
			if ok, _, _ := l.Acquire(ctx, "x", "two", time.Minute); !ok {
				t.Error("the lease stayed taken after its holder released it")
			}
		})
	}
	// The memory lease expires on its clock.
	l := stock.NewMemoryLease(clock.Now)
	ctx := context.Background()
	_, _, _ = l.Acquire(ctx, "y", "one", time.Minute)
	clock.Advance(61 * time.Second)
	if ok, _, _ := l.Acquire(ctx, "y", "two", time.Minute); !ok {
		t.Error("an expired lease was not taken over")
	}
}

func TestRedisDownMeansNoRun(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redistest.ClientFor(t, srv.URL())
	w := newWorld(t, catalogueItems()...)
	w.sync.History = stock.NewRedisHistory(rdb, "t:", 5)
	r := &stock.Runner{Syncer: w.sync, Lease: stock.NewRedisLease(rdb, "t:")}
	srv.Stop()
	_, _, err := r.RunNow(context.Background(), stock.Options{})
	if pe := problem.From(err); pe.Kind != problem.Unavailable || pe.Code != problem.CodeStoreUnavailable {
		t.Errorf("err = %v", err)
	}
	if calls, _ := w.shop.SetCalls(); calls != 0 {
		t.Errorf("%d writes with Redis down", calls)
	}
}
