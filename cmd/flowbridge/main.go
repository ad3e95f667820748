// Command flowbridge runs the flowbridge service (see README.md).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/flowbridge/flowbridge/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
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
		return server.Run(ctx, args, os.Getenv, os.Stdout, os.Stderr)
	case "healthcheck":
		return server.Healthcheck(ctx, args, os.Getenv, os.Stdout)
	default:
		return fmt.Errorf("unknown command %q; commands: serve (default), healthcheck", cmd)
	}
}
