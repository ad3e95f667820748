package flowtemplates

import (
	"os"
	"strings"
	"testing"
)

// The README shows the /rates and /orders bodies merchants paste; they
// must be the ones the generated workflow sends.
func TestREADMEBodiesMatchGenerator(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	p := Defaults()
	for _, tc := range []struct{ heading, want string }{
		{"`POST /rates` (the generated", RatesBody(p)},
		{"`POST /orders` (`shipping_cost_id`", OrdersBody(p, "runCode")},
	} {
		i := strings.Index(readme, tc.heading)
		if i < 0 {
			t.Fatalf("README has no %s section", tc.heading)
		}
		rest := readme[i:]
		start := strings.Index(rest, "```liquid\n")
		end := strings.Index(rest[start+10:], "\n```")
		if start < 0 || end < 0 {
			t.Fatalf("README %s has no liquid block", tc.heading)
		}
		if got := rest[start+10 : start+10+end]; got != tc.want {
			t.Errorf("README %s body differs from the generator's:\n--- README\n%s\n--- generator\n%s", tc.heading, got, tc.want)
		}
	}
}
