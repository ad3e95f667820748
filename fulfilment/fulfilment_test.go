package fulfilment

import (
	"context"
	"sync"
	"testing"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/shopify"
	"github.com/flowbridge/flowbridge/shopify/shopifytest"
	"github.com/flowbridge/flowbridge/store"
	"github.com/flowbridge/flowbridge/store/memstore"
	"github.com/flowbridge/flowbridge/store/redisstore"
	"github.com/flowbridge/flowbridge/supplier"
)

// tracker answers a fixed supplier tracking (the supplier side is tested
// end to end in flowsim against the real service and sandbox).
type tracker struct {
	mu sync.Mutex
	tr supplier.Tracking
	n  int
}

func (t *tracker) Track(_ context.Context, in orders.TrackInput) (orders.TrackResult, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n++
	tr := t.tr
	tr.SupplierOrderID = in.SupplierOrderID
	return orders.TrackResult{Tracking: tr}, nil
}

const orderGID = "gid://shopify/Order/1001"

func shipped(parcels ...supplier.Parcel) *tracker {
	return &tracker{tr: supplier.Tracking{Status: supplier.StatusShipped, Parcels: parcels}}
}

var gls1 = supplier.Parcel{Carrier: "GLS", Number: "GLS-1", URL: "https://gls.example/t/GLS-1"}
var gls2 = supplier.Parcel{Carrier: "GLS", Number: "GLS-2", URL: "https://gls.example/t/GLS-2"}

func fo(id, loc string, qty int) shopifytest.FulfillmentOrder {
	return shopifytest.FulfillmentOrder{ID: "gid://shopify/FulfillmentOrder/" + id, LocationID: "gid://shopify/Location/" + loc, LocationName: "L" + loc,
		LineItems: []shopifytest.FulfillmentOrderLineItem{{ID: "gid://shopify/FulfillmentOrderLineItem/" + id + "1", LineItemID: "gid://shopify/LineItem/" + id, SKU: "S" + id, TotalQuantity: qty}}}
}

type env struct {
	shop  *shopifytest.Server
	store store.Store
	svc   *Service
	tr    *tracker
}

func newEnv(t *testing.T, tr *tracker, fos ...shopifytest.FulfillmentOrder) *env {
	t.Helper()
	srv := shopifytest.New(t, "shpat_test", "2026-01")
	srv.SetScopes("read_orders", "write_orders", "read_merchant_managed_fulfillment_orders", "write_merchant_managed_fulfillment_orders")
	srv.AddOrder(shopifytest.Order{ID: orderGID, Name: "#1001", FulfillmentOrders: fos})
	st := memstore.New(nil)
	return &env{shop: srv, store: st, tr: tr, svc: New(Config{Shopify: client(srv), Store: st, Tracker: tr})}
}

func client(srv *shopifytest.Server) *shopify.Client {
	return &shopify.Client{Shop: "example.myshopify.com", Token: "shpat_test", BaseURL: srv.URL, MaxAttempts: 1}
}

func (e *env) fulfil(t *testing.T) (Result, error) {
	t.Helper()
	return e.svc.Fulfil(context.Background(), Input{SupplierOrderID: "700001", OrderID: "1001"})
}

func TestFulfilOneLocationOnce(t *testing.T) {
	e := newEnv(t, shipped(gls1), fo("1", "1", 2))
	res, err := e.fulfil(t)
	if err != nil || res.Outcome != OutcomeFulfilled || !res.Done || len(res.FulfillmentIDs) != 1 {
		t.Fatalf("first call: %+v, %v", res, err)
	}
	fs := e.shop.Fulfillments(orderGID)
	if len(fs) != 1 || !fs[0].NotifyCustomer || fs[0].Company != "GLS" || fs[0].Numbers[0] != "GLS-1" || fs[0].URLs[0] != gls1.URL {
		t.Fatalf("fulfilment %+v", fs)
	}
	// A Flow re-send: replayed from the store, Shopify not asked again.
	before := len(e.shop.Requests())
	res, err = e.fulfil(t)
	if err != nil || !res.Replayed || res.Outcome != OutcomeFulfilled || res.FulfillmentIDs[0] != fs[0].ID {
		t.Fatalf("re-send: %+v, %v", res, err)
	}
	if len(e.shop.Requests()) != before || len(e.shop.Fulfillments(orderGID)) != 1 {
		t.Fatal("the re-send talked to Shopify or fulfilled again")
	}
}

func TestFulfilOneCallPerLocation(t *testing.T) {
	e := newEnv(t, shipped(gls1, gls2), fo("1", "1", 1), fo("2", "2", 3), fo("3", "1", 1))
	res, err := e.fulfil(t)
	if err != nil || res.Locations != 2 || len(res.FulfillmentIDs) != 2 {
		t.Fatalf("%+v, %v", res, err)
	}
	if n := e.shop.Count("fulfillmentCreate"); n != 2 {
		t.Fatalf("fulfillmentCreate calls = %d, want one per location", n)
	}
	byLoc := map[string]shopifytest.Fulfillment{}
	for _, f := range e.shop.Fulfillments(orderGID) {
		byLoc[f.LocationID] = f
		if len(f.Numbers) != 2 || len(f.URLs) != 2 || !f.NotifyCustomer {
			t.Errorf("fulfilment %+v: want both parcels, notified", f)
		}
	}
	if l1 := byLoc["gid://shopify/Location/1"]; len(l1.Lines) != 2 {
		t.Errorf("location 1 fulfilment covers %v, want both of its fulfilment orders", l1.Lines)
	}
	o, _ := e.shop.Order(orderGID)
	if o.DisplayFulfillmentStatus != "FULFILLED" {
		t.Errorf("order status %s", o.DisplayFulfillmentStatus)
	}
}

func TestFulfilOutcomes(t *testing.T) {
	t.Run("not shipped", func(t *testing.T) {
		e := newEnv(t, &tracker{tr: supplier.Tracking{Status: supplier.StatusProcessing}}, fo("1", "1", 1))
		res, err := e.fulfil(t)
		if err != nil || res.Outcome != OutcomeNotShipped || res.Done || len(e.shop.Requests()) != 0 {
			t.Fatalf("%+v, %v, shopify requests %d", res, err, len(e.shop.Requests()))
		}
	})
	t.Run("shipped without a number", func(t *testing.T) {
		e := newEnv(t, shipped(supplier.Parcel{Carrier: "GLS"}), fo("1", "1", 1))
		res, err := e.fulfil(t)
		if err != nil || res.Outcome != OutcomeNotShipped || len(e.shop.Requests()) != 0 {
			t.Fatalf("%+v, %v", res, err)
		}
	})
	t.Run("supplier cancelled", func(t *testing.T) {
		e := newEnv(t, &tracker{tr: supplier.Tracking{Status: supplier.StatusCancelled}}, fo("1", "1", 1))
		_, err := e.fulfil(t)
		if pe := problem.From(err); pe == nil || pe.Code != CodeSupplierCancelled || pe.Kind != problem.Rejected {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("fulfilled by hand", func(t *testing.T) {
		e := newEnv(t, shipped(gls1), fo("1", "1", 1))
		e.shop.FulfilByHand(orderGID)
		res, err := e.fulfil(t)
		if err != nil || res.Outcome != OutcomeAlreadyFulfilled || !res.Done || e.shop.Count("fulfillmentCreate") != 0 {
			t.Fatalf("%+v, %v", res, err)
		}
	})
	t.Run("on hold", func(t *testing.T) {
		e := newEnv(t, shipped(gls1), fo("1", "1", 1))
		e.shop.SetFulfillmentOrderStatus(orderGID, "gid://shopify/FulfillmentOrder/1", "ON_HOLD")
		_, err := e.fulfil(t)
		if pe := problem.From(err); pe == nil || pe.Code != CodeNothingToFulfil {
			t.Fatalf("err = %v", err)
		}
		// The lease was released: once the hold is lifted, it fulfils.
		e.shop.SetFulfillmentOrderStatus(orderGID, "gid://shopify/FulfillmentOrder/1", "OPEN")
		if res, err := e.fulfil(t); err != nil || res.Outcome != OutcomeFulfilled {
			t.Fatalf("after the hold: %+v, %v", res, err)
		}
	})
	t.Run("no such order", func(t *testing.T) {
		e := newEnv(t, shipped(gls1), fo("1", "1", 1))
		_, err := e.svc.Fulfil(context.Background(), Input{SupplierOrderID: "700001", OrderID: "999"})
		if pe := problem.From(err); pe == nil || pe.Code != shopify.CodeOrderNotFound {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("not configured", func(t *testing.T) {
		_, err := New(Config{Tracker: shipped(gls1), Store: memstore.New(nil)}).Fulfil(context.Background(), Input{OrderID: "1"})
		if pe := problem.From(err); pe == nil || pe.Code != CodeNotConfigured || pe.Kind != problem.Unavailable {
			t.Fatalf("err = %v", err)
		}
	})
}

// Shopify answers 503 to the create: the outcome is unknown to the caller
// either way. Whether or not it took effect, the next call ends with
// exactly one fulfilment.
func TestFulfilUnknownOutcome(t *testing.T) {
	for _, applied := range []bool{false, true} {
		e := newEnv(t, shipped(gls1), fo("1", "1", 1))
		e.shop.EnqueueFor("fulfillmentCreate", shopifytest.Fault{Status: 503, Applied: applied})
		_, err := e.fulfil(t)
		if pe := problem.From(err); pe == nil || pe.Kind != problem.Unavailable {
			t.Fatalf("applied=%v: err = %v, want a retryable problem", applied, err)
		}
		res, err := e.fulfil(t)
		if err != nil || !res.Done {
			t.Fatalf("applied=%v: retry %+v, %v", applied, res, err)
		}
		want := OutcomeFulfilled
		if applied {
			want = OutcomeAlreadyFulfilled
		}
		if res.Outcome != want || len(e.shop.Fulfillments(orderGID)) != 1 {
			t.Fatalf("applied=%v: outcome %s, fulfilments %d", applied, res.Outcome, len(e.shop.Fulfillments(orderGID)))
		}
	}
}

// Two replicas share one Redis; Flow re-sends while the first call is
// still inside fulfillmentCreate. The re-sends get in_flight (429), and
// the order ends with one fulfilment.
func TestFulfilConcurrentReplicasOnRedis(t *testing.T) {
	tr := shipped(gls1, gls2)
	srv := shopifytest.New(t, "shpat_test", "2026-01")
	srv.SetScopes("read_orders", "write_merchant_managed_fulfillment_orders", "read_merchant_managed_fulfillment_orders")
	srv.AddOrder(shopifytest.Order{ID: orderGID, Name: "#1001", FulfillmentOrders: []shopifytest.FulfillmentOrder{fo("1", "1", 1)}})
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t)
	replicas := []*Service{
		New(Config{Shopify: client(srv), Store: redisstore.New(rdb, redisstore.Options{Prefix: prefix}), Tracker: tr}),
		New(Config{Shopify: client(srv), Store: redisstore.New(rdb, redisstore.Options{Prefix: prefix}), Tracker: tr}),
	}
	release, reached := make(chan struct{}), make(chan struct{})
	srv.EnqueueFor("fulfillmentCreate", shopifytest.Fault{Applied: true, Hold: release, Reached: reached})

	first := make(chan error, 1)
	go func() {
		_, err := replicas[0].Fulfil(context.Background(), Input{SupplierOrderID: "700001", OrderID: "1001"})
		first <- err
	}()
	// Wait until the first call is inside fulfillmentCreate (applied,
	// answer not yet sent).
	select {
	case <-reached:
	case err := <-first:
		t.Fatalf("first call returned before fulfillmentCreate: %v", err)
	}
	var busy int
	for i := range 6 {
		_, err := replicas[i%2].Fulfil(context.Background(), Input{SupplierOrderID: "700001", OrderID: "1001"})
		if pe := problem.From(err); pe != nil && pe.Code == problem.CodeInFlight && pe.Kind == problem.Busy && pe.RetryAfter > 0 {
			busy++
			continue
		}
		t.Fatalf("re-send %d during fulfilment: %v", i, err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		res, err := replicas[i].Fulfil(context.Background(), Input{SupplierOrderID: "700001", OrderID: "1001"})
		if err != nil || !res.Replayed || res.Outcome != OutcomeFulfilled {
			t.Fatalf("after: %+v, %v", res, err)
		}
	}
	if n := len(srv.Fulfillments(orderGID)); n != 1 || busy != 6 {
		t.Fatalf("fulfilments %d (want 1), in_flight answers %d (want 6)", n, busy)
	}
}
