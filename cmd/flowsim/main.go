// Command flowsim runs a Shopify Flow workflow against a running flowbridge
// in the Flow simulator (see docs/flow-templates.md). It is a command of its
// own so the simulator's JavaScript and Liquid engines stay out of the
// server binary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/flowbridge/flowbridge/flowsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := flowsim.Command(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "flowsim:", err)
		os.Exit(1)
	}
}
