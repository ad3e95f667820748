package flowsim

import (
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/apptest"
	"github.com/flowbridge/flowbridge/supplier/sandbox"
)

// startFlowbridge runs the real flowbridge (server, middleware, handlers,
// orders service) over sb on a loopback listener; now is its clock — the
// simulator's — so caches and timestamps follow Flow time.
func startFlowbridge(t *testing.T, sb *sandbox.Supplier, now func() time.Time, env ...map[string]string) (url, key string) {
	t.Helper()
	// Only apptest's own App.Do validates responses against openapi.yaml;
	// the simulator speaks plain HTTP, so the validator is not needed.
	opts := apptest.Options{Supplier: sb, Now: now, NoContract: true}
	if len(env) > 0 {
		opts.Env = env[0]
	}
	a := apptest.Start(t, opts)
	return a.URL, a.APIKey
}
