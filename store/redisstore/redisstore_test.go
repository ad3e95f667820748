package redisstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/store/redisstore"
	store "github.com/flowbridge/flowbridge/store/storeapi"
	"github.com/flowbridge/flowbridge/store/storetest"
)

func TestConformance(t *testing.T) {
	c := redistest.Client(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return redisstore.New(c, redisstore.Options{Prefix: redistest.Prefix(t)})
	})
}

func TestKeysShareOneClusterSlotPerOrder(t *testing.T) {
	s := redisstore.New(nil, redisstore.Options{Prefix: "fb:"})
	got := s.RecordKey(store.Key{Shop: "a.myshopify.com", OrderID: "123", Purpose: "place"})
	if got != "fb:{a.myshopify.com:123}:place" {
		t.Fatalf("key = %q", got)
	}
}

func TestCheckConfig(t *testing.T) {
	// redistest starts Redis without persistence and with noeviction.
	c := redistest.ClientFor(t, redistest.Start(t).URL())
	warns := redisstore.CheckConfig(context.Background(), c)
	if len(warns) != 1 || !strings.Contains(warns[0], "persistence is off") {
		t.Fatalf("warnings = %q; want one about persistence", warns)
	}
	ctx := context.Background()
	if err := c.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.ConfigSet(ctx, "appendonly", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	warns = redisstore.CheckConfig(ctx, c)
	if len(warns) != 1 || !strings.Contains(warns[0], "allkeys-lru") {
		t.Fatalf("warnings = %q; want one about eviction", warns)
	}
}

func TestNewClientURLs(t *testing.T) {
	tests := []struct {
		url     string
		wantErr string
	}{
		{"redis://localhost:6379/0", ""},
		{"rediss://user:secret@localhost:6380", ""},
		{"unix:///tmp/redis.sock?db=2", ""},
		{"redis+sentinel://localhost:26379?master_name=mymaster&addr=localhost:26380", ""},
		{"redis+sentinel://localhost:26379", "master_name"},
		{"redis+cluster://localhost:7000?addr=localhost:7001", ""},
		{"http://localhost", "unsupported scheme"},
		{"unix+cluster:///tmp/x.sock", "needs a host"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			c, err := redisstore.NewClient(tt.url)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				_ = c.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v; want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

// Managed Redis often forbids CONFIG: the check must say so and go on.
func TestCheckConfigWithoutConfigPermission(t *testing.T) {
	srv := redistest.Start(t)
	admin := redistest.ClientFor(t, srv.URL())
	ctx := context.Background()
	if err := admin.Do(ctx, "ACL", "SETUSER", "app", "on", ">app-password", "~*", "&*", "+@all", "-config").Err(); err != nil {
		t.Fatal(err)
	}
	c, err := redisstore.NewClient("unix://app:app-password@" + srv.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	warns := redisstore.CheckConfig(ctx, c)
	if len(warns) != 1 || !strings.Contains(warns[0], "could not read Redis settings") || strings.Contains(warns[0], "app-password") {
		t.Fatalf("warnings = %q", warns)
	}
	// The store itself works for that user.
	s := redisstore.New(c, redisstore.Options{})
	if _, err := s.Claim(ctx, store.Key{Shop: "s", OrderID: "1", Purpose: "place"}, store.ClaimRequest{Owner: "o", Lease: time.Minute, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
}
