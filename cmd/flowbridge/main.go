// Command flowbridge runs the flowbridge service (see README.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/flowbridge/flowbridge/doctor"
	"github.com/flowbridge/flowbridge/flowtemplates"
	"github.com/flowbridge/flowbridge/opscli"
	"github.com/flowbridge/flowbridge/server"
	"github.com/flowbridge/flowbridge/shopify"
	"github.com/flowbridge/flowbridge/stock/stockcli"
	"github.com/flowbridge/flowbridge/store/redisstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return // the subcommand printed its usage
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "flowbridge:", err)
		os.Exit(1)
	}
}

// run dispatches the subcommand; `serve` is the default.
func run(ctx context.Context, args []string) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		// Only the server: the one-shot subcommands keep Go's default.
		setDefaultGCPercent(os.Getenv, debug.SetGCPercent)
		return server.Run(ctx, args, os.Getenv, os.Stdout, os.Stderr)
	case "healthcheck":
		return server.Healthcheck(ctx, args, os.Getenv, os.Stdout)
	case "orders":
		return opscli.Run(ctx, append([]string{"orders"}, args...), os.Getenv, os.Stdout, os.Stderr)
	case "stock":
		return stockcli.Run(ctx, args, os.Getenv, os.Stdout, os.Stderr)
	case "setup":
		return shopify.SetupCommand(ctx, args, os.Getenv, os.Stdout, os.Stderr)
	case "doctor":
		return doctorOptions(os.Getenv).Command(ctx, args, os.Getenv, os.Stdout, os.Stderr)
	case "templates":
		return flowtemplates.Command(ctx, args, os.Stdout, os.Stderr)
	case "simulate":
		// The simulator is its own command, so its JavaScript and Liquid
		// engines stay out of the server binary.
		return errors.New("the Flow simulator is its own command: go run ./cmd/flowsim --workflow F --order O --url URL --key KEY")
	default:
		return fmt.Errorf("unknown command %q; commands: serve (default), healthcheck, orders, stock, setup, doctor, templates (simulator: cmd/flowsim)", cmd)
	}
}

// storeCheck reads the Redis persistence and eviction settings for
// `flowbridge doctor`.
func storeCheck(redisURL string) func(context.Context) (doctor.StoreReport, error) {
	return func(ctx context.Context) (doctor.StoreReport, error) {
		if redisURL == "" {
			return doctor.StoreReport{}, nil
		}
		c, err := redisstore.NewClient(redisURL)
		if err != nil {
			return doctor.StoreReport{}, err
		}
		defer c.Close()
		if err := c.Ping(ctx).Err(); err != nil {
			return doctor.StoreReport{}, err
		}
		rep := doctor.StoreReport{Redis: true}
		for _, w := range redisstore.CheckConfig(ctx, c) {
			if strings.HasPrefix(w, "could not read") {
				rep.Unchecked = w
				continue
			}
			rep.Problems = append(rep.Problems, w)
		}
		return rep, nil
	}
}

// doctorOptions wires the configured supplier's credential check into
// `flowbridge doctor`. A configuration that does not load is reported by
// that check rather than stopping the other checks.
func doctorOptions(getenv func(string) string) doctor.Options {
	cfg, _, err := server.LoadConfig(nil, getenv)
	if err != nil {
		return doctor.Options{SupplierCheck: func(context.Context) error { return err }}
	}
	opts := doctor.Options{Supplier: cfg.Supplier, TestMode: &cfg.TestMode, Stock: cfg.StockConfigured(), StoreCheck: storeCheck(cfg.RedisURL)}
	sup, err := server.NewSupplier(cfg, server.SupplierDeps{})
	if err != nil {
		opts.SupplierCheck = func(context.Context) error { return err }
		return opts
	}
	if c, ok := sup.(interface{ CheckCredentials(context.Context) error }); ok {
		opts.SupplierCheck = c.CheckCredentials
	}
	return opts
}
