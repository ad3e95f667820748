package store_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/store"
	"github.com/flowbridge/flowbridge/store/redisstore"
)

func TestOpen(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	mem, err := store.Open(ctx, nil, store.Options{Logger: log})
	if err != nil || mem.Name() != "memory" {
		t.Fatalf("empty url: %v %v", mem, err)
	}
	if !strings.Contains(logs.String(), "single instance") {
		t.Fatalf("no single-instance warning in %q", logs.String())
	}

	logs.Reset()
	srv := redistest.Start(t)
	rs, err := store.Open(ctx, client(t, srv.URL()), store.Options{Logger: log, Prefix: redistest.Prefix(t)})
	if err != nil || rs.Name() != "redis" {
		t.Fatalf("redis url: %v %v", rs, err)
	}
	defer rs.Close()
	if err := rs.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "persistence is off") {
		t.Fatalf("no persistence warning in %q", logs.String())
	}

	srv.Stop()
	if _, err := store.Open(ctx, client(t, srv.URL()), store.Options{}); err == nil {
		t.Fatal("Open succeeded with Redis down")
	}
}

func client(t *testing.T, url string) redis.UniversalClient {
	t.Helper()
	c, err := redisstore.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
