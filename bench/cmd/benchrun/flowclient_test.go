package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// The Flow-like client must re-send exactly what Flow re-sends (timeouts,
// 429, 5xx) and stop on what Flow treats as final (2xx, other 4xx).
func TestFlowClientResends(t *testing.T) {
	tests := []struct {
		name         string
		answers      []int // status per attempt; 0 = hang until the client gives up
		wantAttempts int
		wantStatus   int
		wantTimeouts int
	}{
		{"success at once", []int{200}, 1, 200, 0},
		{"429 then 503 then 200", []int{429, 503, 200}, 3, 200, 0},
		{"422 is final", []int{422}, 1, 422, 0},
		{"409 is final too", []int{409}, 1, 409, 0},
		{"timeout is re-sent", []int{0, 200}, 2, 200, 1},
		{"gives up after the window", []int{503, 503, 503, 503, 503, 503, 503, 503, 503, 503}, 0, 503, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer k" {
					t.Errorf("auth header %q", r.Header.Get("Authorization"))
				}
				i := int(n.Add(1) - 1)
				code := tc.answers[min(i, len(tc.answers)-1)]
				if code == 0 {
					select {
					case <-r.Context().Done():
					case <-release:
					}
					return
				}
				w.WriteHeader(code)
				fmt.Fprintf(w, `{"ok":%v,"outcome":"placed","supplier_order_id":"700000000001"}`, code == 200)
			}))
			defer srv.Close()
			defer close(release)
			fc := &flowClient{Timeout: 100 * time.Millisecond, Backoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond,
				GiveUp: 5 * time.Second, Bases: []string{srv.URL}, Key: "k", HTTP: srv.Client()}
			if tc.wantAttempts == 0 {
				// Bound the run by its give-up window instead.
				fc.Backoff, fc.MaxBackoff, fc.GiveUp = 20*time.Millisecond, 20*time.Millisecond, 30*time.Millisecond
			}
			r := fc.run(context.Background(), "1", "/orders", []byte(`{}`), rand.New(rand.NewPCG(1, 1)))
			if tc.wantAttempts > 0 && r.Attempts != tc.wantAttempts {
				t.Fatalf("attempts %d, want %d", r.Attempts, tc.wantAttempts)
			}
			if tc.wantAttempts == 0 && r.Attempts < 2 {
				t.Fatalf("attempts %d, want re-sends before giving up", r.Attempts)
			}
			if r.Status != tc.wantStatus || r.Timeouts != tc.wantTimeouts {
				t.Fatalf("status %d timeouts %d, want %d %d", r.Status, r.Timeouts, tc.wantStatus, tc.wantTimeouts)
			}
			if r.Status == 200 && r.SupplierOrderID != "700000000001" {
				t.Fatalf("supplier order id %q", r.SupplierOrderID)
			}
		})
	}
}

func TestSummarisePercentiles(t *testing.T) {
	var lat []time.Duration
	for i := 100; i >= 1; i-- {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	s := summarise("x", 1, lat, map[string]int{"200": 100}, 0, 10*time.Second, "")
	if s.P50Ms != 50 || s.P90Ms != 90 || s.P99Ms != 99 || s.MaxMs != 100 || s.RPS != 10 || s.MeanMs != 50.5 {
		t.Fatalf("%+v", s)
	}
	if len(s.Curve) != len(CurveAt) || s.Curve[0] != 1 || s.Curve[len(s.Curve)-1] != 100 {
		t.Fatalf("curve %v", s.Curve)
	}
}

func TestEAN13(t *testing.T) {
	for prefix, want := range map[string]string{"840000000001": "8400000000017", "400638133393": "4006381333931"} {
		if got := ean13(prefix); got != want {
			t.Errorf("ean13(%s) = %s, want %s", prefix, got, want)
		}
	}
}
