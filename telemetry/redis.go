package telemetry

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
)

// InstrumentRedis adds tracing (a client span per command or pipeline,
// child of the request span), go-redis's connection-pool metrics,
// flowbridge.redis.command.errors and flowbridge.redis.round_trips to c.
// Works for single-server, Sentinel (failover) and Cluster clients; call it
// once per client, before use.
//
// Statement capture is off: with it on, redisotel puts every command with
// its arguments into the span, and the arguments are idempotency records
// holding order payloads and addresses.
func (t *Telemetry) InstrumentRedis(c redis.UniversalClient) error {
	if err := redisotel.InstrumentTracing(c,
		redisotel.WithTracerProvider(t.TracerProvider),
		redisotel.WithDBStatement(false),
		// The caller lookup walks the stack on every command (~5 % of CPU
		// on the hot path in bench/); the span name already says enough.
		redisotel.WithCallerEnabled(false),
	); err != nil {
		return err
	}
	if err := redisotel.InstrumentMetrics(c, redisotel.WithMeterProvider(t.MeterProvider)); err != nil {
		return err
	}
	// On a ClusterClient this hook sits above node routing, so it sees
	// each command's final result after MOVED/ASK redirects and retries.
	c.AddHook(commandHook{m: t.Metrics})
	return nil
}

// commandHook counts round trips and failed commands.
//
// A round trip is one command sent on its own, or one pipeline (MULTI/EXEC
// included) however many commands it carries. A Script.Run that meets
// NOSCRIPT sends EVALSHA and then EVAL: two round trips, both seen here.
// go-redis also sends a new connection's set-up (HELLO, CLIENT SETINFO)
// through the hooks, so that counts too; what it does below the hooks does
// not: its own re-sends after a network error and, on a Cluster client,
// the split of one pipeline over several nodes.
//
// Failed commands are counted by name and kind. redis.Nil ("no such key")
// is an answer, not an error.
type commandHook struct{ m *Metrics }

func (h commandHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h commandHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.m.redisRoundTrip(ctx, false)
		err := next(ctx, cmd)
		if kind := redisErrorKind(err); kind != "" {
			h.m.redisCommandError(ctx, cmd.Name(), kind)
		}
		return err
	}
}

func (h commandHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.m.redisRoundTrip(ctx, true)
		err := next(ctx, cmds)
		if kind := redisErrorKind(err); kind != "" {
			h.m.redisCommandError(ctx, "pipeline", kind)
		}
		return err
	}
}

func redisErrorKind(err error) string {
	var ne net.Error
	switch {
	case err == nil, errors.Is(err, redis.Nil):
		return ""
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		// The caller gave up (Flow closed the connection); not Redis's fault.
		return ""
	case errors.As(err, &ne), errors.Is(err, redis.ErrClosed), strings.Contains(err.Error(), "connection refused"):
		return "network"
	}
	var re redis.Error
	if errors.As(err, &re) {
		return "server"
	}
	return "other"
}
