// Package redisstore is the Redis store.Store, shared by any number of
// flowbridge instances. It works on a go-redis v9 UniversalClient, so a
// single server, Sentinel or Cluster is a matter of configuration.
//
// Every record of one order shares the Cluster hash tag {shop:order}, so
// they live in one slot. Every state change is one Lua script that reads
// the server clock (TIME) and compares the caller's owner token; every
// script gives the same answer when go-redis re-sends it after a lost
// reply (see package storeapi).
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/internal/gcra"
	store "github.com/flowbridge/flowbridge/store/storeapi"
)

// Options configures a Store.
type Options struct {
	// Prefix starts every key (default "fb:"). Tests use a unique prefix
	// per test so they can share one Redis.
	Prefix string
	// MinReplicas, when above zero, makes a won claim and a create's sent
	// mark wait (WAIT) until that many replicas have them before the
	// caller may call the supplier.
	// Redis replication is asynchronous: in a Sentinel or Cluster failover
	// a demoted master keeps taking writes for a moment and then drops
	// them, so a claim won there can be won a second time elsewhere — two
	// supplier orders (measured in docs/OPERATIONS.md). With replicas set
	// up, production should use 1.
	MinReplicas int
	// ReplicaWait bounds that WAIT (default 500 ms).
	ReplicaWait time.Duration
	// OpTimeout bounds every operation, whatever deadline the caller's
	// context has or lacks (default 5 s): a hung Redis (SIGSTOP, a stuck
	// disk) costs a call at most this long per operation, never the whole
	// request timeout.
	OpTimeout time.Duration
}

// DefaultOpTimeout is Options.OpTimeout's default.
const DefaultOpTimeout = 5 * time.Second

// Store is a store.Store on Redis.
type Store struct {
	c      redis.UniversalClient
	prefix string
	opts   Options
	// skew is the Redis clock minus ours (ms), from the latest script
	// reply; skewOK says it has been measured. Caller deadlines are sent
	// on the Redis clock.
	skew   atomic.Int64
	skewOK atomic.Bool
	// epoch: InitEpoch ran, so claims check the epoch marker.
	epoch atomic.Bool
	// replid is the master replication id of the last won claim with
	// MinReplicas (promoted).
	replidMu sync.Mutex
	replid   string
}

// ErrNotReplicated means a claim was won, or a create marked sent, but no
// replica acknowledged it in time; the caller must not call the supplier
// (the claim's lease then expires and the next call reconciles).
var ErrNotReplicated = errors.New("redis: not acknowledged by enough replicas")

var _ store.Store = (*Store)(nil)

// New wraps an open client. Close closes the client.
func New(c redis.UniversalClient, opts Options) *Store {
	if opts.Prefix == "" {
		opts.Prefix = "fb:"
	}
	if opts.ReplicaWait <= 0 {
		opts.ReplicaWait = 500 * time.Millisecond
	}
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = DefaultOpTimeout
	}
	return &Store{c: c, prefix: opts.Prefix, opts: opts}
}

// op bounds one operation by OpTimeout (and the caller's deadline, when
// earlier). go-redis honours it (ContextTimeoutEnabled, see NewClient),
// retries included.
func (s *Store) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opts.OpTimeout)
}

// observeClock records the Redis clock read by a script at about the time
// its reply arrived. The reply comes after the read, so the skew is
// underestimated by at most one round trip: deadlines sent on the Redis
// clock err early, on the side of refusing.
func (s *Store) observeClock(redisNow time.Time) {
	s.skew.Store(redisNow.UnixMilli() - time.Now().UnixMilli())
	s.skewOK.Store(true)
}

// redisDeadline converts a local deadline to the Redis clock (ms; 0: none).
func (s *Store) redisDeadline(ctx context.Context, dl time.Time) int64 {
	if dl.IsZero() {
		return 0
	}
	if !s.skewOK.Load() {
		if t, err := s.c.Time(ctx).Result(); err == nil {
			s.observeClock(t)
		}
	}
	return dl.UnixMilli() + s.skew.Load()
}

// EpochKey is the key of the epoch marker: written when flowbridge first
// opens the store, checked by every claim. Its absence means the data was
// lost.
func (s *Store) EpochKey() string { return s.prefix + "epoch" }

// InitEpoch writes the epoch marker unless it exists, turns on the marker
// check in every later claim of this Store, and returns when
// the store last lost its data (zero: never seen). A missing marker over
// a database that already holds flowbridge keys (other instances have
// written since a wipe) counts as a loss; over an empty one it is a new
// installation — or data lost while no instance ran, which no marker in
// that same database can tell apart (docs/exactly-once.md).
func (s *Store) InitEpoch(ctx context.Context) (time.Time, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	had := "0"
	if keys, _, err := s.c.Scan(ctx, 0, s.prefix+"{*", 100).Result(); err == nil && len(keys) > 0 {
		had = "1"
	}
	v, err := epochScript.Run(ctx, s.c, []string{s.EpochKey()}, had).Slice()
	if err != nil {
		return time.Time{}, fmt.Errorf("redis epoch: %w", err)
	}
	if len(v) != 2 {
		return time.Time{}, fmt.Errorf("redis epoch: unexpected reply of %d items", len(v))
	}
	s.epoch.Store(true)
	if str(v[1]) != "1" {
		return time.Time{}, nil
	}
	return msTime(str(v[0])), nil
}

// Client returns the underlying client (for health checks and sharing).
func (s *Store) Client() redis.UniversalClient { return s.c }

// Name implements store.Store.
func (s *Store) Name() string { return "redis" }

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	return s.c.Ping(ctx).Err()
}

// Close implements store.Store.
func (s *Store) Close() error { return s.c.Close() }

// RecordKey is the Redis key of an idempotency record:
// <prefix>{<shop>:<order>}:<purpose>.
func (s *Store) RecordKey(k store.Key) string {
	return s.prefix + "{" + k.Tag() + "}:" + k.Purpose
}

func (s *Store) cacheKey(key string) string { return s.prefix + "cache:" + key }
func (s *Store) trackKey(key string) string { return s.prefix + "track:" + key }

func ms(d time.Duration) int64 {
	if d < time.Millisecond {
		return 1
	}
	return d.Milliseconds()
}

// Claim implements store.Idempotency.
func (s *Store) Claim(ctx context.Context, k store.Key, req store.ClaimRequest) (store.ClaimResult, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	v, err := s.claim(ctx, s.RecordKey(k), req)
	if err != nil {
		return store.ClaimResult{}, err
	}
	if len(v) != 4 {
		return store.ClaimResult{}, fmt.Errorf("redis claim: unexpected reply of %d items", len(v))
	}
	status, now, rec, err := parseReply(v[:3])
	if err != nil {
		return store.ClaimResult{}, err
	}
	s.observeClock(now)
	res := store.ClaimResult{Now: now, StoreLostAt: msTime(str(v[3]))}
	won := status == "fresh" || status == "takeover"
	res.Journaled = won && req.Journal != nil
	if s.cluster() && won {
		// In a Cluster the marker, the timeline index and the supplier
		// links live in other slots than the record, so they are checked
		// and written right after the claim, in one pipeline.
		if err := s.afterClusterClaim(ctx, req, status, &res); err != nil {
			return store.ClaimResult{}, err
		}
	}
	switch status {
	case "late":
		return store.ClaimResult{}, store.ErrDeadline
	case "fresh":
		res.Status = store.ClaimFresh
	case "takeover":
		res.Status = store.ClaimTakeover
		res.Previous = store.State(rec.prev)
	case "busy":
		res.Status = store.ClaimBusy
		res.RetryAfter = rec.LeaseUntil.Sub(now)
	case "done":
		res.Status = store.ClaimDone
	default:
		return store.ClaimResult{}, fmt.Errorf("redis claim: unexpected status %q", status)
	}
	res.Record = rec.Record
	return res, nil
}

// claim runs the claim script. With MinReplicas it runs on a dedicated
// connection to the key's master and, when the claim was won, WAITs on
// that same connection (WAIT counts the writes of its own connection).
func (s *Store) claim(ctx context.Context, key string, req store.ClaimRequest) ([]any, error) {
	cluster := s.cluster()
	epoch := s.epoch.Load() && !cluster
	keys := []string{key}
	args := []any{req.Owner, req.Fingerprint, ms(req.Lease), ms(req.TTL), s.redisDeadline(ctx, req.Deadline), "0", 0, 0, 0}
	if epoch {
		keys = append(keys, s.EpochKey())
		args[5] = "1"
	}
	if j := req.Journal; j != nil {
		if err := errors.Join(checkEntry(j.Fresh), checkEntry(j.Takeover)); err != nil {
			return nil, err
		}
		if !sameKeys(j.Fresh, j.Takeover) {
			return nil, fmt.Errorf("%w: a claim's two entries must name the same keys", errBadEntry)
		}
		// In a Cluster the index and links are other slots: Claim writes
		// them in the pipeline that follows a won claim.
		args[6] = len(keys) + 1
		keys = journalKeys(keys, j.Fresh, !cluster)
		args[7] = len(args) + 1
		args = journalArgs(args, j.Fresh, !cluster)
		args[8] = len(args) + 1
		args = journalArgs(args, j.Takeover, !cluster)
	}
	if s.opts.MinReplicas <= 0 {
		v, err := claimScript.Run(ctx, s.c, keys, args...).Slice()
		if err != nil {
			return nil, fmt.Errorf("redis claim: %w", err)
		}
		return v, nil
	}
	conn, err := s.masterConn(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("redis claim: %w", err)
	}
	defer conn.Close()
	v, err := claimScript.Run(ctx, conn, keys, args...).Slice()
	if err != nil {
		s.reloadSlots(ctx)
		return nil, fmt.Errorf("redis claim: %w", err)
	}
	if st, _ := v[0].(string); st != "fresh" && st != "takeover" {
		return v, nil
	}
	// The master's replication id comes back with the WAIT (one round
	// trip): a new one means this server was promoted (or restarted
	// empty) since this Store last claimed on it.
	var wait *redis.Cmd
	var info *redis.StringCmd
	_, err = conn.Pipelined(ctx, func(p redis.Pipeliner) error {
		wait = p.Do(ctx, "wait", s.opts.MinReplicas, s.opts.ReplicaWait.Milliseconds())
		if !cluster && epoch {
			info = p.Info(ctx, "replication")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis claim: wait for replicas: %w", err)
	}
	if info != nil && s.promoted(info.Val()) {
		// A failover drops what the demoted master took last, claims that
		// a replica had acknowledged included (WAIT counts any replica, not
		// the one the sentinels promote): 1 to 3 of 300 orders were placed
		// twice per run in internal/scaleout before this. From now on,
		// "no record" is not "never placed": mark the data as lost, like a
		// restart without persistence, so every replica's claims take the
		// lost-data path (orders.afterLoss) for LostDataWindow.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.OpTimeout)
		lost, lerr := failoverScript.Run(lctx, conn, []string{s.EpochKey()}).Text()
		cancel()
		if lerr != nil {
			return nil, fmt.Errorf("redis claim: mark failover: %w", lerr)
		}
		v[3] = lost
	}
	if n, _ := wait.Int64(); n < int64(s.opts.MinReplicas) {
		// Nobody has called the supplier on this claim. A fresh claim is
		// withdrawn so Flow's re-send claims afresh instead of waiting out
		// the lease and landing in a takeover (which, for a supplier that
		// cannot be asked, means needs_review). A takeover is left alone:
		// its record holds the evidence of an earlier attempt.
		if st, _ := v[0].(string); st == "fresh" {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.OpTimeout)
			_ = releaseScript.Run(rctx, conn, []string{key}, req.Owner).Err()
			cancel()
		}
		return nil, ErrNotReplicated
	}
	return v, nil
}

// masterConn is a dedicated connection to the master holding key, for a
// write followed by WAIT (which counts the writes of its own connection).
func (s *Store) masterConn(ctx context.Context, key string) (*redis.Conn, error) {
	switch c := s.c.(type) {
	case *redis.ClusterClient:
		n, err := c.MasterForKey(ctx, key)
		if err != nil {
			return nil, err
		}
		return n.Conn(), nil
	case *redis.Client:
		return c.Conn(), nil
	}
	return nil, fmt.Errorf("MinReplicas needs a single-node, Sentinel or Cluster client, not %T", s.c)
}

// reloadSlots refreshes a Cluster client's slot map after a failed write on
// a node connection, which follows no redirects, so the next attempt finds
// the new master.
func (s *Store) reloadSlots(ctx context.Context) {
	if c, ok := s.c.(*redis.ClusterClient); ok {
		c.ReloadState(ctx)
	}
}

// promoted reports whether INFO replication shows another master
// replication id than the one this Store last claimed on (the first one
// seen is only remembered). Sentinel and single-node clients only: a
// Cluster has one id per master.
func (s *Store) promoted(info string) bool {
	id := ""
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "master_replid:"); ok {
			id = v
			break
		}
	}
	if id == "" {
		return false
	}
	s.replidMu.Lock()
	defer s.replidMu.Unlock()
	was := s.replid
	s.replid = id
	return was != "" && was != id
}

// afterClusterClaim runs the epoch check and the journal entry's index and
// link writes of a claim won in a Cluster.
func (s *Store) afterClusterClaim(ctx context.Context, req store.ClaimRequest, status string, res *store.ClaimResult) error {
	var e store.Entry
	if req.Journal != nil {
		e = req.Journal.Fresh
		if status == "takeover" {
			e = req.Journal.Takeover
		}
	}
	if !s.epoch.Load() && !hasSide(e) {
		return nil
	}
	var lost *redis.Cmd
	send := func() error {
		_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			if s.epoch.Load() {
				lost = epochCheckScript.EvalSha(ctx, p, []string{s.EpochKey()})
			}
			sideWrites(ctx, p, e)
			return nil
		})
		return err
	}
	err := send()
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		if lerr := epochCheckScript.Load(ctx, s.c).Err(); lerr != nil {
			return fmt.Errorf("redis claim: epoch: %w", lerr)
		}
		err = send()
	}
	if err != nil {
		return fmt.Errorf("redis claim: epoch: %w", err)
	}
	if lost != nil {
		res.StoreLostAt = msTime(str(lost.Val()))
	}
	return nil
}

// Renew implements store.Idempotency.
func (s *Store) Renew(ctx context.Context, k store.Key, owner string, lease time.Duration) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	n, err := renewScript.Run(ctx, s.c, []string{s.RecordKey(k)}, owner, ms(lease)).Int()
	if err != nil {
		return fmt.Errorf("redis renew: %w", err)
	}
	if n == 0 {
		return store.ErrNotOwner
	}
	return nil
}

// MarkSent implements store.Idempotency.
func (s *Store) MarkSent(ctx context.Context, k store.Key, owner string) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	key := s.RecordKey(k)
	if s.opts.MinReplicas <= 0 {
		n, err := sentScript.Run(ctx, s.c, []string{key}, owner).Int()
		if err != nil {
			return fmt.Errorf("redis mark sent: %w", err)
		}
		return sentResult(n)
	}
	// The mark must outlive a failover as the claim does: a mark the new
	// master never got leaves a claim that looks unsent, and its takeover
	// places the order a second time although the first create left.
	// Unacknowledged, the create does not leave (TestMinReplicasMarkSent).
	conn, err := s.masterConn(ctx, key)
	if err != nil {
		return fmt.Errorf("redis mark sent: %w", err)
	}
	defer conn.Close()
	n, err := sentScript.Run(ctx, conn, []string{key}, owner).Int()
	if err != nil {
		s.reloadSlots(ctx)
		return fmt.Errorf("redis mark sent: %w", err)
	}
	if n != 1 {
		return sentResult(n)
	}
	got, err := conn.Wait(ctx, s.opts.MinReplicas, s.opts.ReplicaWait).Result()
	if err != nil {
		return fmt.Errorf("redis mark sent: wait for replicas: %w", err)
	}
	if got < int64(s.opts.MinReplicas) {
		return ErrNotReplicated
	}
	return nil
}

func sentResult(n int) error {
	switch n {
	case 1:
		return nil
	case -1:
		return store.ErrDeadline
	}
	return store.ErrNotOwner
}

// Complete implements store.Idempotency.
func (s *Store) Complete(ctx context.Context, k store.Key, c store.Change) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	keys := []string{s.RecordKey(k)}
	args := []any{c.Owner, string(c.To), c.Result, c.Reason, ms(c.TTL), 0, 0}
	cluster := s.cluster()
	if c.Journal != nil {
		if err := checkEntry(*c.Journal); err != nil {
			return err
		}
		args[5] = len(keys) + 1
		keys = journalKeys(keys, *c.Journal, !cluster)
		args[6] = len(args) + 1
		args = journalArgs(args, *c.Journal, !cluster)
	}
	n, err := completeScript.Run(ctx, s.c, keys, args...).Int()
	if err != nil {
		return fmt.Errorf("redis complete: %w", err)
	}
	if n == 0 {
		return store.ErrNotOwner
	}
	if cluster && c.Journal != nil && hasSide(*c.Journal) {
		// Other slots: after the change, not atomically with it, and best
		// effort: the change is made, and a lost index or link write only
		// delays the order's place in the listing (its next event writes
		// them again).
		_, _ = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			sideWrites(ctx, p, *c.Journal)
			return nil
		})
	}
	return nil
}

// Release implements store.Idempotency.
func (s *Store) Release(ctx context.Context, k store.Key, owner string) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	n, err := releaseScript.Run(ctx, s.c, []string{s.RecordKey(k)}, owner).Int()
	if err != nil {
		return fmt.Errorf("redis release: %w", err)
	}
	if n == 0 {
		return store.ErrNotOwner
	}
	return nil
}

// Transition implements store.Idempotency.
func (s *Store) Transition(ctx context.Context, k store.Key, t store.Transition) (store.Record, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	args := []any{t.Token, string(t.To), t.Result, t.Reason, ms(t.TTL)}
	for _, f := range t.From {
		args = append(args, string(f))
	}
	v, err := transitionScript.Run(ctx, s.c, []string{s.RecordKey(k)}, args...).Slice()
	if err != nil {
		return store.Record{}, fmt.Errorf("redis transition: %w", err)
	}
	status, now, rec, err := parseReply(v)
	if err != nil {
		return store.Record{}, err
	}
	s.observeClock(now)
	if rec.State == "" {
		rec.State = store.StateAbsent
	}
	if status == "conflict" {
		return rec.Record, store.ErrConflict
	}
	return rec.Record, nil
}

// Get implements store.Idempotency.
func (s *Store) Get(ctx context.Context, k store.Key) (store.Record, bool, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	v, err := getScript.Run(ctx, s.c, []string{s.RecordKey(k)}).Slice()
	if err != nil {
		return store.Record{}, false, fmt.Errorf("redis get: %w", err)
	}
	_, _, rec, err := parseReply(append([]any{"ok"}, v...))
	if err != nil {
		return store.Record{}, false, err
	}
	if rec.State == "" {
		return store.Record{}, false, nil
	}
	return rec.Record, true, nil
}

// CacheGet implements store.Cache.
func (s *Store) CacheGet(ctx context.Context, key string) ([]byte, bool, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	b, err := s.c.Get(ctx, s.cacheKey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redis cache get: %w", err)
	}
	return b, true, nil
}

// CacheSet implements store.Cache.
func (s *Store) CacheSet(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	if err := s.c.Set(ctx, s.cacheKey(key), value, ttl).Err(); err != nil {
		return fmt.Errorf("redis cache set: %w", err)
	}
	return nil
}

// TrackingGet implements store.Cache.
func (s *Store) TrackingGet(ctx context.Context, key string) (store.Tracked, bool, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	v, err := trackGetScript.Run(ctx, s.c, []string{s.trackKey(key)}).Slice()
	if errors.Is(err, redis.Nil) {
		return store.Tracked{}, false, nil
	}
	if err != nil {
		return store.Tracked{}, false, fmt.Errorf("redis tracking get: %w", err)
	}
	if len(v) != 3 {
		return store.Tracked{}, false, fmt.Errorf("redis tracking get: unexpected reply of %d items", len(v))
	}
	rank, _ := strconv.Atoi(str(v[0]))
	return store.Tracked{Rank: rank, Value: []byte(str(v[1])), Fresh: str(v[2]) == "1"}, true, nil
}

// TrackingGetReserve implements store.Cache: one script reads the entry
// and, unless it is fresh, reserves the limiter slot (trackGetReserve).
// In a Cluster it is TrackingGet alone (see combinesSlot).
func (s *Store) TrackingGetReserve(ctx context.Context, key string, slot store.SlotRequest) (store.Tracked, bool, store.Slot, error) {
	if !combinesSlot(s.c) || slot.Key == "" {
		t, ok, err := s.TrackingGet(ctx, key)
		return t, ok, store.Slot{}, err
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	req := gcra.Request{Key: slot.Key, Interval: slot.Interval, Tolerance: slot.Tolerance, MaxWait: slot.MaxWait}
	v, err := trackGetReserveScript.Run(ctx, s.c, []string{s.trackKey(key), req.Key}, req.Args()...).Slice()
	if err != nil {
		return store.Tracked{}, false, store.Slot{}, fmt.Errorf("redis tracking get: %w", err)
	}
	if len(v) != 6 {
		return store.Tracked{}, false, store.Slot{}, fmt.Errorf("redis tracking get: unexpected reply of %d items", len(v))
	}
	var t store.Tracked
	found := str(v[0]) == "1"
	if found {
		rank, _ := strconv.Atoi(str(v[1]))
		t = store.Tracked{Rank: rank, Value: []byte(str(v[2])), Fresh: str(v[3]) == "1"}
	}
	if flag, _ := v[4].(int64); flag < 0 {
		return t, found, store.Slot{}, nil
	}
	ok, wait, err := gcra.ParseReply(v[4:])
	if err != nil {
		return store.Tracked{}, false, store.Slot{}, fmt.Errorf("redis tracking get: %w", err)
	}
	return t, found, store.Slot{Asked: true, Reserved: ok, Wait: wait}, nil
}

// combinesSlot reports whether the tracking read and the limiter slot can
// share one script. Not in a Cluster: the tracking key and the limiter
// key hash to different slots (they share no hash tag, and cannot: the
// limiter key is one per supplier, the tracking key one per order), and
// a script may only touch keys of one slot. There the caller's limiter
// takes the slot in a call of its own, as before.
func combinesSlot(c redis.UniversalClient) bool {
	_, cluster := c.(*redis.ClusterClient)
	return !cluster
}

// TrackingDelete implements store.Cache.
func (s *Store) TrackingDelete(ctx context.Context, key string) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	if err := s.c.Del(ctx, s.trackKey(key)).Err(); err != nil {
		return fmt.Errorf("redis tracking delete: %w", err)
	}
	return nil
}

// TrackingPut implements store.Cache.
func (s *Store) TrackingPut(ctx context.Context, key string, rank int, value []byte, fresh, keep time.Duration) (store.Tracked, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	v, err := trackPutScript.Run(ctx, s.c, []string{s.trackKey(key)}, rank, value, ms(fresh), ms(keep)).Slice()
	if err != nil {
		return store.Tracked{}, fmt.Errorf("redis tracking put: %w", err)
	}
	if len(v) != 2 {
		return store.Tracked{}, fmt.Errorf("redis tracking put: unexpected reply of %d items", len(v))
	}
	r, _ := strconv.Atoi(str(v[0]))
	return store.Tracked{Rank: r, Value: []byte(str(v[1])), Fresh: true}, nil
}

type parsed struct {
	store.Record
	prev string
}

// parseReply reads {status, now ms, {field, value, ...}}.
func parseReply(v []any) (string, time.Time, parsed, error) {
	if len(v) != 3 {
		return "", time.Time{}, parsed{}, fmt.Errorf("redis: unexpected reply of %d items", len(v))
	}
	nowMS, err := strconv.ParseInt(str(v[1]), 10, 64)
	if err != nil {
		return "", time.Time{}, parsed{}, fmt.Errorf("redis: bad clock %q", str(v[1]))
	}
	now := time.UnixMilli(nowMS)
	fields, _ := v[2].([]any)
	var p parsed
	for i := 0; i+1 < len(fields); i += 2 {
		val := str(fields[i+1])
		switch str(fields[i]) {
		case "st":
			p.State = store.State(val)
		case "ow":
			p.Owner = val
		case "lu":
			p.LeaseUntil = msTime(val)
		case "fp":
			p.Fingerprint = val
		case "res":
			p.Result = []byte(val)
		case "rsn":
			p.Reason = val
		case "att":
			p.Attempts, _ = strconv.Atoi(val)
		case "ca":
			p.CreatedAt = msTime(val)
		case "cl":
			p.ClaimedAt = msTime(val)
		case "pcl":
			p.PreviousClaimAt = msTime(val)
		case "up":
			p.UpdatedAt = msTime(val)
		case "prev":
			p.prev = val
		case "dl":
			p.Deadline = msTime(val)
		case "sent":
			p.SentAt = msTime(val)
		}
	}
	if len(p.Result) == 0 {
		p.Result = nil
	}
	p.LeaseExpired = p.State == store.StateInFlight && !now.Before(p.LeaseUntil)
	return str(v[0]), now, p, nil
}

func msTime(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case nil:
		return ""
	default:
		return fmt.Sprint(x)
	}
}

// CheckConfig reads the server settings production needs and returns one
// warning per problem: no persistence (neither RDB snapshots nor AOF), or a
// maxmemory-policy other than noeviction (an evicted record forgets an
// order). CONFIG is often disabled on managed Redis; then it returns a
// single warning saying the settings could not be checked, and no error.
func CheckConfig(ctx context.Context, c redis.UniversalClient) []string {
	get := func(name string) (string, error) {
		m, err := c.ConfigGet(ctx, name).Result()
		if err != nil {
			return "", err
		}
		return m[name], nil
	}
	var warns []string
	save, err1 := get("save")
	aof, err2 := get("appendonly")
	policy, err3 := get("maxmemory-policy")
	if err := errors.Join(err1, err2, err3); err != nil {
		return []string{"could not read Redis settings with CONFIG GET (" + firstLine(err) + "); make sure persistence is on and maxmemory-policy is noeviction"}
	}
	if strings.TrimSpace(save) == "" && aof != "yes" {
		warns = append(warns, "Redis persistence is off (save \"\" and appendonly no): a restart forgets every idempotency record; turn on AOF (appendonly yes) or RDB snapshots")
	}
	if policy != "noeviction" {
		warns = append(warns, "Redis maxmemory-policy is "+strconv.Quote(policy)+", not \"noeviction\": Redis may evict idempotency records under memory pressure")
	}
	return warns
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
