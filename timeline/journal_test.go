package timeline_test

import (
	"context"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/store/redisstore"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
	"github.com/flowbridge/flowbridge/timeline"
)

// With a Journal, a placement's claim and answer events are written by the
// claim and completion scripts themselves: they are in the timeline when
// Place returns (nothing queued), and the Recorder does not write them a
// second time. Events no script carries (a replay) still go through the
// Recorder's queue.
func TestJournaledPlacementEvents(t *testing.T) {
	for _, lookup := range []bool{false, true} {
		name := "supplier without lookup"
		if lookup {
			name = "supplier with lookup"
		}
		t.Run(name, func(t *testing.T) {
			c := redistest.Client(t)
			p := redistest.Prefix(t)
			st := redisstore.New(c, redisstore.Options{Prefix: p})
			tl := timeline.NewRedisStore(c, timeline.Options{Prefix: p + "tl:"})
			rec := timeline.NewRecorder(tl, "default", nil)
			rec.Async(2, 16)
			t.Cleanup(rec.Close)
			j := rec.Journal()
			if j == nil {
				t.Fatal("a Redis timeline has no Journal")
			}
			sup := sandbox.New(sandbox.Config{DisableLookup: !lookup})
			ctx := context.Background()
			rates, err := sup.Rates(ctx, supplier.RateRequest{CountryCode: "ES", PostalCode: "46005", Lines: []supplier.Line{{EAN: "8400000000017", Quantity: 1}}})
			if err != nil || len(rates) == 0 {
				t.Fatalf("rates: %v %v", rates, err)
			}
			svc, err := orders.New(orders.Config{Supplier: sup, Store: st, Observer: rec, Journal: j})
			if err != nil {
				t.Fatal(err)
			}
			in := orders.PlaceInput{Shop: "s.myshopify.com", OrderID: "4001", Order: supplier.Order{Name: "#4001",
				ShipTo: supplier.Address{FirstName: "Ana", LastName: "G", Address1: "Calle 1", City: "Valencia", PostalCode: "46005", CountryCode: "ES"},
				Lines:  []supplier.Line{{EAN: "8400000000017", Quantity: 1}}, ShippingRateID: rates[0].ID}}
			res, err := svc.Place(ctx, in)
			if err != nil || res.Outcome != orders.OutcomePlaced {
				t.Fatalf("place = %+v, %v", res, err)
			}
			// No Flush: the scripts wrote these before Place returned.
			kinds := func() []string {
				o, err := tl.Get(ctx, "s.myshopify.com", "4001")
				if err != nil {
					t.Fatal(err)
				}
				var ks []string
				for _, ev := range o.Events {
					ks = append(ks, ev.Kind)
				}
				return ks
			}
			want := []string{timeline.KindPlacementClaimed, timeline.KindOrderCreated}
			if got := kinds(); !slices.Equal(got, want) {
				t.Fatalf("events when Place returned = %v, want %v", got, want)
			}
			fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			rec.Flush(fctx)
			if got := kinds(); !slices.Equal(got, want) {
				t.Fatalf("events after the Recorder's queue drained = %v, want %v (each once)", got, want)
			}
			o, err := tl.Get(ctx, "s.myshopify.com", "4001")
			if err != nil {
				t.Fatal(err)
			}
			if o.Summary.State != timeline.StatePlaced || o.Summary.SupplierOrderID != res.SupplierOrderID {
				t.Fatalf("summary = %+v", o.Summary)
			}
			// The supplier-number link went with the completion.
			if id, ok, err := tl.OrderFor(ctx, "s.myshopify.com", res.SupplierOrderID); err != nil || !ok || id != "4001" {
				t.Fatalf("OrderFor(%s) = %q, %v, %v", res.SupplierOrderID, id, ok, err)
			}
			page, err := tl.List(ctx, timeline.Filter{})
			if err != nil || len(page.Orders) != 1 || page.Orders[0].OrderID != "4001" {
				t.Fatalf("listing = %+v, %v", page, err)
			}

			// A replay is not journaled: the Recorder writes it.
			if res, err := svc.Place(ctx, in); err != nil || !res.Replay {
				t.Fatalf("replay = %+v, %v", res, err)
			}
			rec.Flush(fctx)
			if got := kinds(); !slices.Equal(got, append(want, timeline.KindOrderReplayed)) {
				t.Fatalf("events after a replay = %v", got)
			}
		})
	}
}

// The in-memory timeline has no Journal: its Recorder writes every event.
func TestMemoryTimelineHasNoJournal(t *testing.T) {
	rec := timeline.NewRecorder(timeline.NewMemoryStore(timeline.Options{}), "default", nil)
	if j := rec.Journal(); j != nil {
		t.Fatalf("memory timeline Journal = %v, want nil", j)
	}
}

// trips counts the round trips that carry the named commands: single
// calls, and pipelines that start with one (connection set-up also goes
// through the hooks and is not counted).
type trips struct {
	names []string
	n     atomic.Int32
}

func (p *trips) named(cmd redis.Cmder) bool { return slices.Contains(p.names, cmd.Name()) }

func (*trips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (p *trips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if p.named(cmd) {
			p.n.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (p *trips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && p.named(cmds[0]) {
			p.n.Add(1)
		}
		return next(ctx, cmds)
	}
}

// Events that queue up while a writer is busy are sent together: the
// writer's first write waits on the stopped server while the rest queue,
// so ten events take at most two round trips, each event written once.
func TestRecorderBatchesQueuedEvents(t *testing.T) {
	srv := redistest.Start(t)
	c, err := redisstore.NewClient(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	pl := &trips{names: []string{"evalsha", "eval"}}
	c.AddHook(pl)
	st := timeline.NewRedisStore(c, timeline.Options{})
	rec := timeline.NewRecorder(st, "shop", nil)
	rec.WriteTimeout = 10 * time.Second
	rec.Async(1, 32)
	t.Cleanup(rec.Close)
	ctx := context.Background()
	// A first event loads the script (a fresh server answers NOSCRIPT
	// once, and the refused entries are sent again).
	if err := st.Append(ctx, "shop", "1", timeline.Event{Kind: timeline.KindPlacementClaimed, Op: "place"}); err != nil {
		t.Fatal(err)
	}
	pl.n.Store(0)

	// The writer takes the first event and waits on the stopped server;
	// the other nine queue behind it.
	srv.Pause(t)
	for i := range 10 {
		rec.Record(ctx, "shop", strconv.Itoa(100+i), timeline.Event{Kind: timeline.KindPlacementClaimed, Op: "place"})
	}
	srv.Resume(t)
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rec.Flush(fctx)
	for i := range 10 {
		o, err := st.Get(ctx, "shop", strconv.Itoa(100+i))
		if err != nil || len(o.Events) != 1 {
			t.Fatalf("order %d: %d events, %v; want 1", 100+i, len(o.Events), err)
		}
	}
	if n := pl.n.Load(); n < 1 || n > 2 {
		t.Fatalf("%d round trips for ten events queued behind a busy writer, want 1 or 2", n)
	}
}
