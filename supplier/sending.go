package supplier

import "context"

type sendingKey struct{}

// WithSending attaches a hook that a create's transport calls at the last
// moment before the request leaves for the supplier: after every wait
// (rate-limit slot, breaker), right before the first byte is written.
// The orders service uses it to mark the claim "sent" in the store, so a
// takeover of a claim without that mark knows nothing reached the supplier.
// When the hook fails the request must not be sent and the call must fail
// with an error that is not outcome-unknown (nothing was created).
func WithSending(ctx context.Context, hook func(context.Context) error) context.Context {
	return context.WithValue(ctx, sendingKey{}, hook)
}

// Sending runs the hook attached by WithSending (nil without one).
// Transports call it once per attempt, right before sending.
func Sending(ctx context.Context) error {
	if hook, ok := ctx.Value(sendingKey{}).(func(context.Context) error); ok && hook != nil {
		return hook(ctx)
	}
	return nil
}

// SendReporter is implemented by adapters whose create goes through a
// transport that calls Sending (supplier/resilient does). For any other
// supplier the caller marks the create sent itself, just before calling
// CreateOrder — earlier than the real send, which is safe (a takeover then
// treats the order as possibly sent) but less precise.
type SendReporter interface {
	ReportsSending() bool
}

// ReportsSending reports whether s calls Sending before its create leaves.
func ReportsSending(s Supplier) bool {
	r, ok := s.(SendReporter)
	return ok && r.ReportsSending()
}
