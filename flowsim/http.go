package flowsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// HTTPBehaviour is how the simulated Send HTTP request behaves. The zero
// value is Flow's documented behaviour with compressed real waits.
type HTTPBehaviour struct {
	// Client sends the requests (default: a client that does not follow
	// redirects).
	Client *http.Client
	// Timeout is the real time one attempt may take before it is abandoned
	// and re-sent (Flow: 30 s; tests compress it). Default 30 s.
	Timeout time.Duration
	// FlowTimeout is the virtual time a timed-out attempt costs (30 s).
	FlowTimeout time.Duration
	// FirstInterval is the first re-send interval; each next one doubles,
	// up to MaxInterval. Flow publishes no numbers: "increasing intervals".
	FirstInterval time.Duration
	MaxInterval   time.Duration
	// Window is how long Flow keeps re-sending (24 h of virtual time).
	Window time.Duration
	// IgnoreRetryAfter makes re-sends ignore Retry-After (Flow's current
	// action may not honour it; the older help page says it does).
	IgnoreRetryAfter bool
	// RealPause scales each virtual re-send interval into a real pause, so
	// work the service is still doing (a timed-out request) can finish
	// before the re-send arrives. 0.001 turns 30 s into 30 ms. Zero = none.
	RealPause float64
	// MaxRealPause caps one real pause (default 1 s when RealPause is set),
	// so a run that re-sends for a whole virtual day stays short.
	MaxRealPause time.Duration
	// RewriteBase, when set, replaces scheme and host of every rendered
	// URL (to point committed templates at a local service).
	RewriteBase string
}

func (h HTTPBehaviour) withDefaults() HTTPBehaviour {
	if h.Client == nil {
		// Flow counts a 3xx as success and does not follow it.
		h.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if h.Timeout <= 0 {
		h.Timeout = 30 * time.Second
	}
	if h.FlowTimeout <= 0 {
		h.FlowTimeout = 30 * time.Second
	}
	if h.FirstInterval <= 0 {
		h.FirstInterval = 30 * time.Second
	}
	if h.MaxInterval <= 0 {
		h.MaxInterval = time.Hour
	}
	if h.Window <= 0 {
		h.Window = 24 * time.Hour
	}
	if h.MaxRealPause <= 0 {
		h.MaxRealPause = time.Second
	}
	return h
}

// Attempt is one try of a Send HTTP request step.
type Attempt struct {
	At       time.Time
	Status   int    // 0 when the attempt timed out or failed to connect
	Error    string // the transport error, if any
	Retrying bool   // Flow re-sends after this attempt
	Wait     time.Duration
}

// HTTPResult is what a Send HTTP request step hands to later steps.
type HTTPResult struct {
	Status   int
	Body     string
	Headers  map[string]string
	Attempts []Attempt
	// Failed means Flow marks the step failing: later steps do not run.
	Failed bool
	Reason string
}

type httpRequest struct {
	Method, URL, Body string
	Headers           [][2]string
	OnClientError     string
	OnServerError     string
}

func (h HTTPBehaviour) send(ctx context.Context, clock Clock, req httpRequest) (HTTPResult, error) {
	h = h.withDefaults()
	target := req.URL // already rewritten by the caller when RewriteBase is set
	start := clock.Now()
	interval := h.FirstInterval
	var res HTTPResult
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		at := clock.Now()
		status, body, headers, terr := h.once(ctx, target, req)
		att := Attempt{At: at, Status: status}
		var wait time.Duration
		retry := false
		switch {
		case terr != nil:
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			// Timed out or connection failed: Flow closes the connection and
			// re-sends later. The attempt costs Flow's 30 s.
			att.Error = terr.Error()
			clock.Advance(h.FlowTimeout)
			retry, wait = true, interval
		case status >= 200 && status < 400:
			res.Status, res.Body, res.Headers = status, body, headers
			res.Attempts = append(res.Attempts, att)
			return res, nil
		default:
			policy := req.OnClientError
			if status == http.StatusTooManyRequests || status >= 500 {
				policy = req.OnServerError
			}
			switch policy {
			case "ignore":
				res.Status, res.Body, res.Headers = status, body, headers
				res.Attempts = append(res.Attempts, att)
				return res, nil
			case "retry":
				retry, wait = true, interval
				if ra := retryAfter(headers["Retry-After"]); ra > 0 && status == http.StatusTooManyRequests && !h.IgnoreRetryAfter {
					wait = ra
				}
			default: // fail
				res.Status, res.Body, res.Headers = status, body, headers
				res.Attempts = append(res.Attempts, att)
				res.Failed, res.Reason = true, fmt.Sprintf("HTTP %d with on_%s_error=%s", status, errorClass(status), policy)
				return res, nil
			}
		}
		if !retry {
			return res, nil
		}
		if clock.Now().Add(wait).Sub(start) > h.Window {
			att.Retrying = false
			res.Attempts = append(res.Attempts, att)
			res.Status, res.Body = status, body
			res.Failed, res.Reason = true, fmt.Sprintf("gave up after %s of re-sends (%d attempts)", h.Window, len(res.Attempts))
			return res, nil
		}
		att.Retrying, att.Wait = true, wait
		res.Attempts = append(res.Attempts, att)
		if h.RealPause > 0 {
			pause := time.NewTimer(min(time.Duration(float64(wait)*h.RealPause), h.MaxRealPause))
			select {
			case <-ctx.Done():
				pause.Stop()
				return res, ctx.Err()
			case <-pause.C:
			}
		}
		clock.Advance(wait)
		if interval *= 2; interval > h.MaxInterval {
			interval = h.MaxInterval
		}
	}
}

func errorClass(status int) string {
	if status == http.StatusTooManyRequests || status >= 500 {
		return "server"
	}
	return "client"
}

func (h HTTPBehaviour) once(ctx context.Context, target string, req httpRequest) (int, string, map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	var body io.Reader
	if req.Body != "" && req.Method != http.MethodGet && req.Method != http.MethodHead {
		body = strings.NewReader(req.Body)
	}
	r, err := http.NewRequestWithContext(ctx, req.Method, target, body)
	if err != nil {
		return 0, "", nil, err
	}
	for _, kv := range req.Headers {
		r.Header.Add(kv[0], kv[1])
	}
	resp, err := h.Client.Do(r)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, "", nil, err
	}
	headers := map[string]string{}
	for k := range resp.Header {
		headers[k] = resp.Header.Get(k)
	}
	return resp.StatusCode, string(data), headers, nil
}

func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return 0
}

func rewriteBase(target, base string) (string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", fmt.Errorf("send http request: bad url: %w", err)
	}
	b, err := url.Parse(base)
	if err != nil || b.Host == "" {
		return "", errors.New("send http request: bad base URL " + base)
	}
	u.Scheme, u.Host = b.Scheme, b.Host
	return u.String(), nil
}

// parseHeaders reads the headers field: a JSON array of [name, value].
func parseHeaders(s string) ([][2]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var pairs [][]string
	if err := json.Unmarshal([]byte(s), &pairs); err != nil {
		return nil, fmt.Errorf("headers must be a JSON array of [name, value] pairs: %w", err)
	}
	out := make([][2]string, 0, len(pairs))
	for _, p := range pairs {
		if len(p) != 2 || p[0] == "" {
			return nil, fmt.Errorf("headers: each entry needs a name and a value")
		}
		out = append(out, [2]string{p[0], p[1]})
	}
	return out, nil
}

// compactJSON removes JSON whitespace for display.
func compactJSON(s string) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(s)) == nil {
		return b.String()
	}
	return s
}
