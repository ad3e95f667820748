package doctor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flowbridge/flowbridge/doctor"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/shopify"
	"github.com/flowbridge/flowbridge/shopify/shopifytest"
)

const (
	shopToken = "shpat_0123456789abcdefABCDEF0123456789"
	apiKey    = "fb_live_7hQx2LmN9pRs"
	// A well-formed JWT (header {"alg":"HS256","typ":"JWT"}); not a real credential.
	btsToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl"
)

// fakeService answers like flowbridge on the paths doctor probes.
type fakeService struct {
	open        bool // accepts requests without a key (misconfigured)
	notReady    bool
	trackStatus int // status for an authenticated tracking call (404 when 0)
}

func (f fakeService) start(t *testing.T) *httptest.Server {
	t.Helper()
	problemJSON := func(w http.ResponseWriter, status int, code, detail string) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"type": "https://flowbridge.dev/problems/" + code, "title": code, "status": status,
			"code": code, "detail": detail, "ok": false,
		})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if f.notReady {
			problemJSON(w, http.StatusServiceUnavailable, "store_unavailable", "redis: connection refused")
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	mux.HandleFunc("GET /tracking/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !f.open && r.Header.Get("Authorization") != "Bearer "+apiKey {
			problemJSON(w, http.StatusUnauthorized, "unauthorized", "missing or wrong API key")
			return
		}
		if f.trackStatus >= 500 {
			problemJSON(w, f.trackStatus, "supplier_unavailable", "supplier timed out")
			return
		}
		problemJSON(w, http.StatusNotFound, "order_not_found", "the supplier does not know order "+r.PathValue("id"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type scenario struct {
	// shopNamespace is the namespace of the two definitions the fake shop
	// starts with ("flowbridge" when empty).
	shopNamespace string
	shop          func(s *shopifytest.Server)
	service       fakeService
	env           map[string]string // overrides
	args          []string
	opts          doctor.Options
	down          bool // service URL points at a closed port
}

func run(t *testing.T, sc scenario) (string, error) {
	t.Helper()
	shop := shopifytest.New(t, shopToken, "2026-01")
	shop.SetScopes("read_orders", "write_orders", "read_merchant_managed_fulfillment_orders", "write_merchant_managed_fulfillment_orders")
	ns := sc.shopNamespace
	if ns == "" {
		ns = "flowbridge"
	}
	shop.AddDefinition(shopifytest.Definition{Namespace: ns, Key: "shipping_cost_id", Type: "single_line_text_field"})
	shop.AddDefinition(shopifytest.Definition{Namespace: ns, Key: "supplier_order_id", Type: "single_line_text_field"})
	if sc.shop != nil {
		sc.shop(shop)
	}
	svc := sc.service.start(t)
	url := svc.URL
	if sc.down {
		svc.Close()
	}
	env := map[string]string{
		shopify.EnvShop:             "example.myshopify.com",
		shopify.EnvToken:            shopToken,
		shopify.EnvBaseURL:          shop.URL,
		doctor.EnvURL:               url,
		doctor.EnvAPIKey:            apiKey,
		doctor.EnvSupplier:          "sandbox",
		"FLOWBRIDGE_BTS_TOKEN":      btsToken,
		"FLOWBRIDGE_BIGBUY_API_KEY": "",
	}
	for k, v := range sc.env {
		env[k] = v
	}
	var out, errOut bytes.Buffer
	err := sc.opts.Command(context.Background(), sc.args, func(k string) string { return env[k] }, &out, &errOut)
	s := out.String()
	for _, secret := range []string{shopToken, apiKey, btsToken} {
		if strings.Contains(s+errOut.String(), secret) {
			t.Errorf("doctor output leaks a secret (%.8s…)", secret)
		}
	}
	return s, err
}

// want is one expected report line: level, the check's name, and a piece
// of its message or fix.
type want struct{ level, name, text string }

func assertLines(t *testing.T, out string, wants []want) {
	t.Helper()
	lines := strings.Split(out, "\n")
	for _, w := range wants {
		found := false
		for i, l := range lines {
			if !strings.HasPrefix(l, w.level+"  "+w.name) {
				continue
			}
			block := l
			if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "      fix:") {
				block += "\n" + lines[i+1]
			}
			if strings.Contains(block, w.text) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no %s line for %q containing %q in:\n%s", w.level, w.name, w.text, out)
		}
	}
}

func TestDoctor(t *testing.T) {
	on, off := true, false
	authErr := problem.New(problem.Unauthorized, problem.CodeSupplierAuth, "BTS answered 401")
	cases := []struct {
		name   string
		sc     scenario
		fails  bool
		wants  []want
		absent []string // substrings that must not appear
	}{
		{
			name: "everything right, sandbox, test mode off",
			sc:   scenario{opts: doctor.Options{TestMode: &off}},
			wants: []want{
				{"PASS", "shopify connection", "Example Shop (example.myshopify.com), plan Grow"},
				{"PASS", "metafield flowbridge.shipping_cost_id", "single_line_text_field"},
				{"PASS", "metafield flowbridge.supplier_order_id", "single_line_text_field"},
				{"PASS", "service /healthz", "up"},
				{"PASS", "service /readyz", "ready"},
				{"PASS", "service auth required", "401"},
				{"PASS", "service api key", "404 order_not_found"},
				{"INFO", "supplier credentials", "sandbox"},
				{"INFO", "test mode FLOWBRIDGE_TEST_MODE", "off"},
			},
			absent: []string{"FAIL", "WARN"},
		},
		{
			name:  "namespace FlowBridge instead of flowbridge: FAIL with both fixes",
			sc:    scenario{args: []string{"--namespace", "FlowBridge"}},
			fails: true,
			wants: []want{
				{"FAIL", "metafield FlowBridge.supplier_order_id", "found flowbridge.supplier_order_id"},
				{"FAIL", "metafield FlowBridge.supplier_order_id", "fix: Either delete flowbridge.supplier_order_id"},
				{"FAIL", "metafield FlowBridge.shipping_cost_id", "--namespace flowbridge"},
			},
		},
		{
			name:  "shop defines FlowBridge, templates use flowbridge: FAIL",
			sc:    scenario{shopNamespace: "FlowBridge"},
			fails: true,
			wants: []want{
				{"FAIL", "metafield flowbridge.shipping_cost_id", "found FlowBridge.shipping_cost_id"},
				{"FAIL", "metafield flowbridge.supplier_order_id", "namespace differs in letter case"},
				{"FAIL", "metafield flowbridge.supplier_order_id", "flowbridge templates --namespace FlowBridge"},
			},
		},
		{
			name:  "definitions missing: FAIL, fix is setup",
			sc:    scenario{args: []string{"--supplier-order-key", "supplier_ref"}},
			fails: true,
			wants: []want{{"FAIL", "metafield flowbridge.supplier_ref", "flowbridge setup"}},
		},
		{
			name:  "wrong Shopify token",
			sc:    scenario{env: map[string]string{shopify.EnvToken: "shpat_nope"}},
			fails: true,
			wants: []want{{"FAIL", "shopify connection", "API credentials"}},
		},
		{
			name:  "no Shopify token",
			sc:    scenario{env: map[string]string{shopify.EnvToken: ""}},
			fails: true,
			wants: []want{{"FAIL", "shopify connection", shopify.EnvToken}},
		},
		{
			name:  "token without read_orders",
			sc:    scenario{shop: func(s *shopifytest.Server) { s.SetScopes("read_products") }},
			fails: true,
			wants: []want{{"FAIL", "metafield definitions", "read_orders and write_orders"}},
		},
		{
			name: "token that cannot fulfil: WARN (needed by the lean workflow only)",
			sc:   scenario{shop: func(s *shopifytest.Server) { s.SetScopes("read_orders", "write_orders") }},
			wants: []want{
				{"WARN", "shopify fulfil scopes", "write_merchant_managed_fulfillment_orders"},
				{"PASS", "metafield flowbridge.supplier_order_id", "defined"},
			},
		},
		{
			name: "Basic plan: WARN",
			sc:   scenario{shop: func(s *shopifytest.Server) { s.SetShop("Tiny", "tiny.myshopify.com", "Basic") }},
			wants: []want{
				{"WARN", "shopify plan", "Grow, Advanced or Plus"},
			},
		},
		{
			name:  "wrong API key: FAIL",
			sc:    scenario{env: map[string]string{doctor.EnvAPIKey: "fb_live_7HQX2LMN9PRS"}},
			fails: true,
			wants: []want{{"FAIL", "service api key", "refused (401 unauthorized"}, {"FAIL", "service api key", "case-sensitive"}},
		},
		{
			name:  "no API key: FAIL",
			sc:    scenario{env: map[string]string{doctor.EnvAPIKey: ""}},
			fails: true,
			wants: []want{{"FAIL", "service api key", "no API key"}},
		},
		{
			name:  "service accepts requests without a key: FAIL",
			sc:    scenario{service: fakeService{open: true}},
			fails: true,
			wants: []want{{"FAIL", "service auth required", "answered 404 order_not_found"}},
		},
		{
			name:  "not ready: FAIL with the service's reason",
			sc:    scenario{service: fakeService{notReady: true}},
			fails: true,
			wants: []want{{"FAIL", "service /readyz", "503 store_unavailable: redis: connection refused"}},
		},
		{
			name:   "service down: FAIL, no further service checks",
			sc:     scenario{down: true},
			fails:  true,
			wants:  []want{{"FAIL", "service /healthz", "cannot reach"}},
			absent: []string{"service api key", "service /readyz"},
		},
		{
			name: "tracking lookup 503: key passes, lookup warns",
			sc:   scenario{service: fakeService{trackStatus: 503}},
			wants: []want{
				{"PASS", "service api key", "503"},
				{"WARN", "service tracking lookup", "supplier_unavailable"},
			},
		},
		{
			name: "bts credentials accepted, test mode on",
			sc: scenario{
				env:  map[string]string{doctor.EnvSupplier: "bts"},
				opts: doctor.Options{SupplierCheck: func(context.Context) error { return nil }, TestMode: &on},
			},
			wants: []want{
				{"PASS", "supplier credentials", "bts accepted"},
				{"WARN", "test mode FLOWBRIDGE_TEST_MODE", "stay pending"},
			},
			absent: []string{"FAIL"},
		},
		{
			name: "bts token lower-cased: FAIL with the case hint",
			sc: scenario{
				env:  map[string]string{doctor.EnvSupplier: "bts", "FLOWBRIDGE_BTS_TOKEN": strings.ToLower(btsToken)},
				opts: doctor.Options{SupplierCheck: func(context.Context) error { return authErr }},
			},
			fails: true,
			wants: []want{
				{"FAIL", "supplier credentials", "BTS answered 401"},
				{"FAIL", "supplier credentials", "JWT whose letter case was changed"},
				{"WARN", "supplier credential format", "starts with \"eyj\""},
			},
		},
		{
			name: "bigbuy key upper-cased, check unavailable: FAIL names the base URL",
			sc: scenario{
				env: map[string]string{doctor.EnvSupplier: "bigbuy", "FLOWBRIDGE_BIGBUY_API_KEY": "NTK3ZJE0YJHMZGQ4ODK1"},
				opts: doctor.Options{SupplierCheck: func(context.Context) error {
					return problem.New(problem.Unavailable, problem.CodeSupplierUnavailable, "BigBuy timed out")
				}},
			},
			fails: true,
			wants: []want{
				{"FAIL", "supplier credentials", "FLOWBRIDGE_BIGBUY_BASE_URL"},
				{"WARN", "supplier credential format", "all upper-case"},
			},
		},
		{
			name:  "bts without a token in this shell",
			sc:    scenario{env: map[string]string{doctor.EnvSupplier: "bts", "FLOWBRIDGE_BTS_TOKEN": ""}},
			fails: true,
			wants: []want{
				{"FAIL", "supplier credentials", "FLOWBRIDGE_BTS_TOKEN is not set"},
				{"WARN", "supplier credentials", "no check wired"},
			},
		},
		{
			name: "test mode from the environment",
			sc:   scenario{env: map[string]string{doctor.EnvTestMode: "true"}},
			wants: []want{
				{"WARN", "test mode FLOWBRIDGE_TEST_MODE", "stay pending"},
			},
		},
		{
			name: "test mode not a boolean",
			sc:   scenario{env: map[string]string{doctor.EnvTestMode: "yes please"}},
			wants: []want{
				{"WARN", "test mode FLOWBRIDGE_TEST_MODE", "not a boolean"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, tc.sc)
			if tc.fails {
				if !problem.Is(err, "doctor_failed") {
					t.Errorf("err = %v, want doctor_failed", err)
				}
			} else if err != nil {
				t.Errorf("err = %v, want nil\n%s", err, out)
			}
			assertLines(t, out, tc.wants)
			for _, a := range tc.absent {
				if strings.Contains(out, a) {
					t.Errorf("output contains %q:\n%s", a, out)
				}
			}
			if !strings.Contains(out, " passed, ") {
				t.Errorf("no summary line:\n%s", out)
			}
		})
	}
}

func TestPlainHTTPToARemoteHostWarns(t *testing.T) {
	svc := fakeService{}.start(t)
	// Every dial goes to the local test server whatever the host name, so
	// the check sees a remote-looking URL while traffic stays on loopback.
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, svc.Listener.Addr().String())
		},
	}}
	off := false
	opts := doctor.Options{HTTP: hc, TestMode: &off}
	var out bytes.Buffer
	env := map[string]string{doctor.EnvURL: "http://flowbridge.example.com", doctor.EnvAPIKey: apiKey}
	_ = opts.Command(context.Background(), nil, func(k string) string { return env[k] }, &out, &bytes.Buffer{})
	assertLines(t, out.String(), []want{
		{"WARN", "service url", "is not https"},
		{"PASS", "service api key", "key accepted"},
	})
}

func TestCredentialHint(t *testing.T) {
	cases := []struct {
		in, want string // want: substring of the hint, "" for none
	}{
		{btsToken, ""},
		{strings.ToLower(btsToken), "starts with \"eyj\""},
		{strings.ToUpper(btsToken), "starts with \"EYJ\""},
		{"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.x.y", ""},
		{"eyJhbGciOiJIUzI1NiIsInR5cCI6ikpxvcj9.x.y", "does not decode to JSON"},
		{"NTk3ZjE0YjhmZGQ4ODk1", ""},
		{"ntk3zje0yjhmzgq4odk1", "all lower-case"},
		{"NTK3ZJE0YJHMZGQ4ODK1", "all upper-case"},
		{"0123456789abcdef0123456789abcdef", ""}, // hex: single case is normal
		{"0123456789ABCDEF0123456789ABCDEF", ""},
		{"abc123", ""}, // too few letters to judge
		{" NTk3ZjE0YjhmZGQ4ODk1", "spaces or quotes"},
		{"\"NTk3ZjE0YjhmZGQ4ODk1\"", "spaces or quotes"},
		{"", ""},
	}
	for _, tc := range cases {
		got := doctor.CredentialHint(tc.in)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("CredentialHint(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
