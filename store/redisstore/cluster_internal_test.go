package redisstore

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	store "github.com/flowbridge/flowbridge/store/storeapi"
	"github.com/flowbridge/flowbridge/store/storetest"
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

// singleNodeCluster starts a redis-server in cluster mode that owns every
// slot: a real Cluster (it refuses scripts across slots) on one process.
func singleNodeCluster(t *testing.T) *redis.ClusterClient {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found on PATH: %v", err)
	}
	dir, err := os.MkdirTemp("", "rc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// A free port whose cluster bus port (+10000) is below 65536.
	var port int
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		if port < 55000 {
			break
		}
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
		"--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--dir", dir, "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	node := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = node.Close() })
	ctx := context.Background()
	storetest.Eventually(t, 10*time.Second, "redis-server to answer", func() bool { return node.Ping(ctx).Err() == nil })
	if err := node.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatal(err)
	}
	storetest.Eventually(t, 10*time.Second, "the cluster to be ok", func() bool {
		info, err := node.ClusterInfo(ctx).Result()
		return err == nil && strings.Contains(info, "cluster_state:ok")
	})
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{addr}})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestTrackingGetReserveOnCluster: on a real Cluster the combined script
// is refused (the two keys are in different slots), and
// TrackingGetReserve falls back to the read alone, leaving the slot to
// the limiter's own call.
func TestTrackingGetReserveOnCluster(t *testing.T) {
	c := singleNodeCluster(t)
	ctx := context.Background()
	s := New(c, Options{Prefix: "fbtest:"})
	slot := store.SlotRequest{Key: "flowbridge:ratelimit:bts", Interval: time.Second, MaxWait: time.Second}
	if _, err := trackGetReserveScript.Run(ctx, c, []string{s.trackKey("o1"), slot.Key}, 1000000, 0, 1000000).Result(); err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("combined script on a Cluster = %v; want CROSSSLOT (else the fallback is not needed)", err)
	}
	if _, err := s.TrackingPut(ctx, "o1", 2, []byte("processing"), time.Millisecond, time.Hour); err != nil {
		t.Fatal(err)
	}
	got, found, sl, err := s.TrackingGetReserve(ctx, "o1", slot)
	if err != nil || !found || got.Rank != 2 || sl.Asked {
		t.Fatalf("on a Cluster = %+v %v %+v %v; want the entry and no slot asked", got, found, sl, err)
	}
	if n, err := c.Exists(ctx, slot.Key).Result(); err != nil || n != 0 {
		t.Fatalf("limiter key exists = %d %v; the fallback must leave it to the limiter", n, err)
	}
}
