package flowtemplates

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/problem"
)

var update = flag.Bool("update", false, "rewrite flowtemplates/generated from the generator")

// TestGeneratedUpToDate fails when the committed default outputs drift from
// the generator. Refresh with: go test ./flowtemplates -run Generated -update
func TestGeneratedUpToDate(t *testing.T) {
	files, err := committedFiles()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.RemoveAll("generated"); err != nil {
			t.Fatal(err)
		}
		if err := WriteFiles("generated", files); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{}
	for _, f := range files {
		want[filepath.FromSlash(f.Name)] = true
		got, err := os.ReadFile(filepath.Join("generated", filepath.FromSlash(f.Name)))
		if err != nil {
			t.Fatalf("%s missing (run go test ./flowtemplates -run Generated -update): %v", f.Name, err)
		}
		if !bytes.Equal(got, f.Data) {
			t.Errorf("generated/%s drifted from the generator; run go test ./flowtemplates -run Generated -update", f.Name)
		}
	}
	err = filepath.WalkDir("generated", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel("generated", path)
		if !want[rel] {
			t.Errorf("generated/%s is not produced by the generator any more", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// committedFiles is what flowtemplates/generated holds: the default mode at
// the top, the other mode under fulfil-by-<mode>/.
func committedFiles() ([]File, error) {
	d := Defaults()
	files, err := Generate(d)
	if err != nil {
		return nil, err
	}
	other := d
	other.FulfilBy = FulfilByFlow
	if d.FulfilBy == FulfilByFlow {
		other.FulfilBy = FulfilByFlowbridge
	}
	more, err := Generate(other)
	if err != nil {
		return nil, err
	}
	for _, f := range more {
		if f.Name == StockSyncFile {
			continue // does not depend on the fulfilment mode: kept once, at the top
		}
		files = append(files, File{Name: "fulfil-by-" + other.FulfilBy + "/" + f.Name, Data: f.Data})
	}
	return files, nil
}

func countTasks(w Workflow) map[string]int {
	n := map[string]int{}
	for _, s := range w.Root.Steps {
		n[s.TaskID]++
	}
	return n
}

func TestBuildShape(t *testing.T) {
	table := TaskTable()
	tests := []struct {
		name        string
		mod         func(*Params)
		waits       int
		runCodes    int
		conditions  int
		emails      int
		fulfilments int
		forEach     int
	}{
		// Stage 1: rates ok, orders ok, partial placement (3 conditions);
		// alerts for rates, placement, partial placement (3 emails).
		// Flow fulfils: per check a parse, five conditions (shipped, partly
		// cancelled, not fulfilled, any open, cancelled), a For each over
		// locations with one Admin API request, three alerts (partly
		// cancelled, no open FO, cancelled).
		{name: "fulfil by flow", mod: func(p *Params) { p.FulfilBy = FulfilByFlow },
			waits: 7, runCodes: 2 + 7, conditions: 3 + 7*5, emails: 3 + 7*3 + 1, fulfilments: 7, forEach: 7},
		{name: "fulfil by flow, hold and three checks", mod: func(p *Params) {
			p.FulfilBy = FulfilByFlow
			p.Hold = 2 * time.Hour
			p.Schedule = []time.Duration{time.Hour, 2 * time.Hour, 3 * time.Hour}
		}, waits: 4, runCodes: 2 + 3, conditions: 5 + 3*5, emails: 4 + 3*3 + 1, fulfilments: 3, forEach: 3},
		// flowbridge fulfils: per check one short parse, three conditions
		// (done, partly cancelled, waiting), two alerts; no Admin API request.
		{name: "fulfil by flowbridge", mod: func(p *Params) { p.FulfilBy = FulfilByFlowbridge },
			waits: 7, runCodes: 2 + 7, conditions: 3 + 7*3, emails: 3 + 7*2 + 1},
		// Reading only the status, a check cannot see partly_cancelled.
		{name: "fulfil by flowbridge, branch on status", mod: func(p *Params) { p.FulfilBy = FulfilByFlowbridge; p.BranchOnStatus = true },
			waits: 7, runCodes: 2, conditions: 3 + 7*2, emails: 3 + 7 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Defaults()
			tt.mod(&p)
			w, err := Build(p)
			if err != nil {
				t.Fatal(err)
			}
			n := countTasks(w)
			check := func(task string, want int) {
				if got := n[table[task].ID]; got != want {
					t.Errorf("%s steps = %d, want %d", task, got, want)
				}
			}
			check("wait", tt.waits)
			check("run_code", tt.runCodes)
			check("condition", tt.conditions)
			check("email", tt.emails)
			check("admin_api", tt.fulfilments)
			check("foreach", tt.forEach)
			check("order_paid", 1)
			// every link joins existing steps, ends at "input", uses a valid port
			ids := map[StepID]Step{}
			for _, s := range w.Root.Steps {
				if _, dup := ids[s.StepID]; dup {
					t.Fatalf("duplicate step id %s", s.StepID)
				}
				ids[s.StepID] = s
			}
			for _, l := range w.Root.Links {
				from, ok1 := ids[l.FromStepID]
				_, ok2 := ids[l.ToStepID]
				if !ok1 || !ok2 || l.ToPortID != PortInput {
					t.Fatalf("bad link %+v", l)
				}
				if from.TaskType == TypeCondition && l.FromPortID != PortTrue && l.FromPortID != PortFalse {
					t.Fatalf("condition link from port %q", l.FromPortID)
				}
			}
			for _, s := range w.Root.Steps {
				for _, c := range s.ConfigFieldValues {
					if strings.Contains(c.Value, "fulfillmentCreateV2") {
						t.Fatal("uses the deprecated fulfillmentCreateV2")
					}
				}
			}
		})
	}
}

func TestBuildContents(t *testing.T) {
	p := Defaults()
	p.FulfilBy = FulfilByFlow
	p.BaseURL = "https://svc.example.org/fb/"
	p.SecretName = "MY_KEY"
	p.Namespace = "shopx"
	p.SupplierOrderKey = "wholesale_no"
	p.Carriers = []string{"SEUR"}
	w, err := Build(p)
	if err != nil {
		t.Fatal(err)
	}
	vars := StepVariables(w, TaskTable())
	var urls, bodies, headers []string
	var apiCalls []string
	for _, s := range w.Root.Steps {
		switch s.TaskID {
		case TaskTable()["http"].ID:
			u, _ := s.Config("url")
			urls = append(urls, u)
			b, _ := s.Config("body")
			bodies = append(bodies, b)
			h, _ := s.Config("headers")
			headers = append(headers, h)
			if v, _ := s.Config("on_client_error"); v != "ignore" {
				t.Errorf("on_client_error = %q", v)
			}
			if v, _ := s.Config("on_server_error"); v != "retry" {
				t.Errorf("on_server_error = %q", v)
			}
		case TaskTable()["admin_api"].ID:
			a, _ := s.Config("api_call")
			apiCalls = append(apiCalls, a)
		}
	}
	if urls[0] != "https://svc.example.org/fb/rates" || urls[1] != "https://svc.example.org/fb/orders" ||
		urls[2] != "https://svc.example.org/fb/tracking/{{ order.wholesaleNo.value | url_encode }}" {
		t.Fatalf("urls = %q", urls[:3])
	}
	for _, h := range headers {
		var pairs [][2]string
		if err := json.Unmarshal([]byte(h), &pairs); err != nil {
			t.Fatalf("headers not a JSON array of pairs: %v", err)
		}
		if !strings.Contains(h, `"Authorization","Bearer {{ secrets.MY_KEY }}"`) {
			t.Errorf("headers lack the bearer secret: %s", h)
		}
	}
	if !strings.Contains(bodies[0], `"preferred_carriers": ["SEUR"]`) {
		t.Errorf("rates body lacks carriers: %s", bodies[0])
	}
	if !strings.Contains(bodies[1], `"supplier_order_id": {{ order.wholesaleNo.value | json }}`) {
		t.Errorf("orders body lacks the metafield guard: %s", bodies[1])
	}
	// every {{ … }} output in a body is escaped with | json
	for _, b := range bodies[:2] {
		for _, out := range strings.Split(b, "{{")[1:] {
			expr := out[:strings.Index(out, "}}")]
			if !strings.Contains(expr, "| json") {
				t.Errorf("unescaped Liquid output {{%s}}", expr)
			}
		}
	}
	var call struct{ Name, Blob string }
	if err := json.Unmarshal([]byte(apiCalls[0]), &call); err != nil || call.Name != "fulfillmentCreate" {
		t.Fatalf("api_call = %s (%v)", apiCalls[0], err)
	}
	// Fault 2: the Mutation inputs are one value the Run code step
	// prepared (no Liquid filter inside the Admin API request).
	if call.Blob != "{{ fulfillmentsForeachitem.input }}" || strings.Contains(call.Blob, "| json") {
		t.Errorf("fulfilment blob: %s", call.Blob)
	}
	var each Step
	for _, s := range w.Root.Steps {
		if s.TaskType == TypeForEach {
			each = s
			break
		}
	}
	if lp, _ := each.Config("listpath"); lp != "runCode2.fulfillments" {
		t.Errorf("For each listpath = %q", lp)
	}
	if got := len(w.Root.PatchedFields); got != 2 || w.Root.PatchedFields[1].Arguments["namespace"] != "shopx" {
		t.Errorf("patched fields = %+v", w.Root.PatchedFields)
	}
	names := map[string]bool{}
	for _, v := range vars {
		names[v] = true
	}
	for _, v := range []string{"sendHttpRequest", "sendHttpRequest8", "runCode", "runCode8", "sendAdminApiRequest6"} {
		if !names[v] {
			t.Errorf("variable %s missing from %v", v, names)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*Params)
		pointer string
	}{
		{"relative url", func(p *Params) { p.BaseURL = "/x" }, "/base_url"},
		{"secret with space", func(p *Params) { p.SecretName = "MY KEY" }, "/secret_name"},
		{"upper-case namespace", func(p *Params) { p.Namespace = "FlowBridge" }, "/namespace"},
		{"no checks", func(p *Params) { p.Schedule = nil }, "/schedule"},
		{"over 90 days", func(p *Params) { p.Schedule = []time.Duration{60 * 24 * time.Hour, 31 * 24 * time.Hour} }, "/schedule"},
		{"hold pushes over 90 days", func(p *Params) { p.Hold = 82 * 24 * time.Hour }, "/schedule"},
		{"no alert", func(p *Params) { p.AlertEmails = nil }, "/alert_emails"},
		{"bad alert", func(p *Params) { p.AlertEmails = []string{"Ops <ops@x.com>"} }, "/alert_emails/0"},
		{"same keys", func(p *Params) { p.SupplierOrderKey = p.ShippingCostKey }, "/supplier_order_key"},
	}
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Defaults()
			tt.mod(&p)
			err := p.Validate()
			pe := problem.From(err)
			if pe == nil || pe.Kind != problem.Invalid {
				t.Fatalf("err = %v", err)
			}
			found := false
			for _, f := range pe.Fields {
				found = found || f.Pointer == tt.pointer
			}
			if !found {
				t.Errorf("fields %+v lack %s", pe.Fields, tt.pointer)
			}
		})
	}
}

func TestWaitRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{90 * time.Second, 6 * time.Hour, 48 * time.Hour, 36 * time.Hour, 15 * time.Minute} {
		s := Step{StepID: "w"}
		cfg := waitConfig(d)
		for i := 0; i < len(cfg); i += 2 {
			s.ConfigFieldValues = append(s.ConfigFieldValues, ConfigValue{cfg[i], cfg[i+1]})
		}
		got, err := WaitDuration(s)
		if err != nil || got != d {
			t.Errorf("%s → %v → %s, %v", d, cfg, got, err)
		}
	}
}

func TestCommand(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	err := Command(context.Background(), []string{"--out", dir, "--base-url", "https://x.example", "--schedule", "1d,6h,2d",
		"--alert-email", "a@x.example, b@x.example", "--namespace", "shop_fb", "--hold", "1h"}, &out, &errb)
	if err != nil {
		t.Fatalf("%v %s", err, errb.String())
	}
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(WorkflowFile)))
	if err != nil {
		t.Fatal(err)
	}
	w, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if n := countTasks(w)[TaskTable()["wait"].ID]; n != 4 {
		t.Errorf("waits = %d, want 4 (hold + 3 checks)", n)
	}
	if !strings.Contains(string(data), "a@x.example,b@x.example") {
		t.Error("alert recipients not written")
	}
	if err := Command(context.Background(), []string{"--out", dir, "--schedule", "soon"}, &out, &errb); !problem.Is(err, "invalid_arguments") {
		t.Errorf("bad schedule: err = %v", err)
	}
	if err := Command(context.Background(), nil, &out, &errb); !problem.Is(err, "invalid_arguments") {
		t.Errorf("missing --out: err = %v", err)
	}
}

func TestParseFlowExport(t *testing.T) {
	files, _ := Generate(Defaults())
	compact := new(bytes.Buffer)
	if err := json.Compact(compact, files[0].Data); err != nil {
		t.Fatal(err)
	}
	exported := append([]byte(strings.Repeat("ab", 32)+":"), compact.Bytes()...)
	w, err := Parse(exported)
	if err != nil || w.Root.WorkflowName != WorkflowName {
		t.Fatalf("parse .flow-shaped: %v", err)
	}
	if _, err := Parse([]byte(`{"root":{"steps":[{"step_id":1,"task_id":"x"}]}}`)); err != nil {
		t.Errorf("integer step ids: %v", err)
	}
}

// Fault 5: every task id comes from one table, a merchant can override
// entries from the command line or a file, and the guide says which are
// confirmed and how to read the real ones from an export.
func TestTaskIDOverrides(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ids.json")
	if err := os.WriteFile(file, []byte(`{"wait": "shopify::flow::delay@1.0", "http": "shopify::flow::http_request"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	err := Command(context.Background(), []string{"--out", dir, "--task-ids", file,
		"--task-id", "order_paid=shopify::admin::order_transaction_paid@0.2", "--task-id", "http=shopify::flow::send_http@0.3"}, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(WorkflowFile)))
	if err != nil {
		t.Fatal(err)
	}
	w, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	n := countTasks(w)
	if n["shopify::admin::order_transaction_paid"] != 1 || n["shopify::flow::delay"] != 7 || n["shopify::flow::send_http"] == 0 ||
		n["shopify::admin::order_paid"] != 0 || n["shopify::flow::wait"] != 0 || n["shopify::flow::http_request"] != 0 {
		t.Fatalf("task ids after override: %v", n)
	}
	for _, s := range w.Root.Steps {
		if s.TaskID == "shopify::flow::delay" && s.TaskVersion != "1.0" {
			t.Fatalf("wait version %s", s.TaskVersion)
		}
	}
	guide, _ := os.ReadFile(filepath.Join(dir, GuideFile))
	for _, want := range []string{"`shopify::flow::delay` (confirmed)", "set by the merchant", "Reading the real ids from an exported workflow",
		"`shopify::flow::condition` (confirmed)", "`address` (**assumed**)"} {
		if !bytes.Contains(guide, []byte(want)) {
			t.Errorf("guide lacks %q", want)
		}
	}
	for _, bad := range [][]string{{"--task-id", "nosuch=shopify::x::y"}, {"--task-id", "wait=not an id"}, {"--task-id", "wait"}} {
		err := Command(context.Background(), append([]string{"--out", dir}, bad...), &out, &errb)
		var pe *problem.Error
		if !errors.As(err, &pe) || pe.Kind != problem.Invalid {
			t.Errorf("%v: err = %v, want an invalid-arguments problem", bad, err)
		}
	}
	// Defaults: the ids no Shopify source shows are marked assumed.
	tt := TaskTable()
	for _, name := range []string{"order_paid", "http", "wait"} {
		if tt[name].IDFact.Confirmed {
			t.Errorf("%s marked confirmed", name)
		}
	}
	for _, name := range []string{"run_code", "condition", "metafield", "admin_api", "foreach", "email"} {
		if !tt[name].IDFact.Confirmed || tt[name].IDFact.Source == "" {
			t.Errorf("%s id not confirmed with a source", name)
		}
	}
}
