package bigbuy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
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
var feeds = []string{"/rest/catalog/products.json", "/rest/catalog/productsvariations.json"}

// FeedCatalog is the default Catalog: an in-memory EAN → SKU index built
// from BigBuy's product and variation feeds.
//
// BigBuy allows about 10 feed calls per hour, and its whole catalogue
// needs dozens of pages, so the index is built incrementally and resumes
// where it stopped: by Run in the background, by WarmCatalog, and by
// lookups that miss (at most PagesPerLookup pages each). While it builds,
// EANs already seen (or present in the previous complete index) are
// answered; an EAN not seen yet is "not sure" (Unavailable with a
// Retry-After), never "unmatched". A complete index is used for its TTL,
// then rebuilt the same way.
type FeedCatalog struct {
	c   *Client
	ttl time.Duration
	// PageSize rows are asked per feed call (BigBuy allows up to 10000;
	// fewer, larger pages spend less of the hourly budget).
	PageSize int
	// PagesPerLookup bounds the feed calls one lookup may make, so a Flow
	// request is not spent loading the catalogue.
	PagesPerLookup int
	// MaxPages bounds one feed (a runaway feed must not loop forever).
	MaxPages int

	sem chan struct{} // one builder at a time; waiting honours ctx

	mu       sync.Mutex
	idx      map[string]string // last complete index; nil before the first
	loadedAt time.Time
	next     map[string]string // index being built
	feed     int               // cursor: feeds[feed], taxonomies[tax], page
	tax      int
	page     int
	// taxonomies, when set, are the first-level taxonomy ids the feeds
	// are paged by (parentTaxonomy), because BigBuy refused them without.
	taxonomies []string
	retryAt    time.Time // no feed call before this
	lastErr    *problem.Error
	// loaded, when set, receives after every completed build (tests).
	loaded chan struct{}
}

const retryEvery = 10 * time.Minute

// NewFeedCatalog returns a feed-backed catalogue for c; ttl <= 0 means 12 h.
func NewFeedCatalog(c *Client, ttl time.Duration) *FeedCatalog {
	if ttl <= 0 {
		ttl = 12 * time.Hour
	}
	return &FeedCatalog{c: c, ttl: ttl, PageSize: 10000, PagesPerLookup: 2, MaxPages: 500, sem: make(chan struct{}, 1)}
}

// WarmCatalog builds the default EAN catalogue as far as BigBuy's limits
// allow now; call it at start-up (an error is worth a warning, not a
// failed start: lookups and RunCatalog resume the build). It does nothing
// when Config.Catalog was given.
func (c *Client) WarmCatalog(ctx context.Context) error {
	if c.feed == nil {
		return nil
	}
	return c.feed.Refresh(ctx)
}

// RunCatalog keeps the default catalogue built and fresh until ctx ends
// (start it with go at start-up). It does nothing with a custom Catalog.
func (c *Client) RunCatalog(ctx context.Context) {
	if c.feed != nil {
		c.feed.Run(ctx)
	}
}

// Size is the number of EANs in the last complete index.
func (f *FeedCatalog) Size() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.idx)
}

// Run builds and refreshes the index until ctx ends, waiting for BigBuy's
// rate-limit reset and the TTL in between.
func (f *FeedCatalog) Run(ctx context.Context) {
	for {
		if err := f.Refresh(ctx); err != nil && ctx.Err() == nil {
			f.c.log.Warn("bigbuy: catalogue build paused", "error", err)
		}
		wait := f.due()
		t := time.NewTimer(max(wait, time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// due is how long until the builder has work it may do.
func (f *FeedCatalog) due() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.c.now()
	if f.next == nil && f.idx != nil {
		return f.loadedAt.Add(f.ttl).Sub(now)
	}
	return f.retryAt.Sub(now)
}

// acquire takes the builder slot, or gives up when ctx ends.
func (f *FeedCatalog) acquire(ctx context.Context) bool {
	select {
	case f.sem <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (f *FeedCatalog) release() { <-f.sem }

// Refresh continues (or starts, when the index is missing or stale) the
// build until it completes, BigBuy refuses, or ctx ends.
func (f *FeedCatalog) Refresh(ctx context.Context) error {
	if !f.acquire(ctx) {
		return f.notReady(ctx.Err())
	}
	defer f.release()
	for {
		done, err := f.step(ctx)
		if err != nil || done {
			return err
		}
	}
}

// Lookup implements Catalog.
func (f *FeedCatalog) Lookup(ctx context.Context, eans []string) (map[string]string, error) {
	out := map[string]string{}
	missing := f.answer(eans, out)
	if len(missing) == 0 {
		return out, nil
	}
	if f.complete() {
		return out, nil // a fresh complete index proves the rest unmatched
	}
	// Not sure yet: advance the build a little, then ask again.
	if !f.acquire(ctx) {
		return nil, f.notReady(ctx.Err())
	}
	var err error
	for range max(f.PagesPerLookup, 1) {
		var done bool
		if done, err = f.step(ctx); err != nil || done {
			break
		}
	}
	f.release()
	missing = f.answer(missing, out)
	if len(missing) == 0 || f.complete() {
		return out, nil
	}
	return nil, f.notReady(err)
}

// answer copies what the complete and the partial index know into out and
// returns the EANs neither knows.
func (f *FeedCatalog) answer(eans []string, out map[string]string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var missing []string
	for _, e := range eans {
		k := gtinKey(e)
		if sku, ok := f.next[k]; ok {
			out[e] = sku
		} else if sku, ok := f.idx[k]; ok {
			out[e] = sku
		} else {
			missing = append(missing, e)
		}
	}
	return missing
}

// complete reports a complete index within its TTL and no build running.
func (f *FeedCatalog) complete() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.idx != nil && f.next == nil && f.c.now().Sub(f.loadedAt) < f.ttl
}

// notReady is the answer for EANs that cannot be decided yet.
func (f *FeedCatalog) notReady(cause error) *problem.Error {
	f.mu.Lock()
	retry := max(f.retryAt.Sub(f.c.now()), 30*time.Second)
	last := f.lastErr
	pages := f.page
	feed := f.feed
	f.mu.Unlock()
	code, detail := problem.CodeSupplierUnavailable, fmt.Sprintf("the BigBuy catalogue (EAN → SKU) is still loading (feed %d/%d, page %d); try again later", feed+1, len(feeds), pages)
	if last != nil {
		code = last.Code
		detail += ": " + last.Detail
	}
	return &problem.Error{Kind: problem.Unavailable, Code: code, Detail: detail, RetryAfter: retry, Err: cause}
}

type feedRow struct {
	SKU   string          `json:"sku"`
	EAN13 json.RawMessage `json:"ean13"`
}

// step fetches one feed page at the cursor. The caller holds the builder
// slot. done reports that the build completed with this step (or that
// nothing needs building).
func (f *FeedCatalog) step(ctx context.Context) (done bool, _ error) {
	f.mu.Lock()
	now := f.c.now()
	if f.next == nil {
		if f.idx != nil && now.Sub(f.loadedAt) < f.ttl {
			f.mu.Unlock()
			return true, nil
		}
		f.next, f.feed, f.tax, f.page = map[string]string{}, 0, 0, 0
	}
	if now.Before(f.retryAt) {
		f.mu.Unlock()
		return false, f.notReady(nil)
	}
	path, page, size := feeds[f.feed], f.page, max(f.PageSize, 1)
	parent := ""
	if f.taxonomies != nil {
		parent = f.taxonomies[f.tax]
	}
	f.mu.Unlock()

	rows, err := f.fetch(ctx, path, parent, page, size)
	if errors.Is(err, errNeedsTaxonomy) && parent == "" {
		// Measured on the sandbox (WonZo LEVERANCIER.md): product lists
		// answer 400 without parentTaxonomy. Page them per first-level
		// taxonomy instead; if that is refused too, say so.
		return false, f.byTaxonomy(ctx)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		pe := problem.From(err)
		f.lastErr = pe
		if pe.Code == problem.CodeSupplierRateLimited {
			f.retryAt = f.c.now().Add(pe.RetryAfter)
		} else if ctx.Err() == nil {
			f.retryAt = f.c.now().Add(retryEvery)
		}
		return false, pe
	}
	f.lastErr = nil
	for _, row := range rows {
		k := gtinKey(nameOf(row.EAN13))
		if sku := strings.TrimSpace(row.SKU); k != "" && sku != "" {
			if _, dup := f.next[k]; !dup {
				f.next[k] = sku
			}
		}
	}
	f.page++
	if len(rows) < size || f.page >= f.MaxPages {
		if f.page >= f.MaxPages && len(rows) == size {
			f.c.log.Warn("bigbuy: catalogue feed cut at MaxPages", "feed", path, "pages", f.MaxPages)
		}
		f.page = 0
		if f.tax++; f.taxonomies == nil || f.tax >= len(f.taxonomies) {
			f.feed, f.tax = f.feed+1, 0
		}
	}
	if f.feed < len(feeds) {
		return false, nil
	}
	f.idx, f.next, f.loadedAt, f.feed = f.next, nil, f.c.now(), 0
	f.c.log.Info("bigbuy: catalogue index built", "eans", len(f.idx), "by_taxonomy", f.taxonomies != nil)
	if f.loaded != nil {
		select {
		case f.loaded <- struct{}{}:
		default:
		}
	}
	return true, nil
}

// errNeedsTaxonomy marks a feed page BigBuy refused with 400.
var errNeedsTaxonomy = errors.New("bigbuy: catalogue feed refused without parentTaxonomy")

// byTaxonomy switches the build to paging by first-level taxonomy
// (GET /rest/catalog/taxonomies.json?firstLevel=1), restarting it.
func (f *FeedCatalog) byTaxonomy(ctx context.Context) error {
	q := url.Values{"firstLevel": {"1"}, "isoCode": {f.c.lang}}
	r, err := f.c.send(supplier.Retryable(ctx), f.c.base, http.MethodGet, "/rest/catalog/taxonomies.json", q, nil)
	var ids []string
	if err == nil {
		if fl := parseFault(r); fl == nil {
			var list []struct {
				ID json.RawMessage `json:"id"`
			}
			if decode(r, "taxonomies", &list) == nil {
				for _, t := range list {
					if id := idString(t.ID); id != "" {
						ids = append(ids, id)
					}
				}
			}
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(ids) == 0 {
		f.lastErr = problem.New(problem.Unavailable, problem.CodeSupplierUnavailable,
			"BigBuy refused the catalogue feeds (HTTP 400 Bad request) without parentTaxonomy and listed no taxonomies to page them by, so the EAN catalogue cannot be built; BigBuy's sandbox has no catalogue: use the production key, or set FLOWBRIDGE_BIGBUY_SKU_FALLBACK=true with BigBuy SKUs on the variants").WithRetryAfter(retryEvery)
		f.retryAt = f.c.now().Add(retryEvery)
		return f.lastErr
	}
	f.c.log.Info("bigbuy: catalogue feeds need parentTaxonomy; paging them by taxonomy", "taxonomies", len(ids))
	f.taxonomies = ids
	f.next, f.feed, f.tax, f.page = map[string]string{}, 0, 0, 0
	return nil
}

func (f *FeedCatalog) fetch(ctx context.Context, path, parent string, page, size int) ([]feedRow, error) {
	q := url.Values{"page": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(size)}, "isoCode": {f.c.lang}}
	if parent != "" {
		q.Set("parentTaxonomy", parent)
	}
	r, err := f.c.sendLimit(supplier.Retryable(ctx), f.c.base, http.MethodGet, path, q, nil, 256<<20)
	if err != nil {
		return nil, f.c.transportProblem(ctx, err)
	}
	if fl := parseFault(r); fl != nil {
		if fl.status == http.StatusBadRequest && !fl.rateLimited {
			if parent == "" {
				return nil, errNeedsTaxonomy
			}
			// Refused even with parentTaxonomy (the sandbox has no
			// catalogue at all): the index cannot be built from here.
			return nil, problem.Newf(problem.Unavailable, problem.CodeSupplierUnavailable,
				"BigBuy refused the catalogue feed %s (HTTP 400 Bad request) even with parentTaxonomy, so the EAN catalogue cannot be built: BigBuy's sandbox has no catalogue; use the production key, or set FLOWBRIDGE_BIGBUY_SKU_FALLBACK=true with BigBuy SKUs on the variants", operation(path)).WithRetryAfter(retryEvery)
		}
		return nil, f.c.toProblem(fl, errCtx{op: opRead})
	}
	if emptyBody(r.body) {
		return nil, nil // BigBuy answers past the last page with an empty 200
	}
	var rows []feedRow
	if err := decode(r, "catalogue", &rows); err != nil {
		return nil, err
	}
	return rows, nil
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
			if c.skuFB && !slices.ContainsFunc(lines, func(l supplier.Line) bool { return strings.TrimSpace(l.SKU) == "" }) {
				// Every line can fall back to its SKU: do not wait for the index.
				c.log.Warn("bigbuy: EAN catalogue not ready; using the lines' SKUs", "error", err)
				found = map[string]string{}
			} else if _, ok := errors.AsType[*problem.Error](err); ok {
				return resolved{}, err
			} else {
				return resolved{}, problem.Wrap(err, problem.Unavailable, problem.CodeSupplierUnavailable, "the EAN catalogue failed").WithRetryAfter(30 * time.Second)
			}
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
