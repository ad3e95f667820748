package stock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
)

// Location is the Shopify location whose quantities the sync sets.
type Location struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Set asks Shopify to change one item's available quantity from what the
// sync read (the compare-and-swap guard) to a new value.
type Set struct {
	InventoryItemID string
	ChangeFrom      int
	Quantity        int
}

// StaleError is Shopify refusing a write because a quantity is no longer
// what the sync read (CHANGE_FROM_QUANTITY_STALE): something — a sale —
// changed it meanwhile. Items names the stale inventory items when Shopify
// said which; the whole write was refused either way.
type StaleError struct{ Items []string }

func (e *StaleError) Error() string {
	return fmt.Sprintf("shopify: %d quantities changed since they were read", len(e.Items))
}

// Shop is the Shopify side of a sync.
type Shop interface {
	// Location resolves the location the supplier fulfils from.
	Location(ctx context.Context) (Location, error)
	// Variants reads every variant with its inventory at the location.
	Variants(ctx context.Context, locationID string) ([]Variant, error)
	// Available re-reads the available quantities of items at the location.
	Available(ctx context.Context, locationID string, itemIDs []string) (map[string]int, error)
	// SetAvailable writes quantities (at most MaxSetBatch) with the
	// compare guard; reference identifies the run in Shopify's inventory
	// history. A guard failure is a *StaleError.
	SetAvailable(ctx context.Context, locationID, reference string, sets []Set) error
}

// MaxSetBatch is the most quantities one write carries: Shopify limits
// every input array to 250 items.
const MaxSetBatch = 250

// Run statuses.
const (
	StatusRunning    = "running"
	StatusOK         = "ok"
	StatusDryRun     = "dry_run"
	StatusCapTripped = "cap_tripped"
	StatusPartial    = "partial"
	StatusFailed     = "failed"
)

// Failure is one variant the run could not write.
type Failure struct {
	VariantID string `json:"variant_id"`
	EAN       string `json:"ean"`
	Code      string `json:"code"`
	Detail    string `json:"detail"`
}

// Syncer runs stock syncs.
type Syncer struct {
	Shop   Shop
	Source supplier.StockReader
	// Supplier names the supplier in run records.
	Supplier string
	History  History
	Policy   Policy
	// Attempts bounds the writes of one batch when the compare guard
	// refuses (a sale meanwhile); 4 when zero.
	Attempts int
	Metrics  *Metrics
	// Tracer makes a span per run and per phase (nil: none).
	Tracer trace.Tracer
	Logger *slog.Logger
	Now    func() time.Time
}

// span starts a child span when a Tracer is set.
func (s *Syncer) span(ctx context.Context, name string) (context.Context, trace.Span) {
	if s.Tracer == nil {
		return ctx, trace.SpanFromContext(ctx)
	}
	return s.Tracer.Start(ctx, name)
}

// Options are one run's choices.
type Options struct {
	DryRun     bool
	AllowLarge bool
	// Trigger says who started the run: cli, interval or api.
	Trigger string
	// ID is the run id; a random one when empty.
	ID string
}

// NewRunID returns a random run id.
func NewRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Syncer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Syncer) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Run performs one sync and records it in History. The returned Run is
// also what History keeps; the Plan is the full diff (for the dry-run
// table). err is non-nil when the run could not complete; the Run then
// says how far it got.
func (s *Syncer) Run(ctx context.Context, o Options) (Run, Plan, error) {
	run := Run{ID: o.ID, Trigger: o.Trigger, Supplier: s.Supplier, DryRun: o.DryRun, Started: s.now(), Status: StatusRunning}
	if run.ID == "" {
		run.ID = NewRunID()
	}
	ctx, span := s.span(ctx, "stock.sync")
	defer span.End()
	pl, err := s.run(ctx, o, &run)
	run.Finished = s.now()
	run.DurationMS = run.Finished.Sub(run.Started).Milliseconds()
	if err != nil {
		pe := problem.From(err)
		run.Error = pe.Detail
		if run.Status == StatusRunning {
			run.Status = StatusFailed
		}
		if run.Applied > 0 && run.Status == StatusFailed {
			run.Status = StatusPartial
		}
	}
	if s.History != nil {
		// A lost record must not undo the writes; the log keeps the trace.
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if herr := s.History.Add(hctx, run); herr != nil {
			s.log().Warn("stock: run not recorded", slog.String("run", run.ID), slog.String("error", herr.Error()))
		}
		cancel()
	}
	s.Metrics.record(ctx, run)
	span.SetAttributes(attribute.String("stock.run_id", run.ID), attribute.String("stock.status", run.Status),
		attribute.String("stock.trigger", run.Trigger), attribute.String("supplier", run.Supplier),
		attribute.Int("stock.variants", run.Variants), attribute.Int("stock.planned", run.Planned),
		attribute.Int("stock.applied", run.Applied), attribute.Int("stock.failed", run.Failed), attribute.Int("stock.retries", run.Retries))
	if err != nil {
		span.SetStatus(codes.Error, problem.From(err).Code)
	}
	s.log().Info("stock sync", slog.String("run", run.ID), slog.String("status", run.Status), slog.String("trigger", run.Trigger),
		slog.Int("variants", run.Variants), slog.Int("matched", run.Matched), slog.Int("changes", run.Planned),
		slog.Int("applied", run.Applied), slog.Int("failed", run.Failed), slog.Int("unmatched", run.UnmatchedCount),
		slog.Int("vanished", run.Vanished), slog.Int64("duration_ms", run.DurationMS))
	return run, pl, err
}

func (s *Syncer) run(ctx context.Context, o Options, run *Run) (Plan, error) {
	loc, err := s.Shop.Location(ctx)
	if err != nil {
		return Plan{}, err
	}
	run.Location = loc
	rctx, rspan := s.span(ctx, "stock.read_shopify")
	variants, err := s.Shop.Variants(rctx, loc.ID)
	rspan.End()
	if err != nil {
		return Plan{}, err
	}
	matched, unmatched, noBarcode := Match(variants)
	eans := make([]string, len(matched))
	for i, m := range matched {
		eans[i] = m.EAN
	}
	levels := map[string]supplier.StockLevel{}
	if len(eans) > 0 {
		sctx, sspan := s.span(ctx, "stock.read_supplier")
		got, err := s.Source.Stock(sctx, eans)
		sspan.End()
		if err != nil {
			return Plan{}, err
		}
		if len(got) != len(eans) {
			return Plan{}, problem.Newf(problem.Upstream, problem.CodeSupplierBadResponse,
				"the supplier answered %d stock entries for %d barcodes", len(got), len(eans))
		}
		for i, lv := range got {
			levels[Key(eans[i])] = lv
		}
	}
	var known map[string]bool
	if s.History != nil {
		if known, err = s.History.Known(ctx); err != nil {
			// Without the known set a vanished product would be mistaken
			// for an unmatched one (left alone): safe, but say so.
			return Plan{}, err
		}
	}
	p := s.Policy
	p.AllowLarge = p.AllowLarge || o.AllowLarge
	pl := Decide(matched, levels, known, p)
	pl.Unmatched = append(unmatched, pl.Unmatched...)
	pl.Variants, pl.NoBarcode = len(variants), noBarcode
	run.summarise(pl)

	if o.DryRun {
		run.Status = StatusDryRun
		return pl, nil
	}
	if pl.CapTripped {
		run.Status = StatusCapTripped
		return pl, problem.New(problem.Rejected, CodeCapTripped, pl.CapReason)
	}
	wctx, wspan := s.span(ctx, "stock.write")
	werr := s.apply(wctx, loc.ID, run, pl.Changes)
	wspan.End()
	if s.History != nil && werr == nil {
		var found []string
		for k, lv := range levels {
			if lv.Found {
				found = append(found, k)
			}
		}
		if err := s.History.AddKnown(ctx, found); err != nil {
			s.log().Warn("stock: known barcodes not saved", slog.String("error", err.Error()))
		}
	}
	if werr != nil {
		return pl, werr
	}
	run.Status = StatusOK
	if run.Failed > 0 {
		run.Status = StatusPartial
	}
	return pl, nil
}

// CodeCapTripped: a run planned more changes than the cap allows.
const CodeCapTripped = "stock_cap_tripped"

// CodeStale: a quantity kept changing under the sync (busy item).
const CodeStale = "stock_quantity_stale"

// apply writes the changes batch by batch. A stale batch is re-read and
// re-planned: each unit sold since the read is taken off the target too,
// because the supplier's stock does not know about that sale yet.
func (s *Syncer) apply(ctx context.Context, locationID string, run *Run, changes []Change) error {
	attempts := s.Attempts
	if attempts <= 0 {
		attempts = 4
	}
	ref := "gid://flowbridge/StockSync/" + run.ID
	for start := 0; start < len(changes); start += MaxSetBatch {
		batch := append([]Change(nil), changes[start:min(start+MaxSetBatch, len(changes))]...)
		for attempt := 1; ; attempt++ {
			sets := make([]Set, len(batch))
			for i, c := range batch {
				sets[i] = Set{InventoryItemID: c.InventoryItemID, ChangeFrom: c.From, Quantity: c.To}
			}
			err := s.Shop.SetAvailable(ctx, locationID, ref, sets)
			if err == nil {
				run.Applied += len(batch)
				run.addChanges(batch)
				break
			}
			var stale *StaleError
			if !errors.As(err, &stale) {
				return err
			}
			run.Retries++
			if attempt >= attempts {
				for _, c := range batch {
					run.addFailure(Failure{VariantID: c.VariantID, EAN: c.EAN, Code: CodeStale,
						Detail: fmt.Sprintf("the quantity kept changing during %d attempts; the next run tries again", attempts)})
				}
				break
			}
			ids := make([]string, len(batch))
			for i, c := range batch {
				ids[i] = c.InventoryItemID
			}
			now, err := s.Shop.Available(ctx, locationID, ids)
			if err != nil {
				return err
			}
			next := batch[:0]
			for _, c := range batch {
				cur, ok := now[c.InventoryItemID]
				if !ok {
					run.addFailure(Failure{VariantID: c.VariantID, EAN: c.EAN, Code: ReasonNotStocked, Detail: "the item is no longer stocked at the location"})
					continue
				}
				if sold := c.From - cur; sold > 0 {
					c.To = max(c.To-sold, 0)
				}
				c.From = cur
				if c.From == c.To {
					continue // nothing left to write
				}
				next = append(next, c)
			}
			batch = next
			if len(batch) == 0 {
				break
			}
		}
	}
	return nil
}
