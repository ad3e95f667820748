package supplier

import (
	"github.com/flowbridge/flowbridge/problem"
)

// Choice is the rate picked for an order and why.
type Choice struct {
	Rate Rate
	// Kind is "preferred" (a carrier from the preference list) or "fallback".
	Kind   string
	Reason string
}

// Choose picks a rate: the first carrier of prefs that is offered
// (case-insensitive), else the cheapest, else the fastest, with ties broken
// deterministically. No option at all is a Rejected problem with code
// no_shipping_option.
//
// STUB: the service-core issue implements and table-tests this.
func Choose(rates []Rate, prefs []string) (Choice, error) {
	if len(rates) == 0 {
		return Choice{}, problem.New(problem.Rejected, problem.CodeNoShippingOption, "the supplier offers no shipping option for this destination and cart")
	}
	return Choice{Rate: rates[0], Kind: "fallback", Reason: "stub"}, nil
}
