package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/stock"
	"github.com/flowbridge/flowbridge/telemetry"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"sigs.k8s.io/yaml"
)

// exposition sets up telemetry, touches every instrument once (so every
// series exists, with its labels) and scrapes the real handler.
func exposition(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	ctx := context.Background()
	tel, err := telemetry.Setup(ctx, telemetry.Config{SpanExporter: tracetest.NewInMemoryExporter(), SyncSpans: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	m := tel.Metrics
	for _, o := range []string{"won", "replayed", "in_flight", "reconciled", "recorded", "needs_review", "unknown_outcome", "rejected"} {
		m.Idempotency(ctx, o)
	}
	m.SupplierAttempt(ctx, "bts", "create_order", 1, 200, nil, time.Second)
	m.SupplierAttempt(ctx, "bts", "create_order", 1, 503, nil, time.Second)
	m.SupplierAttempt(ctx, "bts", "create_order", 1, 422, nil, time.Second)
	m.SupplierRetry(ctx, "bts", "tracking", 1, time.Second, "status_503")
	m.SupplierLimiterWait(ctx, "bts", time.Second)
	m.SupplierBreakerChange("bts", "closed", "open")
	m.StoreError(ctx, "claim")
	m.UnknownStatus(ctx, "bts")
	m.ObserveNeedsReview(func(context.Context) (int64, error) { return 1, nil })
	sm, err := stock.NewMetrics(tel.Meter("github.com/flowbridge/flowbridge/stock"))
	if err != nil {
		t.Fatal(err)
	}
	sm.Record(ctx, stock.Run{Status: stock.StatusOK, Trigger: "interval", Supplier: "bts", Applied: 3, Failed: 1, Finished: time.Now(), DurationMS: 1500})

	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	h := tel.HTTPMiddleware(mux)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/orders", nil))

	rdb := redistest.ClientFor(t, redistest.Start(t).URL())
	if err := tel.InstrumentRedis(rdb); err != nil {
		t.Fatal(err)
	}
	_ = rdb.Set(ctx, "k", "x", 0).Err()
	if err := rdb.Incr(ctx, "k").Err(); err == nil {
		t.Fatal("INCR of a string succeeded")
	}

	rec := httptest.NewRecorder()
	tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

var (
	selectorRE = regexp.MustCompile(`\b([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?`)
	matcherRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"`)
	byRE       = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	// Series Prometheus makes itself, not exported by flowbridge.
	synthetic = []string{"up"}
)

// family finds the metric family a series name belongs to (histogram
// series carry _bucket/_count/_sum).
func family(fams map[string]*dto.MetricFamily, name string) (*dto.MetricFamily, bool) {
	if f, ok := fams[name]; ok {
		return f, true
	}
	for _, suf := range []string{"_bucket", "_count", "_sum"} {
		if f, ok := fams[strings.TrimSuffix(name, suf)]; ok && strings.HasSuffix(name, suf) && f.GetType() == dto.MetricType_HISTOGRAM {
			return f, true
		}
	}
	return nil, false
}

func labelNames(f *dto.MetricFamily) map[string]bool {
	out := map[string]bool{"le": f.GetType() == dto.MetricType_HISTOGRAM}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			out[l.GetName()] = true
		}
	}
	return out
}

// checkExpr fails when expr names a flowbridge series or label that the
// exposition does not have. Prometheus adds job and instance at scrape.
func checkExpr(t *testing.T, where, expr string, fams map[string]*dto.MetricFamily) {
	t.Helper()
	var used []*dto.MetricFamily
	for _, sm := range selectorRE.FindAllStringSubmatch(expr, -1) {
		name := sm[1]
		if !strings.HasPrefix(name, "flowbridge_") && !slices.Contains(synthetic, name) {
			continue
		}
		if slices.Contains(synthetic, name) {
			continue
		}
		f, ok := family(fams, name)
		if !ok {
			t.Errorf("%s: %s is not in the /metrics exposition", where, name)
			continue
		}
		used = append(used, f)
		have := labelNames(f)
		for _, lm := range matcherRE.FindAllStringSubmatch(sm[2], -1) {
			if !have[lm[1]] && lm[1] != "job" && lm[1] != "instance" {
				t.Errorf("%s: %s has no label %q", where, name, lm[1])
			}
		}
	}
	for _, by := range byRE.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(by[1], ",") {
			l = strings.TrimSpace(l)
			if l == "" || l == "job" || l == "instance" {
				continue
			}
			found := false
			for _, f := range used {
				found = found || labelNames(f)[l]
			}
			if !found {
				t.Errorf("%s: aggregates by %q, which no series in the expression has", where, l)
			}
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert  string `json:"alert"`
			Expr   string `json:"expr"`
			Labels struct {
				Severity string `json:"severity"`
			} `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

func TestAlertsReferenceExportedMetrics(t *testing.T) {
	fams := exposition(t)
	raw, err := os.ReadFile("prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(raw, &rf); err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			checkExpr(t, r.Alert, r.Expr, fams)
			if r.Labels.Severity != "page" && r.Labels.Severity != "ticket" {
				t.Errorf("%s: severity %q, want page or ticket", r.Alert, r.Labels.Severity)
			}
			if !strings.HasPrefix(r.Annotations["runbook"], "docs/OPERATIONS.md#") {
				t.Errorf("%s: runbook annotation must point into docs/OPERATIONS.md", r.Alert)
			}
		}
	}
	for _, want := range []string{"FlowbridgeOrdersNeedReview", "FlowbridgeSupplierErrorRatioHigh", "FlowbridgeSupplierBreakerOpen",
		"FlowbridgeRequestLatencyNearFlowLimit", "FlowbridgeStoreErrors"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("alert %s missing", want)
		}
	}
	// The checker itself must be able to fail.
	bad := map[string]bool{}
	for _, name := range []string{"flowbridge_orders_need_review", "flowbridge_http_server_duration_seconds_bucket"} {
		_, ok := family(fams, name)
		bad[name] = ok
	}
	if bad["flowbridge_orders_need_review"] || !bad["flowbridge_http_server_duration_seconds_bucket"] {
		t.Errorf("family lookup is wrong: %v", bad)
	}
}

func TestDashboardReferencesExportedMetrics(t *testing.T) {
	fams := exposition(t)
	raw, err := os.ReadFile("grafana/flowbridge.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	if len(dash.Panels) < 6 {
		t.Fatalf("dashboard has %d panels", len(dash.Panels))
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			checkExpr(t, "panel "+p.Title, tg.Expr, fams)
		}
	}
}

// TestPromtool validates the rules and runs their unit tests. promtool
// comes from the Debian package "prometheus" (apt-get install -y
// prometheus); scripts that run the whole suite install it.
func TestPromtool(t *testing.T) {
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (apt-get install -y prometheus): %v", err)
	}
	for _, args := range [][]string{
		{"check", "rules", "prometheus/alerts.yaml"},
		{"test", "rules", "prometheus/alerts_test.yaml"},
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("promtool %v: %v", args, err)
		}
		if err != nil {
			t.Errorf("promtool %s failed:\n%s", strings.Join(args, " "), out)
		}
	}
}
