package timeline

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// RedisStore keeps timelines in Redis (a single server, Sentinel or
// Cluster: it takes a redis.UniversalClient).
//
// Keys, with the default prefix "fb:tl:":
//
//	fb:tl:{shop:order}:ev   list of JSON events, oldest first, at most MaxEvents
//	fb:tl:{shop:order}:sum  hash: the order's summary
//	fb:tl:sup:{shop:number} string: the Shopify order a supplier number belongs to
//	fb:tl:index             sorted set of "shop\norder" scored by last update (ms)
//
// The two keys of one order share a hash tag, so they live in one Cluster
// slot and one Lua script updates both atomically. The index and the
// supplier link are separate keys (other slots): they are written in the
// same pipeline, so an Append costs one round trip, but not atomically
// with the order. If the index write is lost the order is still readable
// by id and reappears in the listing with its next event; index entries
// whose order has expired are removed when a listing meets them, and
// entries older than Retention are trimmed on every Append.
type RedisStore struct {
	c   redis.UniversalClient
	opt Options
	idx string
}

// NewRedisStore returns a Redis-backed store on c.
func NewRedisStore(c redis.UniversalClient, opt Options) *RedisStore {
	opt = opt.withDefaults()
	return &RedisStore{c: c, opt: opt, idx: opt.Prefix + "index"}
}

func (s *RedisStore) orderKeys(shop, orderID string) (events, sum string) {
	base := s.opt.Prefix + "{" + shop + ":" + orderID + "}:"
	return base + "ev", base + "sum"
}

func (s *RedisStore) supplierKey(shop, number string) string {
	return s.opt.Prefix + "sup:{" + shop + ":" + number + "}"
}

// appendScript appends one event and updates the summary in one step.
//
//	KEYS[1] events list, KEYS[2] summary hash
//	ARGV[1] event JSON, ARGV[2] max events, ARGV[3] ttl ms,
//	ARGV[4] "1" to count a tracking check, ARGV[5] number of HSET pairs,
//	ARGV[6] number of HSETNX pairs, then the HSETNX pairs, the HSET pairs,
//	and (field, expected, value) triples written only over expected.
//
// The order (set-if-absent, set, set-if) is the one delta.apply uses.
var appendLua = redis.NewScript(appendScript)

var appendScript = `
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local nset, nnx = tonumber(ARGV[5]), tonumber(ARGV[6])
local i = 7
for _ = 1, nnx do
  redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i+1])
  i = i + 2
end
for _ = 1, nset do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i+1])
  i = i + 2
end
while i + 2 <= #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[i+1] then
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i+2])
  end
  i = i + 3
end
if ARGV[4] == '1' then
  redis.call('HINCRBY', KEYS[2], 'checks', 1)
end
redis.call('HINCRBY', KEYS[2], 'events', 1)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`

// Append implements Store: one pipelined round trip carrying the order's
// script, the index update and, when the event names a supplier order,
// the supplier link.
func (s *RedisStore) Append(ctx context.Context, shop, orderID string, ev Event) error {
	if err := checkKey(shop, orderID); err != nil {
		return err
	}
	if err := validEvent(ev); err != nil {
		return err
	}
	if ev.SupplierOrderID != "" {
		if err := checkID("supplier_order_id", ev.SupplierOrderID); err != nil {
			return err
		}
	}
	now := s.opt.Now()
	if ev.At.IsZero() {
		ev.At = now
	}
	ev.At = ev.At.UTC()
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	d := deltaFor(ev)
	incr := "0"
	if d.incrChecks {
		incr = "1"
	}
	args := make([]any, 0, 6+len(d.set)+len(d.setNX)+len(d.setIf))
	args = append(args, body, s.opt.MaxEvents, s.opt.Retention.Milliseconds(), incr, len(d.set)/2, len(d.setNX)/2)
	for _, part := range [][]string{d.setNX, d.set, d.setIf} {
		for _, v := range part {
			args = append(args, v)
		}
	}
	evKey, sumKey := s.orderKeys(shop, orderID)
	// The script goes by its SHA (EVALSHA), not its source, on every
	// event; a server that has not seen it yet (first use, restart,
	// failover) answers NOSCRIPT, and then it is loaded and the pipeline
	// sent once more (every command in it is idempotent).
	send := func() error {
		_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.EvalSha(ctx, appendLua.Hash(), []string{evKey, sumKey}, args...)
			p.ZAdd(ctx, s.idx, redis.Z{Score: float64(ev.At.UnixMilli()), Member: member(shop, orderID)})
			p.ZRemRangeByScore(ctx, s.idx, "-inf", "("+strconv.FormatInt(now.Add(-s.opt.Retention).UnixMilli(), 10))
			for _, n := range supplierNumbers(ev.SupplierOrderID) {
				p.Set(ctx, s.supplierKey(shop, n), orderID, s.opt.Retention)
			}
			return nil
		})
		return err
	}
	err = send()
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		if lerr := appendLua.Load(ctx, s.c).Err(); lerr != nil {
			return unavailable(lerr)
		}
		err = send()
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// Get implements Store (one round trip: both keys share a slot).
func (s *RedisStore) Get(ctx context.Context, shop, orderID string) (Order, error) {
	if err := checkKey(shop, orderID); err != nil {
		return Order{}, err
	}
	evKey, sumKey := s.orderKeys(shop, orderID)
	var lr *redis.StringSliceCmd
	var hr *redis.MapStringStringCmd
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		lr = p.LRange(ctx, evKey, 0, -1)
		hr = p.HGetAll(ctx, sumKey)
		return nil
	})
	if err != nil {
		return Order{}, unavailable(err)
	}
	sum := summaryFrom(shop, orderID, hr.Val())
	if len(hr.Val()) == 0 || s.opt.Now().Sub(sum.UpdatedAt) >= s.opt.Retention {
		return Order{}, notFound()
	}
	o := Order{Summary: sum, Events: make([]Event, 0, len(lr.Val()))}
	for _, raw := range lr.Val() {
		var ev Event
		if json.Unmarshal([]byte(raw), &ev) == nil {
			o.Events = append(o.Events, ev)
		}
	}
	return o, nil
}

// List implements Store. It walks the index newest first in batches,
// reads each batch's summaries in one pipeline and filters them here.
func (s *RedisStore) List(ctx context.Context, f Filter) (Page, error) {
	f, err := f.normalised()
	if err != nil {
		return Page{}, err
	}
	cur, haveCur, err := parseCursor(f.Cursor)
	if err != nil {
		return Page{}, err
	}
	now := s.opt.Now()
	page := Page{Orders: []Summary{}}
	scanned, batch := 0, 100
	for {
		maxScore := "+inf"
		if haveCur {
			maxScore = strconv.FormatInt(cur.ms, 10)
		}
		zs, err := s.c.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: s.idx, Start: maxScore, Stop: "-inf",
			ByScore: true, Rev: true, Count: int64(batch)}).Result()
		if err != nil {
			return Page{}, unavailable(err)
		}
		type cand struct {
			ms           int64
			m, shop, oid string
			sum          *redis.MapStringStringCmd
		}
		cands := make([]cand, 0, len(zs))
		for _, z := range zs {
			m, _ := z.Member.(string)
			ms := int64(z.Score)
			if haveCur && !cur.after(ms, m) {
				continue
			}
			shop, oid, ok := splitMember(m)
			if !ok {
				continue
			}
			cands = append(cands, cand{ms: ms, m: m, shop: shop, oid: oid})
		}
		if len(cands) == 0 {
			if len(zs) < batch {
				return page, nil // the index is exhausted
			}
			// A batch made only of entries already seen (many orders
			// updated in the same millisecond): widen it.
			batch *= 2
			continue
		}
		if _, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := range cands {
				_, sumKey := s.orderKeys(cands[i].shop, cands[i].oid)
				cands[i].sum = p.HGetAll(ctx, sumKey)
			}
			return nil
		}); err != nil {
			return Page{}, unavailable(err)
		}
		var gone []any
		for _, c := range cands {
			cur, haveCur = cursor{ms: c.ms, member: c.m}, true
			scanned++
			fields := c.sum.Val()
			sum := summaryFrom(c.shop, c.oid, fields)
			if len(fields) == 0 {
				gone = append(gone, c.m)
			} else if now.Sub(sum.UpdatedAt) < s.opt.Retention && sum.Matches(f.State, f.MinChecks) {
				page.Orders = append(page.Orders, sum)
			}
			if len(page.Orders) == f.Limit || scanned == scanCap {
				page.Next = cur.String()
				break
			}
		}
		if len(gone) > 0 {
			// Best effort: a failure here only leaves stale entries that
			// the next listing removes.
			_ = s.c.ZRem(ctx, s.idx, gone...).Err()
		}
		if page.Next != "" || len(zs) < batch {
			return page, nil
		}
	}
}

// OrderFor implements Store.
func (s *RedisStore) OrderFor(ctx context.Context, shop, supplierOrderID string) (string, bool, error) {
	if err := checkKey(shop, supplierOrderID); err != nil {
		return "", false, err
	}
	id, err := s.c.Get(ctx, s.supplierKey(shop, supplierOrderID)).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, unavailable(err)
	}
	return id, true, nil
}
