package memstore_test

import (
	"testing"

	"github.com/flowbridge/flowbridge/store/memstore"
	store "github.com/flowbridge/flowbridge/store/storeapi"
	"github.com/flowbridge/flowbridge/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return memstore.New(nil) })
}
