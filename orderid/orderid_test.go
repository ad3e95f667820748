package orderid

import (
	"regexp"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"123", "123", true},
		{" 5678 ", "5678", true},
		{"0042", "42", true},
		{"gid://shopify/Order/0042", "42", true},
		{"gid://shopify/Order/456", "456", true},
		{"18446744073709551615", "18446744073709551615", true},
		{"18446744073709551616", "", false}, // past uint64
		{"gid://shopify/Order/", "", false},
		{"gid://shopify/Order/456?x=1", "", false},
		{"gid://shopify/Product/1", "", false},
		{"gid://shopify/Order/12a", "", false},
		{"#1001", "", false},
		{"0", "", false},
		{"000", "", false},
		{"-1", "", false},
		{"+1", "", false},
		{"1 2", "", false},
		{"{1}", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := Normalize(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// The spec's pattern accepts only ids Normalize accepts (the spec is the
// gate; Normalize must never refuse what it lets through).
func TestPatternAgreesWithNormalize(t *testing.T) {
	re := regexp.MustCompile(Pattern)
	for _, s := range []string{"1", "42", "0042", "000000000000123", "9999999999999999999", "gid://shopify/Order/7", "gid://shopify/Order/0042"} {
		if !re.MatchString(s) {
			t.Errorf("pattern refuses %q", s)
		}
		if _, ok := Normalize(s); !ok {
			t.Errorf("Normalize refuses %q, which the pattern accepts", s)
		}
	}
	for _, s := range []string{"0", "", " 1", "1 ", "12a", "gid://shopify/Order/", "gid://shopify/Customer/1", "99999999999999999999"} {
		if re.MatchString(s) {
			t.Errorf("pattern accepts %q", s)
		}
	}
}

func TestShop(t *testing.T) {
	tests := []struct {
		in, def, want string
		ok            bool
	}{
		{"Example.MyShopify.com", "default", "example.myshopify.com", true},
		{" example.myshopify.com ", "default", "example.myshopify.com", true},
		{"", "Example.myshopify.com", "example.myshopify.com", true},
		{"", "default", "default", true},
		{"{{ shop.myshopifyDomain }}", "default", "", false},
		{"a b", "default", "", false},
		{"-x", "default", "", false},
		{"", "", "", false},
	}
	re := regexp.MustCompile(ShopPattern)
	for _, tt := range tests {
		got, ok := Shop(tt.in, tt.def)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Shop(%q, %q) = %q, %v; want %q, %v", tt.in, tt.def, got, ok, tt.want, tt.ok)
		}
		if tt.in != "" && tt.in == got && !re.MatchString(tt.in) {
			t.Errorf("ShopPattern refuses %q", tt.in)
		}
	}
}
