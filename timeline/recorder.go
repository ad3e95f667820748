package timeline

import (
	"context"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/flowbridge/flowbridge/orderid"
	"github.com/flowbridge/flowbridge/orders"
	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/store"
)

// Recorder turns what the orders service did into timeline events. It is
// an orders.Observer, the timeline's one feed: it reads each typed
// observation (an answered call with its input and result, or an event
// only the service sees, such as a claim), so the orders package knows
// nothing of timelines (docs/console.md, "Wiring"). With Journal, the
// claim and placement events are written by the store inside the claim
// and completion they describe instead.
//
// Recording is best effort and never holds the answer to Flow: a failed
// write is logged and counted and never fails or changes the answer.
// Writes are bounded by WriteTimeout. After Async, events are written by
// background workers from a bounded queue (one worker per order shard,
// so one order's events keep their order; what has queued up is sent in
// one pipeline); a full queue drops the event (counted) rather than wait.
// The queue is bounded twice: in events per shard and in bytes over all
// shards (MaxQueuedBytes). It holds pointers, so an idle queue costs a few
// kilobytes, not the size of thousands of events (in the flash-sale
// profile the preallocated queue of events by value was the largest live
// allocation: 2.6 MB of a 5.4 MB idle heap, docs/bench/memory.md).
//
// A tracking call by supplier number names no Shopify order; the order is
// found from the number's link, which the placement event writes. When
// that event is still queued in this Recorder, the number is resolved
// from the queue itself and the tracking event joins the order's shard,
// behind the placement event; otherwise the link is already in the store
// (or its write failed) and the writer looks it up there. Without this the
// lookup, run by another shard's writer, could come before the placement
// event was written and the tracking event was lost.
//
// Links this Recorder has seen (events it queued or the store journaled,
// and lookup answers) are kept in a bounded cache for LinkTTL, so a
// tracking call by number usually needs no lookup at all and joins its
// order's shard at once; the writer looks up what the cache cannot
// answer, a whole batch in one pipeline. A link can change (every event
// carrying a number rewrites it, and an operator may adopt a number on
// another order), so a cached one is trusted for LinkTTL only; numbers
// not found are never cached.
//
// Repeats are folded: a replayed placement, a hold answered again from
// the stored review, or a tracking answer from the cache, when it gives
// the same answer as the last event of its order that this Recorder
// wrote less than FoldWindow ago, is not written but counted (Folded);
// the next event of that order that is written carries the count in
// Repeats. The timeline is the order's story, not an access log.
// A nil *Recorder records nothing, so callers need no checks.
type Recorder struct {
	store Store
	shop  string
	log   *slog.Logger

	// WriteTimeout bounds each write (default 1 s).
	WriteTimeout time.Duration
	// Now stamps events queued by Async writers when they were recorded
	// (default: time.Now). Synchronous writes leave it to the store.
	Now func() time.Time
	// Dropped, when set, is told of every event not recorded ("failed":
	// the write failed; "queue_full": the queue was full), for a metric.
	Dropped func(ctx context.Context, reason string)
	// MaxQueuedBytes bounds the memory of the events not yet written,
	// queued or in a writer's batch (their estimated size, see job.bytes); an event that would
	// take the queue past it is dropped as "queue_full". Zero means
	// DefaultMaxQueuedBytes. Set it before Async.
	MaxQueuedBytes int64
	// FoldWindow: a repeat within it of the order's last written event is
	// folded (see the type's documentation). Default DefaultFoldWindow;
	// zero or less folds nothing.
	FoldWindow time.Duration
	// MaxFoldOrders bounds the orders remembered for folding (default
	// DefaultMaxFoldOrders). Set it before the first Record.
	MaxFoldOrders int
	// Folded, when set, is told of every event folded, by kind, for a
	// metric.
	Folded func(ctx context.Context, kind string)
	// LinkTTL is how long a cached supplier link is trusted (default
	// DefaultLinkTTL; zero or less caches nothing). Set it before the
	// first Record.
	LinkTTL time.Duration

	cache linkCache
	folds folds

	shards []chan *job
	// queuedBytes is the estimated size of the jobs queued or being written.
	queuedBytes atomic.Int64
	wg          sync.WaitGroup
	// mu guards closed against sends racing Close.
	mu     sync.RWMutex
	closed bool
	// stopped ends when a Drain's deadline passes: writers drop what is
	// left instead of writing it, and the write in progress is cancelled.
	stopped context.Context
	stop    context.CancelFunc

	// linkMu guards links: supplier number (shop + "\n" + number) → the
	// order of a queued event that carries it, with how many such events
	// are queued. An entry lives only while its events are queued, so the
	// map is bounded by the queue.
	linkMu sync.Mutex
	links  map[string]queuedLink
	// queued counts each order's events (shop + "\n" + order) waiting in
	// the queue, also under linkMu: while an order has some, its next
	// events are queued behind them rather than journaled (Journal), so
	// the timeline keeps the order in which things happened.
	queued map[string]int
}

type queuedLink struct {
	order string
	n     int
}

type job struct {
	ctx         context.Context
	shop, order string
	// number, when order is empty: the supplier order number whose
	// Shopify order the event belongs to (looked up before writing).
	number  string
	ev      Event
	barrier chan struct{}
	// linked: the job counts in Recorder.links until written.
	linked bool
	// counted: the job counts in Recorder.queued until written.
	counted bool
	// byNumber: the order was found from the supplier number (queue,
	// cache or store), so the event does not rewrite the link (Item.NoLink).
	byNumber bool
	// looked: the writer found the order (cache or store): the job was
	// not checked for folding when queued.
	looked bool
	// size: bytes() when queued, given back when written (the writer
	// sets order, which would change the estimate).
	size int64
}

// DefaultWriteTimeout is Recorder.WriteTimeout's default.
const DefaultWriteTimeout = time.Second

// DefaultMaxQueuedBytes is Recorder.MaxQueuedBytes's default: about 5,000
// typical events (a few hundred bytes each), more than a flash sale
// queues while Redis answers, and less than the 2.6 MB the queue of
// events by value used to reserve at start.
const DefaultMaxQueuedBytes = 2 << 20

// jobOverhead is what a queued job costs besides its strings: the job
// itself and the queue's pointer to it.
const jobOverhead = int64(unsafe.Sizeof(job{})) + int64(unsafe.Sizeof(&job{}))

// bytes estimates the memory a queued job holds: the struct and the
// bytes of its strings. The detached context is not counted; it shares
// what the request had (its span, its values), at most one per event.
func (j *job) bytes() int64 {
	e := &j.ev
	n := len(j.shop) + len(j.order) + len(j.number) + len(e.Kind) + len(e.Op) + len(e.Carrier) + len(e.Reason) +
		len(e.SupplierOrderID) + len(e.Status) + len(e.RawStatus) + len(e.Code) + len(e.Action) + len(e.Actor) +
		len(e.Via) + len(e.Address) + len(e.Note)
	return jobOverhead + int64(n)
}

// NewRecorder returns a Recorder writing to st. defaultShop names the
// shop of inputs that carry none (single-shop deployments; the orders
// service uses "default"). A nil logger discards. It writes synchronously
// until Async is called.
func NewRecorder(st Store, defaultShop string, log *slog.Logger) *Recorder {
	if defaultShop == "" {
		defaultShop = "default"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{store: st, shop: defaultShop, log: log, WriteTimeout: DefaultWriteTimeout,
		FoldWindow: DefaultFoldWindow, MaxFoldOrders: DefaultMaxFoldOrders, LinkTTL: DefaultLinkTTL,
		cache: linkCache{max: DefaultMaxLinks}}
}

func (r *Recorder) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// orderKey names an order in the Recorder's maps.
func orderKey(shop, order string) string { return shop + "\n" + order }

// cached answers a supplier number from the link cache.
func (r *Recorder) cached(shop, number string) (string, bool) {
	if r.LinkTTL <= 0 {
		return "", false
	}
	return r.cache.get(orderKey(shop, number), r.now())
}

// learn caches the links an event of a known order writes (every number
// of a split order's value, as the store links them).
func (r *Recorder) learn(shop, order, value string) {
	if r.LinkTTL <= 0 || order == "" {
		return
	}
	now := r.now()
	for _, n := range supplierNumbers(value) {
		r.cache.put(orderKey(shop, n), order, now.Add(r.LinkTTL), now)
	}
}

// admit decides whether j, of a known order, is written or folded (see
// the type's documentation); a written one takes the count folded before
// it. The caller tells Folded after releasing its locks.
func (r *Recorder) admit(j *job) bool {
	at := j.ev.At
	if at.IsZero() {
		at = r.now()
	}
	n, fold := r.folds.check(orderKey(j.shop, j.order), j.ev, at, r.FoldWindow, r.MaxFoldOrders)
	if fold {
		return false
	}
	j.ev.Repeats = n
	return true
}

func (r *Recorder) folded(j *job) {
	if r.Folded != nil {
		r.Folded(j.ctx, j.ev.Kind)
	}
}

// Async starts workers (shards of them, each with a queue of queue
// events) that write events in the background; Close stops them after
// draining. Call it once, before the first Record.
func (r *Recorder) Async(shards, queue int) {
	if r == nil || shards <= 0 {
		return
	}
	if r.MaxQueuedBytes <= 0 {
		r.MaxQueuedBytes = DefaultMaxQueuedBytes
	}
	r.shards = make([]chan *job, shards)
	r.stopped, r.stop = context.WithCancel(context.Background())
	r.links = map[string]queuedLink{}
	r.queued = map[string]int{}
	for i := range r.shards {
		ch := make(chan *job, queue)
		r.shards[i] = ch
		r.wg.Go(func() {
			batch := make([]*job, 0, maxBatch)
			for j := range ch {
				if j.barrier != nil {
					close(j.barrier)
					continue
				}
				// What has queued up meanwhile goes with it, up to a
				// barrier (a Flush waits for what came before it only).
				batch = append(batch[:0], j)
				var barrier chan struct{}
				// Only what is queued now. The batch's bytes stay
				// counted until it is written, so MaxQueuedBytes bounds
				// what the writer holds and what is queued together.
				take := min(len(ch), maxBatch-1)
			more:
				for ; take > 0; take-- {
					select {
					case k, ok := <-ch:
						if !ok {
							break more
						}
						if k.barrier != nil {
							barrier = k.barrier
							break more
						}
						batch = append(batch, k)
					default:
						break more
					}
				}
				r.writeBatch(batch)
				for _, k := range batch {
					r.queuedBytes.Add(-k.size)
				}
				if barrier != nil {
					close(barrier)
				}
			}
		})
	}
}

// Flush waits until every event queued before the call is written (or
// dropped), or ctx ends. Readers in the same process call it so they see
// their own writes.
func (r *Recorder) Flush(ctx context.Context) {
	if r == nil || len(r.shards) == 0 {
		return
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return
	}
	var wait []chan struct{}
	for _, ch := range r.shards {
		b := make(chan struct{})
		select {
		case ch <- &job{barrier: b}:
			wait = append(wait, b)
		case <-ctx.Done():
			return
		}
	}
	for _, b := range wait {
		select {
		case <-b:
		case <-ctx.Done():
			return
		}
	}
}

// DefaultDrainTimeout bounds Close's drain.
const DefaultDrainTimeout = 5 * time.Second

// Close drains the queue, bounded by DefaultDrainTimeout (see Drain).
func (r *Recorder) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultDrainTimeout)
	defer cancel()
	r.Drain(ctx)
}

// Drain stops the workers after they have written every queued event, or
// when ctx ends: then the events still queued are dropped (counted as
// "shutdown") and the write in progress is cancelled. A normal stop must
// drain, or the last answers' events (often the ones an operator looks
// for: a placement, a held order) would be lost with the process; the
// deadline keeps a hung store from holding the shutdown (each write alone
// may take WriteTimeout, and the queue holds thousands). Events recorded
// after Drain are written synchronously. Safe to call more than once.
func (r *Recorder) Drain(ctx context.Context) {
	if r == nil || len(r.shards) == 0 {
		return
	}
	r.mu.Lock()
	was := r.closed
	r.closed = true
	r.mu.Unlock()
	if !was {
		for _, ch := range r.shards {
			close(ch)
		}
	}
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		r.stop()
		<-done
	}
}

// Record appends ev to an order's timeline; failures are logged and
// counted only.
func (r *Recorder) Record(ctx context.Context, shop, orderID string, ev Event) {
	if r == nil || orderID == "" {
		return
	}
	shop = r.shopOr(shop)
	r.enqueue(ctx, &job{shop: shop, order: orderID, ev: ev})
}

func (r *Recorder) enqueue(ctx context.Context, j *job) {
	// Detached: the event describes what happened even when the caller
	// has gone; the trace context stays for the logs.
	j.ctx = context.WithoutCancel(ctx)
	if len(r.shards) == 0 {
		r.writeNow(j)
		return
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		r.writeNow(j)
		return
	}
	if j.ev.At.IsZero() {
		// Stamped now: the writer may run a little later.
		j.ev.At = r.now()
	}
	r.linkMu.Lock()
	given := j.order != ""
	if j.order == "" {
		// Queued behind the placement event that links the number, on
		// the order's shard (see the type's documentation); or on the
		// order's shard anyway when the link is cached.
		if l, ok := r.links[orderKey(j.shop, j.number)]; ok {
			j.order, j.number, j.byNumber = l.order, "", true
		} else if o, ok := r.cached(j.shop, j.number); ok {
			j.order, j.number, j.byNumber = o, "", true
		}
	}
	if j.order != "" && !r.admit(j) {
		r.linkMu.Unlock()
		r.folded(j)
		return
	}
	if j.order != "" && j.ev.SupplierOrderID != "" {
		k := orderKey(j.shop, j.ev.SupplierOrderID)
		l := r.links[k]
		r.links[k] = queuedLink{order: j.order, n: l.n + 1}
		j.linked = true
	}
	if j.order != "" {
		r.queued[orderKey(j.shop, j.order)]++
		j.counted = true
	}
	r.linkMu.Unlock()
	// Learnt when queued: the next tracking call by this number joins the
	// order's shard (r.links covers it until written, the cache after).
	// Only from an order the caller named: an event whose order came from
	// the cache would keep its own entry alive past LinkTTL.
	if given {
		r.learn(j.shop, j.order, j.ev.SupplierOrderID)
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(j.shop + "\n" + j.order + j.number))
	j.size = j.bytes()
	if r.queuedBytes.Add(j.size) > r.MaxQueuedBytes {
		r.queuedBytes.Add(-j.size)
		r.notQueued(j)
		return
	}
	select {
	case r.shards[h.Sum32()%uint32(len(r.shards))] <- j:
	default:
		r.queuedBytes.Add(-j.size)
		r.notQueued(j)
	}
}

// notQueued drops a job the queue has no room for; the repeats it
// carried go to the order's next event, and its next repeat is written.
func (r *Recorder) notQueued(j *job) {
	r.drop(j.ctx, j.ev, "queue_full", nil)
	r.unlink(j)
	if j.order != "" {
		r.folds.unwritten(orderKey(j.shop, j.order), j.ev.Repeats, r.MaxFoldOrders)
	}
}

// writeNow writes j at once (no writers, or after Drain), folding it as
// a queued one would be.
func (r *Recorder) writeNow(j *job) {
	given := j.order != ""
	if !given {
		if o, ok := r.cached(j.shop, j.number); ok {
			j.order, j.number, j.byNumber = o, "", true
		}
	}
	if j.order != "" {
		if !r.admit(j) {
			r.folded(j)
			return
		}
		if given {
			r.learn(j.shop, j.order, j.ev.SupplierOrderID)
		}
	}
	r.write(j)
}

// QueuedBytes is the estimated size of the events waiting to be written.
func (r *Recorder) QueuedBytes() int64 {
	if r == nil {
		return 0
	}
	return r.queuedBytes.Load()
}

// unlink forgets a queued event's supplier link and its place in its
// order's count once it is written (the store has it now) or dropped.
func (r *Recorder) unlink(j *job) {
	if !j.linked && !j.counted {
		return
	}
	r.linkMu.Lock()
	defer r.linkMu.Unlock()
	if j.linked {
		k := j.shop + "\n" + j.ev.SupplierOrderID
		if l := r.links[k]; l.n > 1 {
			r.links[k] = queuedLink{order: l.order, n: l.n - 1}
		} else {
			delete(r.links, k)
		}
	}
	if j.counted {
		k := j.shop + "\n" + j.order
		if r.queued[k] > 1 {
			r.queued[k]--
		} else {
			delete(r.queued, k)
		}
	}
}

// pending reports whether events of the order wait in the queue.
func (r *Recorder) pending(shop, order string) bool {
	if len(r.shards) == 0 {
		return false
	}
	r.linkMu.Lock()
	defer r.linkMu.Unlock()
	return r.queued[shop+"\n"+order] > 0
}

// maxBatch bounds the events one writer sends in one round trip.
const maxBatch = 64

// writeBatch writes a writer's batch in queue order. On Redis the whole
// batch costs at most two round trips: one pipelined lookup of the
// supplier numbers the link cache cannot answer, then one pipeline of
// every event (AppendBatch applies them in their order, so an order's
// events keep the order they were queued in, a looked-up one in its
// place). Other stores write one event at a time.
func (r *Recorder) writeBatch(jobs []*job) {
	defer func() {
		for _, j := range jobs {
			r.unlink(j)
		}
	}()
	rs, batched := r.store.(*RedisStore)
	if !batched {
		for i, j := range jobs {
			if r.stopped.Err() != nil {
				r.shutdown(jobs[i:])
				return
			}
			r.write(j)
		}
		return
	}
	if r.stopped.Err() != nil {
		r.shutdown(jobs)
		return
	}
	r.writeRedis(rs, jobs)
}

// writeRedis writes jobs in at most two round trips (see writeBatch).
func (r *Recorder) writeRedis(rs *RedisStore, jobs []*job) {
	r.lookUp(rs, jobs)
	write := make([]*job, 0, len(jobs))
	for _, j := range jobs {
		if j.order == "" {
			continue // not found (never placed here) or a failed lookup (counted)
		}
		if j.looked && !r.admit(j) {
			r.folded(j)
			continue
		}
		write = append(write, j)
	}
	if len(write) == 0 {
		return
	}
	if r.stopped != nil && r.stopped.Err() != nil {
		r.shutdown(write)
		return
	}
	r.writeMany(rs, write)
}

// shutdown drops what a writer holds when a drain's deadline has passed,
// like what is still queued.
func (r *Recorder) shutdown(jobs []*job) {
	for _, j := range jobs {
		r.drop(j.ctx, j.ev, "shutdown", nil)
	}
}

// writeCtx bounds one write (or lookup) by WriteTimeout and a drain past
// its deadline.
func (r *Recorder) writeCtx(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(parent, r.WriteTimeout)
	if r.stopped == nil {
		return ctx, cancel
	}
	stop := context.AfterFunc(r.stopped, cancel)
	return ctx, func() { stop(); cancel() }
}

// lookUp finds the orders of the batch's number-only jobs: from the link
// cache, else all in one pipelined lookup (each number asked once). A
// job left without an order is not written: its number is unknown, or
// the lookup failed (counted as "failed").
func (r *Recorder) lookUp(rs *RedisStore, jobs []*job) {
	var ask []Link
	var who [][]*job
	seen := map[string]int{}
	for _, j := range jobs {
		if j.order != "" {
			continue
		}
		if o, ok := r.cached(j.shop, j.number); ok {
			j.order, j.looked, j.byNumber = o, true, true
			continue
		}
		k := orderKey(j.shop, j.number)
		i, ok := seen[k]
		if !ok {
			i = len(ask)
			seen[k] = i
			ask = append(ask, Link{Shop: j.shop, Number: j.number})
			who = append(who, nil)
		}
		who[i] = append(who[i], j)
	}
	if len(ask) == 0 {
		return
	}
	ctx, cancel := r.writeCtx(who[0][0].ctx)
	defer cancel()
	found, bad, err := rs.OrdersFor(ctx, ask)
	for i, js := range who {
		e := err
		if be, ok := bad[i]; ok {
			e = be
		}
		if e != nil {
			for _, j := range js {
				r.drop(j.ctx, j.ev, "failed", e)
			}
			continue
		}
		if found[i] == "" {
			continue // a number flowbridge never placed has no timeline
		}
		r.remember(ask[i].Shop, ask[i].Number, found[i])
		for _, j := range js {
			j.order, j.looked, j.byNumber = found[i], true, true
		}
	}
}

// remember caches a lookup's answer.
func (r *Recorder) remember(shop, number, order string) {
	if r.LinkTTL <= 0 {
		return
	}
	now := r.now()
	r.cache.put(orderKey(shop, number), order, now.Add(r.LinkTTL), now)
}

// writeMany writes events of known orders in one pipeline.
func (r *Recorder) writeMany(rs *RedisStore, jobs []*job) {
	ctx, cancel := r.writeCtx(jobs[0].ctx)
	defer cancel()
	items := make([]Item, len(jobs))
	for i, j := range jobs {
		items[i] = Item{Shop: j.shop, OrderID: j.order, Event: j.ev, NoLink: j.byNumber}
	}
	bad, err := rs.AppendBatch(ctx, items)
	for i, j := range jobs {
		if berr, ok := bad[i]; ok {
			r.drop(j.ctx, j.ev, "failed", berr)
		} else if err != nil {
			r.drop(j.ctx, j.ev, "failed", err)
		}
	}
}

// write writes one event, looking its order up first when the job names
// only a supplier number (the cache, then the store).
func (r *Recorder) write(j *job) {
	if rs, ok := r.store.(*RedisStore); ok {
		r.writeRedis(rs, []*job{j})
		return
	}
	ctx, cancel := r.writeCtx(j.ctx)
	defer cancel()
	if j.order == "" {
		found, ok := r.cached(j.shop, j.number)
		if !ok {
			var err error
			found, ok, err = r.store.OrderFor(ctx, j.shop, j.number)
			if err != nil {
				r.drop(j.ctx, j.ev, "failed", err)
			}
			if err != nil || !ok {
				return // a number flowbridge never placed has no timeline
			}
			r.remember(j.shop, j.number, found)
		}
		j.order, j.looked, j.byNumber = found, true, true
		if !r.admit(j) {
			r.folded(j)
			return
		}
	}
	if err := r.store.Append(ctx, j.shop, j.order, j.ev); err != nil {
		r.drop(j.ctx, j.ev, "failed", err)
	}
}

func (r *Recorder) drop(ctx context.Context, ev Event, reason string, err error) {
	// Codes only: events carry no customer data, but keep the log lean.
	attrs := []any{slog.String("kind", ev.Kind), slog.String("reason", reason)}
	if err != nil {
		attrs = append(attrs, slog.String("error", problem.From(err).Code))
	}
	r.log.WarnContext(ctx, "timeline: event not recorded", attrs...)
	if r.Dropped != nil {
		r.Dropped(ctx, reason)
	}
}

// shopOr files an event under the shop the orders service uses for the
// same input (orderid.Shop), so timeline and placement record agree.
func (r *Recorder) shopOr(shop string) string {
	if sh, ok := orderid.Shop(shop, r.shop); ok {
		return sh
	}
	return r.shop
}

// OrderNumber reduces a Shopify order id to its canonical number
// (orderid.Normalize), so every event of an order lands on one timeline.
// Anything that is not an order id gives "" (and records nothing).
func OrderNumber(id string) string {
	n, _ := orderid.Normalize(id)
	return n
}

func errorEvent(op string, err error) Event {
	pe := problem.From(err)
	ev := Event{Kind: KindError, Op: op, Code: pe.Code}
	if pe.Kind == problem.Rejected {
		ev.Kind = KindOrderRejected
	}
	if pe.Code == problem.CodeInFlight {
		ev.Note = "a duplicate call arrived while another was placing the order; answered 429 with Retry-After"
	}
	return ev
}

// Quoted records a /rates call made for an order (calls without an order
// id have no timeline and are ignored).
func (r *Recorder) quoted(ctx context.Context, in orders.RatesInput, res orders.RatesResult, err error) {
	if r == nil {
		return
	}
	id := OrderNumber(in.OrderID)
	if id == "" {
		return
	}
	ev := Event{Kind: KindRatesQuoted, Op: "rates", Address: MaskAddress(in.Request.CountryCode, in.Request.PostalCode)}
	if err != nil {
		ev = errorEvent("rates", err)
		ev.Address = MaskAddress(in.Request.CountryCode, in.Request.PostalCode)
	} else {
		ev.Carrier = strings.TrimSpace(res.Chosen.Carrier + " " + res.Chosen.Service)
		ev.Reason = strings.TrimSpace(res.Choice + ": " + res.Reason)
		ev.Cached, ev.TestMode = res.Cached, res.TestMode
	}
	r.Record(ctx, in.Shop, id, ev)
}

// Placed records the answer of a /orders call.
func (r *Recorder) placed(ctx context.Context, in orders.PlaceInput, res orders.PlaceResult, err error) {
	if r == nil {
		return
	}
	r.Record(ctx, in.Shop, OrderNumber(in.OrderID), placedEvent(in, res, err))
}

// placedEvent is the event of a /orders answer.
func placedEvent(in orders.PlaceInput, res orders.PlaceResult, err error) Event {
	addr := MaskAddress(in.Order.ShipTo.CountryCode, in.Order.ShipTo.PostalCode)
	if err != nil {
		ev := errorEvent("place", err)
		ev.Address = addr
		return ev
	}
	ev := Event{Op: "place", SupplierOrderID: res.SupplierOrderID, Status: string(res.Status), RawStatus: res.RawStatus,
		TestMode: res.TestMode, Address: addr}
	switch {
	case res.Outcome == orders.OutcomeNeedsReview || res.NeedsReview:
		ev.Kind, ev.Reason = KindHeldForReview, res.ReviewReason
		if res.Replay {
			ev.Note = replayHeldNote
		}
	case res.Outcome == orders.OutcomeRecorded:
		ev.Kind, ev.Note = KindOrderRecorded, "the supplier order number was already on the Shopify order; nothing was created"
	case res.Replay || res.Outcome == orders.OutcomeReplayed:
		ev.Kind = KindOrderReplayed
		if res.PayloadChanged {
			ev.Note = "the payload differs from the first call; the stored placement was answered and nothing was created"
		}
	case res.Outcome == orders.OutcomeReconciled:
		ev.Kind = KindOrderReconciled
	default:
		ev.Kind = KindOrderCreated
	}
	return ev
}

// Tracked records a /tracking call. A call by supplier number is attached
// to the Shopify order that number was recorded for (from the queue or
// the link cache, else a store read batched by the writer); numbers
// flowbridge never placed are ignored.
func (r *Recorder) tracked(ctx context.Context, in orders.TrackInput, res orders.TrackResult, err error) {
	if r == nil {
		return
	}
	shop := r.shopOr(in.Shop)
	id := OrderNumber(in.ShopifyOrderID)
	number := strings.TrimSpace(in.SupplierOrderID)
	if number == "" {
		number = res.SupplierOrderID
	}
	var ev Event
	if err != nil {
		ev = errorEvent("tracking", err)
		ev.SupplierOrderID = number
	} else {
		n := 0
		for _, p := range res.Parcels {
			if p.Number != "" {
				n++
			}
		}
		ev = Event{Kind: KindTrackingChecked, Op: "tracking", SupplierOrderID: number,
			Status: string(res.Status), RawStatus: res.RawStatus, TrackingNumbers: n, Cached: res.Cached, TestMode: res.TestMode}
	}
	if id == "" && number != "" {
		// The order is found from the number: when queued (the queue or
		// the link cache), else by the writer (a store read, batched and
		// off the answer's path).
		r.enqueue(ctx, &job{shop: shop, number: number, ev: ev})
		return
	}
	r.Record(ctx, shop, id, ev)
}

// Observe makes the Recorder an orders.Observer, the timeline's one feed:
// each Flow-facing call's answer (with more detail than any inner event),
// each operator call (who resolved or released what, operatorEvent), plus
// the events no answer shows (claims, unknown outcomes). It switches
// on the orders.Event constants, so renaming one fails to compile instead
// of silently dropping entries. An observation the store already wrote
// with its claim or completion (Journaled, see Journal) is not written
// again.
func (r *Recorder) Observe(ctx context.Context, o orders.Observation) {
	if r == nil {
		return
	}
	if o.Journaled {
		// The store wrote it with the completion: its link is known.
		if o.Event == orders.EventPlaceAnswered && o.Place != nil {
			shop := r.shopOr(o.Place.In.Shop)
			r.learn(shop, OrderNumber(o.Place.In.OrderID), o.Place.Out.SupplierOrderID)
		}
		return
	}
	switch {
	case o.Event == orders.EventRatesAnswered && o.Rates != nil:
		r.quoted(ctx, o.Rates.In, o.Rates.Out, o.Err)
		return
	case o.Event == orders.EventPlaceAnswered && o.Place != nil:
		r.placed(ctx, o.Place.In, o.Place.Out, o.Err)
		return
	case o.Event == orders.EventTrackAnswered && o.Track != nil:
		r.tracked(ctx, o.Track.In, o.Track.Out, o.Err)
		return
	}
	if ev, ok := serviceEvent(o); ok {
		r.Record(ctx, o.Key.Shop, o.Key.OrderID, ev)
	} else if ev, ok := operatorEvent(o); ok {
		r.Record(ctx, o.Key.Shop, o.Key.OrderID, ev)
	}
}

// operatorEvent is the event of an operator call: who did what, through
// what. A resolution refused because the order is unknown writes nothing
// (an order flowbridge never saw gets no timeline from a typo); any other
// refusal is part of the order's story. A failed cache release writes
// nothing: nothing changed and the operator sees the error. The event is
// filed under the observation's Key, the record the call named.
func operatorEvent(o orders.Observation) (Event, bool) {
	switch o.Event {
	case orders.EventResolveAnswered:
		if o.Resolve == nil {
			return Event{}, false
		}
		in := o.Resolve.In
		if o.Err != nil {
			pe := problem.From(o.Err)
			if pe.Kind == problem.NotFound {
				return Event{}, false
			}
			return Event{Kind: KindError, Op: "resolve", Action: in.Action, Code: pe.Code, Actor: in.By.Actor, Via: in.By.Via}, true
		}
		return Event{Kind: KindResolved, Op: "resolve", Action: in.Action, SupplierOrderID: in.SupplierOrderID, Actor: in.By.Actor, Via: in.By.Via}, true
	case orders.EventTrackingReleased:
		if o.Release == nil || o.Err != nil {
			return Event{}, false
		}
		return Event{Kind: KindCacheReleased, Op: "release_cache", Actor: o.Release.By.Actor, Via: o.Release.By.Via}, true
	}
	return Event{}, false
}

// serviceEvent is the event of an observation only the orders service
// sees (no answer shows it).
func serviceEvent(o orders.Observation) (Event, bool) {
	var ev Event
	switch o.Event {
	case orders.EventClaimWon:
		ev = Event{Kind: KindPlacementClaimed, Op: "place"}
	case orders.EventClaimTakeover:
		ev = Event{Kind: KindPlacementClaimed, Op: "place", Note: "took over an unknown outcome or an expired lease; reconciling before any create"}
	case orders.EventOutcomeUnknown:
		ev = Event{Kind: KindError, Op: "place", Code: "outcome_unknown", Note: "the supplier may or may not have created the order"}
	case orders.EventLookupFailed:
		ev = Event{Kind: KindError, Op: "place", Code: "lookup_failed", Note: "the supplier could not be asked for the order by reference"}
	case orders.EventOwnershipLost:
		ev = Event{Kind: KindError, Op: "place", Code: "ownership_lost", Note: "another call took the order over before this one finished"}
	default:
		return Event{}, false
	}
	if o.Err != nil && ev.Code == "" {
		ev.Code = problem.From(o.Err).Code
	}
	return ev, true
}

// Journal returns the orders.Journal through which the Redis store writes
// this Recorder's claim and placement events inside the claim and
// completion scripts they describe (one round trip, and the event lands
// with the record or not at all). It is nil when the timeline is not in
// Redis (the in-memory timeline writes its own events), and it must only
// be given to an orders service whose store is the Redis store on the same
// server (store.ErrNoJournal otherwise).
func (r *Recorder) Journal() orders.Journal {
	if r == nil {
		return nil
	}
	rs, ok := r.store.(*RedisStore)
	if !ok {
		return nil
	}
	return journal{r: r, rs: rs}
}

type journal struct {
	r  *Recorder
	rs *RedisStore
}

// Entry implements orders.Journal for the claim events and the /orders
// answer; every other observation is written by Observe.
func (j journal) Entry(o orders.Observation) (store.Entry, bool) {
	var shop, id string
	var ev Event
	switch o.Event {
	case orders.EventPlaceAnswered:
		if o.Place == nil {
			return store.Entry{}, false
		}
		shop, id, ev = o.Place.In.Shop, OrderNumber(o.Place.In.OrderID), placedEvent(o.Place.In, o.Place.Out, o.Err)
	case orders.EventClaimWon, orders.EventClaimTakeover:
		var ok bool
		if ev, ok = serviceEvent(o); !ok {
			return store.Entry{}, false
		}
		shop, id = o.Key.Shop, o.Key.OrderID
	default:
		return store.Entry{}, false
	}
	if id == "" {
		return store.Entry{}, false
	}
	shop = j.r.shopOr(shop)
	if j.r.pending(shop, id) || j.r.folds.pending(orderKey(shop, id)) > 0 {
		// Earlier events of this order are still queued: this one goes
		// behind them (Observe), or it would be written first. Or
		// repeats were folded: Observe writes it with their count.
		return store.Entry{}, false
	}
	// Written by the store, not the Recorder: a repeat after it is a
	// first again.
	j.r.folds.forget(orderKey(shop, id))
	// An entry that cannot be made is left to Observe, which counts its
	// drop once.
	e, err := j.rs.Entry(shop, id, ev)
	return e, err == nil
}
