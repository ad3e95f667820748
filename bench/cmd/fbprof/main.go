// Command fbprof is flowbridge's serve command with a CPU profile written
// on exit, so a benchmark run can say where a request's time goes (pass
// it to bench/cmd/benchrun as -flowbridge). It calls the same server.Run
// as cmd/flowbridge; only the profiles are added.
//
// FBPROF_OUT is the CPU profile's path. With FBPROF_HEAP set to a path, a
// heap profile is written there too when the stop signal arrives, after a
// GC and before the shutdown frees anything: what the process holds at the
// end of the load (inuse_space) and everything it allocated over the run
// (alloc_space), to explain a peak RSS. (A live server gives the same
// profile at /admin/debug/pprof/heap.)
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sync"
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
	// Create the heap profile's file now, so a wrong path fails at start
	// rather than after the run it was meant to explain.
	var heap *os.File
	if path := os.Getenv("FBPROF_HEAP"); path != "" {
		if heap, err = os.Create(path); err != nil {
			fmt.Fprintln(os.Stderr, "fbprof:", err)
			os.Exit(1)
		}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "fbprof:", err)
		os.Exit(1)
	}
	var heapOnce sync.Once
	writeHeap := func() {
		heapOnce.Do(func() {
			if heap == nil {
				return
			}
			runtime.GC() // inuse figures are as of the last GC: make that now
			if herr := pprof.Lookup("heap").WriteTo(heap, 0); herr != nil {
				fmt.Fprintln(os.Stderr, "fbprof: heap profile:", herr)
			}
			_ = heap.Close()
		})
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	heapDone := make(chan struct{})
	go func() {
		defer close(heapDone)
		if _, ok := <-sig; ok {
			writeHeap()
		}
	}()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = server.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	signal.Stop(sig)
	close(sig)
	<-heapDone
	writeHeap() // no signal: the server stopped on its own
	pprof.StopCPUProfile()
	_ = f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fbprof:", err)
		os.Exit(1)
	}
}
