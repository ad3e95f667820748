package redisstore

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestCombinesSlotOnlyOutsideCluster: in a Cluster the tracking key and
// the limiter key hash to different slots, so the combined script would
// be refused (CROSSSLOT); there the read and the slot are two calls.
func TestCombinesSlotOnlyOutsideCluster(t *testing.T) {
	tests := []struct {
		name string
		c    redis.UniversalClient
		want bool
	}{
		{"single server", redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), true},
		{"sentinel", redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: []string{"127.0.0.1:1"}}), true},
		{"cluster", redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer tt.c.Close()
			if got := combinesSlot(tt.c); got != tt.want {
				t.Fatalf("combinesSlot = %v; want %v", got, tt.want)
			}
		})
	}
}
