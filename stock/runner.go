package stock

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/flowbridge/flowbridge/problem"
)

// Lease names. "run" is held while any sync runs (CLI, API or interval),
// so two never write at once. "round" is taken by the interval loop for
// most of one interval, so exactly one replica runs each round however
// their tickers are offset.
const (
	leaseRun   = "run"
	leaseRound = "round"
)

// CodeRunning: a sync is already running (on this or another replica).
const CodeRunning = "stock_sync_running"

// Runner starts syncs the three ways flowbridge offers, under leases shared
// by every replica.
type Runner struct {
	Syncer *Syncer
	Lease  Lease
	// RunTTL is the run lease's lifetime, renewed every third of it while
	// the run goes on; a crashed replica's lease frees itself after it.
	// 2 min when zero.
	RunTTL time.Duration
	// Interval is the in-service sync period (0: no interval runs).
	Interval time.Duration
	// Timeout bounds one run. 30 min when zero.
	Timeout time.Duration
	Logger  *slog.Logger

	wg sync.WaitGroup
}

func (r *Runner) runTTL() time.Duration {
	if r.RunTTL <= 0 {
		return 2 * time.Minute
	}
	return r.RunTTL
}

func (r *Runner) timeout() time.Duration {
	if r.Timeout <= 0 {
		return 30 * time.Minute
	}
	return r.Timeout
}

func (r *Runner) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Busy is the error for a sync already running; RunID names it.
func Busy(runID string) *problem.Error {
	return problem.Newf(problem.Busy, CodeRunning, "stock sync %s is already running; its result will be in the history", runID).
		WithRetryAfter(time.Minute)
}

// RunNow runs one sync in the caller's goroutine (the CLI), holding the
// run lease. It fails with CodeRunning when another run holds it.
func (r *Runner) RunNow(ctx context.Context, o Options) (Run, Plan, error) {
	if o.ID == "" {
		o.ID = NewRunID()
	}
	release, err := r.hold(ctx, o.ID)
	if err != nil {
		return Run{}, Plan{}, err
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	return r.Syncer.Run(ctx, o)
}

// Start begins a sync in the background (POST /stock/sync) and returns its
// id at once. bg is the service's lifetime context: the run outlives the
// request but not the process. When a run already holds the lease, Start
// returns that run's id and running=true without starting another.
func (r *Runner) Start(ctx, bg context.Context, o Options) (runID string, running bool, err error) {
	if o.ID == "" {
		o.ID = NewRunID()
	}
	ok, holder, err := r.Lease.Acquire(ctx, leaseRun, o.ID, r.runTTL())
	if err != nil {
		return "", false, err
	}
	if !ok {
		return holder, true, nil
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		release := r.keep(bg, o.ID)
		defer release()
		rctx, cancel := context.WithTimeout(bg, r.timeout())
		defer cancel()
		_, _, _ = r.Syncer.Run(rctx, o)
	}()
	return o.ID, false, nil
}

// Running is the id of the run holding the run lease ("" when none), on
// any replica.
func (r *Runner) Running(ctx context.Context) (string, error) {
	return r.Lease.Holder(ctx, leaseRun)
}

// Wait blocks until background runs started by Start have finished.
func (r *Runner) Wait() { r.wg.Wait() }

// Tick is one interval round: the replica that takes the round lease runs
// the sync (if no other run holds the run lease); the others do nothing.
// ran reports whether this replica ran it.
func (r *Runner) Tick(ctx context.Context) (ran bool, err error) {
	if r.Interval <= 0 {
		return false, nil
	}
	id := NewRunID()
	// Held for 90% of the interval and never released: a replica whose
	// ticker fires later in the same round finds it taken.
	ok, _, err := r.Lease.Acquire(ctx, leaseRound, id, r.Interval*9/10)
	if err != nil || !ok {
		return false, err
	}
	_, _, err = r.RunNow(ctx, Options{ID: id, Trigger: "interval"})
	if pe, isP := err.(*problem.Error); isP && pe.Code == CodeRunning {
		return false, nil
	}
	return true, err
}

// Loop runs Tick on every tick until ctx ends (the service's interval
// mode). ticks is a time.Ticker's channel in production, a test's own
// channel otherwise.
func (r *Runner) Loop(ctx context.Context, ticks <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			if _, err := r.Tick(ctx); err != nil && ctx.Err() == nil {
				r.log().Warn("stock: interval sync failed", slog.String("error", err.Error()))
			}
		}
	}
}

// hold takes the run lease for id and keeps it renewed until release.
func (r *Runner) hold(ctx context.Context, id string) (release func(), err error) {
	ok, holder, err := r.Lease.Acquire(ctx, leaseRun, id, r.runTTL())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, Busy(holder)
	}
	return r.keep(ctx, id), nil
}

// keep renews the run lease every third of its TTL until the returned
// release is called, which then drops it.
func (r *Runner) keep(ctx context.Context, id string) (release func()) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(r.runTTL() / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if ok, err := r.Lease.Renew(ctx, leaseRun, id, r.runTTL()); err != nil || !ok {
					r.log().Warn("stock: run lease lost", slog.String("run", id))
				}
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = r.Lease.Release(rctx, leaseRun, id)
	}
}
