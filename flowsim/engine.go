package flowsim

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/flowbridge/flowbridge/flowtemplates"
)

// Store is the fake shop: the order the run is about and everything the
// workflow did to it. Flow re-fetches store data after each Wait; the
// simulator does the same by rebuilding the order view from the Store.
type Store struct {
	Order map[string]any
	Shop  map[string]any
	// MetafieldWrites, Emails and AdminCalls record the actions, in order.
	MetafieldWrites []MetafieldWrite
	Emails          []Email
	AdminCalls      []AdminCall
}

// MetafieldWrite is one Update order metafield action.
type MetafieldWrite struct {
	At        time.Time
	Namespace string
	Key       string
	Value     string
	Type      string
}

// Email is one Send internal email action.
type Email struct {
	At      time.Time
	To      []string
	Subject string
	Message string
}

// AdminCall is one Send Admin API request action.
type AdminCall struct {
	At       time.Time
	Mutation string
	Input    map[string]any
}

// LoadOrder reads an order fixture: a JSON object shaped like Flow's
// `order` variable (GraphQL Admin names: id, name, email, shippingAddress,
// lineItems, metafields [{namespace,key,value}], displayFulfillmentStatus…).
func LoadOrder(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseOrder(data)
}

// ParseOrder decodes an order fixture.
func ParseOrder(data []byte) (map[string]any, error) {
	var o map[string]any
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, fmt.Errorf("order fixture: %w", err)
	}
	if id, _ := o["id"].(string); !strings.HasPrefix(id, "gid://shopify/Order/") {
		return nil, fmt.Errorf("order fixture: id must be an order GID (gid://shopify/Order/<n>)")
	}
	return o, nil
}

// Metafield returns the value of an order metafield in the store.
func (s *Store) Metafield(namespace, key string) (string, bool) {
	list, _ := s.Order["metafields"].([]any)
	for _, m := range list {
		mf, _ := m.(map[string]any)
		if mf["namespace"] == namespace && mf["key"] == key {
			v, _ := mf["value"].(string)
			return v, true
		}
	}
	return "", false
}

func (s *Store) setMetafield(namespace, key, value, typ string) {
	list, _ := s.Order["metafields"].([]any)
	for _, m := range list {
		mf, _ := m.(map[string]any)
		if mf["namespace"] == namespace && mf["key"] == key {
			mf["value"] = value
			return
		}
	}
	s.Order["metafields"] = append(list, map[string]any{"namespace": namespace, "key": key, "value": value, "type": typ})
}

// orderView is the `order` variable: the stored order plus the metafields
// the workflow declares in patched_fields, under their camelCase handles.
func (s *Store) orderView(patched []flowtemplates.PatchedField) map[string]any {
	view := deepCopy(s.Order).(map[string]any)
	for _, pf := range patched {
		if pf.Field != "metafield" || !strings.EqualFold(pf.PatchedType, "ORDER") {
			continue
		}
		name := flowtemplates.CamelHandle(pf.Handle)
		if v, ok := s.Metafield(pf.Arguments["namespace"], pf.Arguments["key"]); ok {
			view[name] = map[string]any{"value": v}
		} else {
			view[name] = nil
		}
	}
	return view
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// Options configure a simulated run.
type Options struct {
	Clock Clock
	HTTP  HTTPBehaviour
	// Secrets are Flow secrets ({{ secrets.NAME }}).
	Secrets map[string]string
	// Definitions are the metafield definitions that exist in the shop;
	// Update order metafield on anything else fails (Flow's silent failure
	// made loud). Nil skips the check.
	Definitions []flowtemplates.Metafield
	// RunCodeTimeout bounds each Run code execution (default 5 s).
	RunCodeTimeout time.Duration
	// Observe, when set, sees each event as it happens.
	Observe func(Event)
	// Tasks is the task table the workflow's ids are read with (default
	// flowtemplates.TaskTable(); pass the merchant's overrides here).
	Tasks flowtemplates.Tasks
	// Admin runs Send Admin API request actions after their inputs were
	// coerced against Shopify's Admin schema. Nil applies them to the
	// Store (fulfillmentCreate closes the listed fulfilment orders).
	Admin AdminAPI
	// Refresh, when set, re-reads store data from the shop (e.g. a fake
	// Admin API) into the order fixture at the start and after each Wait,
	// as Flow re-fetches store data then.
	Refresh func(ctx context.Context, order map[string]any) error
}

// AdminAPI executes one Admin API mutation with its (coerced) inputs, the
// arguments of the mutation field, and returns the payload.
type AdminAPI interface {
	Mutate(ctx context.Context, mutation string, inputs map[string]any) (map[string]any, error)
}

// Event is what happened at one step.
type Event struct {
	At      time.Time
	StepID  flowtemplates.StepID
	Title   string
	Kind    string // the task's editor label
	Outcome string // e.g. "200", "true", "waited 24h", "sent", "failed"
	Detail  string
}

// Result is a finished run.
type Result struct {
	Events []Event
	// Failed is set when a step failed and Flow would stop the run.
	Failed bool
	Reason string
}

// Sim runs workflows against a store.
type Sim struct {
	opts   Options
	liquid *Liquid
	code   RunCode
}

// New returns a simulator.
func New(opts Options) *Sim {
	if opts.Clock == nil {
		opts.Clock = NewVirtualClock(time.Now().UTC())
	}
	if opts.Tasks == nil {
		opts.Tasks = flowtemplates.TaskTable()
	}
	return &Sim{opts: opts, liquid: NewLiquid(), code: RunCode{Timeout: opts.RunCodeTimeout}}
}

type run struct {
	sim     *Sim
	w       flowtemplates.Workflow
	store   *Store
	vars    map[flowtemplates.StepID]string
	outputs map[string]any
	order   map[string]any
	items   map[string]any
	res     *Result
	steps   int
}

// maxSteps bounds a run; a valid workflow is acyclic, this only guards
// against a malformed one looping forever.
const maxSteps = 10000

// Run starts w for the order in store, as if its trigger fired now, and
// executes it to the end.
func (s *Sim) Run(ctx context.Context, w flowtemplates.Workflow, store *Store) (*Result, error) {
	triggers := w.Triggers()
	if len(triggers) != 1 {
		return nil, fmt.Errorf("workflow needs exactly one trigger, has %d", len(triggers))
	}
	if store.Shop == nil {
		store.Shop = map[string]any{"myshopifyDomain": "example.myshopify.com", "name": "Example"}
	}
	r := &run{sim: s, w: w, store: store, vars: flowtemplates.StepVariables(w, s.opts.Tasks), outputs: map[string]any{},
		res: &Result{}}
	if err := r.refresh(ctx); err != nil {
		return nil, err
	}
	err := r.exec(ctx, triggers[0].StepID)
	return r.res, err
}

// refresh rebuilds the order view, first re-reading the shop when a
// Refresh hook is set.
func (r *run) refresh(ctx context.Context) error {
	if f := r.sim.opts.Refresh; f != nil {
		if err := f(ctx, r.store.Order); err != nil {
			return fmt.Errorf("refresh store data: %w", err)
		}
	}
	r.order = r.store.orderView(r.w.Root.PatchedFields)
	return nil
}

func (r *run) env() map[string]any {
	secrets := map[string]any{}
	for k, v := range r.sim.opts.Secrets {
		secrets[k] = v
	}
	env := map[string]any{"order": r.order, "shop": r.store.Shop, "secrets": secrets}
	for k, v := range r.outputs {
		env[k] = v
	}
	for k, v := range r.items {
		env[k] = v
	}
	return env
}

func (r *run) emit(st flowtemplates.Step, outcome, detail string) {
	kind := st.TaskID
	if t, ok := r.sim.opts.Tasks.ByID(st.TaskID); ok {
		kind = t.Label
	}
	ev := Event{At: r.sim.opts.Clock.Now(), StepID: st.StepID, Title: st.Title(), Kind: kind, Outcome: outcome, Detail: detail}
	r.res.Events = append(r.res.Events, ev)
	if r.sim.opts.Observe != nil {
		r.sim.opts.Observe(ev)
	}
}

func (r *run) fail(st flowtemplates.Step, err error) error {
	r.emit(st, "failed", err.Error())
	r.res.Failed, r.res.Reason = true, fmt.Sprintf("%s: %v", st.Title(), err)
	return nil
}

// exec runs step id and everything after it, depth first.
func (r *run) exec(ctx context.Context, id flowtemplates.StepID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.steps++; r.steps > maxSteps {
		return fmt.Errorf("run exceeded %d steps (cycle?)", maxSteps)
	}
	st, ok := r.w.Step(id)
	if !ok {
		return fmt.Errorf("link to unknown step %s", id)
	}
	port, err := r.step(ctx, st)
	if err != nil || r.res.Failed || port == "" {
		return err
	}
	if st.TaskType == flowtemplates.TypeForEach {
		return nil // handled in step
	}
	return r.follow(ctx, st.StepID, port)
}

func (r *run) follow(ctx context.Context, id flowtemplates.StepID, port string) error {
	for _, l := range r.w.Root.Links {
		if l.FromStepID == id && l.FromPortID == port {
			if err := r.exec(ctx, l.ToStepID); err != nil || r.res.Failed {
				return err
			}
		}
	}
	return nil
}

func (r *run) cfg(st flowtemplates.Step, id string) string {
	v, _ := st.Config(id)
	return v
}

func (r *run) render(src string) (string, error) {
	return r.sim.liquid.Render(src, r.env())
}

// step executes one step and returns the port to continue from ("" = stop).
func (r *run) step(ctx context.Context, st flowtemplates.Step) (string, error) {
	tt := r.sim.opts.Tasks
	switch st.TaskID {
	case tt["order_paid"].ID:
		r.emit(st, "fired", fmt.Sprintf("order %v", r.order["name"]))
		return flowtemplates.PortOutput, nil

	case tt["wait"].ID:
		d, err := flowtemplates.WaitDuration(st)
		if err != nil {
			return "", r.fail(st, err)
		}
		r.sim.opts.Clock.Advance(d)
		// Flow re-fetches store data after a Wait.
		if err := r.refresh(ctx); err != nil {
			return "", err
		}
		r.emit(st, "waited "+flowtemplates.FormatDuration(d), "")
		return flowtemplates.PortOutput, nil

	case tt["condition"].ID:
		ok, err := Condition(r.cfg(st, "condition"), r.env())
		if err != nil {
			return "", r.fail(st, err)
		}
		dsl, _ := ConditionDSL(r.cfg(st, "condition"))
		r.emit(st, fmt.Sprint(ok), dsl)
		if ok {
			return flowtemplates.PortTrue, nil
		}
		return flowtemplates.PortFalse, nil

	case tt["http"].ID:
		return r.httpStep(ctx, st)

	case tt["run_code"].ID:
		out, err := r.sim.code.Run(r.cfg(st, "input"), r.cfg(st, "script"), r.cfg(st, "output_schema"), r.env())
		if err != nil {
			return "", r.fail(st, err)
		}
		r.outputs[r.vars[st.StepID]] = out
		b, _ := json.Marshal(out)
		r.emit(st, "ok", r.vars[st.StepID]+" = "+string(b))
		return flowtemplates.PortOutput, nil

	case tt["metafield"].ID:
		ns, key := r.cfg(st, "namespace"), r.cfg(st, "key")
		if defs := r.sim.opts.Definitions; defs != nil && !defined(defs, ns, key) {
			return "", r.fail(st, fmt.Errorf("metafield %s.%s has no definition (Flow fails silently here)", ns, key))
		}
		val, err := r.render(r.cfg(st, "value"))
		if err != nil {
			return "", r.fail(st, err)
		}
		r.store.setMetafield(ns, key, val, r.cfg(st, "value_type"))
		r.store.MetafieldWrites = append(r.store.MetafieldWrites, MetafieldWrite{At: r.sim.opts.Clock.Now(),
			Namespace: ns, Key: key, Value: val, Type: r.cfg(st, "value_type")})
		r.emit(st, "written", fmt.Sprintf("%s.%s = %q", ns, key, val))
		return flowtemplates.PortOutput, nil

	case tt["email"].ID:
		subject, err := r.render(r.cfg(st, "subject"))
		if err != nil {
			return "", r.fail(st, err)
		}
		msg, err := r.render(r.cfg(st, "message"))
		if err != nil {
			return "", r.fail(st, err)
		}
		var to []string
		for _, a := range strings.Split(r.cfg(st, "address"), ",") {
			if a = strings.TrimSpace(a); a != "" {
				to = append(to, a)
			}
		}
		r.store.Emails = append(r.store.Emails, Email{At: r.sim.opts.Clock.Now(), To: to, Subject: subject, Message: msg})
		r.emit(st, "sent", subject)
		return flowtemplates.PortOutput, nil

	case tt["admin_api"].ID:
		return r.adminStep(ctx, st)

	case tt["foreach"].ID:
		return "", r.forEach(ctx, st)
	}
	return "", r.fail(st, fmt.Errorf("task %s is not simulated", st.TaskID))
}

func defined(defs []flowtemplates.Metafield, ns, key string) bool {
	for _, d := range defs {
		if d.Namespace == ns && d.Key == key {
			return true
		}
	}
	return false
}

func (r *run) httpStep(ctx context.Context, st flowtemplates.Step) (string, error) {
	url, err := r.render(r.cfg(st, "url"))
	if err != nil {
		return "", r.fail(st, err)
	}
	hdrSrc, err := r.render(r.cfg(st, "headers"))
	if err != nil {
		return "", r.fail(st, err)
	}
	headers, err := parseHeaders(hdrSrc)
	if err != nil {
		return "", r.fail(st, err)
	}
	body, err := r.render(r.cfg(st, "body"))
	if err != nil {
		return "", r.fail(st, err)
	}
	if base := r.sim.opts.HTTP.RewriteBase; base != "" {
		if url, err = rewriteBase(url, base); err != nil {
			return "", r.fail(st, err)
		}
	}
	method := strings.ToUpper(r.cfg(st, "method"))
	if method != "GET" && method != "HEAD" && body != "" && !json.Valid([]byte(body)) &&
		strings.Contains(strings.ToLower(hdrSrc), "application/json") {
		// Flow would send it anyway; the service answers 400. Say why here.
		r.emit(st, "warning", "rendered body is not valid JSON")
	}
	res, err := r.sim.opts.HTTP.send(ctx, r.sim.opts.Clock, httpRequest{Method: method, URL: url, Body: body, Headers: headers,
		OnClientError: orDefault(r.cfg(st, "on_client_error"), "fail"), OnServerError: orDefault(r.cfg(st, "on_server_error"), "retry")})
	if err != nil {
		return "", err
	}
	tries := make([]string, 0, len(res.Attempts))
	for _, a := range res.Attempts {
		if a.Status == 0 {
			tries = append(tries, "timeout")
		} else {
			tries = append(tries, fmt.Sprint(a.Status))
		}
	}
	detail := fmt.Sprintf("%s %s attempts=[%s] body=%s", method, redactQuery(url), strings.Join(tries, " "), truncate(compactJSON(res.Body), 300))
	if res.Failed {
		return "", r.fail(st, fmt.Errorf("%s; %s", res.Reason, detail))
	}
	headersOut := map[string]any{}
	for k, v := range res.Headers {
		headersOut[k] = v
	}
	r.outputs[r.vars[st.StepID]] = map[string]any{"status": float64(res.Status), "body": res.Body, "headers": headersOut}
	r.emit(st, fmt.Sprint(res.Status), detail)
	return flowtemplates.PortOutput, nil
}

func (r *run) adminStep(ctx context.Context, st flowtemplates.Step) (string, error) {
	var call struct {
		Name string `json:"name"`
		Blob string `json:"blob"`
	}
	if err := json.Unmarshal([]byte(r.cfg(st, "api_call")), &call); err != nil || call.Name == "" {
		return "", r.fail(st, fmt.Errorf("api_call must be {\"name\",\"blob\"}: %v", err))
	}
	blob, err := r.render(call.Blob)
	if err != nil {
		return "", r.fail(st, err)
	}
	var input map[string]any
	if err := json.Unmarshal([]byte(blob), &input); err != nil {
		return "", r.fail(st, fmt.Errorf("%s inputs are not valid JSON after Liquid: %w", call.Name, err))
	}
	// Shopify coerces the inputs against the mutation's argument types;
	// anything it would refuse fails the step here.
	if err := CoerceMutationInputs(call.Name, input); err != nil {
		return "", r.fail(st, err)
	}
	r.store.AdminCalls = append(r.store.AdminCalls, AdminCall{At: r.sim.opts.Clock.Now(), Mutation: call.Name, Input: input})
	var out map[string]any
	if a := r.sim.opts.Admin; a != nil {
		if out, err = a.Mutate(ctx, call.Name, input); err != nil {
			return "", r.fail(st, err)
		}
	} else {
		out = r.store.applyMutation(call.Name, input)
	}
	r.outputs[r.vars[st.StepID]] = out
	r.emit(st, "called", call.Name+" "+compactJSON(blob))
	return flowtemplates.PortOutput, nil
}

// applyMutation is the built-in shop: fulfillmentCreate closes the listed
// fulfilment orders, and the order is FULFILLED once none is open.
func (s *Store) applyMutation(name string, input map[string]any) map[string]any {
	out := map[string]any{"userErrors": []any{}}
	if name != "fulfillmentCreate" {
		return out
	}
	listed := map[string]bool{}
	f, _ := input["fulfillment"].(map[string]any)
	groups, _ := f["lineItemsByFulfillmentOrder"].([]any)
	for _, g := range groups {
		if m, ok := g.(map[string]any); ok {
			id, _ := m["fulfillmentOrderId"].(string)
			listed[id] = true
		}
	}
	open := 0
	fos, _ := s.Order["fulfillmentOrders"].([]any)
	for _, fo := range fos {
		m, ok := fo.(map[string]any)
		if !ok {
			continue
		}
		if id, _ := m["id"].(string); listed[id] {
			m["status"] = "CLOSED"
		}
		if st, _ := m["status"].(string); st == "OPEN" || st == "IN_PROGRESS" {
			open++
		}
	}
	if open == 0 {
		s.Order["displayFulfillmentStatus"] = "FULFILLED"
	} else {
		s.Order["displayFulfillmentStatus"] = "PARTIALLY_FULFILLED"
	}
	out["fulfillment"] = map[string]any{"status": "SUCCESS"}
	return out
}

func (r *run) forEach(ctx context.Context, st flowtemplates.Step) error {
	path := r.cfg(st, "listpath")
	list, _ := scope{env: r.env()}.lookup(path).([]any)
	if len(list) > 100 {
		return r.fail(st, fmt.Errorf("list of %d items; For each allows at most 100", len(list)))
	}
	parts := strings.Split(path, ".")
	item := parts[len(parts)-1] + "Foreachitem"
	r.emit(st, fmt.Sprintf("%d items", len(list)), path)
	for _, it := range list {
		r.items = map[string]any{item: it}
		if err := r.follow(ctx, st.StepID, flowtemplates.PortLoopBody); err != nil || r.res.Failed {
			r.items = nil
			return err
		}
	}
	r.items = nil
	return r.follow(ctx, st.StepID, flowtemplates.PortAfter)
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func redactQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}
