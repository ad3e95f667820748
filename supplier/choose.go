package supplier

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"

	"github.com/flowbridge/flowbridge/problem"
)

// Choice is the rate picked for an order and why.
type Choice struct {
	Rate Rate
	// Kind is "preferred" (a carrier from the preference list) or "fallback".
	Kind   string
	Reason string
}

// Choice kinds.
const (
	ChoicePreferred = "preferred"
	ChoiceFallback  = "fallback"
)

// Choose picks a rate. The preference list is walked in order; the first
// entry that matches any offered rate wins, and among the rates it matches
// the cheapest (then the fastest) is taken. A rate matches a preference when
// its carrier equals it case-insensitively, or when the carrier or service
// name contains it as a whole word ("GLS" matches "GLS Express" but not
// "GLSX"), because suppliers spell carriers inconsistently.
//
// With no preferred carrier offered, the cheapest rate is the fallback, then
// the fastest. Remaining ties are broken by id so the same quote always
// yields the same choice (Flow may call /rates more than once per order).
// No option at all is a Rejected problem with code no_shipping_option.
func Choose(rates []Rate, prefs []string) (Choice, error) {
	if len(rates) == 0 {
		return Choice{}, problem.New(problem.Rejected, problem.CodeNoShippingOption, "the supplier offers no shipping option for this destination and cart")
	}
	for _, p := range prefs {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		var matched []Rate
		for _, r := range rates {
			if matchesCarrier(r, p) {
				matched = append(matched, r)
			}
		}
		if len(matched) == 0 {
			continue
		}
		best := best(matched)
		reason := fmt.Sprintf("%s is on the carrier preference list; it is the cheapest of %d matching option(s).", label(best), len(matched))
		return Choice{Rate: best, Kind: ChoicePreferred, Reason: reason}, nil
	}
	b := best(rates)
	var reason string
	if len(prefs) == 0 {
		reason = fmt.Sprintf("No carrier preference is set, so the cheapest of %d option(s) was taken: %s.", len(rates), label(b))
	} else {
		reason = fmt.Sprintf("None of the preferred carriers (%s) is offered, so the cheapest of %d option(s) was taken: %s.", strings.Join(prefs, ", "), len(rates), label(b))
	}
	return Choice{Rate: b, Kind: ChoiceFallback, Reason: reason}, nil
}

func label(r Rate) string {
	if r.Service != "" && !strings.EqualFold(r.Service, r.Carrier) {
		return r.Carrier + " (" + r.Service + ")"
	}
	return r.Carrier
}

// best returns the cheapest rate, then the fastest, then the smallest id.
func best(rates []Rate) Rate {
	c := append([]Rate(nil), rates...)
	sort.SliceStable(c, func(i, j int) bool { return less(c[i], c[j]) })
	return c[0]
}

func less(a, b Rate) bool {
	if a.Price.Minor != b.Price.Minor {
		return a.Price.Minor < b.Price.Minor
	}
	if da, db := days(a.MaxDays), days(b.MaxDays); da != db {
		return da < db
	}
	if da, db := days(a.MinDays), days(b.MinDays); da != db {
		return da < db
	}
	if a.ID != b.ID {
		// Numeric ids compare as numbers so "9" < "17".
		if len(a.ID) != len(b.ID) && allDigits(a.ID) && allDigits(b.ID) {
			return len(a.ID) < len(b.ID)
		}
		return a.ID < b.ID
	}
	if a.Carrier != b.Carrier {
		return a.Carrier < b.Carrier
	}
	return a.Service < b.Service
}

// days treats an unknown (zero) transit time as slower than any known one.
func days(d int) int {
	if d <= 0 {
		return math.MaxInt
	}
	return d
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func matchesCarrier(r Rate, pref string) bool {
	if strings.EqualFold(strings.TrimSpace(r.Carrier), pref) {
		return true
	}
	return containsWord(r.Carrier, pref) || containsWord(r.Service, pref)
}

// containsWord reports whether word occurs in s (case-insensitively) with
// no letter or digit directly before or after it.
func containsWord(s, word string) bool {
	ls, lw := strings.ToLower(s), strings.ToLower(word)
	if lw == "" {
		return false
	}
	for from := 0; ; {
		i := strings.Index(ls[from:], lw)
		if i < 0 {
			return false
		}
		start := from + i
		end := start + len(lw)
		if boundary(ls, start-1) && boundary(ls, end) {
			return true
		}
		from = start + 1
	}
}

func boundary(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return true
	}
	c := rune(s[i])
	return !unicode.IsLetter(c) && !unicode.IsDigit(c) && c < 0x80
}
