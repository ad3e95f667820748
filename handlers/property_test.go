package handlers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/flowbridge/flowbridge/internal/contract"
	"github.com/flowbridge/flowbridge/internal/schemagen"
)

// TestRequestsMatchTheSpec holds the server to openapi.yaml in both
// directions, for every POST endpoint: bodies generated from the
// operation's request schema are never refused for their shape (no 400),
// and each body broken in one way the schema forbids is refused with 400
// naming the broken field. The generator (internal/schemagen) reads only
// the schema; the server is the whole production stack in process
// (middleware, auth, handlers, the in-process store, the sandbox).
func TestRequestsMatchTheSpec(t *testing.T) {
	const perEndpoint = 5000
	doc, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	app, _, _ := newApp(t, nil)
	h := app.Server.Handler()
	endpoints := []struct {
		op, path, key string
	}{
		{"postRates", "/rates", app.APIKey},
		{"postOrders", "/orders", app.APIKey},
		{"resolveOrder", "/admin/orders/%d/resolve", app.OperatorKey},
		{"releaseOrderCache", "/admin/orders/%d/release-cache", app.OperatorKey},
	}
	for i, ep := range endpoints {
		t.Run(ep.op, func(t *testing.T) {
			schema := requestSchema(t, doc, ep.op)
			g := schemagen.New(uint64(1000 + i))
			send := func(n int, v any) (int, []byte) {
				b, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				path := ep.path
				if strings.Contains(path, "%d") {
					path = fmt.Sprintf(path, 5000+n%50)
				}
				req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(b))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+ep.key)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec.Code, rec.Body.Bytes()
			}
			var valid400, valid5xx, accepted, unnamed, broken int
			kinds := map[string]int{}
			statuses := map[int]int{}
			for n := range perEndpoint {
				v := g.Value(schema)
				st, body := send(n, v)
				statuses[st]++
				switch {
				case st == http.StatusBadRequest:
					valid400++
					if valid400 <= 5 {
						b, _ := json.Marshal(v)
						t.Errorf("valid body refused with 400: %s\nbody: %.600s", body, b)
					}
				case st >= 500 && st != http.StatusServiceUnavailable:
					valid5xx++
					t.Errorf("valid body answered %d: %s", st, body)
				}

				bad, m, ok := g.Break(schema, v)
				if !ok {
					continue
				}
				broken++
				kinds[m.Kind]++
				st, body = send(n, bad)
				if st != http.StatusBadRequest {
					accepted++
					if accepted <= 5 {
						b, _ := json.Marshal(bad)
						t.Errorf("body broken by %s at %q answered %d: %.300s\nbody: %.600s", m.Kind, m.Pointer, st, body, b)
					}
					continue
				}
				if !slices.Contains(pointers(body), m.Pointer) {
					unnamed++
					if unnamed <= 5 {
						b, _ := json.Marshal(bad)
						t.Errorf("body broken by %s at %q: the 400 names %v: %.300s\nbody: %.400s", m.Kind, m.Pointer, pointers(body), body, b)
					}
				}
			}
			t.Logf("%s: %d valid bodies (400s: %d, statuses %v); %d broken bodies (accepted: %d, 400 not naming the field: %d), by kind %v",
				ep.op, perEndpoint, valid400, statuses, broken, accepted, unnamed, kinds)
			if broken < perEndpoint*9/10 {
				t.Errorf("only %d of %d bodies could be broken", broken, perEndpoint)
			}
		})
	}
}

func requestSchema(t *testing.T, doc *openapi3.T, opID string) *openapi3.Schema {
	t.Helper()
	for _, pi := range doc.Paths.Map() {
		for _, op := range pi.Operations() {
			if op.OperationID == opID {
				return op.RequestBody.Value.Content.Get("application/json").Schema.Value
			}
		}
	}
	t.Fatalf("no operation %s", opID)
	return nil
}

func pointers(body []byte) []string {
	var p struct {
		Errors []struct {
			Pointer string `json:"pointer"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(body, &p)
	out := make([]string, len(p.Errors))
	for i, e := range p.Errors {
		out[i] = e.Pointer
	}
	return out
}
