package flowtemplates

import (
	"strings"
	"testing"

	"github.com/flowbridge/flowbridge/problem"
)

func TestCheckRecurrence(t *testing.T) {
	for _, tc := range []struct {
		in, err string
	}{
		{in: "DTSTART;TZID=Europe/Madrid:20270101T030000\nRRULE:FREQ=DAILY;INTERVAL=1", err: ""},
		{in: "DTSTART;TZID=UTC:20270101T000000\nRRULE:FREQ=MINUTELY;INTERVAL=10", err: ""},
		{in: "DTSTART;TZID=UTC:20270101T000000\nRRULE:FREQ=MINUTELY;INTERVAL=5", err: "10 minutes"},
		{in: "DTSTART;TZID=UTC:20270101T000000\nRRULE:FREQ=MINUTELY", err: "10 minutes"},
		{in: "DTSTART;TZID=UTC:20270101T000000\nRRULE:INTERVAL=2", err: "FREQ"},
		{in: "RRULE:FREQ=HOURLY", err: "DTSTART"},
		{in: `DTSTART;TZID=UTC:20270101T000000\nRRULE:FREQ=HOURLY`, err: "DTSTART"}, // escaped, not a newline
	} {
		err := checkRecurrence(tc.in)
		if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
		}
	}
	p := Defaults()
	p.StockRecurrence = "every hour"
	_, err := BuildStockSync(p)
	pe := problem.From(err)
	if pe == nil || len(pe.Fields) != 1 || pe.Fields[0].Pointer != "/stock_recurrence" {
		t.Errorf("bad recurrence: %v", err)
	}
}

func TestStockSyncWorkflowShape(t *testing.T) {
	p := Defaults()
	w, err := BuildStockSync(p)
	if err != nil {
		t.Fatal(err)
	}
	tr := w.Triggers()
	if len(tr) != 1 || tr[0].TaskID != "shopify::flow::scheduled_time" {
		t.Fatalf("trigger %+v", tr)
	}
	if v, _ := tr[0].Config("recurrence"); v != `["DTSTART;TZID=UTC:20270101T000000\nRRULE:FREQ=HOURLY;INTERVAL=1;WKST=MO"]` {
		t.Errorf("recurrence %s", v)
	}
	req, _ := w.Next(tr[0].StepID, PortOutput)
	s, _ := w.Step(req)
	url, _ := s.Config("url")
	h, _ := s.Config("headers")
	if url != p.BaseURL+"/stock/sync" || !strings.Contains(h, "Bearer {{ secrets."+p.SecretName+" }}") {
		t.Errorf("request %s %s", url, h)
	}
	p.StockRecurrence = ""
	files, err := Generate(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Name == StockSyncFile || strings.Contains(string(f.Data), StockSyncName) {
			t.Errorf("no recurrence, yet %s holds the stock sync workflow", f.Name)
		}
	}
}
