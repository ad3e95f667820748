// Command fbprof is flowbridge's serve command with a CPU profile written
// on exit, so bench/run -profile can say where a request's time goes. It
// calls the same server.Run as cmd/flowbridge; only the profile is added.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/flowbridge/flowbridge/server"
)

func main() {
	out := os.Getenv("FBPROF_OUT")
	if out == "" {
		fmt.Fprintln(os.Stderr, "fbprof: set FBPROF_OUT to the profile's path")
		os.Exit(2)
	}
	f, err := os.Create(out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fbprof:", err)
		os.Exit(1)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "fbprof:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = server.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	pprof.StopCPUProfile()
	_ = f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fbprof:", err)
		os.Exit(1)
	}
}
