package flowtemplates

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// StockSyncName is the name of the generated stock sync workflow.
const StockSyncName = "flowbridge: stock sync on a schedule"

// StockSyncFile is where the stock sync workflow is generated.
const StockSyncFile = "workflows/flowbridge-stock-sync/workflow.flow.json"

// BuildStockSync returns the stock sync workflow: a Scheduled time trigger
// calls POST /stock/sync (202 at once; the run is reported by GET
// /admin/stock), a Run code step reads the answer and a Condition sends an
// internal alert when flowbridge refused the call. 429/5xx are re-sent by
// Flow (Retry); a re-send while a run is going answers 202
// already_running, so it starts nothing twice.
func BuildStockSync(p Params) (Workflow, error) {
	if err := p.Validate(); err != nil {
		return Workflow{}, err
	}
	if p.StockRecurrence == "" {
		return Workflow{}, errors.New("flowtemplates: no stock recurrence set")
	}
	tasks, err := p.Tasks()
	if err != nil {
		return Workflow{}, err
	}
	rec, _ := json.Marshal([]string{p.StockRecurrence}) // []string always marshals
	b := newBuilder(StockSyncName, tasks)
	trigger, _ := b.add("trigger", "scheduled", 0, 0, "Scheduled time: "+recurrenceText(p.StockRecurrence), "recurrence", string(rec))
	req, hv := b.add("sync.request", "http", 1, 0, "Start a stock sync (POST /stock/sync)",
		httpStep("POST", strings.TrimRight(p.BaseURL, "/")+"/stock/sync", headersJSON(p, true), "{}")...)
	b.link(trigger, PortOutput, req)
	rc := stockSyncParser(hv)
	parse, sv := b.add("sync.parse", "run_code", 2, 0, "Read the stock sync answer",
		"input", rc.Input, "script", rc.Script, "output_schema", rc.Output)
	b.link(req, PortOutput, parse)
	ok, _ := b.add("sync.ok", "condition", 3, 0, "Stock sync accepted?", "condition", "("+sv+".accepted == true)")
	b.link(parse, PortOutput, ok)
	subj, msg := stockSyncRefusedEmail(sv)
	alert, _ := b.add("sync.alert", "email", 4, 1, "Alert: stock sync refused", emailStep(p, subj, msg)...)
	b.link(ok, PortFalse, alert)
	return b.w, nil
}

func stockSyncParser(httpVar string) runCode {
	return runCode{
		Input: fmt.Sprintf("query {\n  %s {\n    status\n    body\n  }\n}\n", httpVar),
		Script: parseHelper + fmt.Sprintf(`
export default function main(input) {
  const r = parseBody(input.%s);
  // 202 started or already_running: a run is under way either way.
  if (r.status === 202 && r.parsed && (r.body.state === "started" || r.body.state === "already_running")) {
    return { accepted: true, state: str(r.body.state), runId: str(r.body.run_id), code: "", detail: "" };
  }
  const f = failure(r);
  return { accepted: false, state: "", runId: "", code: f.code, detail: f.detail };
}
`, httpVar),
		Output: `type Output {
  "flowbridge started a run, or one was already running"
  accepted: Boolean!
  "started or already_running"
  state: String!
  runId: String!
  "why it was refused (unauthorized, stock_sync_not_configured, ...)"
  code: String!
  detail: String!
}
`,
	}
}

func stockSyncRefusedEmail(sv string) (subject, message string) {
	return "flowbridge: stock sync refused ({{ " + sv + ".code }})",
		`The scheduled stock sync was not started, so Shopify stock is not following the supplier's.

Reason: {{ ` + sv + `.code }}
Detail: {{ ` + sv + `.detail }}

Check the Flow secret (a Flow API key of FLOWBRIDGE_API_KEYS) and the SHOPIFY_* settings; ` +
			"`flowbridge stock status` shows the last runs."
}

var (
	recurrenceRE = regexp.MustCompile(`^DTSTART;TZID=[A-Za-z0-9_+/-]+:\d{8}T\d{6}\nRRULE:(.+)$`)
	freqMinRE    = regexp.MustCompile(`(^|;)FREQ=MINUTELY(;|$)`)
	intervalRE   = regexp.MustCompile(`(^|;)INTERVAL=(\d+)(;|$)`)
)

// checkRecurrence applies the Scheduled time trigger's documented format
// and its 10-minute minimum interval.
func checkRecurrence(s string) error {
	m := recurrenceRE.FindStringSubmatch(s)
	if m == nil {
		return errors.New(`must be "DTSTART;TZID=<IANA zone>:<YYYYMMDDTHHMMSS>\nRRULE:<rule>"`)
	}
	rule := m[1]
	if !strings.Contains(rule, "FREQ=") {
		return errors.New("RRULE needs a FREQ")
	}
	if freqMinRE.MatchString(rule) {
		n := 1
		if im := intervalRE.FindStringSubmatch(rule); im != nil {
			n, _ = strconv.Atoi(im[2])
		}
		if n < 10 {
			return errors.New("the Scheduled time trigger runs at most every 10 minutes")
		}
	}
	return nil
}

// recurrenceText is the rule part, for titles and the guide.
func recurrenceText(s string) string {
	if _, rule, ok := strings.Cut(s, "RRULE:"); ok {
		return rule
	}
	return s
}
