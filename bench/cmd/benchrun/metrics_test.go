package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/telemetry"
)

// The driver reads the same exposition a replica serves: a telemetry
// instance on a real Redis, behind the bench's metrics key.
func TestScrapeRoundTrips(t *testing.T) {
	ctx := context.Background()
	tel, err := telemetry.Setup(ctx, telemetry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(ctx) })
	srv := httptest.NewServer(tel.MetricsEndpoint(benchMetricsKey))
	t.Cleanup(srv.Close)
	hc := srv.Client()

	// No Redis call yet: no sample, which the driver reports, not reads as 0.
	if _, err := scrapeRoundTrips(hc, srv.URL); err == nil {
		t.Fatal("scrape without the counter succeeded")
	}

	opt, err := redis.ParseURL(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	if err := tel.InstrumentRedis(rdb); err != nil {
		t.Fatal(err)
	}
	// A connection's set-up passes through the counting hook too, and
	// go-redis may open a second connection at the first pipeline: warm
	// both paths before counting.
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := rdb.Pipelined(ctx, func(pl redis.Pipeliner) error { pl.Ping(ctx); return nil }); err != nil {
		t.Fatal(err)
	}
	p := redistest.Prefix(t)
	// Every scrape reads Redis itself, as a replica's needs-review gauge
	// does; those round trips are the scrape's and must not show below.
	tel.Metrics.ObserveNeedsReview(func(ctx context.Context) (int64, error) {
		return 0, rdb.Exists(ctx, p+"review").Err()
	})
	before, err := scrapeRoundTrips(hc, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func() error
		want map[string]float64
	}{
		{"two commands", func() error {
			if err := rdb.Set(ctx, p+"k", "1", 0).Err(); err != nil {
				return err
			}
			return rdb.Incr(ctx, p+"k").Err()
		}, map[string]float64{"command": 2}},
		{"a pipeline of 3", func() error {
			_, err := rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
				pl.Incr(ctx, p+"k")
				pl.Incr(ctx, p+"k")
				pl.Get(ctx, p+"k")
				return nil
			})
			return err
		}, map[string]float64{"pipeline": 1}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := s.do(); err != nil {
				t.Fatal(err)
			}
			after, err := scrapeRoundTrips(hc, srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			for _, kind := range []string{"command", "pipeline"} {
				if d := after[kind] - before[kind]; d != s.want[kind] {
					t.Errorf("%s round trips %v, want %v", kind, d, s.want[kind])
				}
			}
			before = after
		})
	}

	// The key is the bench's own: without it the replica says no.
	srvNoKey := httptest.NewServer(tel.MetricsEndpoint("another-key"))
	t.Cleanup(srvNoKey.Close)
	if _, err := scrapeRoundTrips(http.DefaultClient, srvNoKey.URL); err == nil {
		t.Error("scrape with the wrong key succeeded")
	}
}
