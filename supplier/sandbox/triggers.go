package sandbox

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Trigger tokens, lower case. They are part of the sandbox's documented
// interface (docs/sandbox.md): never rename one.
const (
	TriggerCancel           = "sandbox:cancel"
	TriggerNeverShip        = "sandbox:never-ship"
	TriggerShipAfter        = "sandbox:ship-after" // =<Go duration>
	TriggerSplit            = "sandbox:split"
	TriggerDropAfterCreate  = "sandbox:drop-after-create"
	TriggerFailBeforeCreate = "sandbox:fail-before-create"
	TriggerDelay            = "sandbox:delay" // =<Go duration>
	TriggerReject           = "sandbox:reject"
)

// triggers is what an order's address line 2 asks the sandbox to do.
type triggers struct {
	cancel, neverShip, split    bool
	dropAfterCreate, failBefore bool
	reject                      bool
	shipAfter                   time.Duration
	hasShipAfter                bool
	delay                       time.Duration
}

// timeline reports whether a trigger shapes the order's progress; such a
// trigger makes even a test-mode order move.
func (t triggers) timeline() bool {
	return t.cancel || t.neverShip || t.split || t.hasShipAfter
}

// parseTriggers reads the sandbox tokens from an address line. Words that
// do not start with "sandbox:" are ordinary address text and ignored; a
// "sandbox:" word the sandbox does not know is an error, so a typo such as
// "sandbox:cancle" fails loudly instead of placing a normal order.
func parseTriggers(line string) (triggers, error) {
	var t triggers
	words := strings.FieldsFunc(line, func(r rune) bool {
		return unicode.IsSpace(r) || r == ',' || r == ';'
	})
	for _, w := range words {
		w = strings.ToLower(w)
		if !strings.HasPrefix(w, "sandbox:") {
			continue
		}
		name, value, hasValue := strings.Cut(w, "=")
		switch name {
		case TriggerCancel, TriggerNeverShip, TriggerSplit, TriggerDropAfterCreate, TriggerFailBeforeCreate, TriggerReject:
			if hasValue {
				return triggers{}, fmt.Errorf("%s takes no value", name)
			}
		case TriggerShipAfter, TriggerDelay:
			if !hasValue {
				return triggers{}, fmt.Errorf("%s needs a duration, e.g. %s=30s", name, name)
			}
		default:
			return triggers{}, fmt.Errorf("unknown sandbox trigger %q", name)
		}
		switch name {
		case TriggerCancel:
			t.cancel = true
		case TriggerNeverShip:
			t.neverShip = true
		case TriggerSplit:
			t.split = true
		case TriggerDropAfterCreate:
			t.dropAfterCreate = true
		case TriggerFailBeforeCreate:
			t.failBefore = true
		case TriggerReject:
			t.reject = true
		case TriggerShipAfter, TriggerDelay:
			d, err := time.ParseDuration(value)
			if err != nil || d < 0 {
				return triggers{}, fmt.Errorf("%s=%s: want a non-negative Go duration such as 90s, 30m or 30h", name, value)
			}
			if name == TriggerDelay {
				t.delay = d
			} else {
				t.shipAfter, t.hasShipAfter = d, true
			}
		}
	}
	if t.cancel && t.neverShip {
		return triggers{}, fmt.Errorf("%s and %s contradict each other", TriggerCancel, TriggerNeverShip)
	}
	return t, nil
}
