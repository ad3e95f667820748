package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/handlers"
	"github.com/flowbridge/flowbridge/internal/apptest"
	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/store"
	"github.com/flowbridge/flowbridge/store/memstore"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
	"github.com/flowbridge/flowbridge/timeline"
)

const (
	opKey   = "op-secret-key-0123456789"
	flowKey = "flow-secret-key-0123456789"
	shop    = "default"
)

// operatorHarness is the operator API mounted by the real server (its
// route table, auth and error mapping), deciding through a real orders
// service whose observations a timeline.Recorder writes to tl.
type operatorHarness struct {
	srv      *httptest.Server
	tl       *timeline.MemoryStore
	orders   *operatorOrders
	mu       sync.Mutex
	resolved []string
	released []string
}

// operatorOrders is an orders service (sandbox supplier, in-process
// store) observed by a timeline.Recorder writing to a test's timeline, as
// the server wires them: the operator events the tests read come from
// the Recorder's mapping of the service's observations, never from the
// handler.
type operatorOrders struct {
	svc *orders.Service
	st  *memstore.Store
	// seed shares the store but is not observed: it makes records
	// without timeline events, for tests that seed timelines themselves.
	seed *orders.Service
}

func newOperatorOrders(t *testing.T, tl timeline.Store) *operatorOrders {
	t.Helper()
	st := memstore.New(nil)
	sup := sandbox.New(sandbox.Config{})
	svc, err := orders.New(orders.Config{Supplier: sup, Store: st, Observer: timeline.NewRecorder(tl, shop, nil)})
	if err != nil {
		t.Fatal(err)
	}
	seed, err := orders.New(orders.Config{Supplier: sup, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return &operatorOrders{svc: svc, st: st, seed: seed}
}

// hold makes the order's record needs_review.
func (o *operatorOrders) hold(t *testing.T, shop, id string) {
	t.Helper()
	k := store.Key{Shop: shop, OrderID: id, Purpose: orders.PurposePlace}
	if _, err := o.st.Transition(context.Background(), k, store.Transition{From: []store.State{store.StateAbsent}, To: store.StateNeedsReview, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
}

// placed records the order as placed with the supplier's number.
func (o *operatorOrders) placed(t *testing.T, shop, id, number string) {
	t.Helper()
	if _, err := o.seed.Resolve(context.Background(), shop, id, orders.Resolution{Action: orders.ResolveAdopt, SupplierOrderID: number, NewOrder: true}); err != nil {
		t.Fatal(err)
	}
}

// operatorServer serves op through the real server with the test keys.
func operatorServer(t *testing.T, op *handlers.Operator) *httptest.Server {
	t.Helper()
	app := apptest.Start(t, apptest.Options{Operator: op, NoContract: true,
		Env: map[string]string{"FLOWBRIDGE_API_KEYS": flowKey, "FLOWBRIDGE_OPERATOR_KEYS": opKey}})
	srv := httptest.NewServer(app.Server.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func newOperatorHarness(t *testing.T, withRelease bool) *operatorHarness {
	t.Helper()
	h := &operatorHarness{tl: timeline.NewMemoryStore(timeline.Options{})}
	h.orders = newOperatorOrders(t, h.tl)
	op := &handlers.Operator{
		Timeline: h.tl,
		Resolve: func(ctx context.Context, shop, orderID string, r orders.Resolution) error {
			h.mu.Lock()
			h.resolved = append(h.resolved, strings.Join([]string{shop, orderID, r.Action, r.SupplierOrderID, r.By.Actor, r.By.Via}, "|"))
			h.mu.Unlock()
			_, err := h.orders.svc.Resolve(ctx, shop, orderID, r)
			return err
		},
	}
	if withRelease {
		op.ReleaseCache = func(ctx context.Context, shop, orderID string, by orders.Operator) error {
			h.mu.Lock()
			h.released = append(h.released, shop+"|"+orderID+"|"+by.Actor+"|"+by.Via)
			h.mu.Unlock()
			return h.orders.svc.ReleaseTracking(ctx, shop, orderID, by)
		}
	}
	h.srv = operatorServer(t, op)
	return h
}

func (h *operatorHarness) seed(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	add := func(id string, ev timeline.Event) {
		at = at.Add(time.Minute)
		ev.At = at
		if err := h.tl.Append(ctx, shop, id, ev); err != nil {
			t.Fatal(err)
		}
	}
	add("1001", timeline.Event{Kind: timeline.KindOrderCreated, SupplierOrderID: "S-1001", Status: "pending"})
	add("1002", timeline.Event{Kind: timeline.KindPlacementClaimed})
	add("1002", timeline.Event{Kind: timeline.KindHeldForReview, Reason: "look in the portal"})
	add("1003", timeline.Event{Kind: timeline.KindOrderCreated, SupplierOrderID: "S-1003", TestMode: true})
	// The records the timelines describe.
	h.orders.placed(t, shop, "1001", "S-1001")
	h.orders.hold(t, shop, "1002")
	h.orders.placed(t, shop, "1003", "S-1003")
}

type resp struct {
	status int
	header http.Header
	body   string
	json   map[string]any
}

func (h *operatorHarness) do(t *testing.T, method, path, key, body string, hdr ...string) resp {
	t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := resp{status: res.StatusCode, header: res.Header, body: string(b)}
	_ = json.Unmarshal([]byte(r.body), &r.json)
	return r
}

func TestOperatorRefusesWithoutOperatorKey(t *testing.T) {
	h := newOperatorHarness(t, true)
	h.seed(t)
	routes := []struct{ method, path, body string }{
		{"GET", "/admin/orders", ""},
		{"GET", "/admin/orders?state=needs_review", ""},
		{"GET", "/admin/orders/1002", ""},
		{"POST", "/admin/orders/1002/resolve", `{"action":"release"}`},
		{"POST", "/admin/orders/1002/release-cache", `{}`},
	}
	for _, rt := range routes {
		for _, key := range []string{"", flowKey, "wrong", opKey + "x"} {
			r := h.do(t, rt.method, rt.path, key, rt.body)
			if r.status != 401 || r.json["code"] != "unauthorized" {
				t.Errorf("%s %s with key %q: %d %s, want 401 unauthorized", rt.method, rt.path, key, r.status, r.body)
			}
			if strings.Contains(r.body, "S-100") || strings.Contains(r.body, "look in the portal") {
				t.Errorf("%s %s leaked order data without a key: %s", rt.method, rt.path, r.body)
			}
		}
	}
	// The Flow key still works where it belongs: the two keys are separate.
	// (an empty body gets past the key to validation: 400, not 401)
	if r := h.do(t, "POST", "/orders", flowKey, `{}`); r.status != 400 {
		t.Fatalf("flow key on /orders: %d %s, want 400 (past auth, refused by validation)", r.status, r.body)
	}
	if r := h.do(t, "POST", "/orders", opKey, `{}`); r.status != 401 {
		t.Fatalf("operator key on /orders: %d, want 401 (keys are not interchangeable)", r.status)
	}
	if len(h.resolved) != 0 || len(h.released) != 0 {
		t.Fatalf("an unauthenticated call reached the injected functions: %v %v", h.resolved, h.released)
	}
	o, _ := h.tl.Get(context.Background(), shop, "1002")
	if o.State != timeline.StateNeedsReview || len(o.Events) != 2 {
		t.Fatalf("order changed by refused calls: %+v", o)
	}
}

func orderIDs(t *testing.T, r resp) []string {
	t.Helper()
	list, ok := r.json["orders"].([]any)
	if !ok {
		t.Fatalf("no orders array in %s", r.body)
	}
	var out []string
	for _, o := range list {
		out = append(out, o.(map[string]any)["order_id"].(string))
	}
	return out
}

func TestOperatorList(t *testing.T) {
	h := newOperatorHarness(t, false)
	h.seed(t)
	cases := []struct {
		query  string
		status int
		want   string
	}{
		{"", 200, "[1003 1002 1001]"},
		{"?state=needs_review", 200, "[1002]"},
		{"?state=attention", 200, "[1002]"},
		{"?state=test_mode", 200, "[1003]"},
		{"?state=cancelled", 200, "[]"},
		{"?limit=2", 200, "[1003 1002]"},
		{"?state=nope", 400, ""},
		{"?limit=abc", 400, ""},
		{"?limit=0", 400, ""},
		{"?checks=-1", 400, ""},
		{"?cursor=zzz", 400, ""},
	}
	for _, c := range cases {
		r := h.do(t, "GET", "/admin/orders"+c.query, opKey, "")
		if r.status != c.status {
			t.Errorf("%q: %d %s, want %d", c.query, r.status, r.body, c.status)
			continue
		}
		if c.status != 200 {
			continue
		}
		if got := strings.Join(append([]string{}, orderIDs(t, r)...), " "); "["+got+"]" != c.want {
			t.Errorf("%q: %v, want %s", c.query, got, c.want)
		}
		if r.json["ok"] != true {
			t.Errorf("%q: ok is not true", c.query)
		}
	}
	r := h.do(t, "GET", "/admin/orders?state=needs_review", opKey, "")
	o := r.json["orders"].([]any)[0].(map[string]any)
	if o["attention"] != "needs_review" || o["state"] != "needs_review" || o["shop"] != shop {
		t.Fatalf("held order listed as %v", o)
	}
	p := h.do(t, "GET", "/admin/orders?limit=2", opKey, "")
	next, _ := p.json["next"].(string)
	if next == "" {
		t.Fatal("a full page has no next cursor")
	}
	p2 := h.do(t, "GET", "/admin/orders?limit=2&cursor="+next, opKey, "")
	if got := orderIDs(t, p2); len(got) != 1 || got[0] != "1001" {
		t.Fatalf("second page %v, want [1001]", got)
	}
}

func TestOperatorShow(t *testing.T) {
	h := newOperatorHarness(t, false)
	h.seed(t)
	for _, path := range []string{"/admin/orders/1002", "/admin/orders/gid%3A%2F%2Fshopify%2FOrder%2F1002", "/admin/orders/1002?shop=default"} {
		r := h.do(t, "GET", path, opKey, "")
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		ord := r.json["order"].(map[string]any)
		evs := r.json["events"].([]any)
		if ord["order_id"] != "1002" || ord["state"] != "needs_review" || len(evs) != 2 ||
			evs[1].(map[string]any)["kind"] != "held_for_review" || evs[1].(map[string]any)["reason"] != "look in the portal" {
			t.Fatalf("%s: %s", path, r.body)
		}
	}
	for _, c := range []struct {
		path   string
		status int
	}{{"/admin/orders/9999", 404}, {"/admin/orders/1002?shop=other.myshopify.com", 404}, {"/admin/orders/a%20b", 400}} {
		if r := h.do(t, "GET", c.path, opKey, ""); r.status != c.status {
			t.Errorf("%s: %d %s, want %d", c.path, r.status, r.body, c.status)
		}
	}
}

func TestOperatorResolve(t *testing.T) {
	h := newOperatorHarness(t, false)
	h.seed(t)
	bad := []struct{ body, code, pointer string }{
		{`{"action":"adopt"}`, "validation_failed", "/supplier_order_id"},
		{`{"action":"release","supplier_order_id":"X"}`, "validation_failed", "/supplier_order_id"},
		{`{"action":"delete"}`, "validation_failed", "/action"},
		{`{"action":"adopt","supplier_order_id":"X","extra":1}`, "validation_failed", "/extra"},
		{`{"action":"adopt","supplier_order_id":null}`, "validation_failed", "/supplier_order_id"},
		{`{"action":"adopt","supplier_order_id":" S-1002 "}`, "validation_failed", "/supplier_order_id"},
		{`{"action":"adopt","supplier_order_id":"<script>"}`, "validation_failed", "/supplier_order_id"},
		{`{"action":"adopt","supplier_order_id":"S\u00001"}`, "validation_failed", "/supplier_order_id"},
		{`{"action":"adopt","supplier_order_id":"` + strings.Repeat("9", 129) + `"}`, "validation_failed", "/supplier_order_id"},
		{`{"action":"adopt","supplier_order_id":"S-1","actor":"` + strings.Repeat("a", 65) + `"}`, "validation_failed", "/actor"},
		{`{"action":"adopt","supplier_order_id":"S-1","actor":"Ana <script>"}`, "validation_failed", "/actor"},
		{`{"action":"adopt","supplier_order_id":"S-1","actor":null}`, "validation_failed", "/actor"},
		{`{"action":"adopt","supplier_order_id":"S-1","shop":null}`, "validation_failed", "/shop"},
		{`{"action":"ADOPT","supplier_order_id":"S-1"}`, "validation_failed", "/action"},
		{`not json`, "invalid_json", ""},
	}
	for _, b := range bad {
		r := h.do(t, "POST", "/admin/orders/1002/resolve", opKey, b.body)
		if r.status != 400 || r.json["code"] != b.code {
			t.Errorf("%s: %d %s, want 400 %s", b.body, r.status, r.body, b.code)
		}
		if b.pointer != "" && !strings.Contains(r.body, "invalid: "+b.pointer+" ") {
			t.Errorf("%s: %s does not name %s", b.body, r.body, b.pointer)
		}
	}
	if len(h.resolved) != 0 {
		t.Fatalf("invalid requests reached Resolve: %v", h.resolved)
	}

	// A placed order cannot be resolved: the service says 409 and the
	// refused attempt is on the timeline.
	r := h.do(t, "POST", "/admin/orders/1001/resolve", opKey, `{"action":"release"}`)
	if r.status != 409 || r.json["code"] != "resolve_conflict" {
		t.Fatalf("resolve a placed order: %d %s", r.status, r.body)
	}
	o, _ := h.tl.Get(context.Background(), shop, "1001")
	last := o.Events[len(o.Events)-1]
	if last.Kind != timeline.KindError || last.Code != "resolve_conflict" || last.Action != "release" || last.Via != "api" ||
		!strings.HasPrefix(last.Actor, "key ") || o.State != timeline.StatePlaced {
		t.Fatalf("refused resolve recorded as %+v, state %s", last, o.State)
	}
	// An order flowbridge never saw gets no timeline from a typo.
	if r := h.do(t, "POST", "/admin/orders/1999/resolve", opKey, `{"action":"release"}`); r.status != 404 || r.json["code"] != "order_not_found" {
		t.Fatalf("resolve an unknown order: %d %s", r.status, r.body)
	}
	if _, err := h.tl.Get(context.Background(), shop, "1999"); problem.From(err).Kind != problem.NotFound {
		t.Fatalf("a refused resolve of an unknown order left a timeline: %v", err)
	}
	h.mu.Lock()
	h.resolved = nil // the two refused calls above
	h.mu.Unlock()

	r = h.do(t, "POST", "/admin/orders/1002/resolve", opKey, `{"action":"adopt","supplier_order_id":"S-1002","actor":"Ana script"}`,
		"X-Flowbridge-Client", "console")
	if r.status != 200 {
		t.Fatalf("adopt: %d %s", r.status, r.body)
	}
	ord := r.json["order"].(map[string]any)
	evs := r.json["events"].([]any)
	last2 := evs[len(evs)-1].(map[string]any)
	if ord["state"] != "placed" || ord["supplier_order_id"] != "S-1002" || ord["attention"] != nil {
		t.Fatalf("after adopt: %v", ord)
	}
	actor, _ := last2["actor"].(string)
	if last2["kind"] != "resolved" || last2["action"] != "adopt" || last2["supplier_order_id"] != "S-1002" || last2["via"] != "console" ||
		!strings.HasPrefix(actor, "Ana script (key ") || len(actor) != len("Ana script (key 12345678)") {
		t.Fatalf("resolved event %v", last2)
	}
	if len(h.resolved) != 1 || !strings.HasPrefix(h.resolved[0], "default|1002|adopt|S-1002|Ana script (key ") || !strings.HasSuffix(h.resolved[0], "|console") {
		t.Fatalf("Resolve called with %v", h.resolved)
	}
	if strings.Contains(r.body, opKey) {
		t.Fatal("the operator key reached a response")
	}
	all, _ := json.Marshal(o)
	o2, _ := h.tl.Get(context.Background(), shop, "1002")
	all2, _ := json.Marshal(o2)
	if strings.Contains(string(all)+string(all2), opKey) {
		t.Fatal("the operator key reached the timeline")
	}
	// The same key always gets the same fingerprint; via defaults to api.
	if err := h.tl.Append(context.Background(), shop, "1004", timeline.Event{Kind: timeline.KindHeldForReview}); err != nil {
		t.Fatal(err)
	}
	h.orders.hold(t, shop, "1004")
	r = h.do(t, "POST", "/admin/orders/1004/resolve", opKey, `{"action":"release"}`)
	if r.status != 200 || r.json["order"].(map[string]any)["state"] != "released" {
		t.Fatalf("release: %d %s", r.status, r.body)
	}
	evs = r.json["events"].([]any)
	rel := evs[len(evs)-1].(map[string]any)
	if rel["via"] != "api" || !strings.HasSuffix(actor, "("+rel["actor"].(string)+")") {
		t.Fatalf("release event %v (adopt actor %q)", rel, actor)
	}
}

func TestOperatorReleaseCache(t *testing.T) {
	h := newOperatorHarness(t, false)
	h.seed(t)
	if r := h.do(t, "POST", "/admin/orders/1001/release-cache", opKey, `{}`); r.status != 404 {
		t.Fatalf("without a ReleaseCache func: %d %s, want 404", r.status, r.body)
	}
	h = newOperatorHarness(t, true)
	h.seed(t)
	r := h.do(t, "POST", "/admin/orders/1001/release-cache", opKey, `{}`)
	if r.status != 200 {
		t.Fatalf("release-cache: %d %s", r.status, r.body)
	}
	evs := r.json["events"].([]any)
	last := evs[len(evs)-1].(map[string]any)
	actor, _ := last["actor"].(string)
	if last["kind"] != "cache_released" || last["op"] != "release_cache" || last["via"] != "api" || !strings.HasPrefix(actor, "key ") ||
		len(h.released) != 1 || h.released[0] != "default|1001|"+actor+"|api" {
		t.Fatalf("release-cache: %s / %v", r.body, h.released)
	}
	// An order without a supplier number has no cached tracking: refused,
	// and nothing is recorded.
	r = h.do(t, "POST", "/admin/orders/1002/release-cache", opKey, `{}`)
	if r.status != 404 {
		t.Fatalf("release-cache of a held order: %d %s, want 404", r.status, r.body)
	}
	if o, _ := h.tl.Get(context.Background(), shop, "1002"); len(o.Events) != 2 {
		t.Fatalf("a refused release-cache was recorded: %+v", o.Events)
	}
}

// Without a Resolve func the resolve route answers 404 and decides nothing.
func TestOperatorWithoutResolve(t *testing.T) {
	tl := timeline.NewMemoryStore(timeline.Options{})
	h := &operatorHarness{srv: operatorServer(t, &handlers.Operator{Timeline: tl})}
	r := h.do(t, "POST", "/admin/orders/1002/resolve", opKey, `{"action":"release"}`)
	if r.status != 404 || r.json["code"] != "not_found" {
		t.Fatalf("resolve without a Resolve func: %d %s", r.status, r.body)
	}
	if _, err := tl.Get(context.Background(), shop, "1002"); problem.From(err).Kind != problem.NotFound {
		t.Fatalf("a refused resolve left a timeline entry: %v", err)
	}
}

// With a Placement func the order view carries the orders service's
// record, and an order with a record but no timeline still shows.
func TestOperatorShowWithPlacement(t *testing.T) {
	tl := timeline.NewMemoryStore(timeline.Options{})
	if err := tl.Append(context.Background(), shop, "1002", timeline.Event{Kind: timeline.KindHeldForReview}); err != nil {
		t.Fatal(err)
	}
	op := &handlers.Operator{Timeline: tl, Placement: func(ctx context.Context, shop, orderID string) (any, error) {
		switch orderID {
		case "1002", "2000":
			return map[string]any{"state": "needs_review", "attempts": 2}, nil
		case "3000":
			return nil, problem.New(problem.Unavailable, problem.CodeStoreUnavailable, "down")
		}
		return nil, problem.New(problem.NotFound, problem.CodeOrderNotFound, "no record")
	}}
	h := &operatorHarness{srv: operatorServer(t, op)}
	for _, c := range []struct {
		id     string
		status int
		want   []string
	}{
		{"1002", 200, []string{`"placement":{"attempts":2,"state":"needs_review"}`, `"kind":"held_for_review"`}},
		{"2000", 200, []string{`"placement":{`, `"events":[]`, `"order_id":"2000"`}},
		{"9999", 404, nil},
		{"3000", 404, nil}, // no timeline, and the record could not be read
	} {
		r := h.do(t, "GET", "/admin/orders/"+c.id, opKey, "")
		if r.status != c.status {
			t.Errorf("%s: %d %s, want %d", c.id, r.status, r.body, c.status)
		}
		for _, w := range c.want {
			if !strings.Contains(r.body, w) {
				t.Errorf("%s: %s lacks %s", c.id, r.body, w)
			}
		}
	}
	if err := tl.Append(context.Background(), shop, "3000", timeline.Event{Kind: timeline.KindError}); err != nil {
		t.Fatal(err)
	}
	if r := h.do(t, "GET", "/admin/orders/3000", opKey, ""); r.status != 200 || !strings.Contains(r.body, `"placement_error":"store_unavailable"`) {
		t.Errorf("record unreadable: %d %s", r.status, r.body)
	}
}
