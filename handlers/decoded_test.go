package handlers

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/flowbridge/flowbridge"
	"github.com/flowbridge/flowbridge/problem"
)

// A POST /orders body that passed validation is kept decoded: the same
// bytes again give the same input without parsing or schema validation
// (far fewer allocations), each caller gets lines of its own, and a body
// that failed is checked, and refused, every time.
func TestOrderInputKeepsDecodedBodies(t *testing.T) {
	newH := func(t *testing.T, n int) *Handlers {
		t.Helper()
		h, err := New(Config{Spec: flowbridge.OpenAPI(), DecodedOrders: n})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	body := []byte(validOrderBody)
	bad := []byte(strings.Replace(validOrderBody, `"8400000000017"`, `"8400000000018"`, 1)) // check digit wrong

	t.Run("same body, same input, no second decode", func(t *testing.T) {
		h := newH(t, 0)
		first, err := h.orderInput(body)
		if err != nil {
			t.Fatal(err)
		}
		again, err := h.orderInput(body)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(first, again) {
			t.Fatalf("kept input differs:\n%+v\n%+v", first, again)
		}
		hit := testing.AllocsPerRun(50, func() { _, _ = h.orderInput(body) })
		off := newH(t, -1)
		miss := testing.AllocsPerRun(50, func() { _, _ = off.orderInput(body) })
		if hit*10 > miss {
			t.Fatalf("a kept body allocates %.0f times, a decoded one %.0f: the body was decoded again", hit, miss)
		}
	})

	t.Run("callers own their lines", func(t *testing.T) {
		h := newH(t, 0)
		a, err := h.orderInput(body)
		if err != nil {
			t.Fatal(err)
		}
		want := a.Order.Lines[0]
		a.Order.Lines[0].Quantity = 99
		a.Order.Lines[0].EAN = "changed"
		b, err := h.orderInput(body)
		if err != nil {
			t.Fatal(err)
		}
		if b.Order.Lines[0] != want {
			t.Fatalf("a caller's change reached the kept input: %+v, want %+v", b.Order.Lines[0], want)
		}
	})

	t.Run("a refused body is refused every time", func(t *testing.T) {
		h := newH(t, 0)
		if _, err := h.orderInput(body); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			_, err := h.orderInput(bad)
			var pe *problem.Error
			if !errors.As(err, &pe) || pe.Code != CodeInvalidEAN {
				t.Fatalf("send %d of a bad barcode: %v, want %s", i+1, err, CodeInvalidEAN)
			}
		}
	})

	t.Run("bounded", func(t *testing.T) {
		h := newH(t, 2)
		for i := range 5 {
			b := strings.Replace(validOrderBody, `"#1001"`, `"#10`+string(rune('0'+i))+`"`, 1)
			if _, err := h.orderInput([]byte(b)); err != nil {
				t.Fatal(err)
			}
		}
		if n := h.decoded.Len(); n != 2 {
			t.Fatalf("kept %d bodies, want the bound 2", n)
		}
	})
}

// go test -run '^$' -bench OrderInput -benchmem ./handlers
func BenchmarkOrderInput(b *testing.B) {
	body := []byte(validOrderBody)
	for _, bc := range []struct {
		name string
		kept int
	}{{"decoded", -1}, {"kept", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			h, err := New(Config{Spec: flowbridge.OpenAPI(), DecodedOrders: bc.kept})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.orderInput(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
