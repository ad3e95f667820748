package resilient

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/flowbridge/flowbridge/problem"
)

// epochFloor separates X-RateLimit-Reset values that are Unix times from
// ones that are a number of seconds (some APIs send a delta): no real reset
// time lies before 2001-09-09.
const epochFloor = 1_000_000_000

// ParseRetryAfter reads how long a supplier asked us to wait from a
// response's headers: Retry-After in delay-seconds or as an HTTP-date
// (RFC 9110 §10.2.3), else X-RateLimit-Reset as Unix epoch seconds (BigBuy
// sends that and no Retry-After). ok is false when neither header gives a
// usable value; callers then pick a default. A time already past gives 0.
func ParseRetryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second, true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	if v := strings.TrimSpace(h.Get("X-RateLimit-Reset")); v != "" {
		if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 {
			if n < epochFloor {
				return time.Duration(n * float64(time.Second)), true
			}
			reset := time.Unix(0, int64(n*float64(time.Second)))
			return max(reset.Sub(now), 0), true
		}
	}
	return 0, false
}

// RateLimited turns a supplier's 429 response into the error adapters
// return: Unavailable, code supplier_rate_limited, RetryAfter from the
// response headers (or def when they carry none), rounded up to whole
// seconds and at least one. The response body is not read or closed.
func RateLimited(resp *http.Response, def time.Duration) *problem.Error {
	d, ok := ParseRetryAfter(resp.Header, time.Now())
	if !ok {
		d = def
	}
	return problem.New(problem.Unavailable, problem.CodeSupplierRateLimited,
		"the supplier is rate limiting requests").WithRetryAfter(ceilSeconds(d))
}

// ceilSeconds rounds up to whole seconds (Retry-After has no fractions), at
// least one.
func ceilSeconds(d time.Duration) time.Duration {
	s := (d + time.Second - 1) / time.Second
	if s < 1 {
		s = 1
	}
	return s * time.Second
}
