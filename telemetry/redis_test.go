package telemetry

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// writeCounter counts the writes on a connection. go-redis flushes a
// command, or a whole pipeline, in one write, so after the connection's
// set-up each write is one round trip: the wire's own count, to hold the
// metric against.
type writeCounter struct {
	net.Conn
	n *atomic.Int64
}

func (c writeCounter) Write(p []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(p)
}

func TestRedisRoundTrips(t *testing.T) {
	ctx := context.Background()
	tel, _ := setup(t)
	opt, err := redis.ParseURL(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	var writes atomic.Int64
	// One connection, so every command goes over the counted one.
	opt.PoolSize, opt.MinIdleConns = 1, 0
	opt.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return writeCounter{Conn: c, n: &writes}, nil
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	if err := tel.InstrumentRedis(rdb); err != nil {
		t.Fatal(err)
	}
	// Open the connection first: its set-up (HELLO, CLIENT SETINFO) also
	// passes through the hook and would add to the first case. go-redis
	// may replace the first connection at the first pipeline, so warm both
	// paths.
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := rdb.Pipelined(ctx, func(pl redis.Pipeliner) error { pl.Ping(ctx); pl.Ping(ctx); return nil }); err != nil {
		t.Fatal(err)
	}
	p := redistest.Prefix(t)
	// A script body of its own, so Redis has never cached it, even on a
	// shared REDIS_URL.
	script := redis.NewScript(`-- ` + p + "\n" + `return redis.call("INCR", KEYS[1])`)

	read := func() (cmd, pipe float64) {
		fams := scrape(t, tel.MetricsHandler())
		cmd, _ = sample(fams, "flowbridge_redis_round_trips_total", map[string]string{"kind": "command", "source": "service"})
		pipe, _ = sample(fams, "flowbridge_redis_round_trips_total", map[string]string{"kind": "pipeline", "source": "service"})
		return cmd, pipe
	}
	for _, tc := range []struct {
		name          string
		do            func() error
		command, pipe float64
	}{
		{"one command", func() error { return rdb.Set(ctx, p+"a", "1", 0).Err() }, 1, 0},
		{"a missing key is still a round trip", func() error {
			if err := rdb.Get(ctx, p+"missing").Err(); err != redis.Nil {
				return err
			}
			return nil
		}, 1, 0},
		{"a failed command is still a round trip", func() error {
			if err := rdb.Incr(ctx, p+"a").Err(); err != nil { // "1" becomes 2
				return err
			}
			if err := rdb.HGet(ctx, p+"a", "f").Err(); err == nil { // WRONGTYPE
				return errors.New("HGET of a string succeeded")
			}
			return nil
		}, 2, 0},
		{"a pipeline of 3", func() error {
			_, err := rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
				pl.Set(ctx, p+"b", "1", 0)
				pl.Incr(ctx, p+"b")
				pl.Get(ctx, p+"b")
				return nil
			})
			return err
		}, 0, 1},
		{"a MULTI/EXEC block of 3", func() error {
			_, err := rdb.TxPipelined(ctx, func(pl redis.Pipeliner) error {
				pl.Incr(ctx, p+"b")
				pl.Incr(ctx, p+"b")
				pl.Get(ctx, p+"b")
				return nil
			})
			return err
		}, 0, 1},
		// Script.Run tries EVALSHA; Redis has not seen the body yet and
		// answers NOSCRIPT, so EVAL follows: two round trips.
		{"a script, first run (NOSCRIPT, then EVAL)", func() error { return script.Run(ctx, rdb, []string{p + "c"}).Err() }, 2, 0},
		{"a script, cached", func() error { return script.Run(ctx, rdb, []string{p + "c"}).Err() }, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c0, p0 := read()
			w0 := writes.Load()
			if err := tc.do(); err != nil {
				t.Fatal(err)
			}
			c1, p1 := read()
			wire := writes.Load() - w0
			if c1-c0 != tc.command || p1-p0 != tc.pipe {
				t.Errorf("round trips: command %v, pipeline %v; want %v, %v", c1-c0, p1-p0, tc.command, tc.pipe)
			}
			if float64(wire) != tc.command+tc.pipe {
				t.Errorf("writes on the wire %d, want %v (the metric counts what is sent)", wire, tc.command+tc.pipe)
			}
		})
	}
}

// The reads a scrape makes for the needs-review gauge are the scrape's: they
// count under source="scrape", so a per-request figure can leave them out.
func TestRedisRoundTripsOfAScrape(t *testing.T) {
	ctx := context.Background()
	tel, _ := setup(t)
	rdb := redistest.ClientFor(t, redistest.URL(t))
	if err := tel.InstrumentRedis(rdb); err != nil {
		t.Fatal(err)
	}
	p := redistest.Prefix(t)
	// Warm the connection and the pipeline path (see TestRedisRoundTrips).
	if _, err := rdb.Pipelined(ctx, func(pl redis.Pipeliner) error { pl.Ping(ctx); return nil }); err != nil {
		t.Fatal(err)
	}
	tel.Metrics.ObserveNeedsReview(func(ctx context.Context) (int64, error) {
		if err := rdb.Get(ctx, p+"missing").Err(); err != redis.Nil {
			return 0, err
		}
		_, err := rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
			pl.Exists(ctx, p+"a")
			pl.Exists(ctx, p+"b")
			return nil
		})
		return 0, err
	})
	get := func(kind, source string) float64 {
		v, _ := sample(scrape(t, tel.MetricsHandler()), "flowbridge_redis_round_trips_total", map[string]string{"kind": kind, "source": source})
		return v
	}
	// What the client sent for itself (the warm-up, a connection's set-up)
	// stays as it is: nothing here is the service's.
	service := map[string]float64{}
	fams := scrape(t, tel.MetricsHandler())
	for _, kind := range []string{"command", "pipeline"} {
		service[kind], _ = sample(fams, "flowbridge_redis_round_trips_total", map[string]string{"kind": kind, "source": "service"})
	}
	for i, tc := range []struct {
		kind, source string
		want         float64
	}{
		// Each get is one more scrape: its gauge reads one command and one
		// pipeline, counted before the counter is read.
		{"command", "scrape", 2},
		{"pipeline", "scrape", 3},
		{"command", "service", service["command"]},
		{"pipeline", "service", service["pipeline"]},
	} {
		if got := get(tc.kind, tc.source); got != tc.want {
			t.Errorf("scrape %d: %s/%s = %v, want %v", i+2, tc.kind, tc.source, got, tc.want)
		}
	}
}
