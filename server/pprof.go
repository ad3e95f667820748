package server

import (
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/flowbridge/flowbridge/problem"
)

// pprofRoutes are Go's runtime profiles under /admin/debug/pprof/, rows of
// the route table behind the operator keys: heap, goroutine, allocs, block,
// mutex, threadcreate, cmdline, symbol, and CPU profile and execution
// trace for a few seconds. The memory and goroutine questions of a fault
// run (docs/faults.md) are answered with e.g.
//
//	curl -H "Authorization: Bearer $OPERATOR_KEY" http://host:8080/admin/debug/pprof/heap > heap.pb.gz
//	go tool pprof heap.pb.gz
//
// A timed profile must end inside the request timeout, so ?seconds= is
// limited to it (minus a second).
func pprofRoutes(requestTimeout time.Duration) []route {
	limit := max(int(requestTimeout/time.Second)-1, 1)
	timed := func(h http.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if v := c.QueryParam("seconds"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > limit {
					return problem.InvalidFields(problem.CodeValidation, "seconds is out of range",
						problem.Field{Pointer: "/query/seconds", Message: "must be a whole number from 1 to " + strconv.Itoa(limit) + " (the request timeout)"})
				}
			} else {
				q := c.Request().URL.Query()
				q.Set("seconds", strconv.Itoa(min(5, limit)))
				c.Request().URL.RawQuery = q.Encode()
			}
			h(c.Response(), c.Request())
			return nil
		}
	}
	const base = "/admin/debug/pprof/"
	rt := []route{
		{http.MethodGet, base + "profile", operatorKey, false, timed(pprof.Profile)},
		{http.MethodGet, base + "trace", operatorKey, false, timed(pprof.Trace)},
		{http.MethodGet, base + "cmdline", operatorKey, false, echo.WrapHandler(http.HandlerFunc(pprof.Cmdline))},
		{http.MethodGet, base + "symbol", operatorKey, false, echo.WrapHandler(http.HandlerFunc(pprof.Symbol))},
	}
	// pprof.Index finds the profile name after "/debug/pprof/" in the
	// path, so the operator prefix is taken off first.
	index := func(c echo.Context) error {
		r := c.Request().Clone(c.Request().Context())
		r.URL.Path = "/debug/pprof/" + c.Param("name")
		pprof.Index(c.Response(), r)
		return nil
	}
	return append(rt,
		route{http.MethodGet, base, operatorKey, false, index},
		route{http.MethodGet, base + ":name", operatorKey, false, index})
}
