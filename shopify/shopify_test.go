package shopify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/flowtemplates"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/shopify"
	"github.com/flowbridge/flowbridge/shopify/shopifytest"
)

const token = "shpat_0123456789abcdefABCDEF0123456789"

// virtualClock records the waits the client asks for instead of sleeping.
type virtualClock struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (c *virtualClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *virtualClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

func newClient(srv *shopifytest.Server, clk *virtualClock) *shopify.Client {
	return &shopify.Client{
		Shop: "example.myshopify.com", Token: token, APIVersion: "2026-01",
		BaseURL: srv.URL, HTTP: srv.Client(), Sleep: clk.Sleep,
	}
}

func wanted() []flowtemplates.Metafield { return flowtemplates.Defaults().Metafields() }

func TestEnsureMetafieldDefinitions(t *testing.T) {
	defs := wanted()
	ship, supp := defs[0], defs[1]
	type check func(t *testing.T, srv *shopifytest.Server, rs []shopify.Result)
	cases := []struct {
		name    string
		prepare func(srv *shopifytest.Server)
		status  []shopify.Status
		creates int // metafieldDefinitionCreate requests expected
		check   check
	}{
		{
			name:    "empty shop: both created",
			status:  []shopify.Status{shopify.Created, shopify.Created},
			creates: 2,
			check: func(t *testing.T, srv *shopifytest.Server, rs []shopify.Result) {
				got := srv.Definitions()
				if len(got) != 2 {
					t.Fatalf("shop has %d definitions, want 2", len(got))
				}
				for i, d := range got {
					w := defs[i]
					if d.Namespace != w.Namespace || d.Key != w.Key || d.Type != w.Type || d.OwnerType != "ORDER" ||
						d.Name != w.Name || d.Description != w.Description {
						t.Errorf("created %+v, want %+v on ORDER", d, w)
					}
					if rs[i].Found == nil || rs[i].Found.ID != d.ID {
						t.Errorf("result %d does not carry the created id %s", i, d.ID)
					}
				}
				// The mutation's variables are what Shopify needs, nothing invented.
				for _, r := range srv.Requests() {
					if r.Operation != "mutation" {
						continue
					}
					in, _ := r.Variables["definition"].(map[string]any)
					for _, k := range []string{"name", "namespace", "key", "type", "ownerType", "description"} {
						if _, ok := in[k]; !ok {
							t.Errorf("definition input lacks %q: %v", k, in)
						}
					}
					if len(in) != 6 {
						t.Errorf("definition input has unexpected fields: %v", in)
					}
				}
			},
		},
		{
			name: "one present, one missing: only the missing one is created",
			prepare: func(srv *shopifytest.Server) {
				srv.AddDefinition(shopifytest.Definition{Namespace: ship.Namespace, Key: ship.Key, Type: ship.Type})
			},
			status:  []shopify.Status{shopify.Present, shopify.Created},
			creates: 1,
		},
		{
			name: "namespace differs in case: mismatch, nothing created",
			prepare: func(srv *shopifytest.Server) {
				srv.AddDefinition(shopifytest.Definition{Namespace: "FlowBridge", Key: ship.Key, Type: ship.Type})
				srv.AddDefinition(shopifytest.Definition{Namespace: "FlowBridge", Key: supp.Key, Type: supp.Type})
			},
			status:  []shopify.Status{shopify.Mismatch, shopify.Mismatch},
			creates: 0,
			check: func(t *testing.T, _ *shopifytest.Server, rs []shopify.Result) {
				for _, r := range rs {
					if !strings.Contains(r.Problem, "FlowBridge."+r.Want.Key) || !strings.Contains(r.Problem, "namespace differs in letter case") {
						t.Errorf("problem does not name the look-alike: %q", r.Problem)
					}
					if !strings.Contains(r.Fix, "--namespace FlowBridge") || !strings.Contains(r.Fix, "delete FlowBridge.") {
						t.Errorf("fix does not offer both ways out: %q", r.Fix)
					}
					if r.OK() {
						t.Errorf("a case mismatch must not count as OK")
					}
				}
			},
		},
		{
			name: "key differs in case",
			prepare: func(srv *shopifytest.Server) {
				srv.AddDefinition(shopifytest.Definition{Namespace: supp.Namespace, Key: "Supplier_Order_ID", Type: supp.Type})
			},
			status:  []shopify.Status{shopify.Created, shopify.Mismatch},
			creates: 1,
			check: func(t *testing.T, _ *shopifytest.Server, rs []shopify.Result) {
				if !strings.Contains(rs[1].Problem, "the key differs") {
					t.Errorf("problem = %q", rs[1].Problem)
				}
			},
		},
		{
			name: "same namespace and key, other type: mismatch",
			prepare: func(srv *shopifytest.Server) {
				srv.AddDefinition(shopifytest.Definition{Namespace: supp.Namespace, Key: supp.Key, Type: "number_integer"})
			},
			status:  []shopify.Status{shopify.Created, shopify.Mismatch},
			creates: 1,
			check: func(t *testing.T, _ *shopifytest.Server, rs []shopify.Result) {
				if !strings.Contains(rs[1].Problem, "type number_integer") {
					t.Errorf("problem = %q", rs[1].Problem)
				}
			},
		},
		{
			name: "created by someone else in between: TAKEN counts as present",
			prepare: func(srv *shopifytest.Server) {
				srv.RaceCreate(ship.Namespace+"."+ship.Key, shopifytest.Definition{Namespace: ship.Namespace, Key: ship.Key, Type: ship.Type})
			},
			status:  []shopify.Status{shopify.Present, shopify.Created},
			creates: 2,
			check: func(t *testing.T, srv *shopifytest.Server, _ []shopify.Result) {
				if n := len(srv.Definitions()); n != 2 {
					t.Errorf("shop has %d definitions, want 2 (no duplicate)", n)
				}
				if n := srv.Count("metafieldDefinitions"); n != 2 {
					t.Errorf("listed %d times, want 2 (initial + after TAKEN)", n)
				}
			},
		},
		{
			name: "TAKEN but invisible to the token: failed, not success",
			prepare: func(srv *shopifytest.Server) {
				srv.FailCreate(ship.Namespace+"."+ship.Key, shopifytest.UserError{Code: "TAKEN", Message: "Key is in use.", Field: []string{"definition", "key"}})
			},
			status:  []shopify.Status{shopify.Failed, shopify.Created},
			creates: 2,
		},
		{
			name: "INVALID userError: failed with a fix",
			prepare: func(srv *shopifytest.Server) {
				srv.FailCreate(supp.Namespace+"."+supp.Key, shopifytest.UserError{Code: "INVALID", Message: "Namespace is invalid.", Field: []string{"definition", "namespace"}})
			},
			status:  []shopify.Status{shopify.Created, shopify.Failed},
			creates: 2,
			check: func(t *testing.T, _ *shopifytest.Server, rs []shopify.Result) {
				r := rs[1]
				if len(r.UserErrors) != 1 || r.UserErrors[0].Code != "INVALID" || strings.Join(r.UserErrors[0].Field, ".") != "definition.namespace" {
					t.Errorf("userErrors = %+v", r.UserErrors)
				}
				if !strings.Contains(r.Problem, "Namespace is invalid. [INVALID]") || !strings.Contains(r.Fix, "3–255") {
					t.Errorf("problem %q / fix %q", r.Problem, r.Fix)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := shopifytest.New(t, token, "2026-01")
			if tc.prepare != nil {
				tc.prepare(srv)
			}
			c := newClient(srv, &virtualClock{})
			rs, err := c.EnsureMetafieldDefinitions(context.Background(), defs)
			if err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			if len(rs) != len(tc.status) {
				t.Fatalf("%d results, want %d", len(rs), len(tc.status))
			}
			for i, r := range rs {
				if r.Status != tc.status[i] {
					t.Errorf("%s: status %s, want %s (%s)", r.Ref(), r.Status, tc.status[i], r.Problem)
				}
				if !r.OK() && (r.Problem == "" || r.Fix == "") {
					t.Errorf("%s: not OK but no problem/fix text", r.Ref())
				}
			}
			if n := srv.Count("metafieldDefinitionCreate"); n != tc.creates {
				t.Errorf("%d create requests, want %d", n, tc.creates)
			}
			if tc.check != nil {
				tc.check(t, srv, rs)
			}
		})
	}
}

func TestEnsureTwiceCreatesNothingTheSecondTime(t *testing.T) {
	srv := shopifytest.New(t, token, "2026-01")
	c := newClient(srv, &virtualClock{})
	ctx := context.Background()
	if _, err := c.EnsureMetafieldDefinitions(ctx, wanted()); err != nil {
		t.Fatal(err)
	}
	before := srv.Count("metafieldDefinitionCreate")
	rs, err := c.EnsureMetafieldDefinitions(ctx, wanted())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Status != shopify.Present {
			t.Errorf("%s: second run status %s, want present", r.Ref(), r.Status)
		}
	}
	if after := srv.Count("metafieldDefinitionCreate"); after != before {
		t.Errorf("second run sent %d create mutations, want 0", after-before)
	}
	if n := len(srv.Definitions()); n != 2 {
		t.Errorf("%d definitions after two runs, want 2", n)
	}
}

func TestOrderDefinitionsPaginates(t *testing.T) {
	srv := shopifytest.New(t, token, "2026-01")
	for i := range 300 {
		srv.AddDefinition(shopifytest.Definition{Namespace: "custom", Key: fmt.Sprintf("k%03d", i), Type: "single_line_text_field"})
	}
	srv.AddDefinition(shopifytest.Definition{Namespace: "flowbridge", Key: "supplier_order_id", Type: "single_line_text_field"})
	srv.AddDefinition(shopifytest.Definition{Namespace: "flowbridge", Key: "x", Type: "single_line_text_field", OwnerType: "PRODUCT"})
	got, err := newClient(srv, &virtualClock{}).OrderDefinitions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 301 {
		t.Fatalf("listed %d order definitions, want 301", len(got))
	}
	if n := srv.Count("metafieldDefinitions"); n != 2 {
		t.Errorf("%d pages fetched, want 2", n)
	}
	if got[300].Ref() != "flowbridge.supplier_order_id" {
		t.Errorf("last = %s", got[300].Ref())
	}
}

func TestCheckMetafieldDefinitionsChangesNothing(t *testing.T) {
	srv := shopifytest.New(t, token, "2026-01")
	rs, err := newClient(srv, &virtualClock{}).CheckMetafieldDefinitions(context.Background(), wanted())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Status != shopify.Missing || !strings.Contains(r.Fix, "flowbridge setup") {
			t.Errorf("%s: %s / %q", r.Ref(), r.Status, r.Fix)
		}
	}
	if n := srv.Count("metafieldDefinitionCreate"); n != 0 {
		t.Errorf("check sent %d mutations", n)
	}
}

func TestDoRetriesThrottlingOnAVirtualClock(t *testing.T) {
	cases := []struct {
		name   string
		faults []shopifytest.Fault
		waits  []time.Duration // exact waits expected; nil = see between
		lo, hi time.Duration   // bounds for a jittered single wait
		code   string          // expected error code, "" for success
		tries  uint
	}{
		{
			name: "THROTTLED with cost figures waits for the bucket to refill",
			// (752 - 666) / 50 = 1.72 s
			faults: []shopifytest.Fault{{Throttled: &shopifytest.Throttle{Requested: 752, Maximum: 1000, Available: 666, RestoreRate: 50}}},
			waits:  []time.Duration{1720 * time.Millisecond},
		},
		{
			name:   "THROTTLED with a full enough bucket still waits a little",
			faults: []shopifytest.Fault{{Throttled: &shopifytest.Throttle{Requested: 10, Maximum: 2000, Available: 500, RestoreRate: 100}}},
			waits:  []time.Duration{250 * time.Millisecond},
		},
		{
			name: "throttled twice, waits each time",
			faults: []shopifytest.Fault{
				{Throttled: &shopifytest.Throttle{Requested: 200, Maximum: 2000, Available: 0, RestoreRate: 100}},
				{Throttled: &shopifytest.Throttle{Requested: 200, Maximum: 2000, Available: 100, RestoreRate: 100}},
			},
			waits: []time.Duration{2 * time.Second, time.Second},
		},
		{
			name:   "429 with a throttled GraphQL body uses the cost figures",
			faults: []shopifytest.Fault{{Status: 429, RetryAfter: "9", Throttled: &shopifytest.Throttle{Requested: 150, Maximum: 1000, Available: 50, RestoreRate: 50}}},
			waits:  []time.Duration{2 * time.Second},
		},
		{
			name:   "429 honours Retry-After",
			faults: []shopifytest.Fault{{Status: 429, RetryAfter: "2.0"}},
			waits:  []time.Duration{2 * time.Second},
		},
		{
			name:   "Retry-After is capped by MaxWait",
			faults: []shopifytest.Fault{{Status: 429, RetryAfter: "3600"}},
			waits:  []time.Duration{30 * time.Second},
		},
		{
			name:   "503 backs off exponentially",
			faults: []shopifytest.Fault{{Status: 503}},
			lo:     250 * time.Millisecond, hi: 750 * time.Millisecond,
		},
		{
			name: "gives up after MaxAttempts",
			faults: []shopifytest.Fault{
				{Throttled: &shopifytest.Throttle{Requested: 100, Maximum: 1000, Available: 0, RestoreRate: 50}},
				{Throttled: &shopifytest.Throttle{Requested: 100, Maximum: 1000, Available: 0, RestoreRate: 50}},
				{Throttled: &shopifytest.Throttle{Requested: 100, Maximum: 1000, Available: 0, RestoreRate: 50}},
			},
			tries: 3,
			waits: []time.Duration{2 * time.Second, 2 * time.Second},
			code:  shopify.CodeThrottled,
		},
		{
			name:   "401 is final, not retried",
			faults: []shopifytest.Fault{{Status: 401}},
			waits:  []time.Duration{},
			code:   shopify.CodeUnauthorized,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := shopifytest.New(t, token, "2026-01")
			srv.Enqueue(tc.faults...)
			clk := &virtualClock{}
			c := newClient(srv, clk)
			c.MaxAttempts = tc.tries
			info, err := c.ShopInfo(context.Background())
			if tc.code != "" {
				if !problem.Is(err, tc.code) {
					t.Fatalf("err = %v, want code %s", err, tc.code)
				}
			} else {
				if err != nil {
					t.Fatalf("ShopInfo: %v", err)
				}
				if info.Name != "Example Shop" || info.MyshopifyDomain != "example.myshopify.com" || info.Plan != "Grow" {
					t.Errorf("shop = %+v", info)
				}
			}
			got := clk.Waits()
			if tc.waits != nil {
				if fmt.Sprint(got) != fmt.Sprint(tc.waits) {
					t.Errorf("waits = %v, want %v", got, tc.waits)
				}
			} else if len(got) != 1 || got[0] < tc.lo || got[0] > tc.hi {
				t.Errorf("waits = %v, want one in [%v, %v]", got, tc.lo, tc.hi)
			}
			wantReq := len(tc.waits) + 1
			if tc.waits == nil {
				wantReq = 2
			}
			if n := len(srv.Requests()); n != wantReq {
				t.Errorf("%d requests, want %d", n, wantReq)
			}
		})
	}
}

func TestDoStopsWhenContextEndsDuringAWait(t *testing.T) {
	srv := shopifytest.New(t, token, "2026-01")
	srv.Enqueue(shopifytest.Fault{Status: 503})
	ctx, cancel := context.WithCancel(context.Background())
	c := newClient(srv, &virtualClock{})
	c.Sleep = func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }
	_, err := c.ShopInfo(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests after cancel, want 1", n)
	}
}

func TestDoExplainsFailures(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(c *shopify.Client, srv *shopifytest.Server)
		call    func(c *shopify.Client) error
		code    string
		kind    problem.Kind
		mention string
	}{
		{
			name:   "wrong token: 401",
			mutate: func(c *shopify.Client, _ *shopifytest.Server) { c.Token = "shpat_wrongwrongwrong" },
			call:   func(c *shopify.Client) error { _, err := c.ShopInfo(context.Background()); return err },
			code:   shopify.CodeUnauthorized, kind: problem.Unauthorized, mention: "API credentials",
		},
		{
			name:   "missing token",
			mutate: func(c *shopify.Client, _ *shopifytest.Server) { c.Token = "" },
			call:   func(c *shopify.Client) error { _, err := c.ShopInfo(context.Background()); return err },
			code:   shopify.CodeMissingToken, kind: problem.Unauthorized, mention: "SHOPIFY_ADMIN_TOKEN",
		},
		{
			name:   "unknown API version: 404",
			mutate: func(c *shopify.Client, _ *shopifytest.Server) { c.APIVersion = "2019-01" },
			call:   func(c *shopify.Client) error { _, err := c.ShopInfo(context.Background()); return err },
			code:   shopify.CodeShopNotFound, kind: problem.NotFound, mention: "2019-01",
		},
		{
			name:   "403 names the scope Shopify asks for",
			mutate: func(_ *shopify.Client, srv *shopifytest.Server) { srv.Enqueue(shopifytest.Fault{Status: 403}) },
			call:   func(c *shopify.Client) error { _, err := c.ShopInfo(context.Background()); return err },
			code:   shopify.CodeForbidden, kind: problem.Unauthorized, mention: "merchant approval for write_orders",
		},
		{
			name:   "frozen shop: 402",
			mutate: func(_ *shopify.Client, srv *shopifytest.Server) { srv.Enqueue(shopifytest.Fault{Status: 402}) },
			call:   func(c *shopify.Client) error { _, err := c.ShopInfo(context.Background()); return err },
			code:   shopify.CodeShopLocked, kind: problem.Unavailable, mention: "frozen",
		},
		{
			name:   "no read_orders: ACCESS_DENIED on the listing",
			mutate: func(_ *shopify.Client, srv *shopifytest.Server) { srv.SetScopes("write_products") },
			call: func(c *shopify.Client) error {
				_, err := c.CheckMetafieldDefinitions(context.Background(), wanted())
				return err
			},
			code: shopify.CodeAccessDenied, kind: problem.Unauthorized, mention: "read_orders",
		},
		{
			name:   "no write_orders: ACCESS_DENIED on create",
			mutate: func(_ *shopify.Client, srv *shopifytest.Server) { srv.SetScopes("read_orders") },
			call: func(c *shopify.Client) error {
				_, err := c.EnsureMetafieldDefinitions(context.Background(), wanted())
				return err
			},
			code: shopify.CodeAccessDenied, kind: problem.Unauthorized, mention: "write_orders",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := shopifytest.New(t, token, "2026-01")
			c := newClient(srv, &virtualClock{})
			tc.mutate(c, srv)
			err := tc.call(c)
			var pe *problem.Error
			if !errors.As(err, &pe) || pe.Code != tc.code || pe.Kind != tc.kind {
				t.Fatalf("err = %v, want %s (%s)", err, tc.code, tc.kind)
			}
			if !strings.Contains(pe.Detail, tc.mention) {
				t.Errorf("detail %q does not mention %q", pe.Detail, tc.mention)
			}
			if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "shpat_wrong") {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestWrongShopIsReported(t *testing.T) {
	// A host that answers plain 404 pages (not GraphQL) like an unknown shop.
	srv := shopifytest.New(t, token, "2026-01")
	c := newClient(srv, &virtualClock{})
	c.BaseURL = srv.URL + "/nope"
	_, err := c.ShopInfo(context.Background())
	if !problem.Is(err, shopify.CodeShopNotFound) {
		t.Fatalf("err = %v", err)
	}
}

func TestNormalizeShop(t *testing.T) {
	cases := []struct{ in, want, code string }{
		{"example.myshopify.com", "example.myshopify.com", ""},
		{"Example.MyShopify.com", "example.myshopify.com", ""},
		{"example", "example.myshopify.com", ""},
		{" https://example.myshopify.com/admin/orders ", "example.myshopify.com", ""},
		{"example.myshopify.com/", "example.myshopify.com", ""},
		{"shop.example.com", "", shopify.CodeInvalidShop},
		{"evil.com#.myshopify.com", "", shopify.CodeInvalidShop},
		{"", "", shopify.CodeInvalidShop},
	}
	for _, tc := range cases {
		got, err := shopify.NormalizeShop(tc.in)
		if tc.code != "" {
			if !problem.Is(err, tc.code) {
				t.Errorf("NormalizeShop(%q) err = %v, want %s", tc.in, err, tc.code)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeShop(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestClientNeverPrintsTheToken(t *testing.T) {
	c := shopify.Client{Shop: "example.myshopify.com", Token: token}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(f, c); strings.Contains(s, token) || !strings.Contains(s, "<redacted>") {
			t.Errorf("%s printed %q", f, s)
		}
	}
	if s := fmt.Sprintf("%v", &c); strings.Contains(s, token) {
		t.Errorf("pointer printed %q", s)
	}
}

func TestThrottleWait(t *testing.T) {
	cases := []struct {
		cost shopify.Cost
		want time.Duration
		ok   bool
	}{
		{shopify.Cost{RequestedQueryCost: 752, ThrottleStatus: &shopify.ThrottleStatus{CurrentlyAvailable: 666, RestoreRate: 50}}, 1720 * time.Millisecond, true},
		{shopify.Cost{RequestedQueryCost: 1000, ThrottleStatus: &shopify.ThrottleStatus{CurrentlyAvailable: 0, RestoreRate: 100}}, 10 * time.Second, true},
		{shopify.Cost{RequestedQueryCost: 1, ThrottleStatus: &shopify.ThrottleStatus{CurrentlyAvailable: 999, RestoreRate: 50}}, 250 * time.Millisecond, true},
		{shopify.Cost{RequestedQueryCost: 10}, 0, false},
		{shopify.Cost{RequestedQueryCost: 10, ThrottleStatus: &shopify.ThrottleStatus{RestoreRate: 0}}, 0, false},
	}
	for _, tc := range cases {
		got, ok := shopify.ThrottleWait(tc.cost)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ThrottleWait(%+v) = %v, %v; want %v, %v", tc.cost, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSetupCommand(t *testing.T) {
	srv := shopifytest.New(t, token, "2026-01")
	env := map[string]string{
		shopify.EnvToken:   token,
		shopify.EnvBaseURL: srv.URL,
	}
	getenv := func(k string) string { return env[k] }
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := shopify.SetupCommand(context.Background(), args, getenv, &out, &errOut)
		all := out.String() + errOut.String()
		if strings.Contains(all, token) {
			t.Errorf("output leaks the token:\n%s", all)
		}
		return out.String(), err
	}

	out, err := run("--shop", "example.myshopify.com")
	if err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	for _, want := range []string{
		"Shop: Example Shop (example.myshopify.com), plan Grow",
		"created  flowbridge.shipping_cost_id",
		"created  flowbridge.supplier_order_id",
		"Done: 2 created, 0 already present, 0 need attention.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("first run output lacks %q:\n%s", want, out)
		}
	}

	out, err = run("--shop", "example")
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Done: 0 created, 2 already present, 0 need attention.") {
		t.Errorf("second run output:\n%s", out)
	}
	if n := srv.Count("metafieldDefinitionCreate"); n != 2 {
		t.Errorf("%d creates over two runs, want 2", n)
	}

	// Another namespace whose case differs from an existing one.
	srv.AddDefinition(shopifytest.Definition{Namespace: "Dropship", Key: "supplier_order_id", Type: "single_line_text_field"})
	out, err = run("--shop", "example.myshopify.com", "--namespace", "dropship")
	if !problem.Is(err, "setup_incomplete") {
		t.Fatalf("err = %v, want setup_incomplete\n%s", err, out)
	}
	for _, want := range []string{"mismatch  dropship.supplier_order_id", "found Dropship.supplier_order_id", "fix: Either delete Dropship.supplier_order_id"} {
		if !strings.Contains(out, want) {
			t.Errorf("mismatch output lacks %q:\n%s", want, out)
		}
	}

	// Basic plan: warned, still set up.
	srv.SetShop("Tiny", "tiny.myshopify.com", "Basic")
	out, _ = run("--shop", "tiny.myshopify.com")
	if !strings.Contains(out, "needs the Grow, Advanced or Plus plan") {
		t.Errorf("no plan warning:\n%s", out)
	}
}

func TestSetupCommandArguments(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		code string
	}{
		{"no shop", nil, map[string]string{shopify.EnvToken: token}, shopify.CodeInvalidShop},
		{"no token", []string{"--shop", "example"}, nil, shopify.CodeMissingToken},
		{"custom domain", []string{"--shop", "shop.example.com"}, map[string]string{shopify.EnvToken: token}, shopify.CodeInvalidShop},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := shopify.SetupCommand(context.Background(), tc.args, func(k string) string { return tc.env[k] }, &out, &errOut)
			if !problem.Is(err, tc.code) {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
		})
	}
}
