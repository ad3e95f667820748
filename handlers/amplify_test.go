package handlers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/flowbridge/flowbridge"
	"github.com/flowbridge/flowbridge/handlers"
)

// A body of 130,000 line items that are not objects (262 KB, the fault
// run's body) once drew a 10 MB error answer. The answer lists at most
// handlers.MaxFieldErrors fields and says how many it left out, so its
// size does not grow with the body.
func TestErrorAnswerDoesNotGrowWithTheBody(t *testing.T) {
	app, sb, _ := newApp(t, nil) // the default body cap (256 KiB) admits it
	items := strings.TrimSuffix(strings.Repeat("1,", 130000), ",")
	for _, path := range []string{"/rates", "/orders"} {
		b := `{"order_id":"1","currency":"EUR","shipping_address":{"country_code":"ES"},"line_items":[` + items + `]}`
		if len(b) < 260000 {
			t.Fatalf("body is %d bytes", len(b))
		}
		r := app.Do(http.MethodPost, path, b)
		if r.Status != http.StatusBadRequest || r.Code() != "invalid_json" {
			t.Fatalf("%s: %d %.300s", path, r.Status, r.Body)
		}
		if len(r.Body) > 16<<10 {
			t.Fatalf("%s: a %d-byte body drew a %d-byte answer", path, len(b), len(r.Body))
		}
		ptrs := r.Pointers()
		if len(ptrs) == 0 || len(ptrs) > handlers.MaxFieldErrors {
			t.Fatalf("%s: %d field errors listed", path, len(ptrs))
		}
		var p struct {
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal(r.Body, &p)
		if !strings.Contains(p.Detail, "at least") || !strings.Contains(p.Detail, "listed") || !strings.Contains(strings.Join(ptrs, " "), "/line_items") {
			t.Fatalf("%s: the answer does not say errors were left out or does not name line_items: %s", path, r.Body)
		}
	}
	if st := sb.Stats(); st.RatesCalls != 0 || st.CreateCalls != 0 {
		t.Fatalf("the bodies reached the supplier: %+v", st)
	}
}

// BenchmarkAmplificationBody measures what refusing the 130,000-item body
// costs (time and allocations per refusal), the memory question of the
// fault run.
func BenchmarkAmplificationBody(b *testing.B) {
	h, err := handlers.New(handlers.Config{Spec: flowbridge.OpenAPI()})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"order_id":"1","currency":"EUR","shipping_address":{"country_code":"ES"},"line_items":[` +
		strings.TrimSuffix(strings.Repeat("1,", 130000), ",") + `]}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := h.DecodeOrder(body); err == nil {
			b.Fatal("accepted")
		}
	}
}
