// Package stocktest is a fake Shopify inventory for stock sync tests and
// benchmarks: product variants with barcodes, inventory items, locations and
// inventorySetQuantities with its changeFromQuantity guard, served through
// shopify/shopifytest (so every document and input is checked against the
// real 2026-01 Admin schema), behind a gate that charges each request its
// calculated query cost against Shopify's leaky bucket on a virtual clock.
package stocktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/flowbridge/flowbridge/shopify/shopifytest"
)

// Item is one variant and its inventory at the fake's locations.
type Item struct {
	VariantID, ItemID string
	Title, SKU        string
	// Barcode is nil for a variant without one.
	Barcode *string
	Price   string // decimal, shop currency (EUR)
	Tracked bool
	// Levels: available quantity per location id; absent = not stocked.
	Levels map[string]int
}

// Location is a fake shop location.
type Location struct {
	ID, Name string
	Active   bool
}

// Set is one applied quantity change.
type Set struct {
	ItemID, LocationID string
	From, To           int
	Reference          string
}

// Shop is the fake. Configure it before the code under test runs; methods
// are safe for concurrent use.
type Shop struct {
	*shopifytest.Server
	Token string

	mu        sync.Mutex
	items     []*Item
	byItem    map[string]*Item
	locations []Location
	scopes    map[string]bool
	sets      []Set
	setCalls  int
	stale     int
	// onSet runs inside inventorySetQuantities before the guard is checked
	// (a sale arriving between the sync's read and its write).
	onSet func(call int, sell func(itemID, locationID string, n int))
	bulk  *httptest.Server
	bulks int
	// bulkBusy makes bulkOperationRunQuery refuse (another one running).
	bulkBusy bool
}

// Scopes a stock sync needs (the fake's token has them all by default).
var Scopes = []string{"read_products", "read_inventory", "write_inventory", "read_locations"}

// New starts a fake shop with one active location "Supplier warehouse"
// (gid://shopify/Location/1) and a second one, "Shop floor".
func New(t testing.TB) *Shop {
	t.Helper()
	s := &Shop{Server: shopifytest.New(t, "shpat_test_token", "2026-01"), Token: "shpat_test_token", byItem: map[string]*Item{},
		locations: []Location{{ID: "gid://shopify/Location/1", Name: "Supplier warehouse", Active: true}},
		scopes:    map[string]bool{}}
	for _, sc := range Scopes {
		s.scopes[sc] = true
	}
	s.Handle("locations", s.locationsField)
	s.Handle("productVariantsCount", s.countField)
	s.Handle("productVariants", s.variantsField)
	s.Handle("nodes", s.nodesField)
	s.Handle("inventorySetQuantities", s.setField)
	s.Handle("bulkOperationRunQuery", s.bulkRun)
	s.Handle("bulkOperation", s.bulkStatus)
	s.Handle("currentAppInstallation", s.installation)
	s.bulk = httptest.NewServer(http.HandlerFunc(s.serveBulk))
	t.Cleanup(s.bulk.Close)
	return s
}

// AddLocation adds a location.
func (s *Shop) AddLocation(l Location) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.locations = append(s.locations, l)
}

// SetScopes replaces the token's scopes.
func (s *Shop) SetScopes(scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scopes = map[string]bool{}
	for _, sc := range scopes {
		s.scopes[sc] = true
	}
}

// Add adds variants (ids are filled when empty).
func (s *Shop) Add(items ...Item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range items {
		n := len(s.items) + 1
		if it.VariantID == "" {
			it.VariantID = "gid://shopify/ProductVariant/" + strconv.Itoa(n)
		}
		if it.ItemID == "" {
			it.ItemID = "gid://shopify/InventoryItem/" + strconv.Itoa(n)
		}
		if it.Price == "" {
			it.Price = "10.00"
		}
		it.Levels = cloneLevels(it.Levels)
		p := &it
		s.items = append(s.items, p)
		s.byItem[p.ItemID] = p
	}
}

func cloneLevels(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Barcode returns a pointer to b, for Item.Barcode.
func Barcode(b string) *string { return &b }

// Available is the item's quantity at the location (ok=false: not stocked).
func (s *Shop) Available(itemID, locationID string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.byItem[itemID]
	if it == nil {
		return 0, false
	}
	q, ok := it.Levels[locationID]
	return q, ok
}

// Sell takes n units of an item at a location, as a checkout would.
func (s *Shop) Sell(itemID, locationID string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sellLocked(itemID, locationID, n)
}

func (s *Shop) sellLocked(itemID, locationID string, n int) {
	if it := s.byItem[itemID]; it != nil {
		if _, ok := it.Levels[locationID]; ok {
			it.Levels[locationID] -= n
		}
	}
}

// OnSet registers a hook run at the start of every inventorySetQuantities
// call (call counts from 1); sell changes a quantity as a sale would.
func (s *Shop) OnSet(f func(call int, sell func(itemID, locationID string, n int))) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onSet = f
}

// Sets returns every applied change; SetCalls every inventorySetQuantities
// call; Stale the calls refused by the guard.
func (s *Shop) Sets() []Set {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sets)
}

func (s *Shop) SetCalls() (calls, stale int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setCalls, s.stale
}

// BulkBusy makes bulk queries refused as if another were running.
func (s *Shop) BulkBusy(busy bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bulkBusy = busy
}

// BulkRuns counts bulk operations started.
func (s *Shop) BulkRuns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bulks
}

// The resolvers below run with shopifytest's lock held and take s.mu.

func (s *Shop) denied(field, scope string) *shopifytest.Error {
	if s.scopes[scope] {
		return nil
	}
	return &shopifytest.Error{
		Message:    fmt.Sprintf("Access denied for %s field. Required access: `%s` access scope.", field, scope),
		Extensions: map[string]any{"code": "ACCESS_DENIED", "documentation": "https://shopify.dev/api/usage/access-scopes", "requiredAccess": "`" + scope + "` access scope."},
	}
}

func (s *Shop) installation(map[string]any) (any, *shopifytest.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var scopes []any
	for sc := range s.scopes {
		scopes = append(scopes, map[string]any{"handle": sc, "description": sc})
	}
	return map[string]any{"id": "gid://shopify/AppInstallation/1", "accessScopes": scopes}, nil
}

func (s *Shop) locationsField(map[string]any) (any, *shopifytest.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.denied("locations", "read_locations"); e != nil {
		return nil, e
	}
	nodes := make([]any, 0, len(s.locations))
	for _, l := range s.locations {
		nodes = append(nodes, map[string]any{"id": l.ID, "name": l.Name, "isActive": l.Active})
	}
	return connection(nodes, 0, len(nodes)), nil
}

func (s *Shop) countField(map[string]any) (any, *shopifytest.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.denied("productVariantsCount", "read_products"); e != nil {
		return nil, e
	}
	return map[string]any{"count": len(s.items), "precision": "EXACT"}, nil
}

// connection returns nodes[from:] cut to at most n, with a cursor that is
// the index after the last node.
func connection(all []any, from, n int) map[string]any {
	to := min(from+n, len(all))
	from = min(from, to)
	nodes := all[from:to]
	edges := make([]any, len(nodes))
	for i, nd := range nodes {
		edges[i] = map[string]any{"cursor": "c" + strconv.Itoa(from+i+1), "node": nd}
	}
	pi := map[string]any{"hasNextPage": to < len(all), "hasPreviousPage": from > 0, "startCursor": nil, "endCursor": nil}
	if len(nodes) > 0 {
		pi["startCursor"], pi["endCursor"] = "c"+strconv.Itoa(from+1), "c"+strconv.Itoa(to)
	}
	return map[string]any{"nodes": nodes, "edges": edges, "pageInfo": pi}
}

// levelValue is the item's inventory level at the sync's location. The
// fake answers every inventoryLevel selection for location 1 (resolvers see
// only root arguments); tests check the location id the client sent.
func levelValue(it *Item, loc string) any {
	q, ok := it.Levels[loc]
	if !ok {
		return nil
	}
	return map[string]any{"id": "gid://shopify/InventoryLevel/" + strings.TrimPrefix(it.ItemID, "gid://shopify/InventoryItem/") + "?inventory_item_id=1",
		"quantities": []any{map[string]any{"id": "gid://shopify/InventoryQuantity/" + it.ItemID, "name": "available", "quantity": q}}}
}

// LevelLocation is the location whose quantities inventoryLevel answers.
const LevelLocation = "gid://shopify/Location/1"

func variantValue(it *Item) map[string]any {
	var bc any
	if it.Barcode != nil {
		bc = *it.Barcode
	}
	var sku any
	if it.SKU != "" {
		sku = it.SKU
	}
	return map[string]any{
		"id": it.VariantID, "title": it.Title, "displayName": it.Title, "sku": sku, "barcode": bc, "price": it.Price,
		"inventoryItem": map[string]any{"id": it.ItemID, "tracked": it.Tracked, "inventoryLevel": levelValue(it, LevelLocation)},
	}
}

func (s *Shop) variantsField(args map[string]any) (any, *shopifytest.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.denied("productVariants", "read_products"); e != nil {
		return nil, e
	}
	if e := s.denied("inventoryLevel", "read_inventory"); e != nil {
		return nil, e
	}
	first, _ := number(args["first"])
	if first <= 0 || first > 250 {
		return nil, &shopifytest.Error{Message: "first must be between 1 and 250", Extensions: map[string]any{"code": "BAD_REQUEST"}}
	}
	from := 0
	if a, ok := args["after"].(string); ok && a != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(a, "c"))
		if err != nil {
			return nil, &shopifytest.Error{Message: "Invalid cursor for current pagination sort.", Extensions: map[string]any{"code": "BAD_REQUEST"}}
		}
		from = n
	}
	all := make([]any, len(s.items))
	for i, it := range s.items {
		all[i] = variantValue(it)
	}
	return connection(all, from, first), nil
}

func (s *Shop) nodesField(args map[string]any) (any, *shopifytest.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.denied("inventoryLevel", "read_inventory"); e != nil {
		return nil, e
	}
	ids, _ := args["ids"].([]any)
	if len(ids) > 250 {
		return nil, &shopifytest.Error{Message: "The input array size of 251 is greater than the maximum allowed of 250.", Extensions: map[string]any{"code": "MAX_INPUT_SIZE_EXCEEDED"}}
	}
	out := make([]any, len(ids))
	for i, raw := range ids {
		id, _ := raw.(string)
		if it := s.byItem[id]; it != nil {
			out[i] = map[string]any{"__typename": "InventoryItem", "id": it.ItemID, "tracked": it.Tracked, "inventoryLevel": levelValue(it, LevelLocation)}
		}
	}
	return out, nil
}

func userError(code, msg string, field ...string) map[string]any {
	f := make([]any, len(field))
	for i, x := range field {
		f[i] = x
	}
	return map[string]any{"code": code, "field": f, "message": msg}
}

// setField is inventorySetQuantities: all or nothing, as Shopify answers a
// failed guard (the whole mutation fails with CHANGE_FROM_QUANTITY_STALE).
func (s *Shop) setField(args map[string]any) (any, *shopifytest.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.denied("inventorySetQuantities", "write_inventory"); e != nil {
		return nil, e
	}
	s.setCalls++
	if s.onSet != nil {
		s.onSet(s.setCalls, s.sellLocked)
	}
	in, _ := args["input"].(map[string]any)
	qs, _ := in["quantities"].([]any)
	var ues []any
	if in["name"] != "available" && in["name"] != "on_hand" {
		ues = append(ues, userError("INVALID_NAME", "The quantity name must be either 'available' or 'on_hand'.", "input", "name"))
	}
	if len(qs) > 250 {
		ues = append(ues, userError("INVALID_QUANTITY_TOO_HIGH", "Too many quantities.", "input", "quantities"))
	}
	type apply struct {
		it       *Item
		loc      string
		from, to int
	}
	var todo []apply
	seen := map[string]bool{}
	for i, raw := range qs {
		q, _ := raw.(map[string]any)
		idx := strconv.Itoa(i)
		id, _ := q["inventoryItemId"].(string)
		loc, _ := q["locationId"].(string)
		to, _ := number(q["quantity"])
		it := s.byItem[id]
		if it == nil {
			ues = append(ues, userError("INVALID_INVENTORY_ITEM", "The specified inventory item could not be found.", "input", "quantities", idx, "inventoryItemId"))
			continue
		}
		if seen[id+loc] {
			ues = append(ues, userError("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", "The combination of inventoryItemId and locationId must be unique.", "input", "quantities", idx))
			continue
		}
		seen[id+loc] = true
		cur, ok := it.Levels[loc]
		if !ok {
			ues = append(ues, userError("ITEM_NOT_STOCKED_AT_LOCATION", "The specified inventory item is not stocked at the location.", "input", "quantities", idx, "locationId"))
			continue
		}
		if to < 0 {
			ues = append(ues, userError("INVALID_QUANTITY_NEGATIVE", "The quantity can't be negative.", "input", "quantities", idx, "quantity"))
			continue
		}
		if cf, has := q["changeFromQuantity"]; has && cf != nil {
			if n, _ := number(cf); n != cur {
				ues = append(ues, userError("CHANGE_FROM_QUANTITY_STALE", "The specified changeFromQuantity does not match the current quantity.", "input", "quantities", idx, "changeFromQuantity"))
				continue
			}
		}
		todo = append(todo, apply{it: it, loc: loc, from: cur, to: to})
	}
	if len(ues) > 0 {
		for _, u := range ues {
			if u.(map[string]any)["code"] == "CHANGE_FROM_QUANTITY_STALE" {
				s.stale++
				break
			}
		}
		return map[string]any{"inventoryAdjustmentGroup": nil, "userErrors": ues}, nil
	}
	ref, _ := in["referenceDocumentUri"].(string)
	for _, a := range todo {
		a.it.Levels[a.loc] = a.to
		s.sets = append(s.sets, Set{ItemID: a.it.ItemID, LocationID: a.loc, From: a.from, To: a.to, Reference: ref})
	}
	return map[string]any{"inventoryAdjustmentGroup": map[string]any{"id": "gid://shopify/InventoryAdjustmentGroup/" + strconv.Itoa(s.setCalls),
		"createdAt": "2026-01-01T00:00:00Z", "reason": in["reason"], "referenceDocumentUri": ref, "changes": []any{}}, "userErrors": []any{}}, nil
}

func (s *Shop) bulkRun(args map[string]any) (any, *shopifytest.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.denied("productVariants", "read_products"); e != nil {
		return nil, e
	}
	if s.bulkBusy {
		return map[string]any{"bulkOperation": nil, "userErrors": []any{userError("OPERATION_IN_PROGRESS",
			"A bulk query operation for this app and shop is already in progress.", "query")}}, nil
	}
	q, _ := args["query"].(string)
	if !strings.Contains(q, "productVariants") || !strings.Contains(q, LevelLocation) {
		return map[string]any{"bulkOperation": nil, "userErrors": []any{userError("INVALID", "unexpected bulk query", "query")}}, nil
	}
	s.bulks++
	return map[string]any{"bulkOperation": map[string]any{"id": "gid://shopify/BulkOperation/" + strconv.Itoa(s.bulks), "status": "CREATED"}, "userErrors": []any{}}, nil
}

func (s *Shop) bulkStatus(args map[string]any) (any, *shopifytest.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := args["id"].(string)
	return map[string]any{"id": id, "status": "COMPLETED", "errorCode": nil, "objectCount": strconv.Itoa(len(s.items)),
		"url": s.bulk.URL + "/bulk.jsonl", "partialDataUrl": nil}, nil
}

// serveBulk serves the bulk result: one JSON object per variant (nested
// objects inline, as Shopify writes them when no connection is nested).
func (s *Shop) serveBulk(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	enc := json.NewEncoder(w)
	for _, it := range s.items {
		_ = enc.Encode(variantValue(it))
	}
}

func number(v any) (int, bool) {
	switch n := v.(type) {
	case float64:
		return int(n), true
	case int:
		return n, true
	case int64:
		return int(n), true
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	}
	return 0, false
}
