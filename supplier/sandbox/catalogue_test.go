package sandbox_test

import (
	"testing"

	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

// checkDigitOK verifies a GTIN's check digit: from the right, payload
// digits are weighted 3, 1, 3, … and the sum plus check digit is a
// multiple of 10.
func checkDigitOK(code string) bool {
	sum := 0
	for i := len(code) - 2; i >= 0; i-- {
		d := int(code[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if (len(code)-2-i)%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return (10-sum%10)%10 == int(code[len(code)-1]-'0')
}

func TestCheckDigitFunction(t *testing.T) {
	// Published examples, so the helper itself is known to work.
	for code, want := range map[string]bool{
		"4006381333931": true, "4006381333932": false,
		"96385074": true, "96385075": false,
		"036000291452": true, "036000291453": false,
	} {
		if got := checkDigitOK(code); got != want {
			t.Errorf("checkDigitOK(%s) = %v, want %v", code, got, want)
		}
	}
}

func TestCatalogue(t *testing.T) {
	cat := sandbox.Catalogue()
	if len(cat) < 8 {
		t.Fatalf("catalogue has %d products, want at least 8", len(cat))
	}
	lengths := map[int]int{}
	eans, skus := map[string]bool{}, map[string]bool{}
	var outOfStock, lowStock int
	for _, p := range cat {
		if !checkDigitOK(p.EAN) {
			t.Errorf("%s (%s): bad check digit", p.EAN, p.Name)
		}
		lengths[len(p.EAN)]++
		if eans[p.EAN] || skus[p.SKU] {
			t.Errorf("duplicate EAN or SKU: %s %s", p.EAN, p.SKU)
		}
		eans[p.EAN], skus[p.SKU] = true, true
		if p.Price.Currency != "EUR" || p.Price.Minor <= 0 || p.WeightGrams <= 0 || p.Name == "" {
			t.Errorf("%s: incomplete product %+v", p.EAN, p)
		}
		switch {
		case p.Stock == 0:
			outOfStock++
		case p.Stock <= 2:
			lowStock++
		}
	}
	if lengths[13] == 0 || lengths[8] == 0 || lengths[12] == 0 {
		t.Errorf("want EAN-13, EAN-8 and UPC-A products, got lengths %v", lengths)
	}
	if outOfStock != 1 || lowStock != 1 {
		t.Errorf("want one out-of-stock and one low-stock product, got %d and %d", outOfStock, lowStock)
	}
	// Catalogue hands out copies: changing one must not change the next.
	cat[0].Stock = -1
	if sandbox.Catalogue()[0].Stock == -1 {
		t.Error("Catalogue returned shared state")
	}
}
