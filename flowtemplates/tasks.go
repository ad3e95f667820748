package flowtemplates

import "strconv"

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

// Task describes one Flow task the templates use. This table is the only
// place task ids appear; Confirmed says whether the id was seen in a
// Shopify source or in a real export (see docs/flow-templates.md).
type Task struct {
	ID        string
	Version   string
	Type      string
	Label     string // the name in the Flow editor
	Variable  string // base name of the variable the step adds ("" = none)
	Confirmed bool
	Source    string
}

// TaskTable returns the task table, keyed by the stable names used in code:
// "order_paid", "http", "run_code", "condition", "wait", "metafield",
// "email", "admin_api", "foreach". It is built on each call (no package
// state) and is small.
func TaskTable() map[string]Task {
	return map[string]Task{
		"order_paid": {ID: "shopify::admin::order_paid", Version: "0.1", Type: TypeTrigger,
			Label: "Order paid", Confirmed: false,
			Source: "trigger exists (help centre 'Order paid'); id guessed from shopify::admin::order_created"},
		"http": {ID: "shopify::flow::send_http_request", Version: "0.1", Type: TypeAction,
			Label: "Send HTTP request", Variable: "sendHttpRequest", Confirmed: false,
			Source: "config fields method/url/headers/body/on_client_error/on_server_error confirmed (Shopify Flow skill); id guessed"},
		"run_code": {ID: "shopify::flow::run_code", Version: "0.1", Type: TypeAction,
			Label: "Run code", Variable: "runCode", Confirmed: true,
			Source: "Shopify Flow skill (special-tasks)"},
		"condition": {ID: "shopify::flow::condition", Version: "0.1", Type: TypeCondition,
			Label: "Condition", Confirmed: true, Source: "Shopify Flow skill; real exports"},
		"wait": {ID: "shopify::flow::wait", Version: "0.1", Type: TypeWait,
			Label: "Wait", Confirmed: false,
			Source: "task type WAIT confirmed; id and config field names (duration, unit) guessed"},
		"metafield": {ID: "shopify::admin::add_order_metafield", Version: "0.1", Type: TypeAction,
			Label: "Update order metafield", Confirmed: true,
			Source: "real export (fields order_id, namespace, key, value, value_type)"},
		"email": {ID: "shopify::flow::send_email", Version: "0.1", Type: TypeAction,
			Label: "Send internal email", Confirmed: true,
			Source: "Shopify Flow skill; field names address/subject/message from a third-party generator"},
		"admin_api": {ID: "shopify::admin::admin_api_operation", Version: "0.1", Type: TypeAction,
			Label: "Send Admin API request", Variable: "sendAdminApiRequest", Confirmed: true,
			Source: "Shopify Flow skill (api_call = {name, blob})"},
		"foreach": {ID: "shopify::flow::foreach", Version: "0.1", Type: TypeForEach,
			Label: "For each", Confirmed: true, Source: "Shopify Flow skill (listpath)"},
	}
}

func task(name string) Task {
	t, ok := TaskTable()[name]
	if !ok {
		panic("flowtemplates: unknown task " + name) // programming error
	}
	return t
}

// TaskByID finds a task of the table by its Flow id.
func TaskByID(id string) (Task, bool) {
	for _, t := range TaskTable() {
		if t.ID == id {
			return t, true
		}
	}
	return Task{}, false
}

// StepVariables names the variable each step adds to the workflow
// environment, following Flow's rule: the camelCased step name, then "1",
// "2", … for further steps of the same kind, counted in step order.
// (Whether Flow counts in creation or graph order is not documented; the
// generator creates steps in graph order, so both agree here.)
func StepVariables(w Workflow) map[StepID]string {
	out := map[StepID]string{}
	seen := map[string]int{}
	for _, s := range w.Root.Steps {
		t, ok := TaskByID(s.TaskID)
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
