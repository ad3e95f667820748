package main

import "testing"

// The default GC target applies only when GOGC is not set; any value an
// operator sets (a number, "off") is left to the runtime.
func TestDefaultGCPercentYieldsToGOGC(t *testing.T) {
	for _, tc := range []struct {
		gogc    string
		applied bool
	}{
		{"", true},
		{"100", false},
		{"200", false},
		{"off", false},
	} {
		t.Run("GOGC="+tc.gogc, func(t *testing.T) {
			got := -1
			applied := setDefaultGCPercent(func(k string) string {
				if k == "GOGC" {
					return tc.gogc
				}
				return ""
			}, func(p int) int { got = p; return 100 })
			if applied != tc.applied {
				t.Fatalf("applied = %v, want %v", applied, tc.applied)
			}
			if tc.applied && got != defaultGCPercent {
				t.Fatalf("set %d, want %d", got, defaultGCPercent)
			}
			if !tc.applied && got != -1 {
				t.Fatalf("set %d although GOGC=%s", got, tc.gogc)
			}
		})
	}
}
