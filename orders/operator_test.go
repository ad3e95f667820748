package orders

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/store"
)

// Every operator call is observed once, after it, with who made it and
// its outcome: the timeline's only source for operator actions.
func TestOperatorCallsObserved(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, true, nil)
		st := b.instance()
		var mu sync.Mutex
		var seen []Observation
		obs := ObserverFunc(func(_ context.Context, o Observation) {
			if o.Event != EventResolveAnswered && o.Event != EventTrackingReleased {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, o)
		})
		svc := newService(st, f.sup, func(c *Config) { c.Observer = obs })
		ctx := context.Background()
		hold := func(id string) {
			t.Helper()
			k := store.Key{Shop: shop, OrderID: id, Purpose: PurposePlace}
			if _, err := st.Transition(ctx, k, store.Transition{From: []store.State{store.StateAbsent}, To: store.StateNeedsReview, TTL: time.Hour}); err != nil {
				t.Fatal(err)
			}
		}
		ana := Operator{Actor: "Ana (key 1a2b3c4d)", Via: "console"}
		api := Operator{Actor: "key 1a2b3c4d", Via: "api"}
		tests := []struct {
			name  string
			setup func(id string)
			call  func(id string) error
			event Event
			by    Operator
			// wantState is the record's state after a successful resolve.
			wantState store.State
			wantCode  string
			// noKey: the call names no order, so the observation has none.
			noKey bool
		}{
			{name: "adopt a held order", setup: hold, call: func(id string) error {
				_, err := svc.Resolve(ctx, shop, "gid://shopify/Order/"+id, Resolution{Action: ResolveAdopt, SupplierOrderID: "S-" + id, By: ana})
				return err
			}, event: EventResolveAnswered, by: ana, wantState: store.StatePlaced},
			{name: "release a held order", setup: hold, call: func(id string) error {
				_, err := svc.Resolve(ctx, shop, id, Resolution{Action: ResolveRelease, By: api})
				return err
			}, event: EventResolveAnswered, by: api, wantState: store.StateAbsent},
			{name: "release a placed order", setup: func(id string) {
				if _, err := svc.Place(ctx, f.input(id, "")); err != nil {
					t.Fatal(err)
				}
			}, call: func(id string) error {
				_, err := svc.Resolve(ctx, shop, id, Resolution{Action: ResolveRelease, By: api})
				return err
			}, event: EventResolveAnswered, by: api, wantCode: CodeResolveConflict},
			{name: "adopt an unknown order", call: func(id string) error {
				_, err := svc.Resolve(ctx, shop, id, Resolution{Action: ResolveAdopt, SupplierOrderID: "S-1", By: ana})
				return err
			}, event: EventResolveAnswered, by: ana, wantCode: problem.CodeOrderNotFound},
			{name: "resolve an invalid order id", call: func(string) error {
				_, err := svc.Resolve(ctx, shop, "not an order", Resolution{Action: ResolveRelease, By: ana})
				return err
			}, event: EventResolveAnswered, by: ana, wantCode: problem.CodeValidation, noKey: true},
			{name: "release the tracking of a placed order", setup: func(id string) {
				if _, err := svc.Place(ctx, f.input(id, "")); err != nil {
					t.Fatal(err)
				}
			}, call: func(id string) error {
				return svc.ReleaseTracking(ctx, shop, id, ana)
			}, event: EventTrackingReleased, by: ana},
			{name: "release the tracking of an unknown order", call: func(id string) error {
				return svc.ReleaseTracking(ctx, shop, id, api)
			}, event: EventTrackingReleased, by: api, wantCode: problem.CodeOrderNotFound},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				id := fmt.Sprint(700 + i)
				if tt.setup != nil {
					tt.setup(id)
				}
				mu.Lock()
				seen = nil
				mu.Unlock()
				err := tt.call(id)
				if code(err) != tt.wantCode {
					t.Fatalf("err = %v, want code %q", err, tt.wantCode)
				}
				mu.Lock()
				got := append([]Observation(nil), seen...)
				mu.Unlock()
				if len(got) != 1 {
					t.Fatalf("%d operator observations, want 1: %+v", len(got), got)
				}
				o := got[0]
				if o.Event != tt.event || code(o.Err) != tt.wantCode {
					t.Fatalf("observed %s with error %v, want %s with code %q", o.Event, o.Err, tt.event, tt.wantCode)
				}
				wantKey := store.Key{Shop: shop, OrderID: id, Purpose: PurposePlace}
				if tt.noKey {
					wantKey = store.Key{}
				}
				if o.Key != wantKey {
					t.Fatalf("key %+v, want %+v", o.Key, wantKey)
				}
				var by Operator
				switch tt.event {
				case EventResolveAnswered:
					if o.Resolve == nil || o.Release != nil {
						t.Fatalf("resolve observation without its call: %+v", o)
					}
					by = o.Resolve.In.By
					if tt.wantCode == "" && o.Resolve.Out.State != tt.wantState {
						t.Fatalf("observed outcome %s, want %s", o.Resolve.Out.State, tt.wantState)
					}
				case EventTrackingReleased:
					if o.Release == nil || o.Resolve != nil {
						t.Fatalf("release observation without its call: %+v", o)
					}
					by = o.Release.By
				}
				if by != tt.by {
					t.Fatalf("observed operator %+v, want %+v", by, tt.by)
				}
			})
		}
	})
}
