package timeline

import (
	"context"
	"sort"
	"sync"
	"time"
)

// MemoryStore keeps timelines in this process: a single instance only,
// forgotten on restart. Orders older than Retention are dropped when read
// and swept on writes.
type MemoryStore struct {
	opt       Options
	mu        sync.Mutex
	orders    map[string]*memOrder // by member(shop, order)
	suppliers map[string]memLink   // member(shop, supplier number) → order id
	lastSweep time.Time
}

type memOrder struct {
	shop, orderID string
	events        []Event
	fields        map[string]string
	updated       time.Time
}

type memLink struct {
	orderID string
	until   time.Time
}

// NewMemoryStore returns an in-process store.
func NewMemoryStore(opt Options) *MemoryStore {
	return &MemoryStore{opt: opt.withDefaults(), orders: map[string]*memOrder{}, suppliers: map[string]memLink{}}
}

func (s *MemoryStore) live(o *memOrder, now time.Time) bool {
	return o != nil && now.Sub(o.updated) < s.opt.Retention
}

// Append implements Store.
func (s *MemoryStore) Append(ctx context.Context, shop, orderID string, ev Event) error {
	if err := checkKey(shop, orderID); err != nil {
		return err
	}
	if err := validEvent(ev); err != nil {
		return err
	}
	now := s.opt.Now()
	if ev.At.IsZero() {
		ev.At = now
	}
	ev.At = ev.At.UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	k := member(shop, orderID)
	o := s.orders[k]
	if !s.live(o, now) {
		o = &memOrder{shop: shop, orderID: orderID, fields: map[string]string{}}
		s.orders[k] = o
	}
	o.events = append(o.events, ev)
	if over := len(o.events) - s.opt.MaxEvents; over > 0 {
		o.events = append([]Event(nil), o.events[over:]...)
	}
	deltaFor(ev).apply(o.fields)
	o.updated = ev.At
	for _, n := range supplierNumbers(ev.SupplierOrderID) {
		s.suppliers[member(shop, n)] = memLink{orderID: orderID, until: now.Add(s.opt.Retention)}
	}
	return nil
}

// sweep drops forgotten orders at most once a minute, so the map stays
// bounded by what Retention keeps.
func (s *MemoryStore) sweep(now time.Time) {
	if now.Sub(s.lastSweep) < time.Minute {
		return
	}
	s.lastSweep = now
	for k, o := range s.orders {
		if !s.live(o, now) {
			delete(s.orders, k)
		}
	}
	for k, l := range s.suppliers {
		if !now.Before(l.until) {
			delete(s.suppliers, k)
		}
	}
}

// Get implements Store.
func (s *MemoryStore) Get(ctx context.Context, shop, orderID string) (Order, error) {
	if err := checkKey(shop, orderID); err != nil {
		return Order{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[member(shop, orderID)]
	if !s.live(o, s.opt.Now()) {
		return Order{}, notFound()
	}
	return Order{Summary: summaryFrom(shop, orderID, o.fields), Events: append([]Event(nil), o.events...)}, nil
}

// List implements Store.
func (s *MemoryStore) List(ctx context.Context, f Filter) (Page, error) {
	f, err := f.normalised()
	if err != nil {
		return Page{}, err
	}
	cur, haveCur, err := parseCursor(f.Cursor)
	if err != nil {
		return Page{}, err
	}
	type entry struct {
		ms  int64
		key string
		sum Summary
	}
	now := s.opt.Now()
	s.mu.Lock()
	all := make([]entry, 0, len(s.orders))
	for k, o := range s.orders {
		if s.live(o, now) {
			all = append(all, entry{ms: o.updated.UnixMilli(), key: k, sum: summaryFrom(o.shop, o.orderID, o.fields)})
		}
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		if all[i].ms != all[j].ms {
			return all[i].ms > all[j].ms
		}
		return all[i].key > all[j].key
	})
	page := Page{Orders: []Summary{}}
	scanned := 0
	for _, e := range all {
		if haveCur && !cur.after(e.ms, e.key) {
			continue
		}
		scanned++
		if e.sum.Matches(f.State, f.MinChecks) {
			page.Orders = append(page.Orders, e.sum)
		}
		if len(page.Orders) == f.Limit || scanned == scanCap {
			page.Next = cursor{ms: e.ms, member: e.key}.String()
			break
		}
	}
	return page, nil
}

// OrderFor implements Store.
func (s *MemoryStore) OrderFor(ctx context.Context, shop, supplierOrderID string) (string, bool, error) {
	if err := checkKey(shop, supplierOrderID); err != nil {
		return "", false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.suppliers[member(shop, supplierOrderID)]
	if !ok || !s.opt.Now().Before(l.until) {
		return "", false, nil
	}
	return l.orderID, true, nil
}
