package stock

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/shopify"
	"github.com/flowbridge/flowbridge/supplier"
)

// Codes of the Shopify side.
const (
	codeBulkRefused = "stock_bulk_refused"
	CodeLocation    = "stock_location_unknown"
	CodeShopWrite   = "stock_shopify_write_failed"
)

// AdminShop is Shop over the Admin GraphQL API (2026-01).
type AdminShop struct {
	Client *shopify.Client
	// Location picks the location by id (number or GID) or by name; empty
	// means the shop's only active location.
	LocationRef string
	// PageSize is variants per page (100 when zero): with the inventory
	// level nested a page of 100 asks about 400 points, well inside
	// Shopify's 1,000-point single-query limit.
	PageSize int
	// BulkThreshold: catalogues with at least this many variants are read
	// with one bulk operation instead of pages. Paging costs about 4 points
	// a variant (10,000 variants: ~40,000 points, 13 minutes of a standard
	// plan's 50 points/s); a bulk operation costs a few points whatever the
	// size (docs/BENCHMARKS.md). 0 means 1,000; negative means never.
	BulkThreshold int
	// HTTP downloads the bulk operation's result file (http.DefaultClient
	// when nil).
	HTTP *http.Client
	// PollEvery is the wait between bulk operation status reads (2 s).
	PollEvery time.Duration

	currency string
}

// GraphQL documents. Each is named so Shopify's logs and the fake's
// recorder can tell them apart.
const (
	locationsQuery = `query FlowbridgeStockLocations {
  shop { currencyCode }
  locations(first: 50) { nodes { id name isActive } }
}`
	countQuery = `query FlowbridgeStockCount { productVariantsCount(limit: null) { count } }`

	variantsQuery = `query FlowbridgeStockVariants($first: Int!, $after: String, $location: ID!) {
  productVariants(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      displayName
      sku
      barcode
      price
      inventoryItem {
        id
        tracked
        inventoryLevel(locationId: $location) { quantities(names: ["available"]) { name quantity } }
      }
    }
  }
}`

	levelsQuery = `query FlowbridgeStockLevels($ids: [ID!]!, $location: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem {
      id
      inventoryLevel(locationId: $location) { quantities(names: ["available"]) { name quantity } }
    }
  }
}`

	setMutation = `mutation FlowbridgeStockSet($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}`

	bulkMutation = `mutation FlowbridgeStockBulk($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: false) {
    bulkOperation { id status }
    userErrors { code field message }
  }
}`

	bulkStatusQuery = `query FlowbridgeStockBulkStatus($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount url partialDataUrl }
}`
)

type wireLevel struct {
	Quantities []struct {
		Name     string `json:"name"`
		Quantity int    `json:"quantity"`
	} `json:"quantities"`
}

func (l *wireLevel) available() (int, bool) {
	if l == nil {
		return 0, false
	}
	for _, q := range l.Quantities {
		if q.Name == "available" {
			return q.Quantity, true
		}
	}
	return 0, true
}

type wireVariant struct {
	ID            string  `json:"id"`
	DisplayName   string  `json:"displayName"`
	SKU           *string `json:"sku"`
	Barcode       *string `json:"barcode"`
	Price         string  `json:"price"`
	InventoryItem struct {
		ID             string     `json:"id"`
		Tracked        bool       `json:"tracked"`
		InventoryLevel *wireLevel `json:"inventoryLevel"`
	} `json:"inventoryItem"`
}

// Location implements Shop.
func (s *AdminShop) Location(ctx context.Context) (Location, error) {
	var out struct {
		Shop struct {
			CurrencyCode string `json:"currencyCode"`
		} `json:"shop"`
		Locations struct {
			Nodes []struct {
				ID       string `json:"id"`
				Name     string `json:"name"`
				IsActive bool   `json:"isActive"`
			} `json:"nodes"`
		} `json:"locations"`
	}
	if err := s.Client.Do(ctx, locationsQuery, nil, &out); err != nil {
		return Location{}, err
	}
	s.currency = out.Shop.CurrencyCode
	want := strings.TrimSpace(s.LocationRef)
	var active []Location
	var names []string
	for _, n := range out.Locations.Nodes {
		l := Location{ID: n.ID, Name: n.Name}
		if want != "" && (n.ID == want || strings.TrimPrefix(n.ID, "gid://shopify/Location/") == want || strings.EqualFold(n.Name, want)) {
			return l, nil
		}
		if n.IsActive {
			active = append(active, l)
			names = append(names, strconv.Quote(n.Name))
		}
	}
	if want == "" && len(active) == 1 {
		return active[0], nil
	}
	if want != "" {
		return Location{}, problem.Newf(problem.Invalid, CodeLocation,
			"no Shopify location is %q (FLOWBRIDGE_STOCK_LOCATION); the shop has %s", want, strings.Join(names, ", "))
	}
	return Location{}, problem.Newf(problem.Invalid, CodeLocation,
		"the shop has %d active locations (%s): set FLOWBRIDGE_STOCK_LOCATION to the one the supplier ships from", len(active), strings.Join(names, ", "))
}

// Variants implements Shop: pages for ordinary catalogues, one bulk
// operation for large ones.
func (s *AdminShop) Variants(ctx context.Context, locationID string) ([]Variant, error) {
	threshold := s.BulkThreshold
	if threshold == 0 {
		threshold = 1000
	}
	if threshold > 0 {
		var cnt struct {
			ProductVariantsCount struct {
				Count int `json:"count"`
			} `json:"productVariantsCount"`
		}
		if err := s.Client.Do(ctx, countQuery, nil, &cnt); err != nil {
			return nil, err
		}
		if cnt.ProductVariantsCount.Count >= threshold {
			vs, err := s.bulkVariants(ctx, locationID)
			if !problem.Is(err, codeBulkRefused) {
				return vs, err
			}
			// Another bulk query of this app is running (Shopify runs a
			// limited number at once): page instead of failing the run.
		}
	}
	size := s.PageSize
	if size <= 0 {
		size = 100
	}
	var out []Variant
	var after *string
	for {
		var page struct {
			ProductVariants struct {
				PageInfo struct {
					HasNextPage bool   `json:"hasNextPage"`
					EndCursor   string `json:"endCursor"`
				} `json:"pageInfo"`
				Nodes []wireVariant `json:"nodes"`
			} `json:"productVariants"`
		}
		vars := map[string]any{"first": size, "after": after, "location": locationID}
		if err := s.Client.Do(ctx, variantsQuery, vars, &page); err != nil {
			return nil, err
		}
		for _, w := range page.ProductVariants.Nodes {
			out = append(out, s.variant(w))
		}
		pi := page.ProductVariants.PageInfo
		if !pi.HasNextPage || pi.EndCursor == "" {
			return out, nil
		}
		c := pi.EndCursor
		after = &c
	}
}

func (s *AdminShop) variant(w wireVariant) Variant {
	v := Variant{VariantID: w.ID, InventoryItemID: w.InventoryItem.ID, Title: w.DisplayName,
		Tracked: w.InventoryItem.Tracked}
	if w.SKU != nil {
		v.SKU = *w.SKU
	}
	if w.Barcode != nil {
		v.Barcode = *w.Barcode
	}
	v.Available, v.Stocked = w.InventoryItem.InventoryLevel.available()
	if m, ok := parseMoney(w.Price, s.currency); ok {
		v.Price = &m
	}
	return v
}

// parseMoney reads a decimal amount ("19.99") into minor units. Shopify's
// Money scalar is a decimal string in the shop currency.
func parseMoney(s, currency string) (supplier.Money, bool) {
	s = strings.TrimSpace(s)
	if s == "" || currency == "" {
		return supplier.Money{}, false
	}
	whole, frac, _ := strings.Cut(s, ".")
	frac = (frac + "00")[:2]
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || w < 0 {
		return supplier.Money{}, false
	}
	return supplier.Money{Minor: w*100 + f, Currency: currency}, true
}

// Available implements Shop.
func (s *AdminShop) Available(ctx context.Context, locationID string, itemIDs []string) (map[string]int, error) {
	out := map[string]int{}
	for start := 0; start < len(itemIDs); start += MaxSetBatch {
		var res struct {
			Nodes []*struct {
				ID             string     `json:"id"`
				InventoryLevel *wireLevel `json:"inventoryLevel"`
			} `json:"nodes"`
		}
		ids := itemIDs[start:min(start+MaxSetBatch, len(itemIDs))]
		if err := s.Client.Do(ctx, levelsQuery, map[string]any{"ids": ids, "location": locationID}, &res); err != nil {
			return nil, err
		}
		for _, n := range res.Nodes {
			if n == nil {
				continue
			}
			if q, ok := n.InventoryLevel.available(); ok {
				out[n.ID] = q
			}
		}
	}
	return out, nil
}

// SetAvailable implements Shop with inventorySetQuantities and its
// changeFromQuantity guard (2026-01; compareQuantity is deprecated there).
// The idempotency key is derived from the input, so a re-send of the same
// write (the client retries 5xx) is applied once, while a re-planned write
// after a stale answer gets a new key.
func (s *AdminShop) SetAvailable(ctx context.Context, locationID, reference string, sets []Set) error {
	qs := make([]map[string]any, len(sets))
	for i, st := range sets {
		qs[i] = map[string]any{"inventoryItemId": st.InventoryItemID, "locationId": locationID,
			"quantity": st.Quantity, "changeFromQuantity": st.ChangeFrom}
	}
	input := map[string]any{"name": "available", "reason": "correction", "referenceDocumentUri": reference, "quantities": qs}
	raw, _ := json.Marshal(input)
	sum := sha256.Sum256(raw)
	var res struct {
		InventorySetQuantities struct {
			UserErrors []struct {
				Code    string   `json:"code"`
				Field   []string `json:"field"`
				Message string   `json:"message"`
			} `json:"userErrors"`
		} `json:"inventorySetQuantities"`
	}
	if err := s.Client.Do(ctx, setMutation, map[string]any{"input": input, "key": hex.EncodeToString(sum[:16])}, &res); err != nil {
		return err
	}
	ues := res.InventorySetQuantities.UserErrors
	if len(ues) == 0 {
		return nil
	}
	stale := &StaleError{}
	var other []string
	for _, ue := range ues {
		switch ue.Code {
		case "CHANGE_FROM_QUANTITY_STALE", "COMPARE_QUANTITY_STALE":
			if i, ok := quantityIndex(ue.Field); ok && i < len(sets) {
				stale.Items = append(stale.Items, sets[i].InventoryItemID)
			}
		default:
			other = append(other, ue.Code+": "+ue.Message)
		}
	}
	if len(other) == 0 {
		return stale
	}
	return problem.Newf(problem.Upstream, CodeShopWrite, "Shopify refused the inventory write: %s", strings.Join(other, "; "))
}

// quantityIndex reads the item index from a userError field path such as
// ["input", "quantities", "3", "changeFromQuantity"].
func quantityIndex(field []string) (int, bool) {
	for i := 0; i+1 < len(field); i++ {
		if field[i] == "quantities" {
			n, err := strconv.Atoi(field[i+1])
			return n, err == nil
		}
	}
	return 0, false
}

// bulkVariants reads the catalogue with one bulk operation: Shopify runs
// the query in the background and serves JSONL, at a fixed small cost
// instead of hundreds of pages.
func (s *AdminShop) bulkVariants(ctx context.Context, locationID string) ([]Variant, error) {
	q := `{ productVariants { edges { node { id displayName sku barcode price inventoryItem { id tracked inventoryLevel(locationId: ` +
		strconv.Quote(locationID) + `) { quantities(names: ["available"]) { name quantity } } } } } } }`
	var start struct {
		BulkOperationRunQuery struct {
			BulkOperation *struct {
				ID string `json:"id"`
			} `json:"bulkOperation"`
			UserErrors []struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"userErrors"`
		} `json:"bulkOperationRunQuery"`
	}
	if err := s.Client.Do(ctx, bulkMutation, map[string]any{"query": q}, &start); err != nil {
		return nil, err
	}
	r := start.BulkOperationRunQuery
	if len(r.UserErrors) > 0 || r.BulkOperation == nil {
		msg := "no operation returned"
		if len(r.UserErrors) > 0 {
			msg = r.UserErrors[0].Code + ": " + r.UserErrors[0].Message
		}
		return nil, problem.Newf(problem.Unavailable, codeBulkRefused, "Shopify did not start the bulk read of the catalogue: %s", msg).WithRetryAfter(time.Minute)
	}
	every := s.PollEvery
	if every <= 0 {
		every = 2 * time.Second
	}
	for {
		var st struct {
			BulkOperation struct {
				Status    string `json:"status"`
				ErrorCode string `json:"errorCode"`
				URL       string `json:"url"`
			} `json:"bulkOperation"`
		}
		if err := s.Client.Do(ctx, bulkStatusQuery, map[string]any{"id": r.BulkOperation.ID}, &st); err != nil {
			return nil, err
		}
		switch st.BulkOperation.Status {
		case "COMPLETED":
			if st.BulkOperation.URL == "" {
				return nil, nil // an empty shop: Shopify serves no file
			}
			return s.download(ctx, st.BulkOperation.URL)
		case "FAILED", "CANCELED", "CANCELING", "EXPIRED":
			return nil, problem.Newf(problem.Unavailable, shopify.CodeUnavailable, "Shopify's bulk read of the catalogue ended %s %s", st.BulkOperation.Status, st.BulkOperation.ErrorCode).WithRetryAfter(time.Minute)
		}
		if err := s.sleep(ctx, every); err != nil {
			return nil, err
		}
	}
}

func (s *AdminShop) sleep(ctx context.Context, d time.Duration) error {
	if s.Client.Sleep != nil {
		return s.Client.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *AdminShop) download(ctx context.Context, url string) ([]Variant, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, problem.Wrap(err, problem.Upstream, shopify.CodeBadResponse, "bulk operation URL")
	}
	hc := s.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, problem.Wrap(err, problem.Unavailable, shopify.CodeUnavailable, "downloading the bulk catalogue").WithRetryAfter(time.Minute)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, problem.Newf(problem.Unavailable, shopify.CodeUnavailable, "downloading the bulk catalogue: HTTP %d", resp.StatusCode).WithRetryAfter(time.Minute)
	}
	var out []Variant
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 1<<30))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var w wireVariant
		if err := json.Unmarshal(sc.Bytes(), &w); err != nil {
			return nil, problem.Wrap(err, problem.Upstream, shopify.CodeBadResponse, fmt.Sprintf("bulk catalogue line %d is not JSON", len(out)+1))
		}
		if strings.HasPrefix(w.ID, "gid://shopify/ProductVariant/") {
			out = append(out, s.variant(w))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, problem.Wrap(err, problem.Unavailable, shopify.CodeUnavailable, "reading the bulk catalogue").WithRetryAfter(time.Minute)
	}
	return out, nil
}
