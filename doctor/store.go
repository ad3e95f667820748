package doctor

import (
	"context"
	"strings"
)

// StoreReport is what a store check found: whether Redis is configured and
// answers, and one finding per setting the idempotency records need
// (persistence, no eviction).
type StoreReport struct {
	// Redis is false when REDIS_URL is not set (the in-process store).
	Redis bool
	// Problems are settings that can lose records (persistence off, an
	// eviction policy); Unchecked says why the settings could not be read
	// (managed Redis without CONFIG).
	Problems  []string
	Unchecked string
}

// checkStore reports the Redis settings exactly-once depends on: without
// persistence a restart forgets every record, and an eviction policy drops
// records under memory pressure (docs/exactly-once.md).
func (o Options) checkStore(ctx context.Context, r *Report) {
	if o.StoreCheck == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	rep, err := o.StoreCheck(ctx)
	switch {
	case err != nil:
		r.add(Check{Area: "store", Name: "redis", Level: Fail, Message: "Redis does not answer: " + detail(err),
			Fix: "Check REDIS_URL (host, port, password) and that Redis is running"})
		return
	case !rep.Redis:
		r.add(Check{Area: "store", Name: "redis", Level: Warn,
			Message: "REDIS_URL is not set: the in-process store forgets every record on restart and serves one instance only",
			Fix:     "Set REDIS_URL to a Redis with persistence (appendonly yes) and maxmemory-policy noeviction"})
		return
	case rep.Unchecked != "":
		r.add(Check{Area: "store", Name: "redis settings", Level: Warn, Message: rep.Unchecked,
			Fix: "Confirm with your Redis provider that persistence (AOF or RDB) is on and maxmemory-policy is noeviction"})
		return
	}
	if len(rep.Problems) == 0 {
		r.add(Check{Area: "store", Name: "redis settings", Level: Pass, Message: "persistence on, maxmemory-policy noeviction"})
		return
	}
	for _, p := range rep.Problems {
		fix := "Set appendonly yes (appendfsync everysec) in redis.conf or with CONFIG SET appendonly yes, and CONFIG REWRITE"
		if strings.Contains(p, "maxmemory-policy") {
			fix = "Set maxmemory-policy noeviction, and give flowbridge a Redis of its own rather than an LRU cache"
		}
		r.add(Check{Area: "store", Name: "redis settings", Level: Fail, Message: p, Fix: fix})
	}
}
