package handlers

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/stock"
)

// CodeStockNotConfigured: POST /stock/sync on an instance without the
// shop's Admin API credentials. Final for Flow (422): a retry cannot fix it.
const CodeStockNotConfigured = "stock_sync_not_configured"

// Stock serves the stock sync's endpoints.
//
//	POST /stock/sync        (Flow key) start a run; 202 at once with its id
//	GET  /admin/stock       (operator key) settings summary and the last runs
type Stock struct {
	// Runner is nil when the stock sync is not configured.
	Runner  *stock.Runner
	History stock.History
	// Background is the service's lifetime: runs started by a request
	// outlive it. context.Background() when nil.
	Background context.Context
	// Interval is shown to operators (0: no interval runs).
	Interval string
	Location string
}

// StockSyncOut is POST /stock/sync's 202 body. state is started or
// already_running (the id is then the run in progress, perhaps on another
// replica): a Flow re-send never starts a second concurrent run.
type StockSyncOut struct {
	OK    bool   `json:"ok"`
	RunID string `json:"run_id"`
	State string `json:"state"`
}

// Sync is POST /stock/sync.
func (s *Stock) Sync(c echo.Context) error {
	if s.Runner == nil {
		return problem.New(problem.Rejected, CodeStockNotConfigured,
			"the stock sync is not configured on this instance: set SHOPIFY_SHOP and SHOPIFY_ADMIN_TOKEN")
	}
	bg := s.Background
	if bg == nil {
		bg = context.Background()
	}
	id, running, err := s.Runner.Start(c.Request().Context(), bg, stock.Options{Trigger: "api"})
	if err != nil {
		return err
	}
	state := "started"
	if running {
		state = "already_running"
	}
	return c.JSON(http.StatusAccepted, StockSyncOut{OK: true, RunID: id, State: state})
}

// StockStatusOut is GET /admin/stock's body.
type StockStatusOut struct {
	OK         bool   `json:"ok"`
	Configured bool   `json:"configured"`
	Interval   string `json:"interval"`
	Location   string `json:"location,omitempty"`
	// Running is the id of a run going on now (any replica), "" when none.
	Running string      `json:"running"`
	Runs    []stock.Run `json:"runs"`
}

// Status is GET /admin/stock?limit=N (default 10, at most 100).
func (s *Stock) Status(c echo.Context) error {
	n := 10
	if v := c.QueryParam("limit"); v != "" {
		l, err := strconv.Atoi(v)
		if err != nil || l < 1 || l > 100 {
			return problem.InvalidFields(problem.CodeValidation, "limit must be a whole number from 1 to 100",
				problem.Field{Pointer: "/query/limit", Message: "a whole number from 1 to 100"})
		}
		n = l
	}
	out := StockStatusOut{OK: true, Configured: s.Runner != nil, Interval: s.Interval, Location: s.Location, Runs: []stock.Run{}}
	if s.Runner != nil {
		id, err := s.Runner.Running(c.Request().Context())
		if err != nil {
			return err
		}
		out.Running = id
	}
	if s.History != nil {
		runs, err := s.History.Runs(c.Request().Context(), n)
		if err != nil {
			return err
		}
		out.Runs = append(out.Runs, runs...)
	}
	return c.JSON(http.StatusOK, out)
}

// Register adds the operator route to the /admin group.
func (s *Stock) Register(g *echo.Group) { g.GET("/stock", s.Status) }
