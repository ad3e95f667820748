// Package problem holds flowbridge's single error type. Every layer returns
// *problem.Error (or wraps one); the HTTP edge maps its Kind to a status code
// exactly once and renders it as application/problem+json (RFC 9457).
//
// Kinds are chosen around how Shopify Flow's "Send HTTP request" step treats
// status codes: 429 and 5xx are re-sent for up to 24 h, any other 4xx is final.
// So only errors that a retry can never fix may map to a 4xx.
package problem

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error by what a caller can do about it.
type Kind int

const (
	// Internal is a bug or an unexpected failure (500). The detail is never
	// shown to the caller.
	Internal Kind = iota
	// Invalid is a request the caller must change (400/413/415/422).
	Invalid
	// Unauthorized means the shared secret is missing or wrong (401).
	Unauthorized
	// NotFound means the resource does not exist (404).
	NotFound
	// Rejected is a permanent business refusal (no stock, unmatched EAN,
	// no shipping option): retrying the same request cannot succeed (422).
	Rejected
	// Busy means the same work is in flight elsewhere; try again soon (429).
	Busy
	// Unavailable means a dependency (Redis, the supplier) is down or
	// rate-limited; try again later (503).
	Unavailable
	// Upstream means the supplier answered with something we cannot use (502).
	Upstream
	// Conflict means the resource's current state forbids the request (an
	// operator resolving an order that is no longer held, 409). Never for a
	// Flow-facing call: an in-flight duplicate is Busy, since Flow treats a
	// 409 as final.
	Conflict
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case Unauthorized:
		return "unauthorized"
	case NotFound:
		return "not_found"
	case Rejected:
		return "rejected"
	case Busy:
		return "busy"
	case Unavailable:
		return "unavailable"
	case Upstream:
		return "upstream"
	case Conflict:
		return "conflict"
	default:
		return "internal"
	}
}

// Field names one field at fault, as a JSON pointer into the request body
// (or "/query/name", "/path/name", "/header/name" for other parts).
type Field struct {
	Pointer string `json:"pointer"`
	Message string `json:"message"`
}

// Error is the one error type of flowbridge.
type Error struct {
	Kind Kind
	// Code is stable and machine-readable (snake_case); Flow Conditions and
	// operators branch on it, so never rename one.
	Code string
	// Detail is for humans. It must never contain secrets or customer data.
	Detail string
	// Status overrides the status the Kind maps to (e.g. 413 or 415 for
	// Invalid). Zero means "use the Kind's default".
	Status int
	// Fields lists every field at fault, for validation failures.
	Fields []Field
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter time.Duration
	// Err is the underlying cause, kept for logs (never rendered).
	Err error
}

func (e *Error) Error() string {
	msg := e.Code
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of the given kind and code.
func New(kind Kind, code, detail string) *Error {
	return &Error{Kind: kind, Code: code, Detail: detail}
}

// Newf is New with a formatted detail.
func Newf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Wrap returns an error of the given kind and code that keeps err as its cause.
func Wrap(err error, kind Kind, code, detail string) *Error {
	return &Error{Kind: kind, Code: code, Detail: detail, Err: err}
}

// InvalidFields is a validation failure naming every field at fault.
func InvalidFields(code, detail string, fields ...Field) *Error {
	return &Error{Kind: Invalid, Code: code, Detail: detail, Fields: fields}
}

// WithRetryAfter sets RetryAfter and returns e, for chaining.
func (e *Error) WithRetryAfter(d time.Duration) *Error {
	e.RetryAfter = d
	return e
}

// From returns the *Error in err's chain, or an Internal error wrapping err.
// It returns nil for a nil err.
func From(err error) *Error {
	if err == nil {
		return nil
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	return &Error{Kind: Internal, Code: "internal", Detail: "internal error", Err: err}
}

// Is reports whether err carries a *problem.Error with the given code.
func Is(err error, code string) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.Code == code
}

// Stable codes shared across packages. Adapters may add their own, but
// codes a Flow template branches on live here so they cannot drift.
const (
	CodeInvalidJSON         = "invalid_json"
	CodeValidation          = "validation_failed"
	CodeBodyTooLarge        = "body_too_large"
	CodeUnsupportedMedia    = "unsupported_media_type"
	CodeUnauthorized        = "unauthorized"
	CodeNotFound            = "not_found"
	CodeInFlight            = "in_flight"
	CodeStoreUnavailable    = "store_unavailable"
	CodeSupplierUnavailable = "supplier_unavailable"
	CodeSupplierRateLimited = "supplier_rate_limited"
	CodeSupplierBadResponse = "supplier_bad_response"
	CodeSupplierAuth        = "supplier_auth_failed"
	CodeDeadline            = "deadline_exceeded"
	CodeNoShippingOption    = "no_shipping_option"
	CodeUnmatchedEAN        = "unmatched_ean"
	CodeNoStock             = "no_stock"
	CodeInsufficientFunds   = "insufficient_funds"
	CodeBelowMinimum        = "below_minimum_order"
	CodeInvalidShippingRate = "invalid_shipping_rate"
	CodeUnknownProduct      = "unknown_product"
	CodeInvalidAddress      = "invalid_address"
	CodeSupplierRejected    = "supplier_rejected"
	CodeNeedsReview         = "needs_review"
	CodeOrderNotFound       = "order_not_found"
	CodeLookupUnsupported   = "lookup_unsupported"
	CodeInternal            = "internal"
)
