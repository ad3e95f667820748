// Package gcratest reads a GCRA budget back for tests: how many slots
// have been reserved on a key.
package gcratest

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SlotsTaken counts the slots reserved on a GCRA key whose interval is
// long (an hour, say) next to the time a test runs: each reservation
// moves the key's TAT one interval past the server's now, so the count is
// the distance between them in intervals.
func SlotsTaken(t testing.TB, c redis.UniversalClient, key string, interval time.Duration) int {
	t.Helper()
	ctx := context.Background()
	tat, err := c.Get(ctx, key).Int64()
	if errors.Is(err, redis.Nil) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	now, err := c.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	return int(math.Round(float64(tat-now.UnixMicro()) / float64(interval.Microseconds())))
}
