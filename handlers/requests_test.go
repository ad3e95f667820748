package handlers

import "testing"

func TestAmounts(t *testing.T) {
	tests := []struct {
		in, cur string
		minor   int64
		bad     bool
	}{
		{"19.99", "EUR", 1999, false},
		{"19.9", "EUR", 1990, false},
		{"19", "EUR", 1900, false},
		{"19.990", "EUR", 1999, false},
		{"19.995", "EUR", 0, true},
		{"1500", "JPY", 1500, false},
		{"1500.5", "JPY", 0, true},
		{"1.234", "KWD", 1234, false},
		{"0.5", "USD", 50, false},
		{"-1", "EUR", 0, true},
		{"1e3", "EUR", 0, true},
		{"", "EUR", 0, true},
		{".5", "EUR", 0, true},
		{"5.", "EUR", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseAmount(tt.in, tt.cur)
		if (err != nil) != tt.bad || got != tt.minor {
			t.Errorf("ParseAmount(%q, %s) = %d, %v", tt.in, tt.cur, got, err)
		}
		if !tt.bad {
			if back, _ := ParseAmount(FormatAmount(got, tt.cur), tt.cur); back != got {
				t.Errorf("FormatAmount(%d, %s) does not round-trip", got, tt.cur)
			}
		}
	}
	if got := FormatAmount(5, "EUR"); got != "0.05" {
		t.Errorf("FormatAmount(5) = %q", got)
	}
	if got := FormatAmount(495, "EUR"); got != "4.95" {
		t.Errorf("FormatAmount(495) = %q", got)
	}
	if got := FormatAmount(1500, "JPY"); got != "1500" {
		t.Errorf("FormatAmount JPY = %q", got)
	}
}
