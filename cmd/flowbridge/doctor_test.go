package main

import (
	"context"
	"strings"
	"testing"

	"github.com/flowbridge/flowbridge/doctor"
	"github.com/flowbridge/flowbridge/internal/redistest"
)

// `flowbridge doctor` reads the Redis persistence settings from a real
// server: off is a failure that says how to turn it on; AOF passes.
func TestDoctorChecksRedisPersistence(t *testing.T) {
	ctx := context.Background()
	storeChecks := func(url string) []doctor.Check {
		rep := doctor.Options{StoreCheck: storeCheck(url), Supplier: "sandbox"}.Run(ctx, doctor.Config{Supplier: "sandbox", URL: "http://127.0.0.1:1"})
		var out []doctor.Check
		for _, c := range rep.Checks {
			if c.Area == "store" {
				out = append(out, c)
			}
		}
		return out
	}
	off := storeChecks(redistest.Start(t).URL())
	if len(off) != 1 || off[0].Level != doctor.Fail || !strings.Contains(off[0].Message, "persistence is off") || !strings.Contains(off[0].Fix, "appendonly yes") {
		t.Fatalf("no persistence: %+v", off)
	}
	on := storeChecks(redistest.StartWith(t, redistest.Options{AOF: true}).URL())
	if len(on) != 1 || on[0].Level != doctor.Pass {
		t.Fatalf("AOF: %+v", on)
	}
	down := storeChecks("redis://127.0.0.1:1/0")
	if len(down) != 1 || down[0].Level != doctor.Fail || !strings.Contains(down[0].Fix, "REDIS_URL") {
		t.Fatalf("unreachable: %+v", down)
	}
	if none := storeChecks(""); len(none) != 1 || none[0].Level != doctor.Warn {
		t.Fatalf("no REDIS_URL: %+v", none)
	}
}
