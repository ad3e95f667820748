package redact

import (
	"net/url"
	"testing"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pw@api.example.com/v1/getOrder?order_number=1&token=s3cret#frag": "https://api.example.com/v1/getOrder?order_number=REDACTED&token=REDACTED",
		"https://api.example.com/rest/order/1.json":                                    "https://api.example.com/rest/order/1.json",
		"https://api.example.com/x?a=%zz":                                              "https://api.example.com/x?REDACTED",
	} {
		u, _ := url.Parse(in)
		if got := URL(u).String(); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
	if URL(nil) != nil {
		t.Error("URL(nil) != nil")
	}
}
