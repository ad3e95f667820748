package timeline_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/contract"
	"github.com/flowbridge/flowbridge/timeline"
)

// An event with every field set is valid against openapi.yaml's
// TimelineEvent (which allows no other properties), so a field added to
// Event without the spec fails here rather than in an operator's client.
func TestEventMatchesTheSpec(t *testing.T) {
	doc, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	ref := doc.Components.Schemas["TimelineEvent"]
	if ref == nil || ref.Value == nil {
		t.Fatal("openapi.yaml has no TimelineEvent schema")
	}
	ev := timeline.Event{At: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Kind: timeline.KindTrackingChecked, Op: "tracking",
		Carrier: "GLS", Reason: "cheapest", SupplierOrderID: "S-1", Status: "shipped", RawStatus: "En tránsito", TrackingNumbers: 2,
		Code: "x", Action: "adopt", Actor: "Ana", Via: "console", Address: "ES 46***", Note: "n", TestMode: true, Cached: true, Repeats: 3}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if n := reflect.TypeOf(ev).NumField(); len(v) != n {
		t.Fatalf("the event has %d fields set, want all %d: %s", len(v), n, b)
	}
	if err := ref.Value.VisitJSON(v); err != nil {
		t.Fatalf("event %s does not match TimelineEvent: %v", b, err)
	}
	// Repeats is a count of folded repeats: at least one when present.
	v["repeats"] = 0.0
	if err := ref.Value.VisitJSON(v); err == nil {
		t.Fatal("TimelineEvent accepts repeats 0; it is omitted when nothing was folded")
	}
}
