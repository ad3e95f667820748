package main

// defaultGCPercent is the GC target the server runs with when GOGC is not
// set: the heap may grow 50 % over what the last collection left, not
// Go's 100 %. The flash-sale profile (docs/bench/memory.md) shows why:
// hundreds of requests wait for a rate-limit slot, each with its
// goroutine stacks, and since Go 1.18 stacks count in the base the GC
// target grows from, so at 100 % the heap peaked at two to three times
// what was live. At 50 % the peak RSS per replica was 13-15 MiB lower in
// the same run, for collections twice as frequent on a heap of ~15 MB
// (each a few milliseconds of CPU; the sale's timings moved within the
// noise of the shared machine).
//
// A soft memory limit (GOMEMLIMIT) is deliberately not set by default:
// under CPU starvation a limit near the live heap made the collector run
// continuously and stretched calls past Flow's 30 s timeout. Operators
// can still set GOMEMLIMIT (or GOGC) in the environment; the runtime
// reads both, and a GOGC that is set, even "off" or "100", is kept.
const defaultGCPercent = 50

// setDefaultGCPercent applies defaultGCPercent through set (the runtime's
// debug.SetGCPercent) unless GOGC is set in the environment. It reports
// whether it did.
func setDefaultGCPercent(getenv func(string) string, set func(int) int) bool {
	if getenv("GOGC") != "" {
		return false
	}
	set(defaultGCPercent)
	return true
}
