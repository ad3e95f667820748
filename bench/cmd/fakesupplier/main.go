// Command fakesupplier serves the BTS Wholesaler wire format on loopback for
// the benchmarks (see package btsfake). It prints "listening <addr>" once
// it accepts connections.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/flowbridge/flowbridge/internal/btsfake"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fakesupplier:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("fakesupplier", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	token := fs.String("token", "", "JWT clients must send as Bearer (required)")
	rate := fs.Int("rate", 0, "accepted API requests per sliding 1-s window; above it 429 (0: no limit)")
	retryAfter := fs.Duration("retry-after", 0, "Retry-After sent with 429 (0: none)")
	latency := fs.Duration("latency", 0, "median answer delay")
	jitter := fs.Duration("jitter", 0, "uniform spread ± around -latency")
	dist := fs.String("dist", "uniform", "latency distribution: uniform or lognormal")
	sigma := fs.Float64("sigma", 0.5, "lognormal shape")
	seed := fs.Int("seed-orders", 0, "pre-created shipped orders numbered from 500000000000")
	dropEvery := fs.Int("drop-every", 0, "drop the connection after every n-th create, without answering (0: never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *token == "" {
		return fmt.Errorf("-token is required")
	}
	srv := btsfake.New(btsfake.Config{
		Token: *token, RatePerSecond: *rate, RetryAfter: *retryAfter, SeedOrders: *seed, Seed: 1, DropEvery: *dropEvery,
		Latency: btsfake.Latency{Median: *latency, Jitter: *jitter, Dist: *dist, Sigma: *sigma},
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("listening %s\n", ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return hs.Shutdown(sctx)
	}
}
