package stock

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/problem"
)

// ListLimit bounds each list a Run record keeps, so a 10,000-variant first
// sync does not write megabytes into Redis; the counts stay exact.
const ListLimit = 100

// Run is the record of one sync, as the console and `flowbridge stock
// status` show it.
type Run struct {
	ID         string    `json:"id"`
	Trigger    string    `json:"trigger"`
	Supplier   string    `json:"supplier"`
	Location   Location  `json:"location"`
	DryRun     bool      `json:"dry_run"`
	Status     string    `json:"status"`
	Error      string    `json:"error,omitempty"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished,omitzero"`
	DurationMS int64     `json:"duration_ms"`

	Variants       int `json:"variants"`
	Matched        int `json:"matched"`
	Unchanged      int `json:"unchanged"`
	NoBarcode      int `json:"no_barcode"`
	UnmatchedCount int `json:"unmatched_count"`
	Vanished       int `json:"vanished"`
	LowMargin      int `json:"low_margin"`
	// Planned changes, Applied writes, Failed variants, Retries of a
	// batch after the compare guard refused.
	Planned int `json:"planned"`
	Applied int `json:"applied"`
	Failed  int `json:"failed"`
	Retries int `json:"retries"`

	Changes   []Change    `json:"changes"`
	Unmatched []Unmatched `json:"unmatched"`
	Failures  []Failure   `json:"failures"`
	// LowMargins lists the flagged variants (lowest margin first).
	LowMargins []Margin `json:"low_margins"`
}

func (r *Run) summarise(pl Plan) {
	r.Variants, r.Matched, r.Unchanged, r.NoBarcode = pl.Variants, pl.Matched, pl.Unchanged, pl.NoBarcode
	r.UnmatchedCount, r.Vanished, r.LowMargin, r.Planned = len(pl.Unmatched), pl.Vanished, pl.LowMargin, len(pl.Changes)
	r.Unmatched = append([]Unmatched{}, pl.Unmatched[:min(len(pl.Unmatched), ListLimit)]...)
	r.LowMargins = []Margin{}
	for _, m := range pl.Margins {
		if m.Low && len(r.LowMargins) < ListLimit {
			r.LowMargins = append(r.LowMargins, m)
		}
	}
	r.Changes, r.Failures = []Change{}, []Failure{}
	if r.DryRun || pl.CapTripped {
		// Nothing is written: the record shows what would have been.
		r.Changes = append(r.Changes, pl.Changes[:min(len(pl.Changes), ListLimit)]...)
	}
}

func (r *Run) addChanges(cs []Change) {
	if room := ListLimit - len(r.Changes); room > 0 {
		r.Changes = append(r.Changes, cs[:min(room, len(cs))]...)
	}
}

func (r *Run) addFailure(f Failure) {
	r.Failed++
	if len(r.Failures) < ListLimit {
		r.Failures = append(r.Failures, f)
	}
}

// History keeps the last runs and the barcodes the supplier has known (to
// tell a vanished product from one it never sold).
type History interface {
	// Add records a finished run, keeping the newest Keep runs.
	Add(ctx context.Context, r Run) error
	// Runs lists up to n runs, newest first.
	Runs(ctx context.Context, n int) ([]Run, error)
	// Known returns the barcode keys (Key) the supplier has answered for.
	Known(ctx context.Context) (map[string]bool, error)
	// AddKnown adds barcode keys.
	AddKnown(ctx context.Context, keys []string) error
}

// MemoryHistory is the in-process History (one instance; lost on restart).
type MemoryHistory struct {
	Keep  int
	mu    sync.Mutex
	runs  []Run // newest first
	known map[string]bool
}

// NewMemoryHistory keeps the last keep runs (20 when keep ≤ 0).
func NewMemoryHistory(keep int) *MemoryHistory {
	if keep <= 0 {
		keep = 20
	}
	return &MemoryHistory{Keep: keep, known: map[string]bool{}}
}

func (h *MemoryHistory) Add(_ context.Context, r Run) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.runs = append([]Run{r}, h.runs...)
	if len(h.runs) > h.Keep {
		h.runs = h.runs[:h.Keep]
	}
	return nil
}

func (h *MemoryHistory) Runs(_ context.Context, n int) ([]Run, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Run(nil), h.runs[:min(n, len(h.runs))]...), nil
}

func (h *MemoryHistory) Known(context.Context) (map[string]bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]bool, len(h.known))
	for k := range h.known {
		out[k] = true
	}
	return out, nil
}

func (h *MemoryHistory) AddKnown(_ context.Context, keys []string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range keys {
		h.known[k] = true
	}
	return nil
}

// RedisHistory keeps runs in a capped list and known barcodes in a set,
// shared by every replica. Keys share one hash tag so Redis Cluster keeps
// them on one slot.
type RedisHistory struct {
	rdb    redis.UniversalClient
	prefix string
	keep   int
}

// NewRedisHistory stores under prefix (e.g. "flowbridge:") and keeps the
// last keep runs (20 when keep ≤ 0).
func NewRedisHistory(rdb redis.UniversalClient, prefix string, keep int) *RedisHistory {
	if keep <= 0 {
		keep = 20
	}
	return &RedisHistory{rdb: rdb, prefix: prefix + "{stock}:", keep: keep}
}

func storeErr(err error, what string) error {
	return problem.Wrap(err, problem.Unavailable, problem.CodeStoreUnavailable, "Redis: "+what).WithRetryAfter(30 * time.Second)
}

func (h *RedisHistory) Add(ctx context.Context, r Run) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = h.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, h.prefix+"runs", b)
		p.LTrim(ctx, h.prefix+"runs", 0, int64(h.keep-1))
		return nil
	})
	if err != nil {
		return storeErr(err, "recording the stock run")
	}
	return nil
}

func (h *RedisHistory) Runs(ctx context.Context, n int) ([]Run, error) {
	if n <= 0 {
		return nil, nil
	}
	raw, err := h.rdb.LRange(ctx, h.prefix+"runs", 0, int64(n-1)).Result()
	if err != nil {
		return nil, storeErr(err, "reading stock runs")
	}
	out := make([]Run, 0, len(raw))
	for _, s := range raw {
		var r Run
		if json.Unmarshal([]byte(s), &r) == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

func (h *RedisHistory) Known(ctx context.Context) (map[string]bool, error) {
	keys, err := h.rdb.SMembers(ctx, h.prefix+"known").Result()
	if err != nil {
		return nil, storeErr(err, "reading known barcodes")
	}
	out := make(map[string]bool, len(keys))
	for _, k := range keys {
		out[k] = true
	}
	return out, nil
}

func (h *RedisHistory) AddKnown(ctx context.Context, keys []string) error {
	for start := 0; start < len(keys); start += 1000 {
		part := keys[start:min(start+1000, len(keys))]
		args := make([]any, len(part))
		for i, k := range part {
			args[i] = k
		}
		if err := h.rdb.SAdd(ctx, h.prefix+"known", args...).Err(); err != nil {
			return storeErr(err, "saving known barcodes")
		}
	}
	return nil
}
