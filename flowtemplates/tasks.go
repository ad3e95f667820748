package flowtemplates

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Task types as Flow spells them.
const (
	TypeTrigger   = "TRIGGER"
	TypeAction    = "ACTION"
	TypeCondition = "CONDITION"
	TypeForEach   = "FOREACH"
	TypeWait      = "WAIT"
)

// Ports. Every link ends at PortInput.
const (
	PortInput    = "input"
	PortOutput   = "output"
	PortTrue     = "true"
	PortFalse    = "false"
	PortLoopBody = "loop_body"
	PortAfter    = "after"
)

// Fact says whether a value in the task table was seen in a Shopify source
// (or a real export), and where; a value no source shows is Assumed.
type Fact struct {
	Confirmed bool
	Source    string
}

// Sources cited by the table.
const (
	srcFlowSkill   = "Shopify/Shopify-AI-Toolkit skills/shopify-flow (special-tasks, building-workflows SKILL.md)"
	srcExport2024  = "a real 2024 .flow export (reference/flow.md §5.2; secondary)"
	srcOrderPaid   = "help.shopify.com …/shopify-flow/reference/triggers/order-paid (the trigger exists; its id is not shown)"
	srcThirdParty  = "a third-party workflow generator (reference/flow.md §5.2); no Shopify source"
	srcNoSource    = "no source shows it"
	srcHelpHTTP    = "help.shopify.com …/actions/send-http-request (fields) and the Flow skill (config ids)"
	srcHelpWait    = "task type WAIT: Flow skill; id and field ids: no source"
	srcNewerFields = "add_product_metafield@1.0 uses a `metafield` {namespace,key,type} object (reference/flow.md §5.2); add_order_metafield@0.1 keeps flat fields"
)

// ConfigField is one config_field_id a template sets on a task.
type ConfigField struct {
	ID   string
	Fact Fact
}

// Task describes one Flow task the templates use. This table is the only
// place task ids, versions and config field ids appear; each carries
// whether a source confirms it (docs/flow-templates.md lists them). A
// merchant whose export shows other ids overrides ID and Version
// (`flowbridge templates --task-id name=id@version`, Params.TaskIDs).
type Task struct {
	Name     string // the stable key used in code ("order_paid", "http", …)
	ID       string
	Version  string
	Type     string
	Label    string // the name in the Flow editor
	Variable string // base name of the variable the step adds ("" = none)
	IDFact   Fact
	// VersionFact is about Version; an override makes both facts "set by
	// the merchant".
	VersionFact Fact
	Fields      []ConfigField
}

// Confirmed reports whether the id, the version and every field are.
func (t Task) Confirmed() bool {
	if !t.IDFact.Confirmed || !t.VersionFact.Confirmed {
		return false
	}
	for _, f := range t.Fields {
		if !f.Fact.Confirmed {
			return false
		}
	}
	return true
}

func fields(f Fact, ids ...string) []ConfigField {
	out := make([]ConfigField, len(ids))
	for i, id := range ids {
		out[i] = ConfigField{ID: id, Fact: f}
	}
	return out
}

var (
	yes = func(src string) Fact { return Fact{Confirmed: true, Source: src} }
	no  = func(src string) Fact { return Fact{Source: src} }
)

// Tasks is a task table keyed by Task.Name.
type Tasks map[string]Task

// TaskTable returns the default task table, keyed by the stable names used
// in code: "order_paid", "http", "run_code", "condition", "wait",
// "metafield", "email", "admin_api", "foreach". It is built on each call
// (no package state) and is small.
func TaskTable() Tasks {
	list := []Task{
		{Name: "order_paid", ID: "shopify::admin::order_paid", Version: "0.1", Type: TypeTrigger, Label: "Order paid",
			IDFact: no("patterned on shopify::admin::order_created (Flow skill); " + srcOrderPaid), VersionFact: no(srcNoSource)},
		{Name: "http", ID: "shopify::flow::send_http_request", Version: "0.1", Type: TypeAction, Label: "Send HTTP request",
			Variable: "sendHttpRequest", IDFact: no(srcNoSource + " (reference/flow.md §1.2)"), VersionFact: no(srcNoSource),
			Fields: fields(yes(srcHelpHTTP), "method", "url", "headers", "body", "on_client_error", "on_server_error")},
		{Name: "run_code", ID: "shopify::flow::run_code", Version: "0.1", Type: TypeAction, Label: "Run code",
			Variable: "runCode", IDFact: yes(srcFlowSkill), VersionFact: no("the skill's Run code example shows no version"),
			Fields: fields(yes(srcFlowSkill), "input", "script", "output_schema")},
		{Name: "condition", ID: "shopify::flow::condition", Version: "0.1", Type: TypeCondition, Label: "Condition",
			IDFact: yes(srcFlowSkill), VersionFact: yes(srcFlowSkill), Fields: fields(yes(srcFlowSkill), "condition")},
		{Name: "wait", ID: "shopify::flow::wait", Version: "0.1", Type: TypeWait, Label: "Wait",
			IDFact: no(srcHelpWait), VersionFact: no(srcNoSource), Fields: fields(no(srcNoSource), "duration", "unit")},
		{Name: "metafield", ID: "shopify::admin::add_order_metafield", Version: "0.1", Type: TypeAction, Label: "Update order metafield",
			IDFact: yes(srcExport2024 + "; id also in the Flow skill's task list"), VersionFact: yes(srcExport2024 + "; " + srcNewerFields),
			Fields: fields(yes(srcExport2024), "order_id", "namespace", "key", "value", "value_type")},
		{Name: "email", ID: "shopify::flow::send_email", Version: "0.1", Type: TypeAction, Label: "Send internal email",
			IDFact: yes(srcFlowSkill), VersionFact: no(srcNoSource), Fields: fields(no(srcThirdParty), "address", "subject", "message")},
		{Name: "admin_api", ID: "shopify::admin::admin_api_operation", Version: "0.1", Type: TypeAction, Label: "Send Admin API request",
			Variable: "sendAdminApiRequest", IDFact: yes(srcFlowSkill), VersionFact: no("the skill's examples show no version"),
			Fields: fields(yes(srcFlowSkill+" (api_call = {\"name\",\"blob\"})"), "api_call")},
		{Name: "foreach", ID: "shopify::flow::foreach", Version: "0.1", Type: TypeForEach, Label: "For each",
			IDFact: yes(srcFlowSkill), VersionFact: yes(srcFlowSkill), Fields: fields(yes(srcFlowSkill), "listpath")},
	}
	out := make(Tasks, len(list))
	for _, t := range list {
		out[t.Name] = t
	}
	return out
}

// Get returns the task called name; an unknown name is a programming error.
func (ts Tasks) Get(name string) Task {
	t, ok := ts[name]
	if !ok {
		panic("flowtemplates: unknown task " + name) // programming error
	}
	return t
}

// ByID finds a task by its Flow id.
func (ts Tasks) ByID(id string) (Task, bool) {
	for _, t := range ts {
		if t.ID == id {
			return t, true
		}
	}
	return Task{}, false
}

// Names returns the table's names, sorted.
func (ts Tasks) Names() []string {
	names := make([]string, 0, len(ts))
	for n := range ts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TaskRef is an override: the id and (optionally) version an export shows.
type TaskRef struct {
	ID      string `json:"id"`
	Version string `json:"version,omitempty"`
}

// ParseTaskRef reads "id" or "id@version".
func ParseTaskRef(s string) (TaskRef, error) {
	id, version, _ := strings.Cut(strings.TrimSpace(s), "@")
	if !taskIDRE.MatchString(id) {
		return TaskRef{}, fmt.Errorf("task id %q is not of the form a::b[::c]", id)
	}
	if version != "" && !versionRE.MatchString(version) {
		return TaskRef{}, fmt.Errorf("task version %q is not of the form 0.1", version)
	}
	return TaskRef{ID: id, Version: version}, nil
}

var (
	taskIDRE  = regexp.MustCompile(`^[a-z0-9_]+(::[a-z0-9_]+)+$`)
	versionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)
)

// WithOverrides returns the table with refs applied (name → id@version).
func (ts Tasks) WithOverrides(refs map[string]TaskRef) (Tasks, error) {
	out := make(Tasks, len(ts))
	for k, v := range ts {
		out[k] = v
	}
	for name, ref := range refs {
		t, ok := out[name]
		if !ok {
			return nil, fmt.Errorf("no task %q in the table (names: %s)", name, strings.Join(ts.Names(), ", "))
		}
		t.ID, t.IDFact = ref.ID, Fact{Confirmed: true, Source: "set by the merchant (--task-id)"}
		if ref.Version != "" {
			t.Version, t.VersionFact = ref.Version, Fact{Confirmed: true, Source: "set by the merchant (--task-id)"}
		}
		out[name] = t
	}
	return out, nil
}

// StepVariables names the variable each step adds to the workflow
// environment, following Flow's rule: the camelCased step name, then "1",
// "2", … for further steps of the same kind, counted in step order.
// (Whether Flow counts in creation or graph order is not documented; the
// generator creates steps in graph order, so both agree here.)
func StepVariables(w Workflow, ts Tasks) map[StepID]string {
	out := map[StepID]string{}
	seen := map[string]int{}
	for _, s := range w.Root.Steps {
		t, ok := ts.ByID(s.TaskID)
		if !ok || t.Variable == "" {
			continue
		}
		n := seen[t.Variable]
		seen[t.Variable] = n + 1
		name := t.Variable
		if n > 0 {
			name += strconv.Itoa(n)
		}
		out[s.StepID] = name
	}
	return out
}

// CamelHandle turns a metafield handle (snake_case key) into the name Flow
// exposes it under: supplier_order_id → supplierOrderId.
func CamelHandle(h string) string {
	var b []byte
	up := false
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c == '_' || c == '-' {
			up = len(b) > 0
			continue
		}
		if up && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up = false
		b = append(b, c)
	}
	return string(b)
}
