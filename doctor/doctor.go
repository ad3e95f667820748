// Package doctor implements `flowbridge doctor`: it checks the whole chain a
// Flow workflow depends on — the shop's order metafield definitions (exact
// namespace/key case and type), the flowbridge service (health, readiness,
// the configured key), the supplier credentials and the test-mode switch —
// and prints one PASS/FAIL/WARN/INFO line per check, with a fix for every
// failure. It changes nothing anywhere.
package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/shopify"
)

// Level is a check's verdict.
type Level string

const (
	Pass Level = "PASS"
	Fail Level = "FAIL" // something the workflows will trip over; exit code 1
	Warn Level = "WARN" // works, but probably not what you want in production
	Info Level = "INFO"
)

// Check is one line of the report.
type Check struct {
	Area    string // "shopify", "metafield", "service", "supplier", "test mode"
	Name    string
	Level   Level
	Message string
	Fix     string // set for every Fail, and for Warns that have a remedy
}

// Report is the outcome of a doctor run.
type Report struct{ Checks []Check }

func (r *Report) add(c Check) { r.Checks = append(r.Checks, c) }

// Count returns how many checks have level l.
func (r Report) Count(l Level) int {
	n := 0
	for _, c := range r.Checks {
		if c.Level == l {
			n++
		}
	}
	return n
}

// Environment variables doctor reads (besides the shopify package's).
const (
	EnvURL      = "FLOWBRIDGE_URL"
	EnvAPIKey   = "FLOWBRIDGE_API_KEY"
	EnvSupplier = "FLOWBRIDGE_SUPPLIER"
	EnvTestMode = "FLOWBRIDGE_TEST_MODE"
)

// credentialEnv names the credential setting of each real supplier
// (docs/DESIGN.md, Configuration).
var credentialEnv = map[string]string{
	"bts":    "FLOWBRIDGE_BTS_TOKEN",
	"bigbuy": "FLOWBRIDGE_BIGBUY_API_KEY",
}

// credentialFix says where each supplier's credential comes from.
var credentialFix = map[string]string{
	"bts":    "Copy the token again from the BTS portal (API section → Create Account Service) into FLOWBRIDGE_BTS_TOKEN, exactly as shown: it is case-sensitive",
	"bigbuy": "Copy the API key again from your BigBuy account into FLOWBRIDGE_BIGBUY_API_KEY, exactly as shown (the sandbox and production keys differ, and keys are case-sensitive)",
}

// Options is what the integrator wires in from the running configuration.
// The zero value works: the supplier check is then reported as not wired.
type Options struct {
	// SupplierCheck verifies the supplier credentials with one cheap
	// authenticated call (the adapters' CheckCredentials). Nil means this
	// build cannot check them.
	SupplierCheck func(ctx context.Context) error
	// Supplier is the configured supplier name; FLOWBRIDGE_SUPPLIER (then
	// "sandbox") when empty.
	Supplier string
	// TestMode is the service's test-mode setting; FLOWBRIDGE_TEST_MODE
	// when nil.
	TestMode *bool
	// HTTP is used for the service and Shopify calls (a 10 s client when nil).
	HTTP *http.Client
	// Timeout bounds each check (15 s when zero).
	Timeout time.Duration
	// Stock: the stock sync is configured, so its scopes are required.
	Stock bool
}

// Command is `flowbridge doctor` with no supplier check wired.
func Command(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return Options{}.Command(ctx, args, getenv, stdout, stderr)
}

// Command parses the flags, runs every check, prints the report and returns
// a non-nil error when any check failed, so the process exits non-zero.
func (o Options) Command(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: flowbridge doctor [--shop example.myshopify.com] [--url https://flowbridge.example.com]")
		fmt.Fprintln(stderr, "Checks metafield definitions, the service, the supplier credentials and test mode. Changes nothing.")
		fs.PrintDefaults()
	}
	var sf shopify.Flags
	sf.Register(fs, getenv)
	cfg := Config{}
	fs.StringVar(&cfg.URL, "url", orDefault(getenv(EnvURL), "http://localhost:8080"), "flowbridge base URL (env "+EnvURL+")")
	fs.StringVar(&cfg.APIKey, "key", "", "flowbridge API key, one of FLOWBRIDGE_API_KEYS (prefer env "+EnvAPIKey+")")
	fs.StringVar(&cfg.Supplier, "supplier", orDefault(o.Supplier, orDefault(getenv(EnvSupplier), "sandbox")), "configured supplier (env "+EnvSupplier+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.APIKey == "" {
		cfg.APIKey = getenv(EnvAPIKey)
	}
	cfg.ShopifyErr = sf.Finish(getenv)
	cfg.Shopify = sf
	cfg.TestMode, cfg.TestModeErr = o.testMode(getenv)
	if env := credentialEnv[strings.ToLower(cfg.Supplier)]; env != "" {
		cfg.Credential = Credential{Name: env, Value: getenv(env)}
	}

	fmt.Fprintf(stdout, "flowbridge doctor: shop %s, service %s, supplier %s\n",
		orDefault(sf.Shop, "(none)"), cfg.URL, cfg.Supplier)
	rep := o.Run(ctx, cfg)
	Print(stdout, rep)
	if n := rep.Count(Fail); n > 0 {
		return problem.Newf(problem.Rejected, "doctor_failed", "%d check(s) failed", n)
	}
	return nil
}

func (o Options) testMode(getenv func(string) string) (bool, error) {
	if o.TestMode != nil {
		return *o.TestMode, nil
	}
	v := strings.TrimSpace(getenv(EnvTestMode))
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q is not a boolean", EnvTestMode, v)
	}
	return b, nil
}

// Credential is a supplier credential to inspect for signs of mangling.
type Credential struct{ Name, Value string }

// Config is one doctor run's input, after flags and environment.
type Config struct {
	Shopify     shopify.Flags
	ShopifyErr  error // from Flags.Finish: missing shop/token
	URL         string
	APIKey      string
	Supplier    string
	Credential  Credential
	TestMode    bool
	TestModeErr error
}

// Run performs every check and returns the report; it never stops early,
// so one run shows everything that needs fixing.
func (o Options) Run(ctx context.Context, cfg Config) Report {
	var r Report
	o.checkShopify(ctx, cfg, &r)
	o.checkStockScopes(ctx, cfg, &r)
	o.checkService(ctx, cfg, &r)
	o.checkSupplier(ctx, cfg, &r)
	checkTestMode(cfg, &r)
	return r
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return 15 * time.Second
	}
	return o.Timeout
}

func (o Options) httpClient() *http.Client {
	if o.HTTP != nil {
		return o.HTTP
	}
	return &http.Client{Timeout: 10 * time.Second}
}

// --- Shopify ---------------------------------------------------------------

func (o Options) checkShopify(ctx context.Context, cfg Config, r *Report) {
	if cfg.ShopifyErr != nil {
		r.add(Check{Area: "shopify", Name: "connection", Level: Fail,
			Message: "cannot check the metafield definitions: " + detail(cfg.ShopifyErr),
			Fix:     "Pass --shop example.myshopify.com and set " + shopify.EnvToken + " to the custom app's Admin API access token (scopes read_orders, write_orders)"})
		return
	}
	c := cfg.Shopify.Client(o.HTTP)
	ctx1, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	shop, err := c.ShopInfo(ctx1)
	if err != nil {
		r.add(Check{Area: "shopify", Name: "connection", Level: Fail, Message: detail(err), Fix: shopifyFix(err)})
		return
	}
	r.add(Check{Area: "shopify", Name: "connection", Level: Pass,
		Message: fmt.Sprintf("%s (%s), plan %s", shop.Name, shop.MyshopifyDomain, orDefault(shop.Plan, "unknown"))})
	switch ok, known := shop.PlanAllowsHTTPRequest(); {
	case known && !ok:
		r.add(Check{Area: "shopify", Name: "plan", Level: Warn,
			Message: "Flow's Send HTTP request action needs the Grow, Advanced or Plus plan; this shop is on " + shop.Plan,
			Fix:     "Upgrade the plan, or the workflows cannot call flowbridge"})
	case !known:
		r.add(Check{Area: "shopify", Name: "plan", Level: Info,
			Message: "plan " + orDefault(shop.Plan, "unknown") + ": make sure Flow's Send HTTP request action is available (Grow, Advanced, Plus)"})
	}

	// The lean workflow (flowbridge fulfils, POST /tracking/{id}/fulfil)
	// uses this token too; the Flow-fulfils workflow does not need these.
	ctxS, cancelS := context.WithTimeout(ctx, o.timeout())
	defer cancelS()
	if scopes, err := c.AccessScopes(ctxS); err != nil {
		r.add(Check{Area: "shopify", Name: "fulfil scopes", Level: Warn, Message: "cannot read the token's scopes: " + detail(err),
			Fix: "Needed only when flowbridge fulfils (templates --fulfil-by flowbridge): give the app read_orders and write_merchant_managed_fulfillment_orders"})
	} else if missing := shopify.FulfilScopes(scopes); len(missing) > 0 {
		r.add(Check{Area: "shopify", Name: "fulfil scopes", Level: Warn,
			Message: "the token lacks " + strings.Join(missing, ", ") + ": POST /tracking/{id}/fulfil (the lean workflow) cannot fulfil orders",
			Fix:     "Add the scopes " + strings.Join(missing, ", ") + " to the custom app, save and reinstall it (or generate the workflow with --fulfil-by flow)"})
	} else {
		r.add(Check{Area: "shopify", Name: "fulfil scopes", Level: Pass, Message: "the token may fulfil orders (read_orders, write fulfilment orders)"})
	}

	ctx2, cancel2 := context.WithTimeout(ctx, o.timeout())
	defer cancel2()
	results, err := c.CheckMetafieldDefinitions(ctx2, cfg.Shopify.Params().Metafields())
	if err != nil {
		r.add(Check{Area: "metafield", Name: "definitions", Level: Fail, Message: detail(err), Fix: shopifyFix(err)})
		return
	}
	for _, res := range results {
		if res.OK() {
			r.add(Check{Area: "metafield", Name: res.Ref(), Level: Pass,
				Message: "defined on orders as " + res.Want.Type})
			continue
		}
		r.add(Check{Area: "metafield", Name: res.Ref(), Level: Fail, Message: res.Problem, Fix: res.Fix})
	}
}

func shopifyFix(err error) string {
	pe := problem.From(err)
	switch pe.Code {
	case shopify.CodeUnauthorized, shopify.CodeMissingToken:
		return "Use the Admin API access token of the custom app installed on this shop (Settings → Apps and sales channels → Develop apps → API credentials)"
	case shopify.CodeForbidden, shopify.CodeAccessDenied:
		return "Give the custom app the read_orders and write_orders Admin API scopes, save, and reinstall it"
	case shopify.CodeShopNotFound, shopify.CodeInvalidShop:
		return "Use the shop's permanent *.myshopify.com domain (Settings → Domains) and a current API version"
	case shopify.CodeThrottled, shopify.CodeUnavailable:
		return "Shopify is busy or unreachable; run doctor again in a minute"
	}
	return "Run again; if it persists, check Shopify's status page"
}

// --- flowbridge service ----------------------------------------------------

// probeOrder is a supplier order number no supplier will know, so an
// authenticated tracking call answers 404 order_not_found.
const probeOrder = "000000000000"

func (o Options) checkService(ctx context.Context, cfg Config, r *Report) {
	base, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		r.add(Check{Area: "service", Name: "url", Level: Fail, Message: fmt.Sprintf("%q is not an http(s) URL", cfg.URL),
			Fix: "Set " + EnvURL + " (or --url) to where flowbridge listens, e.g. https://flowbridge.example.com"})
		return
	}
	if base.Scheme != "https" && !isLoopback(base.Hostname()) {
		r.add(Check{Area: "service", Name: "url", Level: Warn, Message: cfg.URL + " is not https",
			Fix: "Put flowbridge behind TLS: Flow sends the API key in a header, which must not cross the internet in clear text"})
	}

	up := true
	for _, p := range []struct{ path, what, fix string }{
		{"/healthz", "process is up", "Start flowbridge (`flowbridge serve`) and check " + EnvURL + " points at it"},
		{"/readyz", "ready to serve (store and supplier reachable)", "See the service log; usually REDIS_URL is unreachable or the supplier base URL is wrong"},
	} {
		status, body, err := o.get(ctx, base.String()+p.path, "")
		switch {
		case err != nil:
			r.add(Check{Area: "service", Name: p.path, Level: Fail, Message: "cannot reach " + base.String() + ": " + err.Error(), Fix: p.fix})
			up = false
		case status == http.StatusOK:
			r.add(Check{Area: "service", Name: p.path, Level: Pass, Message: p.what})
		default:
			r.add(Check{Area: "service", Name: p.path, Level: Fail,
				Message: fmt.Sprintf("answered %d%s", status, problemSummary(body)), Fix: p.fix})
		}
		if !up {
			return
		}
	}

	probe := base.String() + "/tracking/" + probeOrder
	// Without a key the service must refuse: otherwise anyone can place orders.
	if status, body, err := o.get(ctx, probe, ""); err == nil {
		if status == http.StatusUnauthorized {
			r.add(Check{Area: "service", Name: "auth required", Level: Pass, Message: "requests without a key are refused (401)"})
		} else {
			r.add(Check{Area: "service", Name: "auth required", Level: Fail,
				Message: fmt.Sprintf("a request without a key answered %d%s, not 401", status, problemSummary(body)),
				Fix:     "Set FLOWBRIDGE_API_KEYS on the service and restart it"})
		}
	}

	if strings.TrimSpace(cfg.APIKey) == "" {
		r.add(Check{Area: "service", Name: "api key", Level: Fail, Message: "no API key to test",
			Fix: "Set " + EnvAPIKey + " to the value stored in the Flow secret (one of the service's FLOWBRIDGE_API_KEYS)"})
		return
	}
	if cfg.APIKey != strings.TrimSpace(cfg.APIKey) {
		r.add(Check{Area: "service", Name: "api key", Level: Warn, Message: "the key has leading or trailing spaces",
			Fix: "Remove the spaces from " + EnvAPIKey + " and from the Flow secret"})
	}
	status, body, err := o.get(ctx, probe, cfg.APIKey)
	switch {
	case err != nil:
		r.add(Check{Area: "service", Name: "api key", Level: Fail, Message: "authenticated call failed: " + err.Error(),
			Fix: "Check the service log"})
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		r.add(Check{Area: "service", Name: "api key", Level: Fail,
			Message: fmt.Sprintf("the key was refused (%d%s)", status, problemSummary(body)),
			Fix:     "Make " + EnvAPIKey + " and the Flow secret equal to one of FLOWBRIDGE_API_KEYS, character for character (keys are case-sensitive)"})
	case status == http.StatusNotFound:
		r.add(Check{Area: "service", Name: "api key", Level: Pass,
			Message: "key accepted (a made-up order answered 404" + problemCode(body) + ", as expected)"})
	case status >= 500:
		r.add(Check{Area: "service", Name: "api key", Level: Pass, Message: fmt.Sprintf("key accepted (answered %d)", status)})
		r.add(Check{Area: "service", Name: "tracking lookup", Level: Warn,
			Message: fmt.Sprintf("a tracking lookup answered %d%s", status, problemSummary(body)),
			Fix:     "The supplier may be down or rate-limiting; see the supplier check below and the service log"})
	default:
		r.add(Check{Area: "service", Name: "api key", Level: Pass,
			Message: fmt.Sprintf("key accepted (a made-up order answered %d%s)", status, problemSummary(body))})
	}
}

func (o Options) get(ctx context.Context, u, key string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := o.httpClient().Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return 0, nil, ue.Err // the caller's message already names the URL
		}
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, body, nil
}

// problemSummary renders " code: detail" from a flowbridge problem body.
func problemSummary(body []byte) string {
	var p struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &p) != nil || p.Code == "" {
		return ""
	}
	if p.Detail != "" && len(p.Detail) <= 160 {
		return " " + p.Code + ": " + p.Detail
	}
	return " " + p.Code
}

// problemCode renders " code" from a flowbridge problem body.
func problemCode(body []byte) string {
	var p struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(body, &p) != nil || p.Code == "" {
		return ""
	}
	return " " + p.Code
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// --- supplier --------------------------------------------------------------

func (o Options) checkSupplier(ctx context.Context, cfg Config, r *Report) {
	name := strings.ToLower(cfg.Supplier)
	hint := CredentialHint(cfg.Credential.Value)
	if cfg.Credential.Name != "" {
		switch {
		case cfg.Credential.Value == "":
			r.add(Check{Area: "supplier", Name: "credentials", Level: Fail,
				Message: cfg.Credential.Name + " is not set (in this shell)",
				Fix:     "Run doctor with the same environment as the service; " + credentialFix[name]})
		case hint != "":
			r.add(Check{Area: "supplier", Name: "credential format", Level: Warn,
				Message: cfg.Credential.Name + " " + hint, Fix: credentialFix[name]})
		}
	}
	if name == "sandbox" {
		r.add(Check{Area: "supplier", Name: "credentials", Level: Info, Message: "the built-in sandbox supplier needs no credentials"})
		return
	}
	if o.SupplierCheck == nil {
		r.add(Check{Area: "supplier", Name: "credentials", Level: Warn,
			Message: "this build cannot test the " + cfg.Supplier + " credentials (no check wired)",
			Fix:     "Place a test-mode order to confirm them"})
		return
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	err := o.SupplierCheck(ctx)
	if err == nil {
		r.add(Check{Area: "supplier", Name: "credentials", Level: Pass, Message: cfg.Supplier + " accepted the credentials"})
		return
	}
	pe := problem.From(err)
	fix := credentialFix[name]
	if fix == "" {
		fix = "Check the supplier credentials in the service's environment"
	}
	switch {
	case pe.Code == problem.CodeSupplierAuth || pe.Kind == problem.Unauthorized:
		if hint != "" {
			fix += ". Note: the value " + hint
		}
	case pe.Kind == problem.Unavailable || pe.Kind == problem.Upstream:
		fix = "The supplier did not answer usefully; check FLOWBRIDGE_" + strings.ToUpper(name) + "_BASE_URL and your network, then run doctor again"
	}
	r.add(Check{Area: "supplier", Name: "credentials", Level: Fail,
		Message: cfg.Supplier + " refused or failed the credential check: " + detail(err), Fix: fix})
}

// --- test mode -------------------------------------------------------------

func checkTestMode(cfg Config, r *Report) {
	switch {
	case cfg.TestModeErr != nil:
		r.add(Check{Area: "test mode", Name: EnvTestMode, Level: Warn, Message: cfg.TestModeErr.Error(),
			Fix: "Set it to true or false"})
	case cfg.TestMode:
		r.add(Check{Area: "test mode", Name: EnvTestMode, Level: Warn,
			Message: "on: supplier orders are placed so that they stay pending and are never shipped",
			Fix:     "When the test orders look right, set FLOWBRIDGE_TEST_MODE=false and restart the service"})
	default:
		r.add(Check{Area: "test mode", Name: EnvTestMode, Level: Info,
			Message: "off: paid orders become real supplier orders"})
	}
}

// --- output ----------------------------------------------------------------

// Print writes the report: one line per check, the fix indented below.
func Print(w io.Writer, rep Report) {
	for _, c := range rep.Checks {
		name := c.Area
		if c.Name != "" {
			name += " " + c.Name
		}
		fmt.Fprintf(w, "%-4s  %-40s %s\n", c.Level, name, c.Message)
		if c.Fix != "" && (c.Level == Fail || c.Level == Warn) {
			fmt.Fprintf(w, "      fix: %s\n", c.Fix)
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed, %d warning(s)\n", rep.Count(Pass), rep.Count(Fail), rep.Count(Warn))
}

func detail(err error) string {
	pe := problem.From(err)
	if pe.Kind == problem.Internal && pe.Err != nil {
		return pe.Err.Error()
	}
	if pe.Detail != "" {
		return pe.Detail
	}
	return pe.Code
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
