package flowtemplates

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Workflow is Shopify Flow's workflow JSON (the shape exported inside .flow
// files and accepted by Shopify's workflows-as-code path).
type Workflow struct {
	Metadata Metadata `json:"__metadata"`
	Root     Root     `json:"root"`
}

// Metadata is the file header; version is 0.1 in every known export.
type Metadata struct {
	Version float64 `json:"version"`
}

// Root holds the graph.
type Root struct {
	Steps         []Step         `json:"steps"`
	Links         []Link         `json:"links"`
	PatchedFields []PatchedField `json:"patched_fields"`
	WorkflowName  string         `json:"workflow_name"`
}

// StepID is a step's id. Exports use UUID strings; Shopify's API also
// accepts small integers, so both decode.
type StepID string

// UnmarshalJSON accepts a JSON string or number.
func (s *StepID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = StepID(v)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("step id: %w", err)
	}
	if _, err := strconv.ParseInt(string(n), 10, 64); err != nil {
		return fmt.Errorf("step id %s is not an integer", n)
	}
	*s = StepID(n)
	return nil
}

// Step is one node of the workflow graph.
type Step struct {
	StepID            StepID        `json:"step_id"`
	StepPosition      [2]int        `json:"step_position"`
	ConfigFieldValues []ConfigValue `json:"config_field_values"`
	TaskID            string        `json:"task_id"`
	TaskVersion       string        `json:"task_version"`
	TaskType          string        `json:"task_type"`
	Description       *string       `json:"description"`
	Note              *string       `json:"note"`
	Name              *string       `json:"name"`
}

// Config returns the value of a config field and whether it is present.
func (s Step) Config(id string) (string, bool) {
	for _, c := range s.ConfigFieldValues {
		if c.ConfigFieldID == id {
			return c.Value, true
		}
	}
	return "", false
}

// Title is the step's description, or its task id when it has none.
func (s Step) Title() string {
	if s.Description != nil && *s.Description != "" {
		return *s.Description
	}
	return s.TaskID
}

// ConfigValue is one configured field. Flow stores every value as a
// string, even when the string holds JSON.
type ConfigValue struct {
	ConfigFieldID string `json:"config_field_id"`
	Value         string `json:"value"`
}

// Link joins an output port of one step to the input of another.
type Link struct {
	FromStepID StepID `json:"from_step_id"`
	FromPortID string `json:"from_port_id"`
	ToStepID   StepID `json:"to_step_id"`
	ToPortID   string `json:"to_port_id"`
}

// PatchedField exposes a field with arguments (here: an order metafield)
// as a workflow variable: {{ order.<camelCase handle>.value }}.
type PatchedField struct {
	Field              string            `json:"field"`
	Arguments          map[string]string `json:"arguments"`
	Handle             string            `json:"handle"`
	PatchedType        string            `json:"patched_type"`
	MerchantConfigured bool              `json:"merchant_configured"`
}

// Step returns the step with the given id.
func (w Workflow) Step(id StepID) (Step, bool) {
	for _, s := range w.Root.Steps {
		if s.StepID == id {
			return s, true
		}
	}
	return Step{}, false
}

// Next returns the step linked from port of step id, if any.
func (w Workflow) Next(id StepID, port string) (StepID, bool) {
	for _, l := range w.Root.Links {
		if l.FromStepID == id && l.FromPortID == port {
			return l.ToStepID, true
		}
	}
	return "", false
}

// Triggers returns the trigger steps.
func (w Workflow) Triggers() []Step {
	var out []Step
	for _, s := range w.Root.Steps {
		if s.TaskType == TypeTrigger {
			out = append(out, s)
		}
	}
	return out
}

// Parse decodes workflow JSON. A .flow export ("<digest>:<json>") is
// accepted too: the digest is dropped, since it cannot be checked here.
func Parse(data []byte) (Workflow, error) {
	data = bytes.TrimSpace(data)
	if i := bytes.IndexByte(data, ':'); i == 64 && bytes.IndexByte(data[:i], '{') < 0 {
		data = data[i+1:]
	}
	var w Workflow
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		// Newer exports carry extra root keys (variables, note, ...); retry
		// leniently rather than refuse a real export.
		w = Workflow{}
		if err2 := json.Unmarshal(data, &w); err2 != nil {
			return Workflow{}, fmt.Errorf("parse workflow: %w", err2)
		}
	}
	if len(w.Root.Steps) == 0 {
		return Workflow{}, fmt.Errorf("parse workflow: no steps")
	}
	return w, nil
}

// Canonical renders w the way Shopify's workflows-as-code tooling stores
// files (keys sorted recursively, two-space indent, trailing newline), so
// regenerated files diff cleanly against pulled ones.
func Canonical(w Workflow) ([]byte, error) {
	raw, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	var generic any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(generic); err != nil { // maps encode with sorted keys
		return nil, err
	}
	return buf.Bytes(), nil
}
