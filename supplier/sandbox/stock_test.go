package sandbox

import (
	"context"
	"testing"
)

func TestStock(t *testing.T) {
	s := New(Config{})
	ctx := context.Background()
	eans := []string{"8400000000017", "0072000000014", "8400000000099", "84000019"}
	got, err := s.Stock(ctx, eans)
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].Found || got[0].Quantity != 250 || got[0].Cost.Minor != 499 {
		t.Errorf("mug: %+v", got[0])
	}
	if !got[1].Found || got[1].Quantity != 60 || got[1].EAN != "0072000000014" {
		t.Errorf("UPC-A in its EAN-13 spelling: %+v", got[1])
	}
	if got[2].Found {
		t.Errorf("unknown EAN found: %+v", got[2])
	}
	s.SetStock("8400000000017", 3)
	s.SetStock("84000019", -1)
	got, _ = s.Stock(ctx, eans)
	if got[0].Quantity != 3 || got[3].Found {
		t.Errorf("after SetStock: %+v", got)
	}
}
