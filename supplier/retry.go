package supplier

import "context"

type retryableKey struct{}

// Retryable marks a context whose outbound supplier request is an
// idempotent read (rates, status, lookups) that the HTTP transport may
// re-send on failure. Create-order requests are never marked: a re-sent
// create can place a second order, so they go through reconciliation.
func Retryable(ctx context.Context) context.Context {
	return context.WithValue(ctx, retryableKey{}, true)
}

// IsRetryable reports whether ctx was marked by Retryable.
func IsRetryable(ctx context.Context) bool {
	v, _ := ctx.Value(retryableKey{}).(bool)
	return v
}
