// Command floor is the throughput floor the hot-path benchmark compares
// flowbridge with: a bare Echo handler doing one Redis round trip (GET on
// a key, JSON answer), the least any Echo + Redis service can do per
// request on this machine. It prints "listening <addr>" when ready.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	redisURL := fs.String("redis-url", "", "Redis URL (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opt, err := redis.ParseURL(*redisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := rdb.Set(ctx, "floor:v", `{"ok":true,"status":"shipped"}`, 0).Err(); err != nil {
		return err
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/floor", func(c echo.Context) error {
		v, err := rdb.Get(c.Request().Context(), "floor:v").Result()
		if err != nil {
			return echo.NewHTTPError(http.StatusServiceUnavailable)
		}
		return c.JSONBlob(http.StatusOK, []byte(v))
	})
	e.GET("/healthz", func(c echo.Context) error { return c.NoContent(http.StatusOK) })

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	e.Listener = ln
	fmt.Printf("listening %s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- e.Start("") }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return e.Shutdown(sctx)
	}
}
