package redisstore_test

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/store/redisstore"
	store "github.com/flowbridge/flowbridge/store/storeapi"
	"github.com/flowbridge/flowbridge/store/storetest"
)

func openStore(t *testing.T, url string, opts redisstore.Options) *redisstore.Store {
	t.Helper()
	c, err := redisstore.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	s := redisstore.New(c, opts)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

var evalshaCalls = regexp.MustCompile(`cmdstat_evalsha:calls=(\d+)`)

func scriptCalls(t *testing.T, c redis.UniversalClient) int {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	m := evalshaCalls.FindStringSubmatch(info)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// A claim sent to a hung Redis (SIGSTOP) fails for its caller within the
// operation timeout; when Redis resumes it runs the queued script, which
// must then refuse (the caller's deadline has passed) instead of holding
// the order for a whole lease (issue 16, defect 2).
func TestClaimQueuedInHungRedisHoldsNothing(t *testing.T) {
	srv := redistest.Start(t)
	s := openStore(t, srv.URL(), redisstore.Options{OpTimeout: 300 * time.Millisecond})
	admin := redistest.ClientFor(t, srv.URL())
	ctx := context.Background()
	k := store.Key{Shop: "s", OrderID: "1", Purpose: "place"}
	// Load the script and measure the clock while Redis answers.
	if _, err := s.Claim(ctx, store.Key{Shop: "s", OrderID: "warm", Purpose: "place"}, store.ClaimRequest{Owner: "w", Lease: time.Minute, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	before := scriptCalls(t, admin)

	srv.Pause(t)
	start := time.Now()
	_, err := s.Claim(ctx, k, store.ClaimRequest{Owner: "a", Lease: time.Minute, TTL: time.Hour, Deadline: time.Now().Add(300 * time.Millisecond)})
	took := time.Since(start)
	if err == nil {
		t.Fatal("claim on a stopped Redis succeeded")
	}
	if took > 3*time.Second {
		t.Fatalf("claim on a stopped Redis took %v; the operation timeout is 300ms", took)
	}
	srv.Resume(t)
	// The queued script runs once Redis resumes (INFO counts it).
	storetest.Eventually(t, 10*time.Second, "the queued claim to run", func() bool { return scriptCalls(t, admin) > before })
	if r, ok, err := s.Get(ctx, k); err != nil || ok {
		t.Fatalf("the claim whose caller gave up holds the order: %+v (found=%v, %v)", r, ok, err)
	}
	r, err := s.Claim(ctx, k, store.ClaimRequest{Owner: "b", Lease: time.Minute, TTL: time.Hour, Deadline: time.Now().Add(time.Minute)})
	if err != nil || r.Status != store.ClaimFresh {
		t.Fatalf("Flow's re-send = %v, %v; want a fresh claim", r.Status, err)
	}
}

// Every operation on a hung Redis ends within its bound, even with a
// context that has no deadline (the post-supplier writes detach from the
// request; issue 16, defect 1).
func TestEveryOperationIsBoundedOnHungRedis(t *testing.T) {
	srv := redistest.Start(t)
	s := openStore(t, srv.URL(), redisstore.Options{OpTimeout: 200 * time.Millisecond})
	ctx := context.Background()
	k := store.Key{Shop: "s", OrderID: "2", Purpose: "place"}
	if _, err := s.Claim(ctx, k, store.ClaimRequest{Owner: "a", Lease: time.Minute, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	srv.Pause(t)
	ops := map[string]func() error{
		"claim": func() error {
			_, err := s.Claim(ctx, k, store.ClaimRequest{Owner: "b", Lease: time.Minute, TTL: time.Hour})
			return err
		},
		"mark sent": func() error { return s.MarkSent(ctx, k, "a") },
		"complete": func() error {
			return s.Complete(ctx, k, store.Change{Owner: "a", To: store.StatePlaced, TTL: time.Hour})
		},
		"release": func() error { return s.Release(ctx, k, "a") },
		"get":     func() error { _, _, err := s.Get(ctx, k); return err },
		"transition": func() error {
			_, err := s.Transition(ctx, k, store.Transition{Token: "t", From: []store.State{store.StateAbsent}, To: store.StatePlaced, TTL: time.Hour})
			return err
		},
		"cache get":    func() error { _, _, err := s.CacheGet(ctx, "c"); return err },
		"cache set":    func() error { return s.CacheSet(ctx, "c", []byte("v"), time.Minute) },
		"tracking get": func() error { _, _, err := s.TrackingGet(ctx, "t"); return err },
		"tracking put": func() error {
			_, err := s.TrackingPut(ctx, "t", 1, []byte("v"), time.Minute, time.Hour)
			return err
		},
		"ping": func() error { return s.Ping(ctx) },
	}
	for name, op := range ops {
		start := time.Now()
		err := op()
		took := time.Since(start)
		if err == nil || errors.Is(err, store.ErrNotOwner) {
			t.Errorf("%s on a stopped Redis = %v; want a store error", name, err)
		}
		if took > 2*time.Second {
			t.Errorf("%s on a stopped Redis took %v; the bound is 200ms", name, took)
		}
	}
}

// The epoch marker tells a claim that Redis lost its data (issue 16,
// defect 4).
func TestEpochMarkerDetectsLostData(t *testing.T) {
	srv := redistest.Start(t)
	admin := redistest.ClientFor(t, srv.URL())
	s := openStore(t, srv.URL(), redisstore.Options{})
	ctx := context.Background()
	req := store.ClaimRequest{Owner: "a", Lease: time.Minute, TTL: time.Hour}
	if lost, err := s.InitEpoch(ctx); err != nil || !lost.IsZero() {
		t.Fatalf("first InitEpoch = %v, %v; want no loss (a new installation)", lost, err)
	}
	r, err := s.Claim(ctx, store.Key{Shop: "s", OrderID: "1", Purpose: "place"}, req)
	if err != nil || !r.StoreLostAt.IsZero() {
		t.Fatalf("claim = %+v, %v; want no loss", r, err)
	}
	if err := admin.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	r, err = s.Claim(ctx, store.Key{Shop: "s", OrderID: "2", Purpose: "place"}, req)
	if err != nil || r.Status != store.ClaimFresh || r.StoreLostAt.IsZero() {
		t.Fatalf("claim after FLUSHALL = %+v, %v; want a fresh claim that reports the loss", r, err)
	}
	lostAt := r.StoreLostAt
	r, err = s.Claim(ctx, store.Key{Shop: "s", OrderID: "3", Purpose: "place"}, req)
	if err != nil || !r.StoreLostAt.Equal(lostAt) {
		t.Fatalf("later claim reports loss at %v, %v; want %v", r.StoreLostAt, err, lostAt)
	}
	// A replica started after the loss learns it from the marker.
	if lost, err := openStore(t, srv.URL(), redisstore.Options{}).InitEpoch(ctx); err != nil || !lost.Equal(lostAt) {
		t.Fatalf("InitEpoch after the loss = %v, %v; want %v", lost, err, lostAt)
	}
	// A missing marker over existing records (written after a wipe by an
	// instance that has not claimed yet) is a loss too.
	if err := admin.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.HSet(ctx, s.RecordKey(store.Key{Shop: "s", OrderID: "9", Purpose: "place"}), "st", "placed").Err(); err != nil {
		t.Fatal(err)
	}
	if lost, err := s.InitEpoch(ctx); err != nil || lost.IsZero() {
		t.Fatalf("InitEpoch over data without a marker = %v, %v; want a loss", lost, err)
	}
}
