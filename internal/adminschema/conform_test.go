package adminschema

import (
	"os"
	"slices"
	"testing"
)

// The schema slice flowbridge's tests used before this package (kept as
// testdata, used by nothing else) differs from Shopify's schema in ways
// that let wrong code pass. The oracle must find them.
func TestDifferencesFindsTheHandSlicesFaults(t *testing.T) {
	real := mustLoad(t)
	b, err := os.ReadFile("testdata/hand-slice.graphql")
	if err != nil {
		t.Fatal(err)
	}
	slice, err := Parse(string(b))
	if err != nil {
		t.Fatal(err)
	}
	got := real.Differences(slice)
	for _, want := range []string{
		"Shop.currencyCode: is CurrencyCode!, not String!",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("Differences misses %q; got %q", want, got)
		}
	}
	t.Logf("hand slice differences: %q", got)

	// And the real schema is a faithful subset of itself, so the check
	// does not just report everything.
	if d := real.Differences(real); len(d) != 0 {
		t.Errorf("real vs real: %q", d)
	}
}

func mustLoad(t *testing.T) *Schema {
	t.Helper()
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
