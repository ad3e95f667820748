package orders

import (
	"context"
	"slices"
	"testing"

	"github.com/flowbridge/flowbridge/store/memstore"
	"github.com/flowbridge/flowbridge/supplier"
)

// partsSupplier answers Tracking from a table; nothing else is used.
type partsSupplier struct {
	supplier.Supplier
	byID map[string]supplier.Tracking
}

func (p partsSupplier) Name() string { return "stub" }
func (p partsSupplier) Tracking(_ context.Context, id string) (supplier.Tracking, error) {
	return p.byID[id], nil
}

func TestTrackSplitOrderCombinesParts(t *testing.T) {
	parcel := func(n string) []supplier.Parcel { return []supplier.Parcel{{Carrier: "GLS", Number: n}} }
	tests := []struct {
		name      string
		a, b      supplier.Tracking
		want      supplier.Status
		parcels   int
		partlyCxl bool
	}{
		{name: "both shipped", a: supplier.Tracking{Status: supplier.StatusShipped, Parcels: parcel("1")}, b: supplier.Tracking{Status: supplier.StatusDelivered, Parcels: parcel("2")},
			want: supplier.StatusShipped, parcels: 2},
		{name: "one still pending holds the order back", a: supplier.Tracking{Status: supplier.StatusShipped, Parcels: parcel("1")}, b: supplier.Tracking{Status: supplier.StatusPending},
			want: supplier.StatusPending, parcels: 1},
		{name: "one cancelled, the other shipped", a: supplier.Tracking{Status: supplier.StatusCancelled}, b: supplier.Tracking{Status: supplier.StatusShipped, Parcels: parcel("2")},
			want: supplier.StatusShipped, parcels: 1, partlyCxl: true},
		{name: "both cancelled", a: supplier.Tracking{Status: supplier.StatusCancelled}, b: supplier.Tracking{Status: supplier.StatusCancelled},
			want: supplier.StatusCancelled},
		{name: "unknown wins", a: supplier.Tracking{Status: supplier.StatusUnknown}, b: supplier.Tracking{Status: supplier.StatusShipped, Parcels: parcel("2")},
			want: supplier.StatusUnknown, parcels: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Config{Supplier: partsSupplier{byID: map[string]supplier.Tracking{"A": tt.a, "B": tt.b}}, Store: memstore.New(nil)})
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.Track(context.Background(), TrackInput{SupplierOrderID: "A,B"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.want || len(res.Parcels) != tt.parcels || res.PartlyCancelled != tt.partlyCxl || len(res.Parts) != 2 || res.SupplierOrderID != "A,B" {
				t.Fatalf("got %s, %d parcels, partly cancelled %v, %d parts (%q)", res.Status, len(res.Parcels), res.PartlyCancelled, len(res.Parts), res.SupplierOrderID)
			}
		})
	}
}

func TestSplitNumbers(t *testing.T) {
	for in, want := range map[string][]string{"A": {"A"}, "A,B": {"A", "B"}, " A , ,B ": {"A", "B"}, "": nil} {
		if got := SplitNumbers(in); !slices.Equal(got, want) {
			t.Errorf("SplitNumbers(%q) = %v, want %v", in, got, want)
		}
	}
	p := supplier.Placed{SupplierOrderID: "1", Parts: []supplier.Part{{SupplierOrderID: "1"}, {ErrorCode: "no_stock"}, {SupplierOrderID: "3"}}}
	if got := numberValue(p); got != "1,3" || !partial(p.Parts) {
		t.Errorf("numberValue = %q, partial %v", got, partial(p.Parts))
	}
}
