package supplier

import (
	"strings"
	"testing"

	"github.com/flowbridge/flowbridge/problem"
)

func eur(minor int64) Money { return Money{Minor: minor, Currency: "EUR"} }

func TestChoose(t *testing.T) {
	gls := Rate{ID: "17", Carrier: "GLS", Price: eur(495), MinDays: 2, MaxDays: 3}
	glsExpress := Rate{ID: "18", Carrier: "GLS Express", Price: eur(895), MinDays: 1, MaxDays: 1}
	seur := Rate{ID: "21", Carrier: "SEUR", Price: eur(395), MinDays: 2, MaxDays: 4}
	correos := Rate{ID: "30", Carrier: "Correos", Price: eur(395), MinDays: 3, MaxDays: 5}
	dhl := Rate{ID: "40", Carrier: "DHL", Price: eur(2500), MinDays: 1, MaxDays: 2}
	ups := Rate{ID: "41", Carrier: "UPS", Price: eur(2500), MinDays: 1, MaxDays: 2}
	glsService := Rate{ID: "50", Carrier: "Parcel network", Service: "gls economy", Price: eur(600), MaxDays: 4}
	glsx := Rate{ID: "60", Carrier: "GLSX", Price: eur(100), MaxDays: 1}

	tests := []struct {
		name     string
		rates    []Rate
		prefs    []string
		wantID   string
		wantKind string
		wantCode string
	}{
		{name: "GLS present wins over cheaper SEUR", rates: []Rate{seur, gls, correos}, prefs: []string{"GLS"}, wantID: "17", wantKind: ChoicePreferred},
		{name: "case-insensitive preference", rates: []Rate{seur, gls}, prefs: []string{"gls"}, wantID: "17", wantKind: ChoicePreferred},
		{name: "cheapest of matching GLS services", rates: []Rate{glsExpress, gls}, prefs: []string{"GLS"}, wantID: "17", wantKind: ChoicePreferred},
		{name: "GLS Express alone matches GLS", rates: []Rate{seur, glsExpress}, prefs: []string{"GLS"}, wantID: "18", wantKind: ChoicePreferred},
		{name: "service name matches", rates: []Rate{seur, glsService}, prefs: []string{"GLS"}, wantID: "50", wantKind: ChoicePreferred},
		{name: "no partial-word match", rates: []Rate{glsx, seur}, prefs: []string{"GLS"}, wantID: "60", wantKind: ChoiceFallback},
		{name: "list order beats price", rates: []Rate{seur, gls}, prefs: []string{"SEUR", "GLS"}, wantID: "21", wantKind: ChoicePreferred},
		{name: "second preference when first absent", rates: []Rate{correos, seur, dhl}, prefs: []string{"GLS", "DHL"}, wantID: "40", wantKind: ChoicePreferred},
		{name: "GLS absent: cheapest then fastest", rates: []Rate{correos, dhl, seur}, prefs: []string{"GLS"}, wantID: "21", wantKind: ChoiceFallback},
		{name: "no preferences: cheapest", rates: []Rate{dhl, correos}, prefs: nil, wantID: "30", wantKind: ChoiceFallback},
		{name: "only expensive options", rates: []Rate{ups, dhl}, prefs: []string{"GLS"}, wantID: "40", wantKind: ChoiceFallback},
		{name: "tie broken by id deterministically", rates: []Rate{ups, dhl}, prefs: []string{"GLS"}, wantID: "40", wantKind: ChoiceFallback},
		{name: "numeric ids compare as numbers", rates: []Rate{{ID: "10", Carrier: "A", Price: eur(1)}, {ID: "9", Carrier: "B", Price: eur(1)}}, wantID: "9", wantKind: ChoiceFallback},
		{name: "unknown transit is slower", rates: []Rate{{ID: "1", Carrier: "A", Price: eur(1)}, {ID: "2", Carrier: "B", Price: eur(1), MaxDays: 9}}, wantID: "2", wantKind: ChoiceFallback},
		{name: "blank preference ignored", rates: []Rate{seur, gls}, prefs: []string{" ", "GLS"}, wantID: "17", wantKind: ChoicePreferred},
		{name: "none", rates: nil, prefs: []string{"GLS"}, wantCode: problem.CodeNoShippingOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Choose(tt.rates, tt.prefs)
			if tt.wantCode != "" {
				pe := problem.From(err)
				if pe == nil || pe.Code != tt.wantCode || pe.Kind != problem.Rejected {
					t.Fatalf("err = %v, want Rejected %s", err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Rate.ID != tt.wantID || got.Kind != tt.wantKind {
				t.Fatalf("got %s/%s, want %s/%s (%s)", got.Rate.ID, got.Kind, tt.wantID, tt.wantKind, got.Reason)
			}
			if got.Reason == "" || strings.Count(got.Reason, ". ") > 0 {
				t.Fatalf("reason should be one sentence: %q", got.Reason)
			}
		})
	}
}

func TestChooseOrderIndependent(t *testing.T) {
	a := Rate{ID: "1", Carrier: "UPS", Price: eur(500), MaxDays: 2}
	b := Rate{ID: "2", Carrier: "DHL", Price: eur(500), MaxDays: 2}
	c1, _ := Choose([]Rate{a, b}, nil)
	c2, _ := Choose([]Rate{b, a}, nil)
	if c1.Rate.ID != c2.Rate.ID {
		t.Fatalf("choice depends on input order: %s vs %s", c1.Rate.ID, c2.Rate.ID)
	}
}
