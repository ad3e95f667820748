package redistest

import (
	"context"
	"testing"
)

func TestStart(t *testing.T) {
	s := Start(t)
	c := ClientFor(t, s.URL())
	if err := c.Set(context.Background(), "a", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Restart(t)
	c2 := ClientFor(t, s.URL())
	if n, _ := c2.Exists(context.Background(), "a").Result(); n != 0 {
		t.Fatal("kept")
	}
}
