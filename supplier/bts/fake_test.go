package bts

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/bts/btsfake"
)

// fakeBTS runs the independent BTS simulator (package btsfake, which knows
// nothing of this adapter) behind an httptest server under /v1/api.
type fakeBTS struct {
	*btsfake.Server
	srv   *httptest.Server
	token string
}

type fakeOrder = btsfake.Order

// fakeToken has the claims a real BTS token carries: sub and iat, no exp
// (volodymyr-dehtiarenko/btswholesaler run.py).
const fakeToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI3NTMyNTIiLCJpYXQiOjE3MzU2ODk2MDB9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"

func newFake(t *testing.T, mods ...func(*btsfake.Config)) *fakeBTS {
	t.Helper()
	cfg := btsfake.DefaultConfig()
	cfg.Token = fakeToken
	for _, m := range mods {
		m(&cfg)
	}
	f := &fakeBTS{Server: btsfake.New(cfg), token: cfg.Token}
	f.srv = httptest.NewServer(f.Server)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeBTS) baseURL() string { return f.srv.URL + "/v1/api" }

func (f *fakeBTS) handle(endpoint string, h http.HandlerFunc) { f.Handle(endpoint, h) }
func (f *fakeBTS) calls(endpoint string) []btsfake.Request    { return f.Calls(endpoint) }
func (f *fakeBTS) addOrder(o *fakeOrder)                      { f.AddOrder(*o) }

func writeJSON(w http.ResponseWriter, status int, v any) { btsfake.WriteJSON(w, status, v) }

// newTestClient returns a client for f; mutate adjusts the config.
func newTestClient(t *testing.T, f *fakeBTS, mutate func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: f.baseURL(), Token: f.token, HTTPClient: f.srv.Client()}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func testOrder() supplier.Order {
	return supplier.Order{
		Reference: "123", Name: "#1001", Email: "a@example.com", Phone: "+34600000000",
		ShipTo: supplier.Address{FirstName: "Ana", LastName: "García", Address1: "Calle 1", Address2: "Piso 2",
			City: "Valencia", PostalCode: "46005", CountryCode: "es", Phone: "+34611111111"},
		Lines:          []supplier.Line{{EAN: "8411061123456", Quantity: 2}, {EAN: "3614272049529", Quantity: 1}},
		ShippingRateID: "148",
	}
}

func mustf(t *testing.T, cond bool, format string, args ...any) {
	t.Helper()
	if !cond {
		t.Fatalf(format, args...)
	}
}
