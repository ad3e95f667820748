// Package gtin normalises and checks product barcodes (GTIN family: EAN-8,
// UPC-A, EAN-13, GTIN-14). Shopify stores a variant's barcode as free text,
// so merchants paste spaces, dashes or a stray letter; suppliers key their
// catalogues by the bare digits. Normalising here means every adapter sees
// the same form and a typo is caught before any supplier call.
package gtin

import (
	"errors"
	"strings"
)

// Errors returned by Normalize. They are plain sentinel errors so callers
// can phrase their own field message.
var (
	ErrEmpty    = errors.New("barcode is empty")
	ErrNotDigit = errors.New("barcode must contain only digits (spaces and dashes are ignored)")
	ErrLength   = errors.New("barcode must have 8, 12, 13 or 14 digits (EAN-8, UPC-A, EAN-13, GTIN-14)")
	ErrCheck    = errors.New("barcode check digit is wrong")
)

// Normalize trims s, drops spaces and dashes, and verifies the length and
// check digit. It returns the bare digits. A 12-digit UPC-A is returned as
// is (not padded to 13): suppliers differ in which form they index, and
// the adapter knows which one it needs (see ToEAN13).
func Normalize(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ErrEmpty
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-':
			// Human separators, e.g. "84 00000 00001 7".
		default:
			return "", ErrNotDigit
		}
	}
	d := b.String()
	switch len(d) {
	case 8, 12, 13, 14:
	default:
		return "", ErrLength
	}
	if !Valid(d) {
		return "", ErrCheck
	}
	return d, nil
}

// Valid reports whether digits (only 0-9, any length ≥ 2) ends with the
// correct GS1 mod-10 check digit.
func Valid(digits string) bool {
	if len(digits) < 2 {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	body := digits[:len(digits)-1]
	return CheckDigit(body) == digits[len(digits)-1]
}

// CheckDigit computes the GS1 check digit for body (the barcode without its
// last digit). Weights alternate 3,1,3,… starting from the rightmost digit
// of body, which makes one function work for every GTIN length.
func CheckDigit(body string) byte {
	sum := 0
	w := 3
	for i := len(body) - 1; i >= 0; i-- {
		sum += int(body[i]-'0') * w
		w = 4 - w
	}
	return byte('0' + (10-sum%10)%10)
}

// ToEAN13 left-pads a UPC-A (12 digits) with a zero so it becomes the
// equivalent EAN-13; other lengths are returned unchanged.
func ToEAN13(digits string) string {
	if len(digits) == 12 {
		return "0" + digits
	}
	return digits
}
