package gtin

import (
	"errors"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
		err            error
	}{
		{"ean13", "8400000000017", "8400000000017", nil},
		{"ean13 real", "4006381333931", "4006381333931", nil},
		{"ean13 spaces trimmed", "  4006381333931\n", "4006381333931", nil},
		{"ean13 grouped", "4 006381 333931", "4006381333931", nil},
		{"ean13 dashes", "400-6381-333931", "4006381333931", nil},
		{"ean8", "96385074", "96385074", nil},
		{"upca", "036000291452", "036000291452", nil},
		{"gtin14", "10012345678902", "10012345678902", nil},
		{"ean13 bad check", "4006381333932", "", ErrCheck},
		{"ean8 bad check", "96385075", "", ErrCheck},
		{"upca bad check", "036000291453", "", ErrCheck},
		{"letter", "40063813339X1", "", ErrNotDigit},
		{"too short", "1234567", "", ErrLength},
		{"eleven", "12345678901", "", ErrLength},
		{"too long", "123456789012345", "", ErrLength},
		{"empty", "", "", ErrEmpty},
		{"blank", "   ", "", ErrEmpty},
		{"unicode digit", "٤006381333931", "", ErrNotDigit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Normalize(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if got != tt.want {
				t.Fatalf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCheckDigitEveryLength(t *testing.T) {
	// Known-good barcodes of each length, checked by an independent
	// recomputation: changing any digit of the body must change validity.
	for _, code := range []string{"96385074", "036000291452", "4006381333931", "10012345678902"} {
		if !Valid(code) {
			t.Fatalf("%s should be valid", code)
		}
		for i := 0; i < len(code)-1; i++ {
			b := []byte(code)
			b[i] = '0' + (b[i]-'0'+1)%10
			if Valid(string(b)) {
				t.Fatalf("%s with digit %d changed should be invalid", code, i)
			}
		}
	}
}

func TestToEAN13(t *testing.T) {
	if got := ToEAN13("036000291452"); got != "0036000291452" || !Valid(got) {
		t.Fatalf("ToEAN13 = %q", got)
	}
	if got := ToEAN13("96385074"); got != "96385074" {
		t.Fatalf("ToEAN13 changed an EAN-8: %q", got)
	}
}
