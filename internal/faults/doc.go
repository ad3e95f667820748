// Package faults holds the fault suite: real redis-server and real
// flowbridge processes on loopback, a counting BTS stand-in
// (bench/cmd/fakesupplier, a separate process) and a simulated Flow that
// re-sends every order the way Flow does, while the suite kills replicas,
// stops, kills and wipes Redis, and makes the supplier slow or drop
// connections. Each scenario prints orders, supplier creates, duplicates,
// lost orders, false reviews and the longest call, and fails unless the
// targets hold (0, 0, 0, every call inside the request timeout).
//
// The tests are behind the build tag "faults":
//
//	go test -tags faults -count=1 ./internal/faults            # short: three scenarios, under a minute and a half
//	FAULTS=full go test -tags faults -count=1 -v ./internal/faults   # every scenario (scripts/chaos)
//
// docs/faults.md has the table of a full run.
package faults
