package telemetry

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"
)

// MetricsEndpoint serves /metrics guarded by its own bearer token: a scraper
// must send "Authorization: Bearer <token>". The token is separate from the
// Flow API keys and operator keys so that a Prometheus configuration never
// holds a credential that can place or resolve orders.
//
// An empty token serves without authentication; use that only on a
// listener that is not reachable from outside (MetricsServer on a private
// address), never on the main listener.
func (t *Telemetry) MetricsEndpoint(token string) http.Handler {
	h := t.MetricsHandler()
	if token == "" {
		return h
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		// Compare fixed-length digests so timing reveals neither the
		// token nor its length.
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics: missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// MetricsServer returns an http.Server for a separate metrics listener
// (FLOWBRIDGE_METRICS_ADDR, e.g. "127.0.0.1:9090" or ":9090" inside a pod)
// serving only GET /metrics, with the token rule of MetricsEndpoint. The
// caller runs ListenAndServe (or Serve) and Shutdown with the main server's
// lifecycle.
func (t *Telemetry) MetricsServer(addr, token string) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", t.MetricsEndpoint(token))
	return &http.Server{
		Addr:              addr,
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
}
