package redisstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/store/redisstore"
)

// Every URL form gets the small connection buffers, so a full pool costs
// kilobytes, not megabytes (docs/bench/memory.md).
func TestNewClientUsesSmallBuffers(t *testing.T) {
	type sizes struct{ read, write, pipeRead, pipeWrite int }
	for _, tc := range []struct{ name, url string }{
		{"server", "redis://127.0.0.1:6379/0"},
		{"socket", "unix:///tmp/redis.sock"},
		{"sentinel", "redis+sentinel://127.0.0.1:26379?master_name=main"},
		{"cluster", "redis+cluster://127.0.0.1:7000?addr=127.0.0.1:7001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := redisstore.NewClient(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var got sizes
			switch x := c.(type) {
			case *redis.Client:
				o := x.Options()
				got = sizes{o.ReadBufferSize, o.WriteBufferSize, o.PipelineReadBufferSize, o.PipelineWriteBufferSize}
			case *redis.ClusterClient:
				o := x.Options()
				got = sizes{o.ReadBufferSize, o.WriteBufferSize, o.PipelineReadBufferSize, o.PipelineWriteBufferSize}
			default:
				t.Fatalf("client type %T", c)
			}
			if want := (sizes{4 << 10, 4 << 10, 8 << 10, 8 << 10}); got != want {
				t.Fatalf("buffers = %+v, want %+v", got, want)
			}
		})
	}
}

// A value and a pipelined reply far larger than the buffers still come
// back whole.
func TestSmallBuffersCarryLargeReplies(t *testing.T) {
	srv := redistest.Start(t)
	c, err := redisstore.NewClient(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	big := strings.Repeat("0123456789abcdef", 16<<10) // 256 KiB
	if err := c.Set(ctx, "big", big, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get(ctx, "big").Result(); err != nil || got != big {
		t.Fatalf("GET: %d bytes, err %v; want %d bytes back", len(got), err, len(big))
	}
	var gets []*redis.StringCmd
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for range 4 {
			gets = append(gets, p.Get(ctx, "big"))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i, g := range gets {
		if g.Val() != big {
			t.Fatalf("pipelined GET %d: %d bytes, want %d", i, len(g.Val()), len(big))
		}
	}
}
