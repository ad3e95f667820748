package sandbox_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

func TestRatesByZoneAndWeight(t *testing.T) {
	type opt struct {
		carrier string
		price   int64
	}
	tests := []struct {
		name     string
		country  string
		postcode string
		lines    []supplier.Line
		want     []opt // cheapest first
	}{
		{"spain mainland, light cart", "ES", "46005", lines(mug, 1),
			[]opt{{"Correos", 425}, {"GLS", 495}, {"SEUR", 575}, {"DHL", 690}}},
		{"lower-case country", "es", "46005", lines(mug, 1),
			[]opt{{"Correos", 425}, {"GLS", 495}, {"SEUR", 575}, {"DHL", 690}}},
		{"spain, 5.2 kg pays 5 more kilos", "ES", "28001", lines(skillet, 2),
			[]opt{{"Correos", 425 + 5*50}, {"GLS", 495 + 5*55}, {"SEUR", 575 + 5*65}, {"DHL", 690 + 5*80}}},
		{"canary islands: customs carriers only", "ES", "35001", lines(mug, 1),
			[]opt{{"Correos", 690}, {"SEUR", 990}}},
		{"melilla", "ES", "52001", lines(mug, 1),
			[]opt{{"Correos", 690}, {"SEUR", 990}}},
		{"EU", "DE", "10115", lines(mug, 1),
			[]opt{{"GLS", 995}, {"Correos", 1090}, {"SEUR", 1150}, {"DHL", 1290}}},
		{"UK: no GLS", "GB", "SW1A 1AA", lines(mug, 1),
			[]opt{{"Correos", 1590}, {"SEUR", 1890}, {"DHL", 1990}}},
		{"Switzerland: no GLS", "CH", "8001", lines(candle, 1),
			[]opt{{"Correos", 1590}, {"SEUR", 1890}, {"DHL", 1990}}},
		{"world", "US", "10001", lines(campCup, 1),
			[]opt{{"Correos", 2490}, {"DHL", 3490}}},
		{"33 kg: too heavy for Correos", "ES", "46005", lines(board, 30),
			[]opt{{"GLS", 495 + 32*55}, {"SEUR", 575 + 32*65}, {"DHL", 690 + 32*80}}},
		{"Antarctica: nothing", "AQ", "", lines(mug, 1), nil},
		{"postcode 00000: nothing", "ES", "00000", lines(mug, 1), nil},
		{"postcode 00000 abroad: nothing", "FR", "00000", lines(mug, 1), nil},
	}
	s := sandbox.New(sandbox.Config{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rates, err := s.Rates(context.Background(), supplier.RateRequest{CountryCode: tc.country, PostalCode: tc.postcode, Lines: tc.lines})
			if err != nil {
				t.Fatal(err)
			}
			if rates == nil {
				t.Error("want an empty list, not nil")
			}
			var got []opt
			for _, r := range rates {
				got = append(got, opt{r.Carrier, r.Price.Minor})
				if r.ID == "" || r.Price.Currency != "EUR" || r.MinDays < 1 || r.MaxDays < r.MinDays || r.Service == "" {
					t.Errorf("incomplete rate %+v", r)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRateIDsAreDeterministicAndBound(t *testing.T) {
	s := sandbox.New(sandbox.Config{})
	ids := map[string]string{}
	for _, dest := range [][2]string{{"ES", "46005"}, {"ES", "28001"}, {"PT", "46005"}, {"GB", "SW1A 1AA"}} {
		rates, err := s.Rates(context.Background(), supplier.RateRequest{CountryCode: dest[0], PostalCode: dest[1], Lines: lines(mug, 1)})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rates {
			key := fmt.Sprint(dest, r.Carrier)
			if other, dup := ids[r.ID]; dup {
				t.Errorf("id %s given to both %s and %s", r.ID, other, key)
			}
			ids[r.ID] = key
		}
	}
	// Same destination, other cart and other spelling of the postcode:
	// same ids (a new sandbox, too, so nothing is remembered).
	again := sandbox.New(sandbox.Config{})
	if a, b := rateFor(t, s, "GB", "SW1A 1AA", "DHL", lines(mug, 1)), rateFor(t, again, "gb", "sw1a1aa", "DHL", lines(board, 3)); a != b {
		t.Errorf("rate id changed with spelling or cart: %s vs %s", a, b)
	}
}

func TestRatesUnmatchedNamesEveryLine(t *testing.T) {
	s := sandbox.New(sandbox.Config{})
	_, err := s.Rates(context.Background(), supplier.RateRequest{CountryCode: "ES", PostalCode: "46005",
		Lines: lines(mug, 1, "8400000000093", 1, "0072000000014", 1, "not-a-barcode", 2, tablecloth, 9)})
	pe := wantProblem(t, err, problem.Rejected, problem.CodeUnmatchedEAN)
	// Line 2 is the UPC-A in its 13-digit form and must match; line 4 is out
	// of stock, which rates do not check.
	if want := []string{"/line_items/1/barcode", "/line_items/3/barcode"}; !slices.Equal(pointers(pe), want) {
		t.Errorf("fields %v, want %v", pointers(pe), want)
	}
}

func TestRatesInvalidInput(t *testing.T) {
	tests := []struct {
		name    string
		req     supplier.RateRequest
		kind    problem.Kind
		code    string
		pointer string
	}{
		{"no lines", supplier.RateRequest{CountryCode: "ES"}, problem.Invalid, problem.CodeValidation, "/line_items"},
		{"zero quantity", supplier.RateRequest{CountryCode: "ES", Lines: lines(mug, 1, mug, 0)}, problem.Invalid, problem.CodeValidation, "/line_items/1/quantity"},
		{"bad country", supplier.RateRequest{CountryCode: "ESP", Lines: lines(mug, 1)}, problem.Rejected, problem.CodeInvalidAddress, "/shipping_address/country_code"},
		{"empty country", supplier.RateRequest{Lines: lines(mug, 1)}, problem.Rejected, problem.CodeInvalidAddress, "/shipping_address/country_code"},
	}
	s := sandbox.New(sandbox.Config{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Rates(context.Background(), tc.req)
			pe := wantProblem(t, err, tc.kind, tc.code)
			if !slices.Equal(pointers(pe), []string{tc.pointer}) {
				t.Errorf("fields %v, want [%s]", pointers(pe), tc.pointer)
			}
		})
	}
}
