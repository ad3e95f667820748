package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/store/redisstore"
	store "github.com/flowbridge/flowbridge/store/storeapi"
)

// A claim that no replica acknowledged must not let the caller call the
// supplier: a failover could drop it and a second caller win the order.
func TestMinReplicasRefusesUnreplicatedClaim(t *testing.T) {
	c := redistest.ClientFor(t, redistest.Start(t).URL())
	s := redisstore.New(c, redisstore.Options{Prefix: redistest.Prefix(t), MinReplicas: 1, ReplicaWait: 100 * time.Millisecond})
	_, err := s.Claim(context.Background(), store.Key{Shop: "s", OrderID: "1", Purpose: "place"},
		store.ClaimRequest{Owner: "a", Fingerprint: "f", Lease: time.Minute, TTL: time.Hour})
	if !errors.Is(err, redisstore.ErrNotReplicated) {
		t.Fatalf("claim without a replica: err = %v, want ErrNotReplicated", err)
	}
	// The unconfirmed fresh claim was withdrawn: nothing blocks a re-send.
	if _, found, err := s.Get(context.Background(), store.Key{Shop: "s", OrderID: "1", Purpose: "place"}); err != nil || found {
		t.Fatalf("record after a refused claim: found=%v err=%v, want none", found, err)
	}
}

// With a real replica attached, the claim is won once and a second owner
// finds it busy.
func TestMinReplicasWithReplica(t *testing.T) {
	master := startTCP(t, "")
	startTCP(t, master)
	c := redis.NewClient(&redis.Options{Addr: master})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	waitOnline(t, master)
	s := redisstore.New(c, redisstore.Options{Prefix: "fb:", MinReplicas: 1, ReplicaWait: 2 * time.Second})
	k := store.Key{Shop: "s", OrderID: "2", Purpose: "place"}
	res, err := s.Claim(ctx, k, store.ClaimRequest{Owner: "a", Fingerprint: "f", Lease: time.Minute, TTL: time.Hour})
	if err != nil || res.Status != store.ClaimFresh {
		t.Fatalf("first claim: %+v %v", res, err)
	}
	res, err = s.Claim(ctx, k, store.ClaimRequest{Owner: "b", Fingerprint: "f", Lease: time.Minute, TTL: time.Hour})
	if err != nil || res.Status != store.ClaimBusy {
		t.Fatalf("second claim: %+v %v", res, err)
	}
}

// waitOnline polls until the master at addr has one replica online (a
// condition, not a fixed sleep).
func waitOnline(t *testing.T, addr string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, _ := c.Info(context.Background(), "replication").Result()
		if containsLine(info, "connected_slaves:1") && strings.Contains(info, "state=online") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: replica never online: %s", addr, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func containsLine(s, line string) bool {
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		l := s[:i]
		if len(l) > 0 && l[len(l)-1] == '\r' {
			l = l[:len(l)-1]
		}
		if l == line {
			return true
		}
		if i == len(s) {
			break
		}
		s = s[i+1:]
	}
	return false
}

// startTCP runs a redis-server on a free loopback port (replication needs
// TCP), as a replica of replicaOf when set, and returns its address.
func startTCP(t *testing.T, replicaOf string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir()}
	if replicaOf != "" {
		h, p, _ := net.SplitHostPort(replicaOf)
		args = append(args, "--replicaof", h, p)
	}
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis-server: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s not answering", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return addr
}

// A create's sent mark must reach a replica before the create may leave,
// like the claim: a failover that drops the mark leaves a claim that looks
// unsent, and its takeover would place the order again. Without a replica
// the mark is refused (ErrNotReplicated, the create does not leave); with
// one the replica holds it.
func TestMinReplicasMarkSent(t *testing.T) {
	ctx := context.Background()
	k := store.Key{Shop: "s", OrderID: "3", Purpose: "place"}
	req := store.ClaimRequest{Owner: "a", Fingerprint: "f", Lease: time.Minute, TTL: time.Hour}

	t.Run("no replica", func(t *testing.T) {
		c := redistest.ClientFor(t, redistest.Start(t).URL())
		prefix := redistest.Prefix(t)
		// Claimed without MinReplicas (a replica acknowledged the claim,
		// then went away): only the mark meets the missing replica.
		if _, err := redisstore.New(c, redisstore.Options{Prefix: prefix}).Claim(ctx, k, req); err != nil {
			t.Fatal(err)
		}
		s := redisstore.New(c, redisstore.Options{Prefix: prefix, MinReplicas: 1, ReplicaWait: 100 * time.Millisecond})
		if err := s.MarkSent(ctx, k, "a"); !errors.Is(err, redisstore.ErrNotReplicated) {
			t.Fatalf("mark without a replica: err = %v, want ErrNotReplicated", err)
		}
		// Not the holder: refused as before, no WAIT needed.
		if err := s.MarkSent(ctx, k, "b"); !errors.Is(err, store.ErrNotOwner) {
			t.Fatalf("mark by another owner: err = %v, want ErrNotOwner", err)
		}
	})

	t.Run("with a replica", func(t *testing.T) {
		master := startTCP(t, "")
		replica := startTCP(t, master)
		c := redis.NewClient(&redis.Options{Addr: master})
		t.Cleanup(func() { _ = c.Close() })
		rc := redis.NewClient(&redis.Options{Addr: replica})
		t.Cleanup(func() { _ = rc.Close() })
		waitOnline(t, master)
		s := redisstore.New(c, redisstore.Options{Prefix: "fb:", MinReplicas: 1, ReplicaWait: 2 * time.Second})
		if _, err := s.Claim(ctx, k, req); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkSent(ctx, k, "a"); err != nil {
			t.Fatalf("mark with a replica: %v", err)
		}
		// WAIT returned: the replica has the mark now, no polling needed.
		sent, err := rc.HGet(ctx, s.RecordKey(k), "sent").Result()
		if err != nil || sent == "" {
			t.Fatalf("replica's record: sent = %q, err %v; want the mark", sent, err)
		}
	})
}

// A claim on a master that was promoted since the Store's last claim
// marks the data as lost: the demoted master's last writes are gone,
// claims a replica had acknowledged included, so "no record" no longer
// means "never placed". The claim that notices, and every later claim of
// any Store on that data, carries the loss time (orders then holds or
// checks before creating, orders.afterLoss). The first claim on a master
// only remembers it.
func TestMinReplicasFailoverMarksDataLost(t *testing.T) {
	ctx := context.Background()
	m := startTCP(t, "")
	r := startTCP(t, m)
	var addr atomic.Value
	addr.Store(m)
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr.Load().(string))
	}
	// A connection per command (idle time 1 ns), so the switch below
	// reaches every later command, as a Sentinel client's does.
	c := redis.NewClient(&redis.Options{Dialer: dial, ConnMaxIdleTime: time.Nanosecond})
	t.Cleanup(func() { _ = c.Close() })
	waitOnline(t, m)
	s := redisstore.New(c, redisstore.Options{Prefix: "fb:", MinReplicas: 1, ReplicaWait: 2 * time.Second})
	if _, err := s.InitEpoch(ctx); err != nil {
		t.Fatal(err)
	}
	req := store.ClaimRequest{Owner: "o", Fingerprint: "f", Lease: time.Minute, TTL: time.Hour}
	claim := func(st *redisstore.Store, id string) store.ClaimResult {
		t.Helper()
		res, err := st.Claim(ctx, store.Key{Shop: "s", OrderID: id, Purpose: "place"}, req)
		if err != nil || res.Status != store.ClaimFresh {
			t.Fatalf("claim %s: %+v %v", id, res, err)
		}
		return res
	}
	if res := claim(s, "1"); !res.StoreLostAt.IsZero() {
		t.Fatalf("first claim: lost at %v, want none", res.StoreLostAt)
	}

	// The failover: the replica is promoted, the old master follows it.
	rc := redis.NewClient(&redis.Options{Addr: r})
	t.Cleanup(func() { _ = rc.Close() })
	if err := rc.Do(ctx, "replicaof", "no", "one").Err(); err != nil {
		t.Fatal(err)
	}
	rh, rp, _ := net.SplitHostPort(r)
	mc := redis.NewClient(&redis.Options{Addr: m})
	t.Cleanup(func() { _ = mc.Close() })
	if err := mc.Do(ctx, "replicaof", rh, rp).Err(); err != nil {
		t.Fatal(err)
	}
	addr.Store(r)
	waitOnline(t, r)

	res := claim(s, "2")
	if res.StoreLostAt.IsZero() || res.Now.Sub(res.StoreLostAt).Abs() > 5*time.Second {
		t.Fatalf("claim after the failover: lost at %v (now %v), want about now", res.StoreLostAt, res.Now)
	}
	// Another replica's Store (it never claimed before the failover)
	// reads the loss from the shared marker.
	other := redisstore.New(c, redisstore.Options{Prefix: "fb:", MinReplicas: 1, ReplicaWait: 2 * time.Second})
	if _, err := other.InitEpoch(ctx); err != nil {
		t.Fatal(err)
	}
	if got := claim(other, "3"); !got.StoreLostAt.Equal(res.StoreLostAt) {
		t.Fatalf("another Store's claim: lost at %v, want %v", got.StoreLostAt, res.StoreLostAt)
	}
}
