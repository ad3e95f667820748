package timeline

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/store"
	"github.com/flowbridge/flowbridge/store/redisstore"
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
// The two keys of one order share a hash tag with the order's
// idempotency record (store/redisstore), so they live in one Cluster slot
// and one Lua script updates them atomically, with the record when the
// event rides on a claim or completion. The index and the supplier link
// are separate keys: on a single server or Sentinel the same script
// writes them; in a Cluster (other slots) they follow in the same
// pipeline, so an Append costs one round trip, but not atomically with
// the order. If the index write is lost the order is still readable
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

// Entry is the journal entry that appends ev to an order's timeline: its
// event list, its summary, the index and the supplier-number links. The
// Redis store applies it (store/redisstore's journal script, the one Lua
// copy of this write), on its own in Append or inside the claim or
// completion it describes (Recorder.Entry).
func (s *RedisStore) Entry(shop, orderID string, ev Event) (store.Entry, error) {
	if err := checkKey(shop, orderID); err != nil {
		return store.Entry{}, err
	}
	if err := validEvent(ev); err != nil {
		return store.Entry{}, err
	}
	if ev.SupplierOrderID != "" {
		if err := checkID("supplier_order_id", ev.SupplierOrderID); err != nil {
			return store.Entry{}, err
		}
	}
	now := s.opt.Now()
	if ev.At.IsZero() {
		ev.At = now
	}
	ev.At = ev.At.UTC()
	body, err := json.Marshal(ev)
	if err != nil {
		return store.Entry{}, err
	}
	d := deltaFor(ev)
	incr := []string{fEvents}
	if d.incrChecks {
		incr = []string{fChecks, fEvents}
	}
	evKey, sumKey := s.orderKeys(shop, orderID)
	e := store.Entry{List: evKey, Item: body, MaxItems: s.opt.MaxEvents, Hash: sumKey,
		SetNX: d.setNX, Set: d.set, SetIf: d.setIf, Incr: incr, TTL: s.opt.Retention,
		Index: s.idx, IndexMember: member(shop, orderID), IndexScore: ev.At.UnixMilli(),
		IndexTrim: now.Add(-s.opt.Retention).UnixMilli()}
	if nums := supplierNumbers(ev.SupplierOrderID); len(nums) > 0 {
		e.LinkValue, e.LinkTTL = orderID, s.opt.Retention
		for _, n := range nums {
			e.Links = append(e.Links, s.supplierKey(shop, n))
		}
	}
	return e, nil
}

// Append implements Store: one script call carrying the order's event,
// its summary, the index update and, when the event names a supplier
// order, the supplier link.
func (s *RedisStore) Append(ctx context.Context, shop, orderID string, ev Event) error {
	e, err := s.Entry(shop, orderID, ev)
	if err != nil {
		return err
	}
	if err := redisstore.AppendEntry(ctx, s.c, e); err != nil {
		return unavailable(err)
	}
	return nil
}

// Item is one event of one order, for AppendBatch.
type Item struct {
	Shop, OrderID string
	Event         Event
	// NoLink: the order was found from the event's supplier number, so
	// the event must not write the number's link. It would add nothing,
	// and when the Recorder's cached link is stale (the number adopted on
	// another order since) it would undo that change for every replica.
	NoLink bool
}

// AppendBatch appends several events, of any orders, in one pipelined
// round trip (the Recorder's writers send what has queued up together).
// Events that cannot be stored (invalid) are left out and returned by
// index in bad; err is the store's failure, which concerns all the rest.
func (s *RedisStore) AppendBatch(ctx context.Context, items []Item) (bad map[int]error, err error) {
	es := make([]store.Entry, 0, len(items))
	for i, it := range items {
		e, err := s.Entry(it.Shop, it.OrderID, it.Event)
		if err != nil {
			if bad == nil {
				bad = map[int]error{}
			}
			bad[i] = err
			continue
		}
		if it.NoLink {
			e.Links, e.LinkValue, e.LinkTTL = nil, "", 0
		}
		es = append(es, e)
	}
	if len(es) == 0 {
		return bad, nil
	}
	if err := redisstore.AppendEntries(ctx, s.c, es); err != nil {
		return bad, unavailable(err)
	}
	return bad, nil
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

// Link names a supplier number of a shop, for OrdersFor.
type Link struct {
	Shop, Number string
}

// OrdersFor looks several supplier numbers up in one pipelined round
// trip (a writer's batch of tracking events by number). orders[i] is the
// Shopify order of links[i], "" when unknown; a link that cannot be a key
// (invalid) is returned by index in bad; err is the store's failure,
// which concerns all the rest. A found link's life is extended to
// Retention, as the event about to be written extends its order's (such
// an event does not write the link itself: Item.NoLink).
func (s *RedisStore) OrdersFor(ctx context.Context, links []Link) (orders []string, bad map[int]error, err error) {
	orders = make([]string, len(links))
	cmds := make([]*redis.StringCmd, len(links))
	ask := 0
	for i, l := range links {
		if err := checkKey(l.Shop, l.Number); err != nil {
			if bad == nil {
				bad = map[int]error{}
			}
			bad[i] = err
			continue
		}
		ask++
	}
	if ask == 0 {
		return orders, bad, nil
	}
	_, err = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, l := range links {
			if _, ok := bad[i]; !ok {
				k := s.supplierKey(l.Shop, l.Number)
				cmds[i] = p.Get(ctx, k)
				p.PExpire(ctx, k, s.opt.Retention)
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, bad, unavailable(err)
	}
	for i, c := range cmds {
		if c == nil {
			continue
		}
		v, cerr := c.Result()
		switch {
		case errors.Is(cerr, redis.Nil):
		case cerr != nil:
			return nil, bad, unavailable(cerr)
		default:
			orders[i] = v
		}
	}
	return orders, bad, nil
}
