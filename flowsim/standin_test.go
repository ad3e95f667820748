package flowsim

// A stand-in for flowbridge's Flow-facing HTTP contract (docs/DESIGN.md)
// over the REAL sandbox supplier, used until internal/apptest (the real
// server) is on main. It implements only what the workflows call: bearer
// auth, POST /rates (sandbox rates + supplier.Choose), POST /orders (one
// placement per order id: in-flight duplicates get 429 + Retry-After,
// finished ones a replay; a non-empty supplier_order_id records without
// creating), GET /tracking/{id}. Switch startFlowbridge to apptest.Start
// once it lands; the scenarios do not depend on which one runs.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

type standIn struct {
	sup   supplier.Supplier
	key   string
	mu    sync.Mutex
	state map[string]*placement
}

type placement struct {
	done   chan struct{}
	status int
	body   map[string]any
}

// startFlowbridge runs the service over sb; now is its clock (the
// simulator's, so caches expire in Flow time). The stand-in keeps no
// time-dependent state, so it ignores now.
func startFlowbridge(t *testing.T, sb *sandbox.Supplier, now func() time.Time) (url, key string) {
	t.Helper()
	_ = now
	s := &standIn{sup: sb, key: "test-key-0123456789", state: map[string]*placement{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /rates", s.auth(s.rates))
	mux.HandleFunc("POST /orders", s.auth(s.orders))
	mux.HandleFunc("GET /tracking/{id}", s.auth(s.tracking))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, s.key
}

func (s *standIn) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+s.key {
			writeProblem(w, problem.New(problem.Unauthorized, problem.CodeUnauthorized, "bad key"))
			return
		}
		h(w, r)
	}
}

func statusOf(pe *problem.Error) int {
	if pe.Status != 0 {
		return pe.Status
	}
	return map[problem.Kind]int{problem.Invalid: 400, problem.Unauthorized: 401, problem.NotFound: 404,
		problem.Rejected: 422, problem.Busy: 429, problem.Unavailable: 503, problem.Upstream: 502}[pe.Kind]
}

func problemBody(pe *problem.Error) (int, map[string]any) {
	st := statusOf(pe)
	if st == 0 {
		st = 500
	}
	return st, map[string]any{"ok": false, "code": pe.Code, "detail": pe.Detail, "status": st, "errors": pe.Fields}
}

func writeProblem(w http.ResponseWriter, err error) {
	pe := problem.From(err)
	st, body := problemBody(pe)
	if pe.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(pe.RetryAfter.Seconds()+0.999)))
	}
	writeJSON(w, st, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type lineIn struct {
	Barcode  string `json:"barcode"`
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

func lines(in []lineIn) []supplier.Line {
	out := make([]supplier.Line, len(in))
	for i, l := range in {
		out[i] = supplier.Line{EAN: l.Barcode, SKU: l.SKU, Quantity: l.Quantity}
	}
	return out
}

func (s *standIn) rates(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ShippingAddress struct {
			CountryCode string `json:"country_code"`
			Zip         string `json:"zip"`
		} `json:"shipping_address"`
		LineItems []lineIn `json:"line_items"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeProblem(w, problem.New(problem.Invalid, problem.CodeInvalidJSON, err.Error()))
		return
	}
	rates, err := s.sup.Rates(r.Context(), supplier.RateRequest{CountryCode: in.ShippingAddress.CountryCode,
		PostalCode: in.ShippingAddress.Zip, Lines: lines(in.LineItems)})
	if err != nil {
		writeProblem(w, err)
		return
	}
	c, err := supplier.Choose(rates, []string{"GLS"})
	if err != nil {
		writeProblem(w, err)
		return
	}
	writeJSON(w, 200, map[string]any{"ok": true, "shipping_cost_id": c.Rate.ID, "carrier": c.Rate.Carrier,
		"price": fmt.Sprintf("%.2f", float64(c.Rate.Price.Minor)/100), "currency": c.Rate.Price.Currency,
		"choice": c.Kind, "options_count": len(rates), "supplier": "sandbox", "test_mode": false})
}

func (s *standIn) orders(w http.ResponseWriter, r *http.Request) {
	var in struct {
		OrderID         string `json:"order_id"`
		OrderName       string `json:"order_name"`
		ShippingAddress struct {
			FirstName   string `json:"first_name"`
			LastName    string `json:"last_name"`
			Address1    string `json:"address1"`
			Address2    string `json:"address2"`
			City        string `json:"city"`
			Zip         string `json:"zip"`
			CountryCode string `json:"country_code"`
		} `json:"shipping_address"`
		LineItems       []lineIn `json:"line_items"`
		ShippingCostID  string   `json:"shipping_cost_id"`
		SupplierOrderID string   `json:"supplier_order_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeProblem(w, problem.New(problem.Invalid, problem.CodeInvalidJSON, err.Error()))
		return
	}
	id := in.OrderID[strings.LastIndexByte(in.OrderID, '/')+1:]
	if in.SupplierOrderID != "" {
		writeJSON(w, 200, map[string]any{"ok": true, "outcome": "recorded", "order_id": id, "supplier_order_id": in.SupplierOrderID, "needs_review": false})
		return
	}
	s.mu.Lock()
	p, seen := s.state[id]
	if !seen {
		p = &placement{done: make(chan struct{})}
		s.state[id] = p
	}
	s.mu.Unlock()
	if seen {
		select {
		case <-p.done:
			body := map[string]any{}
			for k, v := range p.body {
				body[k] = v
			}
			if body["ok"] == true {
				body["outcome"], body["replay"] = "replayed", true
			}
			writeJSON(w, p.status, body)
		default:
			writeProblem(w, problem.New(problem.Busy, problem.CodeInFlight, "this order is being placed right now").WithRetryAfter(time.Second))
		}
		return
	}
	// Placement outlives the request: Flow may hang up after 30 s.
	go func() {
		defer close(p.done)
		a := in.ShippingAddress
		placed, err := s.sup.CreateOrder(context.Background(), supplier.Order{Reference: id, Name: in.OrderName,
			ShipTo: supplier.Address{FirstName: a.FirstName, LastName: a.LastName, Address1: a.Address1, Address2: a.Address2,
				City: a.City, PostalCode: a.Zip, CountryCode: a.CountryCode}, Lines: lines(in.LineItems), ShippingRateID: in.ShippingCostID})
		switch {
		case err == nil:
			p.status, p.body = 200, map[string]any{"ok": true, "outcome": "placed", "order_id": id, "supplier_order_id": placed.SupplierOrderID,
				"supplier_status": string(placed.Status), "needs_review": false, "replay": false}
		case supplier.IsOutcomeUnknown(err):
			p.status, p.body = 202, map[string]any{"ok": false, "outcome": "needs_review", "needs_review": true, "order_id": id,
				"review_reason": "the supplier may have the order; check its portal"}
		default:
			pe := problem.From(err)
			p.status, p.body = problemBody(pe)
			if pe.Kind == problem.Unavailable || pe.Kind == problem.Busy {
				s.mu.Lock()
				delete(s.state, id) // retryable: nothing was created
				s.mu.Unlock()
			}
		}
	}()
	<-p.done
	writeJSON(w, p.status, p.body)
}

func (s *standIn) tracking(w http.ResponseWriter, r *http.Request) {
	tr, err := s.sup.Tracking(r.Context(), r.PathValue("id"))
	if err != nil {
		writeProblem(w, err)
		return
	}
	numbers, urls := []string{}, []string{}
	company := ""
	for _, p := range tr.Parcels {
		numbers, urls, company = append(numbers, p.Number), append(urls, p.URL), p.Carrier
	}
	shipped := tr.Status == supplier.StatusShipped || tr.Status == supplier.StatusDelivered
	writeJSON(w, 200, map[string]any{"ok": true, "supplier_order_id": tr.SupplierOrderID, "status": string(tr.Status),
		"raw_status": tr.RawStatus, "shipped": tr.Status == supplier.StatusShipped, "cancelled": tr.Status == supplier.StatusCancelled,
		"fulfillable": shipped && len(numbers) > 0, "tracking_company": company, "tracking_numbers": numbers,
		"tracking_urls": urls, "parcels_count": len(numbers), "checked_at": time.Now().UTC().Format(time.RFC3339)})
}
