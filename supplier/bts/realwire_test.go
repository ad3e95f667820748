package bts

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/bts/btsfake"
)

// Tests of BTS behaviour taken from the vendor's API v2.1 document and
// public clients (table in docs/supplier-bts.md); each failed before
// issue 11's fixes.

// The vendor documents 404 as "check endpoint or feed disabled": a JSON
// 404 from getOrder means "order unknown" only when its body says so.
func TestGetOrder404WithoutErrorWordIsNotOrderUnknown(t *testing.T) {
	f := newFake(t, func(c *btsfake.Config) { c.Disabled = map[string]bool{"getOrder": true} })
	c := newTestClient(t, f, nil)
	f.addOrder(&fakeOrder{Number: "743799256900", Status: "Paid"})
	_, err := c.Tracking(context.Background(), "743799256900")
	pe := checkProblem(t, err, problem.Upstream, problem.CodeSupplierBadResponse, false)
	mustf(t, strings.Contains(pe.Detail, "disabled"), "detail %q should name the disabled endpoint", pe.Detail)

	// With the error word, it is the documented "unknown order".
	f = newFake(t)
	c = newTestClient(t, f, nil)
	_, err = c.Tracking(context.Background(), "743799256999")
	checkProblem(t, err, problem.NotFound, problem.CodeOrderNotFound, false)
}

// Real BTS tokens carry sub and iat only: a refused one cannot be called
// expired from its claims, and the hint must still help.
func TestRefusedTokenWithoutExpHint(t *testing.T) {
	f := newFake(t, func(c *btsfake.Config) {
		c.Token = jwtWith(`{"alg":"HS256"}`, `{"sub":"753252","iat":1767225600}`)
	})
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host = "http", f.srv.Listener.Addr().String()
		return http.DefaultTransport.RoundTrip(r)
	})}
	old := jwtWith(`{"alg":"HS256"}`, `{"sub":"753252","iat":1735689600}`)
	c, err := New(Config{BaseURL: DefaultBaseURL, Token: old, HTTPClient: hc, Now: func() time.Time { return time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	pe := checkProblem(t, c.CheckCredentials(context.Background()), problem.Unavailable, problem.CodeSupplierAuth, false)
	for _, want := range []string{"issued on 2025-01-01", "no expiry", "revoked or replaced"} {
		mustf(t, strings.Contains(pe.Detail, want), "detail %q lacks %q", pe.Detail, want)
	}
	mustf(t, !strings.Contains(pe.Detail, "expired on"), "detail %q claims an expiry the token does not carry", pe.Detail)
}

// free_shipping is the subtotal above which shipping costs nothing.
func TestRatesApplyFreeShippingThreshold(t *testing.T) {
	f := newFake(t)
	c := newTestClient(t, f, nil)
	// 3 × 65.99 = 197.97 EUR at BTS's prices: over SEUR's 150, under GLS's 200.
	rates, err := c.Rates(context.Background(), supplier.RateRequest{CountryCode: "ES", PostalCode: "28001",
		Lines: []supplier.Line{{EAN: "8411061123456", Quantity: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	mustf(t, len(rates) == 2 && rates[0].ID == "145" && rates[0].Price.Minor == 0 && rates[1].ID == "148" && rates[1].Price.Minor == 599,
		"rates %+v, want SEUR free and GLS 5.99", rates)

	// Under every threshold: normal costs.
	rates, err = c.Rates(context.Background(), supplier.RateRequest{CountryCode: "ES", PostalCode: "28001",
		Lines: []supplier.Line{{EAN: "8411061123456", Quantity: 1}}})
	mustf(t, err == nil && rates[0].Price.Minor == 750 && rates[1].Price.Minor == 599, "rates %+v %v", rates, err)

	// Without BTS's prices the subtotal is unknown: the full cost is quoted.
	f = newFake(t)
	c = newTestClient(t, f, nil)
	f.handle("getProductStock", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "x"})
	})
	rates, err = c.Rates(context.Background(), supplier.RateRequest{CountryCode: "ES", PostalCode: "28001",
		Lines: []supplier.Line{{EAN: "8411061123456", Quantity: 3}}})
	mustf(t, err == nil && rates[0].Price.Minor == 750, "rates %+v %v", rates, err)
}

// Each endpoint has its own 429 in the simulator: a limited quote does
// not stop a tracking read.
func TestPerEndpoint429(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f := newFake(t, func(c *btsfake.Config) { c.PerEndpointPerSecond = 1; c.Now = func() time.Time { return now } })
	c := newTestClient(t, f, nil)
	f.addOrder(&fakeOrder{Number: "743799256900", Status: "Paid"})
	req := supplier.RateRequest{CountryCode: "ES", PostalCode: "28001", Lines: []supplier.Line{{EAN: "8411061123456", Quantity: 1}}}
	if _, err := c.Rates(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	_, err := c.Rates(context.Background(), req)
	checkProblem(t, err, problem.Unavailable, problem.CodeSupplierRateLimited, false)
	if _, err := c.Tracking(context.Background(), "743799256900"); err != nil {
		t.Fatalf("tracking on another endpoint: %v", err)
	}
}
