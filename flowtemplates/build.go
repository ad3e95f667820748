package flowtemplates

import (
	"crypto/sha1"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// WorkflowName is the name of the generated workflow.
const WorkflowName = "flowbridge: place supplier order and fulfil with tracking"

// builder assembles a workflow, numbering step variables the way Flow does.
type builder struct {
	w     Workflow
	vars  map[string]int
	tasks Tasks
}

func newBuilder(name string, tasks Tasks) *builder {
	return &builder{
		tasks: tasks,
		w: Workflow{Metadata: Metadata{Version: 0.1}, Root: Root{
			Steps: []Step{}, Links: []Link{}, PatchedFields: []PatchedField{}, WorkflowName: name}},
		vars: map[string]int{},
	}
}

// stepID derives a stable UUID-shaped id from the workflow and step key, so
// regenerating gives byte-identical files.
func (b *builder) stepID(key string) StepID {
	h := sha1.Sum([]byte(b.w.Root.WorkflowName + "\x00" + key))
	h[6] = (h[6] & 0x0f) | 0x50 // version 5 layout, name-based
	h[8] = (h[8] & 0x3f) | 0x80
	return StepID(fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16]))
}

// add appends a step; col/row place it on the canvas. It returns the step
// id and the variable the step adds ("" when none).
func (b *builder) add(key, taskName string, col, row int, desc string, cfg ...string) (StepID, string) {
	t := b.tasks.Get(taskName)
	if len(cfg)%2 != 0 {
		panic("flowtemplates: odd config list for " + key) // programming error
	}
	s := Step{
		StepID:            b.stepID(key),
		StepPosition:      [2]int{col * 360, row * 240},
		ConfigFieldValues: []ConfigValue{},
		TaskID:            t.ID,
		TaskVersion:       t.Version,
		TaskType:          t.Type,
		Description:       &desc,
	}
	for i := 0; i < len(cfg); i += 2 {
		s.ConfigFieldValues = append(s.ConfigFieldValues, ConfigValue{ConfigFieldID: cfg[i], Value: cfg[i+1]})
	}
	b.w.Root.Steps = append(b.w.Root.Steps, s)
	v := ""
	if t.Variable != "" {
		n := b.vars[t.Variable]
		b.vars[t.Variable] = n + 1
		v = t.Variable
		if n > 0 {
			v += strconv.Itoa(n)
		}
	}
	return s.StepID, v
}

// linkFrom links to step to: from the entries on the first check, from
// prev's port afterwards.
func (b *builder) linkFrom(entries []exit, prev StepID, port string, to StepID) {
	if port == "" {
		for _, e := range entries {
			b.link(e.step, e.port, to)
		}
		return
	}
	b.link(prev, port, to)
}

func (b *builder) link(from StepID, port string, to StepID) {
	b.w.Root.Links = append(b.w.Root.Links, Link{FromStepID: from, FromPortID: port, ToStepID: to, ToPortID: PortInput})
}

// waitConfig expresses d in the largest whole unit Flow's Wait offers.
func waitConfig(d time.Duration) []string {
	switch {
	case d%(24*time.Hour) == 0:
		return []string{"duration", strconv.FormatInt(int64(d/(24*time.Hour)), 10), "unit", "days"}
	case d%time.Hour == 0:
		return []string{"duration", strconv.FormatInt(int64(d/time.Hour), 10), "unit", "hours"}
	case d%time.Minute == 0:
		return []string{"duration", strconv.FormatInt(int64(d/time.Minute), 10), "unit", "minutes"}
	default:
		return []string{"duration", strconv.FormatFloat(d.Seconds(), 'f', -1, 64), "unit", "seconds"}
	}
}

// WaitDuration reads a Wait step's configuration back into a duration.
func WaitDuration(s Step) (time.Duration, error) {
	amount, ok := s.Config("duration")
	if !ok {
		return 0, fmt.Errorf("wait step %s has no duration", s.StepID)
	}
	unit, _ := s.Config("unit")
	n, err := strconv.ParseFloat(strings.TrimSpace(amount), 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("wait step %s: duration %q is not a non-negative number", s.StepID, amount)
	}
	var per time.Duration
	switch strings.ToLower(strings.TrimSpace(unit)) {
	case "seconds", "second":
		per = time.Second
	case "minutes", "minute":
		per = time.Minute
	case "hours", "hour":
		per = time.Hour
	case "days", "day":
		per = 24 * time.Hour
	case "weeks", "week":
		per = 7 * 24 * time.Hour
	default:
		return 0, fmt.Errorf("wait step %s: unknown unit %q", s.StepID, unit)
	}
	return time.Duration(n * float64(per)), nil
}

// FormatDuration prints d the way merchants write it (24h, 2d, 90m).
func FormatDuration(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	default:
		return d.String()
	}
}

func httpStep(method, url, headers, body string) []string {
	cfg := []string{"method", method, "url", url, "headers", headers}
	if body != "" {
		cfg = append(cfg, "body", body)
	}
	// 4xx bodies carry the reason (no_shipping_option, unmatched_ean, ...)
	// and must reach the parser; 429/5xx are "try again" by contract.
	return append(cfg, "on_client_error", "ignore", "on_server_error", "retry")
}

func emailStep(p Params, subject, message string) []string {
	return []string{"address", strings.Join(p.AlertEmails, ","), "subject", subject, "message", message}
}

// Build returns the workflow for p: stage 1 (place on payment) continued
// by stage 2 (the tracking checks). docs/flow-templates.md explains why it
// is one workflow.
func Build(p Params) (Workflow, error) {
	if err := p.Validate(); err != nil {
		return Workflow{}, err
	}
	tasks, err := p.Tasks()
	if err != nil {
		return Workflow{}, err // Validate has refused this already
	}
	base := strings.TrimRight(p.BaseURL, "/")
	b := newBuilder(WorkflowName, tasks)
	for _, m := range p.Metafields() {
		b.w.Root.PatchedFields = append(b.w.Root.PatchedFields, PatchedField{
			Field: "metafield", Arguments: map[string]string{"namespace": m.Namespace, "key": m.Key},
			Handle: m.Key, PatchedType: "ORDER", MerchantConfigured: true})
	}

	trigger, _ := b.add("trigger", "order_paid", 0, 0, "Order paid")
	prev, port := trigger, PortOutput
	col := 1

	if p.Hold > 0 {
		wait, _ := b.add("hold.wait", "wait", col, 0, "Hold "+FormatDuration(p.Hold)+" before placing", waitConfig(p.Hold)...)
		b.link(prev, port, wait)
		notCancelled, _ := b.add("hold.not_cancelled", "condition", col+1, 0,
			"Hold: order still not cancelled?", "condition", "(order.cancelledAt nil?)")
		b.link(wait, PortOutput, notCancelled)
		notEdited, _ := b.add("hold.not_edited", "condition", col+2, 0,
			"Hold: order not edited?", "condition", "(order.edited == false)")
		b.link(notCancelled, PortTrue, notEdited)
		subj, msg := holdEditedEmail(p)
		edited, _ := b.add("hold.edited_alert", "email", col+3, 1, "Alert: edited during hold, not placed", emailStep(p, subj, msg)...)
		b.link(notEdited, PortFalse, edited)
		prev, port = notEdited, PortTrue
		col += 3
	}

	rates, ratesHTTP := b.add("rates.request", "http", col, 0, "Stage 1: ask flowbridge for shipping rates (POST /rates)",
		httpStep("POST", base+"/rates", headersJSON(p, true), ratesBody(p))...)
	b.link(prev, port, rates)
	rc := ratesParser(ratesHTTP)
	ratesParse, rv := b.add("rates.parse", "run_code", col+1, 0, "Stage 1: read the rates answer",
		"input", rc.Input, "script", rc.Script, "output_schema", rc.Output)
	b.link(rates, PortOutput, ratesParse)
	ratesOK, _ := b.add("rates.ok", "condition", col+2, 0, "Stage 1: shipping option found?",
		"condition", "("+rv+".ok == true)")
	b.link(ratesParse, PortOutput, ratesOK)
	subj, msg := ratesFailedEmail(p, rv)
	ratesAlert, _ := b.add("rates.alert", "email", col+3, 1, "Alert: no shipping option / unmatched EAN / error", emailStep(p, subj, msg)...)
	b.link(ratesOK, PortFalse, ratesAlert)

	saveRate, _ := b.add("rates.save", "metafield", col+3, 0, "Stage 1: store the shipping cost id on the order",
		"order_id", "order.id", "namespace", p.Namespace, "key", p.ShippingCostKey,
		"value", "{{ "+rv+".shippingCostId }}", "value_type", "single_line_text_field")
	b.link(ratesOK, PortTrue, saveRate)

	place, placeHTTP := b.add("orders.request", "http", col+4, 0, "Stage 1: place the supplier order (POST /orders)",
		httpStep("POST", base+"/orders", headersJSON(p, true), ordersBody(p, rv))...)
	b.link(saveRate, PortOutput, place)
	pc := placeParser(placeHTTP)
	placeParse, pv := b.add("orders.parse", "run_code", col+5, 0, "Stage 1: read the order answer",
		"input", pc.Input, "script", pc.Script, "output_schema", pc.Output)
	b.link(place, PortOutput, placeParse)
	placed, _ := b.add("orders.ok", "condition", col+6, 0, "Stage 1: placed and needs nobody?",
		"condition", "(("+pv+".ok == true) && ("+pv+".needsReview == false))")
	b.link(placeParse, PortOutput, placed)
	subj, msg = placeFailedEmail(p, pv)
	placeAlert, _ := b.add("orders.alert", "email", col+7, 1, "Alert: needs review / refused by the supplier", emailStep(p, subj, msg)...)
	b.link(placed, PortFalse, placeAlert)
	saveOrder, _ := b.add("orders.save", "metafield", col+7, 0, "Stage 1: store the supplier order number on the order",
		"order_id", "order.id", "namespace", p.Namespace, "key", p.SupplierOrderKey,
		"value", "{{ "+pv+".supplierOrderId }}", "value_type", "single_line_text_field")
	b.link(placed, PortTrue, saveOrder)
	// A split order (BigBuy: one order per warehouse) may be created only
	// in part; the metafield keeps the parts that exist, tracking follows
	// them, and a person hears about the rest.
	partial, _ := b.add("orders.partial", "condition", col+8, 0, "Stage 1: only some supplier orders created?",
		"condition", "("+pv+".partial == true)")
	b.link(saveOrder, PortOutput, partial)
	subj, msg = partialPlacementEmail(p, pv)
	partialAlert, _ := b.add("orders.partial_alert", "email", col+9, 1, "Alert: order only partly placed", emailStep(p, subj, msg)...)
	b.link(partial, PortTrue, partialAlert)

	b.stage2(p, []exit{{partial, PortFalse}, {partialAlert, PortOutput}}, col+10)
	return b.w, nil
}

// exit is a step port that continues the workflow.
type exit struct {
	step StepID
	port string
}

// stage2 adds the tracking checks after step prev (output port), starting
// at canvas column col.
func (b *builder) stage2(p Params, from []exit, col int) {
	if p.FulfilBy == FulfilByFlowbridge {
		b.stage2Lean(p, from, col)
		return
	}
	b.stage2Flow(p, from, col)
}

// stage2Flow is the workflow where Flow fulfils: each check parses the
// tracking answer in Run code, which also prepares one fulfillmentCreate
// input per location (fulfillmentCreate takes fulfilment orders of one
// location only), and a For each sends them with Send Admin API request.
// Each block's "not yet" branch leads to the next block's Wait; the last
// one's to the no-tracking alert.
func (b *builder) stage2Flow(p Params, from []exit, col int) {
	var prev StepID
	port := ""
	n := len(p.Schedule)
	var lastTrack string
	for i, d := range p.Schedule {
		k := i + 1
		key := "check" + strconv.Itoa(k)
		c := col + i*4
		wait, _ := b.add(key+".wait", "wait", c, 0, fmt.Sprintf("Stage 2: wait %s before tracking check %d of %d", FormatDuration(d), k, n), waitConfig(d)...)
		b.linkFrom(from, prev, port, wait)
		req, hv := b.add(key+".request", "http", c, 2, fmt.Sprintf("Stage 2: check %d — ask flowbridge for tracking (GET /tracking)", k),
			httpStep("GET", trackingURL(p), headersJSON(p, false), "")...)
		b.link(wait, PortOutput, req)
		tc := trackingParser(hv)
		parse, tv := b.add(key+".parse", "run_code", c+1, 2, fmt.Sprintf("Stage 2: check %d — read the tracking answer", k),
			"input", tc.Input, "script", tc.Script, "output_schema", tc.Output)
		b.link(req, PortOutput, parse)
		ship, _ := b.add(key+".fulfillable", "condition", c+2, 2, fmt.Sprintf("Stage 2: check %d — shipped with tracking?", k),
			"condition", "("+tv+".fulfillable == true)")
		b.link(parse, PortOutput, ship)
		partly, _ := b.add(key+".partly_cancelled", "condition", c+2, 4, fmt.Sprintf("Stage 2: check %d — part of a split order cancelled?", k),
			"condition", "("+tv+".partlyCancelled == true)")
		b.link(ship, PortTrue, partly)
		subj, msg := partlyCancelledEmail(p, tv+".supplierStatus", tv+".checkedAt", k, n)
		partlyAlert, _ := b.add(key+".partly_cancelled_alert", "email", c+3, 5, fmt.Sprintf("Alert: supplier cancelled part of the order (check %d)", k), emailStep(p, subj, msg)...)
		b.link(partly, PortTrue, partlyAlert)
		notDone, _ := b.add(key+".not_fulfilled", "condition", c+3, 3, fmt.Sprintf("Stage 2: check %d — order not already fulfilled?", k),
			"condition", "(order.displayFulfillmentStatus != 'FULFILLED')")
		b.link(partly, PortFalse, notDone)
		b.link(partlyAlert, PortOutput, notDone)
		open, _ := b.add(key+".has_open", "condition", c+4, 3, fmt.Sprintf("Stage 2: check %d — any open fulfilment order?", k),
			"condition", "("+tv+".openFulfillmentOrders > 0)")
		b.link(notDone, PortTrue, open)
		subj, msg = noOpenFulfillmentOrderEmail(p, tv, k)
		noOpen, _ := b.add(key+".no_open_alert", "email", c+5, 4, fmt.Sprintf("Alert: shipped but nothing left to fulfil (check %d)", k), emailStep(p, subj, msg)...)
		b.link(open, PortFalse, noOpen)
		each, _ := b.add(key+".each_location", "foreach", c+5, 3, fmt.Sprintf("Stage 2: check %d — for each location", k),
			"listpath", tv+".fulfillments")
		b.link(open, PortTrue, each)
		fulfil, _ := b.add(key+".fulfil", "admin_api", c+6, 3, fmt.Sprintf("Stage 2: check %d — fulfil one location with tracking (fulfillmentCreate)", k),
			"api_call", fulfillmentCall(tv))
		b.link(each, PortLoopBody, fulfil)
		cancelled, _ := b.add(key+".cancelled", "condition", c+3, 2, fmt.Sprintf("Stage 2: check %d — cancelled by the supplier?", k),
			"condition", "("+tv+".cancelled == true)")
		b.link(ship, PortFalse, cancelled)
		subj, msg = cancelledEmail(p, tv+".supplierStatus", tv+".rawStatus", tv+".checkedAt", k, n)
		alert, _ := b.add(key+".cancelled_alert", "email", c+4, 1, fmt.Sprintf("Alert: supplier cancelled (check %d)", k), emailStep(p, subj, msg)...)
		b.link(cancelled, PortTrue, alert)
		prev, port = cancelled, PortFalse
		lastTrack = tv
	}
	subj, msg := noTrackingEmail(p, lastTrack+".supplierStatus", lastTrack+".rawStatus", lastTrack+".detail", lastTrack+".checkedAt", n)
	final, _ := b.add("no_tracking.alert", "email", col+n*4+3, 2, fmt.Sprintf("Alert: no tracking after %d checks", n), emailStep(p, subj, msg)...)
	b.link(prev, port, final)
}

// stage2Lean is the workflow where flowbridge fulfils: each check is one
// POST /tracking/{id}/fulfil, which fulfils the Shopify order through the
// Admin API exactly once when the supplier has shipped, and answers 200
// (done), 202 (not shipped yet) or a problem (cancelled, nothing to fulfil,
// …). A short Run code step reads that answer: no Shopify source shows a
// Condition reading a Send HTTP request's status directly (Shopify's
// examples read it in Run code), so the status-only variant is opt-in
// (Params.BranchOnStatus).
func (b *builder) stage2Lean(p Params, from []exit, col int) {
	var prev StepID
	port := ""
	n := len(p.Schedule)
	var last leanVars
	for i, d := range p.Schedule {
		k := i + 1
		key := "check" + strconv.Itoa(k)
		c := col + i*4
		wait, _ := b.add(key+".wait", "wait", c, 0, fmt.Sprintf("Stage 2: wait %s before tracking check %d of %d", FormatDuration(d), k, n), waitConfig(d)...)
		b.linkFrom(from, prev, port, wait)
		req, hv := b.add(key+".request", "http", c, 2, fmt.Sprintf("Stage 2: check %d — flowbridge fulfils if shipped (POST /tracking/…/fulfil)", k),
			httpStep("POST", fulfilURL(p), headersJSON(p, true), fulfilBody())...)
		b.link(wait, PortOutput, req)
		src := req
		partlyCancelled := "" // the status-only variant reads no body
		var v leanVars
		if p.BranchOnStatus {
			v = leanVars{done: hv + ".status == 200", waiting: hv + ".status == 202", code: hv + ".status", detail: hv + ".body",
				status: hv + ".status", checked: hv + ".status"}
		} else {
			lc := leanParser(hv)
			parse, lv := b.add(key+".parse", "run_code", c+1, 2, fmt.Sprintf("Stage 2: check %d — read the answer", k),
				"input", lc.Input, "script", lc.Script, "output_schema", lc.Output)
			b.link(req, PortOutput, parse)
			src = parse
			partlyCancelled = lv + ".partlyCancelled"
			v = leanVars{done: lv + ".done == true", waiting: lv + ".waiting == true", code: lv + ".code", detail: lv + ".detail",
				status: lv + ".supplierStatus", checked: lv + ".checkedAt"}
		}
		done, _ := b.add(key+".done", "condition", c+2, 2, fmt.Sprintf("Stage 2: check %d — fulfilled (now or before)?", k),
			"condition", "("+v.done+")")
		b.link(src, PortOutput, done)
		if partlyCancelled != "" {
			// Fulfilled, but part of the split order was cancelled.
			partly, _ := b.add(key+".partly_cancelled", "condition", c+3, 0, fmt.Sprintf("Stage 2: check %d — part of a split order cancelled?", k),
				"condition", "("+partlyCancelled+" == true)")
			b.link(done, PortTrue, partly)
			subj, msg := partlyCancelledEmail(p, v.status, v.checked, k, n)
			partlyAlert, _ := b.add(key+".partly_cancelled_alert", "email", c+4, 1, fmt.Sprintf("Alert: supplier cancelled part of the order (check %d)", k), emailStep(p, subj, msg)...)
			b.link(partly, PortTrue, partlyAlert)
		}
		waiting, _ := b.add(key+".waiting", "condition", c+3, 2, fmt.Sprintf("Stage 2: check %d — not shipped yet?", k),
			"condition", "("+v.waiting+")")
		b.link(done, PortFalse, waiting)
		subj, msg := leanProblemEmail(p, v, k, n)
		alert, _ := b.add(key+".problem_alert", "email", c+4, 3, fmt.Sprintf("Alert: cancelled or not fulfillable (check %d)", k), emailStep(p, subj, msg)...)
		b.link(waiting, PortFalse, alert)
		prev, port = waiting, PortTrue
		last = v
	}
	subj, msg := noTrackingEmail(p, last.status, last.code, last.detail, last.checked, n)
	final, _ := b.add("no_tracking.alert", "email", col+n*4, 2, fmt.Sprintf("Alert: no tracking after %d checks", n), emailStep(p, subj, msg)...)
	b.link(prev, port, final)
}

// leanVars are the Liquid/condition expressions one lean check exposes.
type leanVars struct {
	done, waiting, code, detail, status, checked string
}
