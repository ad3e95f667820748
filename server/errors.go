package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/flowbridge/flowbridge/problem"
)

// problemBody is the application/problem+json body (RFC 9457 plus the flat
// `ok` and `code` members Flow templates branch on).
type problemBody struct {
	Type   string          `json:"type"`
	Title  string          `json:"title"`
	Status int             `json:"status"`
	Code   string          `json:"code"`
	Detail string          `json:"detail"`
	Errors []problem.Field `json:"errors"`
	OK     bool            `json:"ok"`
}

// maxFieldErrors caps the errors an answer lists.
const maxFieldErrors = 50

// statusOf maps a problem Kind to its HTTP status; this is the only place
// where that mapping lives (docs/DESIGN.md).
func statusOf(e *problem.Error) int {
	if e.Status != 0 {
		return e.Status
	}
	switch e.Kind {
	case problem.Invalid:
		return http.StatusBadRequest
	case problem.Unauthorized:
		return http.StatusUnauthorized
	case problem.NotFound:
		return http.StatusNotFound
	case problem.Rejected:
		return http.StatusUnprocessableEntity
	case problem.Busy:
		return http.StatusTooManyRequests
	case problem.Unavailable:
		return http.StatusServiceUnavailable
	case problem.Upstream:
		return http.StatusBadGateway
	case problem.Conflict:
		return http.StatusConflict
	default:
		return http.StatusInternalServerError
	}
}

// defaultRetryAfter is sent with 429/503 when the error does not say, so
// Flow (which honours Retry-After on 429) waits a sensible time.
const defaultRetryAfter = 30 * time.Second

// toProblem converts any error a handler or middleware returned.
func toProblem(err error) *problem.Error {
	var pe *problem.Error
	if errors.As(err, &pe) {
		return pe
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &problem.Error{Kind: problem.Unavailable, Code: problem.CodeDeadline, Err: err,
			Detail: "the request took longer than the service's deadline (FLOWBRIDGE_REQUEST_TIMEOUT); it is safe to retry"}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return &problem.Error{Kind: problem.NotFound, Code: problem.CodeNotFound, Detail: "no such endpoint", Err: err}
		case http.StatusMethodNotAllowed:
			return &problem.Error{Kind: problem.Invalid, Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Detail: "this endpoint does not accept that method", Err: err}
		case http.StatusRequestEntityTooLarge:
			return &problem.Error{Kind: problem.Invalid, Status: http.StatusRequestEntityTooLarge, Code: problem.CodeBodyTooLarge, Detail: "the request body is larger than this service accepts (FLOWBRIDGE_MAX_BODY_BYTES)", Err: err}
		case http.StatusServiceUnavailable:
			if errors.Is(he.Internal, context.DeadlineExceeded) {
				return &problem.Error{Kind: problem.Unavailable, Code: problem.CodeDeadline, Err: err,
					Detail: "the request took longer than the service's deadline (FLOWBRIDGE_REQUEST_TIMEOUT); it is safe to retry"}
			}
			return &problem.Error{Kind: problem.Unavailable, Code: "unavailable", Detail: "the service is temporarily unavailable", Err: err}
		case http.StatusUnauthorized:
			return &problem.Error{Kind: problem.Unauthorized, Code: problem.CodeUnauthorized, Detail: "missing or wrong bearer key", Err: err}
		}
	}
	return problem.From(err)
}

// errorHandler is Echo's HTTPErrorHandler: every error of every route goes
// through it, once.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	pe := toProblem(err)
	status := statusOf(pe)
	body := problemBody{
		Type:   "https://flowbridge.dev/problems/" + pe.Code,
		Title:  http.StatusText(status),
		Status: status,
		Code:   pe.Code,
		Detail: pe.Detail,
		Errors: pe.Fields,
		OK:     false,
	}
	if body.Errors == nil {
		body.Errors = []problem.Field{}
	}
	if len(body.Errors) > maxFieldErrors {
		// However many fields a refusal names, the answer stays small
		// (openapi.yaml: Problem.errors maxItems).
		body.Detail = fmt.Sprintf("%s (%d fields at fault; the first %d are listed)", body.Detail, len(body.Errors), maxFieldErrors)
		body.Errors = body.Errors[:maxFieldErrors]
	}
	if status >= 500 && status != http.StatusServiceUnavailable && status != http.StatusBadGateway {
		// Internal errors: the cause may hold anything (a path, an address);
		// only the log sees it, under the request id.
		body.Code, body.Detail, body.Type = problem.CodeInternal, "internal error; the request id in the X-Request-Id header finds it in the logs", "https://flowbridge.dev/problems/internal"
		body.Errors = []problem.Field{}
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	attrs := []any{slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
		slog.Int("status", status), slog.String("code", pe.Code)}
	if pe.Err != nil && status >= 500 {
		// Causes of client errors may quote request data; only server-side
		// failures need theirs for debugging.
		attrs = append(attrs, slog.String("cause", pe.Err.Error()))
	}
	s.log.Log(c.Request().Context(), level, "request failed", attrs...)

	h := c.Response().Header()
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		ra := pe.RetryAfter
		if ra <= 0 {
			ra = defaultRetryAfter
		}
		secs := int((ra + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.Itoa(secs))
	}
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="flowbridge"`)
	}
	h.Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(status)
	if c.Request().Method == http.MethodHead {
		return
	}
	if werr := encodeJSON(c.Response(), body); werr != nil {
		s.log.Warn("writing error body failed", slog.String("error", werr.Error()))
	}
}
