package stocktest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/flowbridge/flowbridge/internal/adminschema"
)

// Clock is a virtual clock: Sleep advances it at once, so a benchmark that
// must wait minutes for Shopify's bucket to refill runs in milliseconds
// while the waits are still counted.
type Clock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
}

// NewClock starts at a fixed instant.
func NewClock() *Clock { return &Clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
}

// Sleep advances the clock by d (the shopify.Client.Sleep signature).
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
		c.slept += d
	}
	return nil
}

// Slept is the total time slept.
func (c *Clock) Slept() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slept
}

// Bucket is a plan's GraphQL cost limits.
type Bucket struct {
	Maximum     float64 // points the bucket holds (also the single-query maximum)
	RestoreRate float64 // points per second
}

// Standard is the limit the issue names for standard plans (1,000 points,
// 50 points/s: the long-documented figures). shopify.dev's current table
// gives standard plans 100 points/s (see docs/BENCHMARKS.md).
var Standard = Bucket{Maximum: 1000, RestoreRate: 50}

// Gate charges every request its calculated cost (Shopify's rules: object
// 1, scalar and enum 0, connection 2 + its nodes, mutation 10) from a leaky
// bucket on Clock, answers THROTTLED when the bucket cannot pay the
// requested cost, refunds the difference to the actual cost, and reports
// both in extensions.cost as Shopify does.
type Gate struct {
	*httptest.Server
	Bucket Bucket
	Clock  *Clock

	schema *adminschema.Schema
	next   string

	mu        sync.Mutex
	available float64
	at        time.Time
	spent     float64
	requests  int
	throttled int
}

// NewGate fronts shop with bucket b on clock c. Point the client's BaseURL
// at the gate's URL.
func NewGate(t testing.TB, shop *Shop, b Bucket, c *Clock) *Gate {
	t.Helper()
	schema, err := adminschema.Load()
	if err != nil {
		t.Fatal(err)
	}
	g := &Gate{Bucket: b, Clock: c, schema: schema, next: shop.URL, available: b.Maximum, at: c.Now()}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.Close)
	return g
}

// Stats: actual points spent, requests passed, requests throttled.
func (g *Gate) Stats() (spent float64, requests, throttled int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.spent, g.requests, g.throttled
}

func (g *Gate) refill() {
	now := g.Clock.Now()
	g.available = math.Min(g.Bucket.Maximum, g.available+now.Sub(g.at).Seconds()*g.Bucket.RestoreRate)
	g.at = now
}

func (g *Gate) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	_ = json.Unmarshal(raw, &body)
	op, vars, err := g.schema.Operation(body.Query, "", body.Variables)
	requested := 0.0
	if err == nil {
		requested = g.cost(op, vars, nil)
	}

	g.mu.Lock()
	g.refill()
	if requested > g.Bucket.Maximum || requested > g.available {
		g.throttled++
		status := map[string]any{"maximumAvailable": g.Bucket.Maximum, "currentlyAvailable": g.available, "restoreRate": g.Bucket.RestoreRate}
		g.mu.Unlock()
		msg := "Throttled"
		if requested > g.Bucket.Maximum {
			msg = "Query cost is higher than the maximum allowed cost"
		}
		writeJSON(w, map[string]any{
			"errors":     []any{map[string]any{"message": msg, "extensions": map[string]any{"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}},
			"extensions": map[string]any{"cost": map[string]any{"requestedQueryCost": requested, "actualQueryCost": nil, "throttleStatus": status}},
		})
		return
	}
	g.available -= requested
	g.requests++
	g.mu.Unlock()

	req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, g.next+r.URL.Path, bytes.NewReader(raw))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	var env map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal(out, &env) != nil || op == nil {
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(out)
		return
	}
	data, _ := env["data"].(map[string]any)
	actual := g.cost(op, vars, data)
	g.mu.Lock()
	g.available = math.Min(g.Bucket.Maximum, g.available+requested-actual)
	g.spent += actual
	env["extensions"] = map[string]any{"cost": map[string]any{"requestedQueryCost": requested, "actualQueryCost": actual,
		"throttleStatus": map[string]any{"maximumAvailable": g.Bucket.Maximum, "currentlyAvailable": g.available, "restoreRate": g.Bucket.RestoreRate}}}
	g.mu.Unlock()
	writeJSON(w, env)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// cost is the operation's requested cost (data nil: connections at their
// first/last size) or actual cost (connections at the nodes returned).
func (g *Gate) cost(op *ast.OperationDefinition, vars map[string]any, data map[string]any) float64 {
	if op.Operation == ast.Mutation {
		return 10
	}
	var v any
	if data != nil {
		v = data
	}
	return g.selCost(op.SelectionSet, vars, v)
}

func (g *Gate) selCost(sel ast.SelectionSet, vars map[string]any, data any) float64 {
	total := 0.0
	obj, _ := data.(map[string]any)
	for _, s := range sel {
		switch f := s.(type) {
		case *ast.Field:
			if f.Definition == nil {
				continue
			}
			name := f.Alias
			if name == "" {
				name = f.Name
			}
			var child any
			if obj != nil {
				child = obj[name]
			}
			total += g.fieldCost(f, vars, child, data != nil)
		case *ast.InlineFragment:
			total += g.selCost(f.SelectionSet, vars, data)
		case *ast.FragmentSpread:
			if f.Definition != nil {
				total += g.selCost(f.Definition.SelectionSet, vars, data)
			}
		}
	}
	return total
}

func (g *Gate) fieldCost(f *ast.Field, vars map[string]any, v any, actual bool) float64 {
	t := g.schema.AST.Types[f.Definition.Type.Name()]
	if t == nil || t.Kind == ast.Scalar || t.Kind == ast.Enum {
		return 0
	}
	args := f.ArgumentMap(vars)
	if strings.HasSuffix(t.Name, "Connection") {
		size := 0.0
		for _, k := range []string{"first", "last"} {
			if n, ok := number(args[k]); ok {
				size = float64(n)
			}
		}
		var nodeSel ast.SelectionSet
		for _, s := range f.SelectionSet {
			if c, ok := s.(*ast.Field); ok {
				switch c.Name {
				case "nodes":
					nodeSel = c.SelectionSet
				case "edges":
					for _, e := range c.SelectionSet {
						if n, ok := e.(*ast.Field); ok && n.Name == "node" {
							nodeSel = n.SelectionSet
						}
					}
				}
			}
		}
		per := 1 + g.selCost(nodeSel, vars, nil)
		if actual {
			m, _ := v.(map[string]any)
			nodes, _ := m["nodes"].([]any)
			if nodes == nil {
				edges, _ := m["edges"].([]any)
				nodes = edges
			}
			size = float64(len(nodes))
		}
		return 2 + size*per
	}
	if f.Definition.Type.Elem != nil { // a list of objects
		n := 1.0
		if ids, ok := args["ids"].([]any); ok {
			n = float64(len(ids))
		}
		if actual {
			if l, ok := v.([]any); ok {
				n = float64(len(l))
			}
		}
		return n * (1 + g.selCost(f.SelectionSet, vars, nil))
	}
	if actual && v == nil {
		return 1
	}
	return 1 + g.selCost(f.SelectionSet, vars, v)
}
