package bigbuy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
)

// Catalog maps EANs to BigBuy SKUs (BigBuy orders and quotes take SKUs,
// e.g. "V1300179", never EANs). The result holds only EANs that were
// found, keyed as given. Leaving an EAN out asserts that BigBuy sells no
// product with it, which fails the order with unmatched_ean for good — so
// an implementation that cannot be sure (index incomplete, backend down)
// must return an error instead (problem.Unavailable).
//
// Plug a shared cache (e.g. Redis) by wrapping another Catalog.
type Catalog func(ctx context.Context, eans []string) (map[string]string, error)

// StaticCatalog serves a fixed EAN → SKU map (for merchants who keep their
// own mapping, and for tests).
func StaticCatalog(m map[string]string) Catalog {
	idx := make(map[string]string, len(m))
	for ean, sku := range m {
		idx[gtinKey(ean)] = sku
	}
	return func(_ context.Context, eans []string) (map[string]string, error) {
		out := map[string]string{}
		for _, e := range eans {
			if sku, ok := idx[gtinKey(e)]; ok {
				out[e] = sku
			}
		}
		return out, nil
	}
}

// gtinKey makes EAN-8, UPC-A, EAN-13 and GTIN-14 forms of one code compare
// equal: digits only, left-padded with zeros to 14.
func gtinKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	if d == "" {
		return ""
	}
	if len(d) < 14 {
		d = strings.Repeat("0", 14-len(d)) + d
	}
	return d
}

// Feed lists the default catalogue index is built from. Both are paged
// with page (from 0) and pageSize; rows carry "sku" and "ean13".
const (
	feedProducts   = "/rest/catalog/products.json"
	feedVariations = "/rest/catalog/productsvariations.json"
)

// FeedCatalog is the default Catalog: an in-memory EAN → SKU index built
// from BigBuy's product and variation feeds. BigBuy allows about 10 feed
// calls per hour, so the index is kept for a TTL, loads are serialised,
// and a failed refresh keeps serving the last complete index (retrying the
// load at most every retryEvery). Warm it at start-up with Refresh.
type FeedCatalog struct {
	c   *Client
	ttl time.Duration
	// PageSize rows are asked per feed call (BigBuy allows up to 10000).
	PageSize int
	// MaxPages bounds one load (a runaway feed must not loop forever).
	MaxPages int

	sem      chan struct{} // one load at a time; waiting honours ctx
	mu       sync.RWMutex
	idx      map[string]string
	loadedAt time.Time
	retryAt  time.Time
}

const retryEvery = 10 * time.Minute

// NewFeedCatalog returns a feed-backed catalogue for c; ttl <= 0 means 12 h.
func NewFeedCatalog(c *Client, ttl time.Duration) *FeedCatalog {
	if ttl <= 0 {
		ttl = 12 * time.Hour
	}
	return &FeedCatalog{c: c, ttl: ttl, PageSize: 5000, MaxPages: 200, sem: make(chan struct{}, 1)}
}

// WarmCatalog loads the default EAN catalogue now, so that the first order
// does not wait for BigBuy's feed. Call it at start-up (errors are worth a
// warning, not a failed start: lookups retry the load). It does nothing
// when Config.Catalog was given.
func (c *Client) WarmCatalog(ctx context.Context) error {
	if c.feed == nil {
		return nil
	}
	return c.feed.Refresh(ctx)
}

// Size is the number of EANs indexed (0 before the first load).
func (f *FeedCatalog) Size() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.idx)
}

// Lookup implements Catalog.
func (f *FeedCatalog) Lookup(ctx context.Context, eans []string) (map[string]string, error) {
	idx, err := f.index(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range eans {
		if sku, ok := idx[gtinKey(e)]; ok {
			out[e] = sku
		}
	}
	return out, nil
}

// index returns a usable complete index, loading it when missing or stale.
func (f *FeedCatalog) index(ctx context.Context) (map[string]string, error) {
	now := f.c.now()
	f.mu.RLock()
	idx, fresh, mayRetry := f.idx, now.Sub(f.loadedAt) < f.ttl, !now.Before(f.retryAt)
	f.mu.RUnlock()
	if idx != nil && (fresh || !mayRetry) {
		return idx, nil
	}
	select {
	case f.sem <- struct{}{}:
	case <-ctx.Done():
		if idx != nil {
			return idx, nil
		}
		return nil, problem.Wrap(ctx.Err(), problem.Unavailable, problem.CodeSupplierUnavailable, "the BigBuy catalogue is being loaded; try again shortly").WithRetryAfter(30 * time.Second)
	}
	defer func() { <-f.sem }()
	// Another caller may have loaded it while we waited.
	f.mu.RLock()
	if f.idx != nil && f.c.now().Sub(f.loadedAt) < f.ttl {
		idx = f.idx
		f.mu.RUnlock()
		return idx, nil
	}
	f.mu.RUnlock()
	err := f.Refresh(ctx)
	f.mu.RLock()
	defer f.mu.RUnlock()
	if err != nil {
		if f.idx != nil {
			f.c.log.Warn("bigbuy: catalogue refresh failed; serving the previous index", "error", err, "age", f.c.now().Sub(f.loadedAt).String())
			return f.idx, nil
		}
		pe := problem.From(err)
		return nil, &problem.Error{Kind: problem.Unavailable, Code: pe.Code, Detail: "the BigBuy catalogue (EAN → SKU) could not be loaded: " + pe.Detail, RetryAfter: max(pe.RetryAfter, 30*time.Second), Err: err}
	}
	return f.idx, nil
}

// Refresh rebuilds the index from both feeds. Only a complete load
// replaces the index.
func (f *FeedCatalog) Refresh(ctx context.Context) error {
	idx := map[string]string{}
	for _, path := range []string{feedProducts, feedVariations} {
		if err := f.loadFeed(ctx, path, idx); err != nil {
			f.mu.Lock()
			f.retryAt = f.c.now().Add(retryEvery)
			f.mu.Unlock()
			return err
		}
	}
	f.mu.Lock()
	f.idx, f.loadedAt, f.retryAt = idx, f.c.now(), time.Time{}
	f.mu.Unlock()
	f.c.log.Info("bigbuy: catalogue index loaded", "eans", len(idx))
	return nil
}

type feedRow struct {
	SKU   string          `json:"sku"`
	EAN13 json.RawMessage `json:"ean13"`
}

func (f *FeedCatalog) loadFeed(ctx context.Context, path string, idx map[string]string) error {
	size := max(f.PageSize, 1)
	for page := 0; page < f.MaxPages; page++ {
		q := url.Values{"page": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(size)}, "isoCode": {f.c.lang}}
		r, err := f.c.sendLimit(supplier.Retryable(ctx), f.c.base, http.MethodGet, path, q, nil, 256<<20)
		if err != nil {
			return f.c.transportProblem(ctx, err)
		}
		if fl := parseFault(r); fl != nil {
			return f.c.toProblem(fl, errCtx{op: opRead})
		}
		if emptyBody(r.body) {
			return nil // BigBuy answers past the last page with an empty 200
		}
		var rows []feedRow
		if err := decode(r, "catalogue", &rows); err != nil {
			return err
		}
		for _, row := range rows {
			k := gtinKey(nameOf(row.EAN13))
			if k == "" || strings.TrimSpace(row.SKU) == "" {
				continue
			}
			if _, dup := idx[k]; !dup {
				idx[k] = strings.TrimSpace(row.SKU)
			}
		}
		if len(rows) < size {
			return nil
		}
	}
	return problem.Newf(problem.Unavailable, problem.CodeSupplierBadResponse, "the BigBuy feed %s has more than %d pages", path, f.MaxPages)
}

// resolved is an order's lines translated to BigBuy products.
type resolved struct {
	products []wireProduct
	// skuLines maps each SKU sent to the request lines it came from.
	skuLines map[string][]int
}

// resolveLines maps every line's EAN to a BigBuy SKU. Any unmatched line
// fails the whole request, naming every such line: never a partial order.
func (c *Client) resolveLines(ctx context.Context, lines []supplier.Line) (resolved, error) {
	if len(lines) == 0 {
		return resolved{}, problem.InvalidFields(problem.CodeValidation, "the order has no lines", problem.Field{Pointer: "/line_items", Message: "at least one line is required"})
	}
	var bad []problem.Field
	var eans []string
	for i, l := range lines {
		if l.Quantity <= 0 {
			bad = append(bad, problem.Field{Pointer: fmt.Sprintf("/line_items/%d/quantity", i), Message: "quantity must be at least 1"})
		}
		if l.EAN != "" {
			eans = append(eans, l.EAN)
		}
	}
	if len(bad) > 0 {
		return resolved{}, problem.InvalidFields(problem.CodeValidation, "invalid line quantities", bad...)
	}
	found := map[string]string{}
	if len(eans) > 0 {
		var err error
		if found, err = c.catalog(ctx, eans); err != nil {
			if _, ok := errors.AsType[*problem.Error](err); ok {
				return resolved{}, err
			}
			return resolved{}, problem.Wrap(err, problem.Unavailable, problem.CodeSupplierUnavailable, "the EAN catalogue failed").WithRetryAfter(30 * time.Second)
		}
	}
	res := resolved{skuLines: map[string][]int{}}
	pos := map[string]int{}
	var unmatched []problem.Field
	for i, l := range lines {
		sku := found[l.EAN]
		if sku == "" && c.skuFB && strings.TrimSpace(l.SKU) != "" {
			sku = strings.TrimSpace(l.SKU)
		}
		if sku == "" {
			msg := "no BigBuy product has EAN " + l.EAN
			if l.EAN == "" {
				msg = "the line has no barcode to match a BigBuy product"
			}
			unmatched = append(unmatched, problem.Field{Pointer: fmt.Sprintf("/line_items/%d/barcode", i), Message: msg})
			continue
		}
		res.skuLines[sku] = append(res.skuLines[sku], i)
		if p, ok := pos[sku]; ok {
			res.products[p].Quantity += l.Quantity // one SKU, one product line
			continue
		}
		pos[sku] = len(res.products)
		res.products = append(res.products, wireProduct{Reference: sku, Quantity: l.Quantity})
	}
	if len(unmatched) > 0 {
		return resolved{}, &problem.Error{Kind: problem.Rejected, Code: problem.CodeUnmatchedEAN,
			Detail: fmt.Sprintf("%d of %d lines match no BigBuy product; nothing was sent", len(unmatched), len(lines)), Fields: unmatched}
	}
	return res, nil
}
