package sandbox

import (
	"strings"
	"testing"
	"time"
)

func TestParseTriggers(t *testing.T) {
	tests := []struct {
		line    string
		want    triggers
		wantErr string
	}{
		{"", triggers{}, ""},
		{"Piso 3, puerta B", triggers{}, ""},
		{"sandboxed flat", triggers{}, ""},
		{"SANDBOX:CANCEL", triggers{cancel: true}, ""},
		{"a,sandbox:split;sandbox:reject\tb", triggers{split: true, reject: true}, ""},
		{"sandbox:ship-after=1H30M sandbox:delay=250ms", triggers{shipAfter: 90 * time.Minute, hasShipAfter: true, delay: 250 * time.Millisecond}, ""},
		{"sandbox:drop-after-create sandbox:fail-before-create sandbox:never-ship",
			triggers{dropAfterCreate: true, failBefore: true, neverShip: true}, ""},
		{"sandbox:ship-after=0s", triggers{hasShipAfter: true}, ""},
		{"sandbox:", triggers{}, "unknown sandbox trigger"},
		{"sandbox:cancel=yes", triggers{}, "takes no value"},
		{"sandbox:ship-after", triggers{}, "needs a duration"},
		{"sandbox:delay=", triggers{}, "non-negative Go duration"},
		{"sandbox:delay=10", triggers{}, "non-negative Go duration"},
		{"sandbox:cancel sandbox:never-ship", triggers{}, "contradict"},
	}
	for _, tc := range tests {
		got, err := parseTriggers(tc.line)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseTriggers(%q) error %v, want %q", tc.line, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseTriggers(%q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
}

// FuzzParseTriggers checks that no address line makes the parser panic and
// that case never changes the result (`go test -fuzz=FuzzParseTriggers`).
func FuzzParseTriggers(f *testing.F) {
	for _, s := range []string{"", "Piso 3", "sandbox:split", "SANDBOX:ship-after=30h, x", "sandbox:delay=-1s", "sandbox:=", "sandbox:ship-after==", "sandbox:delay=1e9h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		a, errA := parseTriggers(line)
		b, errB := parseTriggers(strings.ToUpper(line))
		// Upper-casing can change non-ASCII letters' byte forms, so compare
		// only when the line is ASCII.
		for _, r := range line {
			if r > 127 {
				return
			}
		}
		if (errA == nil) != (errB == nil) || a != b {
			t.Errorf("%q: %+v/%v vs upper-case %+v/%v", line, a, errA, b, errB)
		}
	})
}

func TestZoneOf(t *testing.T) {
	tests := map[[2]string]zone{
		{"ES", "46005"}: zoneDomestic, {"ES", "07001"}: zoneDomestic, {"ES", ""}: zoneDomestic,
		{"ES", "35001"}: zoneIslands, {"ES", "38001"}: zoneIslands, {"ES", "51001"}: zoneIslands, {"ES", "52001"}: zoneIslands,
		{"PT", "35001"}: zoneEU, {"FR", "75001"}: zoneEU, {"SE", "11122"}: zoneEU,
		{"GB", "SW1A1AA"}: zoneEurope, {"NO", "0150"}: zoneEurope,
		{"US", "10001"}: zoneWorld, {"JP", "1000001"}: zoneWorld,
		{"AQ", ""}: zoneNone, {"ES", "00000"}: zoneNone, {"US", "00000"}: zoneNone,
	}
	for dest, want := range tests {
		if got := zoneOf(dest[0], dest[1]); got != want {
			t.Errorf("zoneOf(%s, %s) = %s, want %s", dest[0], dest[1], got, want)
		}
	}
}
