package flowsim

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/flowtemplates"
	"github.com/flowbridge/flowbridge/problem"
)

// tiny builds a workflow by hand: steps in order, links as
// "from:port>to".
func tiny(steps []flowtemplates.Step, links ...string) flowtemplates.Workflow {
	w := flowtemplates.Workflow{Root: flowtemplates.Root{Steps: steps,
		PatchedFields: []flowtemplates.PatchedField{{Field: "metafield", Arguments: map[string]string{"namespace": "fb", "key": "supplier_order_id"},
			Handle: "supplier_order_id", PatchedType: "ORDER", MerchantConfigured: true}}}}
	for _, l := range links {
		from, rest, _ := strings.Cut(l, ":")
		port, to, _ := strings.Cut(rest, ">")
		w.Root.Links = append(w.Root.Links, flowtemplates.Link{FromStepID: flowtemplates.StepID(from), FromPortID: port,
			ToStepID: flowtemplates.StepID(to), ToPortID: "input"})
	}
	return w
}

func step(id, task string, cfg ...string) flowtemplates.Step {
	t := flowtemplates.TaskTable()[task]
	s := flowtemplates.Step{StepID: flowtemplates.StepID(id), TaskID: t.ID, TaskVersion: t.Version, TaskType: t.Type}
	for i := 0; i+1 < len(cfg); i += 2 {
		s.ConfigFieldValues = append(s.ConfigFieldValues, flowtemplates.ConfigValue{ConfigFieldID: cfg[i], Value: cfg[i+1]})
	}
	return s
}

func TestEngineForEachAndMetafieldRefresh(t *testing.T) {
	w := tiny([]flowtemplates.Step{
		step("t", "order_paid"),
		step("fe", "foreach", "listpath", "order.lineItems"),
		step("mail", "email", "address", "a@x.example", "subject", "line {{ lineItemsForeachitem.sku }}", "message", "-"),
		step("mf", "metafield", "namespace", "fb", "key", "supplier_order_id", "value", "N-1", "value_type", "single_line_text_field"),
		step("before", "email", "address", "a@x.example", "subject", "before wait: [{{ order.supplierOrderId.value }}]", "message", "-"),
		step("wait", "wait", "duration", "2", "unit", "hours"),
		step("after", "email", "address", "a@x.example", "subject", "after wait: [{{ order.supplierOrderId.value }}]", "message", "-"),
	}, "t:output>fe", "fe:loop_body>mail", "fe:after>mf", "mf:output>before", "before:output>wait", "wait:output>after")
	defs := []flowtemplates.Metafield{{Namespace: "fb", Key: "supplier_order_id"}}
	if issues := Lint(w, defs); len(issues) != 0 {
		t.Fatalf("lint: %s", Summary(issues))
	}
	clock := NewVirtualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	store := &Store{Order: map[string]any{"id": "gid://shopify/Order/1", "lineItems": []any{
		map[string]any{"sku": "A"}, map[string]any{"sku": "B"}}}}
	res, err := New(Options{Clock: clock, Definitions: defs}).Run(context.Background(), w, store)
	if err != nil || res.Failed {
		t.Fatalf("%v %s", err, res.Reason)
	}
	var subjects []string
	for _, e := range store.Emails {
		subjects = append(subjects, e.Subject)
	}
	want := []string{"line A", "line B", "before wait: []", "after wait: [N-1]"}
	if strings.Join(subjects, "|") != strings.Join(want, "|") {
		t.Errorf("subjects = %q, want %q (metafields are re-read only after a Wait)", subjects, want)
	}
	if clock.Now().Hour() != 2 {
		t.Errorf("clock = %s", clock.Now())
	}
}

func TestEngineFailuresStopTheRun(t *testing.T) {
	defs := []flowtemplates.Metafield{{Namespace: "fb", Key: "supplier_order_id"}}
	tests := []struct {
		name string
		bad  flowtemplates.Step
		want string
	}{
		{"undefined metafield", step("bad", "metafield", "namespace", "FB", "key", "supplier_order_id", "value", "x"), "no definition"},
		{"run code schema", step("bad", "run_code", "input", "query { order { id } }",
			"script", "export default function main(input) { return { n: 'x' }; }", "output_schema", "type Output { n: Int! }"), "must be Int!"},
		{"bad admin blob", step("bad", "admin_api", "api_call", `{"name":"fulfillmentCreate","blob":"{ not json"}`), "not valid JSON"},
		{"liquid error", step("bad", "email", "address", "a@x.example", "subject", "{{ order.id | nope }}", "message", "-"), "liquid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tiny([]flowtemplates.Step{step("t", "order_paid"), tt.bad,
				step("next", "email", "address", "a@x.example", "subject", "should not be sent", "message", "-")},
				"t:output>bad", "bad:output>next")
			store := &Store{Order: map[string]any{"id": "gid://shopify/Order/1"}}
			res, err := New(Options{Definitions: defs}).Run(context.Background(), w, store)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Failed || !strings.Contains(res.Reason, tt.want) {
				t.Errorf("failed=%v reason=%q, want %q", res.Failed, res.Reason, tt.want)
			}
			if len(store.Emails) != 0 {
				t.Error("the run went on after a failed step")
			}
		})
	}
}

func TestCommandRefusals(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cyclic := write("cyclic.json", `{"__metadata":{"version":0.1},"root":{"workflow_name":"x","patched_fields":[],
 "steps":[{"step_id":1,"task_id":"shopify::admin::order_paid","task_version":"0.1","task_type":"TRIGGER","config_field_values":[]},
          {"step_id":2,"task_id":"shopify::flow::wait","task_version":"0.1","task_type":"WAIT","config_field_values":[{"config_field_id":"duration","value":"1"},{"config_field_id":"unit","value":"days"}]}],
 "links":[{"from_step_id":1,"from_port_id":"output","to_step_id":2,"to_port_id":"input"},
          {"from_step_id":2,"from_port_id":"output","to_step_id":2,"to_port_id":"input"}]}}`)
	order := filepath.Join("testdata", "order.json")
	badOrder := write("bad.json", `{"id":"5550001"}`)
	tests := []struct {
		args []string
		code string
	}{
		{[]string{"--order", order}, "invalid_arguments"},
		{[]string{"--workflow", cyclic, "--order", badOrder}, "invalid_order_fixture"},
		{[]string{"--workflow", cyclic, "--order", order}, "lint_failed"},
		{[]string{"--workflow", write("empty.json", `{}`), "--order", order}, "invalid_workflow"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		err := Command(context.Background(), tt.args, &out, &errb)
		if !problem.Is(err, tt.code) {
			t.Errorf("%v: err = %v, want %s", tt.args, err, tt.code)
		}
	}
}
