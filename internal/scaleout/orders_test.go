//go:build scaleout

package scaleout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/store/redisstore"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

// ordersPlacer runs the real placement path: orders.Service.Place on
// store/redisstore, one Service and one Redis client per replica, against
// the in-process sandbox supplier (which counts its creates).
type ordersPlacer struct {
	svcs   []*orders.Service
	sb     *sandbox.Supplier
	rate   string
	lookup bool
	// token: the service can read the order's metafield (BTS with
	// SHOPIFY_ADMIN_TOKEN): here, the numbers Flow was answered, which its
	// next step writes to the metafield.
	token bool

	mu      sync.Mutex
	numbers map[string]map[string]bool // order → supplier numbers answered
	review  map[string]bool
}

func newOrdersPlacer(t *testing.T, url string, lookup, token bool) *ordersPlacer {
	t.Helper()
	sb := sandbox.New(sandbox.Config{DisableLookup: !lookup})
	rates, err := sb.Rates(context.Background(), supplier.RateRequest{CountryCode: "ES", PostalCode: "46005",
		Lines: []supplier.Line{{EAN: "8400000000017", Quantity: 1}}})
	if err != nil || len(rates) == 0 {
		t.Fatalf("sandbox rates: %v %v", rates, err)
	}
	p := &ordersPlacer{sb: sb, rate: rates[0].ID, lookup: lookup, token: token,
		numbers: map[string]map[string]bool{}, review: map[string]bool{}}
	for range replicas {
		c, err := redisstore.NewClient(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		// As the server opens it (store.Open): with the epoch marker, so
		// claims see data lost to a restart or a failover. A prefix per
		// storm: each sees its own failover only.
		st := redisstore.New(c, redisstore.Options{Prefix: "fbscale:" + strings.ReplaceAll(t.Name(), "/", ":") + ":", MinReplicas: minReplicas})
		if _, err := st.InitEpoch(context.Background()); err != nil {
			t.Fatal(err)
		}
		svc, err := orders.New(orders.Config{
			Supplier: sb,
			Store:    st,
			Shop:     shop,
			// Short lease so orders whose claim was lost or left behind
			// are taken over within the run.
			Lease:           3 * time.Second,
			SupplierTimeout: 2 * time.Second,
			Metafield:       p.metafield(),
		})
		if err != nil {
			t.Fatal(err)
		}
		p.svcs = append(p.svcs, svc)
	}
	return p
}

// metafield is orders.Config.Metafield when the placer has a token.
func (p *ordersPlacer) metafield() func(context.Context, string, string) (string, bool, error) {
	if !p.token {
		return nil
	}
	return func(_ context.Context, _, order string) (string, bool, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		for n := range p.numbers[order] {
			return n, true, nil
		}
		return "", false, nil
	}
}

func (p *ordersPlacer) place(ctx context.Context, replica int, order string, st *stats) bool {
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := p.svcs[replica].Place(rctx, orders.PlaceInput{Shop: shop, OrderID: order, Order: supplier.Order{
		Name:           "#" + order,
		ShipTo:         supplier.Address{FirstName: "Ana", LastName: "G", Address1: "Calle 1", City: "Valencia", PostalCode: "46005", CountryCode: "ES"},
		Lines:          []supplier.Line{{EAN: "8400000000017", Quantity: 1}},
		ShippingRateID: p.rate,
	}})
	if err == nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		if res.NeedsReview {
			p.review[order] = true
			st.add("202 needs_review", time.Since(start), nil)
			return true
		}
		if p.numbers[order] == nil {
			p.numbers[order] = map[string]bool{}
		}
		p.numbers[order][res.SupplierOrderID] = true
		st.add("200 "+res.Outcome, time.Since(start), nil)
		return true
	}
	pe := problem.From(err)
	switch pe.Kind {
	case problem.Busy:
		st.add("429 "+pe.Code, time.Since(start), nil)
	case problem.Unavailable:
		st.add("503 "+pe.Code, time.Since(start), errors.New(pe.Code))
	default:
		st.add(fmt.Sprintf("error %s", pe.Code), time.Since(start), errors.New(pe.Code))
	}
	return false
}

func (p *ordersPlacer) verify(t *testing.T, ids []string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	ok := 0
	for _, o := range ids {
		switch n := len(p.numbers[o]); {
		case n == 1:
			ok++
		case n == 0 && p.review[o]:
			t.Logf("order %s: held for review (202), not placed", o)
		default:
			t.Errorf("order %s: answered with %d different supplier numbers", o, n)
		}
	}
	if got := p.sb.Stats().Creates; got != ok {
		t.Errorf("sandbox created %d orders for %d orders placed once (%d held for review)", got, ok, len(p.review))
	}
	return ok
}

func (p *ordersPlacer) mode() string {
	switch {
	case p.lookup:
		return "orders.Place on redisstore, supplier lookup on"
	case p.token:
		return "orders.Place on redisstore, no supplier lookup, Shopify metafield readable"
	}
	return "orders.Place on redisstore, no supplier lookup (store only)"
}

func TestScaleOutOrdersCluster(t *testing.T) {
	u := env(t, "FLOWBRIDGE_SCALEOUT_CLUSTER_URL")
	nodes := strings.Split(env(t, "FLOWBRIDGE_SCALEOUT_CLUSTER_NODES"), ",")
	for _, lookup := range []bool{true, false} {
		t.Run(fmt.Sprintf("lookup=%v", lookup), func(t *testing.T) {
			settleCluster(t, nodes)
			storm(t, "orders-cluster", newOrdersPlacer(t, u, lookup, false), clusterSwitchover(nodes))
		})
	}
}

func TestScaleOutOrdersSentinel(t *testing.T) {
	u := env(t, "FLOWBRIDGE_SCALEOUT_SENTINEL_URL")
	// A failover marks the data as lost (redisstore: a new master
	// replication id), so after it a supplier that cannot be asked gets
	// the Shopify metafield check (token) or review (no token).
	for _, c := range []struct{ lookup, token bool }{{true, false}, {false, false}, {false, true}} {
		t.Run(fmt.Sprintf("lookup=%v,token=%v", c.lookup, c.token), func(t *testing.T) {
			settleSentinel(t, sentinelAddr(t, u))
			storm(t, "orders-sentinel", newOrdersPlacer(t, u, c.lookup, c.token), sentinelSwitchover(sentinelAddr(t, u)))
		})
	}
}

// minReplicas is what production sets with Sentinel or Cluster
// (FLOWBRIDGE_REDIS_MIN_REPLICAS=1); FLOWBRIDGE_SCALEOUT_NO_WAIT=1 turns it
// off to show the duplicates a failover causes without it.
var minReplicas = func() int {
	if !waitForReplica {
		return 0
	}
	return 1
}()
